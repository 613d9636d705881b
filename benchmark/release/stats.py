"""Per-subtask figures for the data card and its plots, and the licence a release derives from its sources."""

from __future__ import annotations

import json
import re
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from ..registry import get_subtask
from ..schema import LETTERS

CONCEPTNET_LICENCE = "cc-by-sa-4.0"  # ConceptNet 5 (https://github.com/commonsense/conceptnet5/wiki/Copying-and-sharing-ConceptNet)


@dataclass
class SubtaskStats:
    name: str
    abbreviation: str
    level: str
    n: int = 0
    qa_types: Counter = field(default_factory=Counter)
    letters: Counter = field(default_factory=Counter)  # gold letter of multiple-choice items
    n_options: Counter = field(default_factory=Counter)
    yes_no: Counter = field(default_factory=Counter)
    agreements: list[float] = field(default_factory=list)
    alphas: dict[str, list[float]] = field(default_factory=lambda: {"answers": [], "keep_reject": []})
    leakage_checked: int = 0
    leakage_flagged: int = 0

    @property
    def agreement(self) -> float | None:
        return sum(self.agreements) / len(self.agreements) if self.agreements else None

    def alpha(self, kind: str) -> float | None:
        """Krippendorff's alpha ("answers" / "keep_reject") as the pull reported it, averaged over samples."""
        values = self.alphas[kind]
        return sum(values) / len(values) if values else None

    def letter_share(self, letter: str) -> float:
        total = sum(self.letters.values())
        return self.letters[letter] / total if total else 0.0

    def yes_share(self) -> float | None:
        total = sum(self.yes_no.values())
        return self.yes_no["Yes"] / total if total else None


def subtask_stats(rows: list[dict[str, Any]]) -> list[SubtaskStats]:
    """Stats per subtask, in release order (rows are already sorted)."""
    out: dict[str, SubtaskStats] = {}
    for r in rows:
        task = r["Task"]
        if task not in out:
            try:
                abbr = get_subtask(task).abbreviation
            except KeyError:
                abbr = task
            out[task] = SubtaskStats(task, abbr, r["granularity"])
        st = out[task]
        st.n += 1
        st.qa_types[r["QA_type"]] += 1
        if r["options_list"]:
            st.letters[r["answer"]] += 1
            st.n_options[len(r["options_list"])] += 1
        else:
            st.yes_no[r["answer"]] += 1
        if r.get("agreement") is not None:
            st.agreements.append(float(r["agreement"]))
        for kind in ("answers", "keep_reject"):  # Krippendorff's alpha, from the pull (one value per subtask)
            if r.get(f"alpha_{kind}") is not None:
                st.alphas[kind].append(float(r[f"alpha_{kind}"]))
        if r.get("leakage_checked"):
            st.leakage_checked += 1
            st.leakage_flagged += bool(r.get("leakage_flagged"))
    return list(out.values())


def total_stats(stats: list[SubtaskStats]) -> SubtaskStats:
    total = SubtaskStats("total", "all", "")
    for s in stats:
        total.n += s.n
        total.qa_types.update(s.qa_types)
        total.letters.update(s.letters)
        total.n_options.update(s.n_options)
        total.yes_no.update(s.yes_no)
        total.agreements += s.agreements
        for kind, values in s.alphas.items():
            total.alphas[kind] += values
        total.leakage_checked += s.leakage_checked
        total.leakage_flagged += s.leakage_flagged
    return total


def add_flagged(stats: list[SubtaskStats], flagged_rows: list[dict[str, Any]]) -> list[SubtaskStats]:
    """Count samples moved to the `flagged` config in the leakage columns of the default config's stats
    (a subtask left with flagged samples only still gets a row, with n = 0)."""
    by_name = {s.name: s for s in stats}
    for r in flagged_rows:
        st = by_name.get(r["Task"])
        if st is None:
            try:
                abbr = get_subtask(r["Task"]).abbreviation
            except KeyError:
                abbr = r["Task"]
            st = by_name[r["Task"]] = SubtaskStats(r["Task"], abbr, r["granularity"])
            stats.append(st)
        st.leakage_checked += 1
        st.leakage_flagged += 1
    return stats


def expected_letters(n_options: Counter) -> dict[str, float]:
    """Expected gold-letter counts under a uniform key: an item with k options puts 1/k on each of its letters."""
    expected = {L: 0.0 for L in LETTERS[: max(n_options, default=0)]}
    for k, count in n_options.items():
        for L in LETTERS[:k]:
            expected[L] += count / k
    return expected


def letter_balance_p(letters: Counter, n_options: Counter) -> float | None:
    """Chi-square p-value of the gold letters against a uniform key (None with fewer than 2 items)."""
    from scipy.stats import chisquare

    expected = expected_letters(n_options)
    if sum(letters.values()) < 2 or len(expected) < 2:
        return None
    observed = [letters.get(L, 0) for L in expected]
    return float(chisquare(observed, [expected[L] for L in expected]).pvalue)


