"""Inter-annotator agreement, computed here because Label Studio's free edition computes none.

- Cohen's kappa on keep/reject when every multiply-annotated task of a subtask was judged by the same two
  people; Fleiss' kappa otherwise (tasks with the most common number of judgements).
- Answer agreement: the share of keeping annotators whose answer (type, options, answer) matches the
  adjudicated one, averaged over tasks.
- Krippendorff's alpha (nominal, from the `krippendorff` package), on keep/reject and on the answers the
  keeping annotators wrote: any number of annotators per task and missing judgements allowed, so one number
  covers what the kappas need a rule for.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence


def cohen_kappa(pairs: Sequence[tuple[str, str]]) -> float | None:
    """Cohen's kappa of two raters' labels, one (rater 1, rater 2) pair per item. None when undefined."""
    n = len(pairs)
    if n == 0:
        return None
    observed = sum(a == b for a, b in pairs) / n
    first, second = Counter(a for a, _ in pairs), Counter(b for _, b in pairs)
    expected = sum(first[c] * second[c] for c in first.keys() | second.keys()) / (n * n)
    if expected >= 1.0:
        return None  # both raters used one label only: chance agreement is total, kappa is undefined
    return (observed - expected) / (1.0 - expected)


def fleiss_kappa(items: Sequence[Sequence[str]]) -> float | None:
    """Fleiss' kappa; every item has the same number (>= 2) of labels. None when undefined."""
    items = [list(i) for i in items if len(i) >= 2]
    if not items:
        return None
    raters = len(items[0])
    if any(len(i) != raters for i in items):
        raise ValueError("Fleiss' kappa needs the same number of ratings for every item")
    n_items = len(items)
    totals: Counter[str] = Counter()
    p_items = []
    for labels in items:
        counts = Counter(labels)
        totals.update(counts)
        p_items.append((sum(c * c for c in counts.values()) - raters) / (raters * (raters - 1)))
    p_bar = sum(p_items) / n_items
    p_e = sum((c / (n_items * raters)) ** 2 for c in totals.values())
    if p_e >= 1.0:
        return None
    return (p_bar - p_e) / (1.0 - p_e)


def keep_reject_kappa(judgements: Sequence[dict[str, str]]) -> tuple[float | None, str | None, int]:
    """Kappa over tasks given as {annotator: "keep"|"reject"}. Returns (kappa, method, tasks used)."""
    multi = [j for j in judgements if len(j) >= 2]
    if not multi:
        return None, None, 0
    raters = {frozenset(j) for j in multi}
    if len(raters) == 1 and len(next(iter(raters))) == 2:
        a, b = sorted(next(iter(raters)))
        return cohen_kappa([(j[a], j[b]) for j in multi]), "cohen", len(multi)
    size = Counter(len(j) for j in multi).most_common(1)[0][0]
    used = [list(j.values()) for j in multi if len(j) == size]
    return fleiss_kappa(used), "fleiss", len(used)


def krippendorff_alpha(units: Sequence[Mapping[str, str]]) -> tuple[float | None, int]:
    """Nominal Krippendorff's alpha over units given as {annotator: label}; an annotator missing from a unit
    is a missing judgement. Returns (alpha, units used): a unit judged once pairs with nothing and is left
    out; alpha is None when fewer than two units are left or only one label is used (chance agreement is
    total, alpha is undefined)."""
    import krippendorff
    import numpy as np

    used = [u for u in units if len(u) >= 2]
    labels = sorted({label for u in used for label in u.values()})
    if len(used) < 2 or len(labels) < 2:
        return None, len(used)
    raters = sorted({r for u in used for r in u})
    row, code = {r: i for i, r in enumerate(raters)}, {label: i for i, label in enumerate(labels)}
    data = np.full((len(raters), len(used)), np.nan)
    for j, unit in enumerate(used):
        for rater, label in unit.items():
            data[row[rater], j] = code[label]
    return float(krippendorff.alpha(reliability_data=data, level_of_measurement="nominal")), len(used)


def subtask_alphas(votes: Sequence[Mapping[str, str]], answers: Sequence[Mapping[str, str]]) -> dict[str, object]:
    """The report's alpha fields for one subtask: keep/reject votes and the keepers' answers, per task."""
    keep, keep_units = krippendorff_alpha(votes)
    answer, answer_units = krippendorff_alpha(answers)
    return {"keep_reject_alpha": None if keep is None else round(keep, 4), "keep_reject_alpha_tasks": keep_units,
            "answer_alpha": None if answer is None else round(answer, 4), "answer_alpha_tasks": answer_units}