def yes_share_p(yes_no: Counter) -> float | None:
    """Two-sided binomial p-value of the Yes share against 50 %."""
    from scipy.stats import binomtest

    n = yes_no.get("Yes", 0) + yes_no.get("No", 0)
    return float(binomtest(yes_no.get("Yes", 0), n, 0.5).pvalue) if n else None


def letters_used(stats: list[SubtaskStats]) -> tuple[str, ...]:
    most = max((max(s.n_options) for s in stats if s.n_options), default=0)
    return LETTERS[: max(most, 3)] if most else ()


# ---------------------------------------------------------------------------------------------- licence

_CC_URL = re.compile(r"creativecommons\.org/(licenses|publicdomain)/([a-z-]+)/(\d\.\d)", re.I)
_CC_ID = re.compile(r"^(?:cc[-_ ]?)?(by(?:[-_ ](?:nc|sa|nd))*)[-_ ]?(\d\.\d)?$", re.I)
_PUBLIC = {"cc0", "cc0-1.0", "public-domain", "publicdomain", "pd", "pdm", "zero"}


def normalise_licence(value: str | None) -> str:
    """An image/source licence as a lower-case id: 'cc-by-sa-2.0', 'cc0-1.0', or 'unknown'; other strings
    are kept (lower-cased) and make the release licence 'other'."""
    if not value or not str(value).strip():
        return "unknown"
    text = str(value).strip()
    m = _CC_URL.search(text)
    if m:
        kind, name, ver = m.group(1).lower(), m.group(2).lower(), m.group(3)
        return "cc0-1.0" if kind == "publicdomain" else f"cc-{name}-{ver}"
    low = text.lower().replace("_", "-").replace(" ", "-")
    if low in _PUBLIC or low.startswith("cc0"):
        return "cc0-1.0"
    m = _CC_ID.match(low)
    if m and (low.startswith("cc") or low.startswith("by")):
        parts = m.group(1).replace("_", "-").replace(" ", "-")
        return f"cc-{parts}" + (f"-{m.group(2)}" if m.group(2) else "")
    return low


@dataclass(frozen=True)
class LicenceDecision:
    licence: str  # the `license` YAML value
    components: dict[str, int]  # normalised licence -> number of images/sources under it
    reason: str
    licence_name: str | None = None  # for "other"


def derive_licence(rows: list[dict[str, Any]], text_licence: str = "cc-by-4.0") -> LicenceDecision:
    """The release licence: the most restrictive Creative Commons terms among the images, ConceptNet
    (CC BY-SA 4.0, when any sample's provenance cites it) and our question text. Each image keeps its own
    licence in the `image*_licence` columns. Unknown image licences make the release 'unknown' (said
    plainly, with counts); a NoDerivatives or non-CC licence makes it 'other'."""
    comps: Counter = Counter()
    conceptnet = 0
    for r in rows:
        comps[normalise_licence(r.get("image1_licence"))] += 1
        comps[normalise_licence(r.get("image2_licence"))] += 1
        prov = json.loads(r["provenance"]) if r.get("provenance") else {}
        if any(e.get("source", "conceptnet") == "conceptnet" for e in prov.get("edges", [])):
            conceptnet += 1
    if conceptnet:
        comps[f"{CONCEPTNET_LICENCE} (ConceptNet, {conceptnet} samples)"] = conceptnet
    comps[f"{text_licence} (questions and annotations)"] = len(rows)
    ids = {k.split(" ")[0] for k in comps}
    if "unknown" in ids:
        return LicenceDecision(
            "unknown", dict(comps),
            f"{comps['unknown']} image(s) have no licence recorded; set ImageRef.licence upstream",
        )
    non_cc = sorted(i for i in ids if not i.startswith("cc"))
    if non_cc or any("-nd" in i for i in ids):
        return LicenceDecision(
            "other", dict(comps),
            "sources include licences that do not combine into one Creative Commons licence: "
            + ", ".join(non_cc or sorted(i for i in ids if "-nd" in i)),
            licence_name="mixed (see the image licence columns)",
        )
    nc = any("-nc" in i for i in ids)
    sa = any("-sa" in i for i in ids)
    only_public = ids <= {"cc0-1.0"}
    if only_public:
        return LicenceDecision("cc0-1.0", dict(comps), "every source is public domain")
    licence = "cc-by" + ("-nc" if nc else "") + ("-sa" if sa else "") + "-4.0"
    why = ", ".join(p for p, f in (("NonCommercial", nc), ("ShareAlike", sa)) if f)
    return LicenceDecision(licence, dict(comps), f"most restrictive terms among the sources: Attribution{', ' + why if why else ''}")


def size_category(n: int) -> str:
    for limit, label in ((1_000, "n<1K"), (10_000, "1K<n<10K"), (100_000, "10K<n<100K"),
                         (1_000_000, "100K<n<1M")):
        if n < limit:
            return label
    return "1M<n<10M"
