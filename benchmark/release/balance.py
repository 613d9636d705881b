"""Answer-key balance at publish time: a deterministic reshuffle so that no constant answer beats chance.

- Multiple choice: per subtask and option count, samples are put in a hash-sorted order (seeded by the sample
  id) and given gold letters round-robin from a per-subtask offset, so letter counts differ by at most one.
  The gold option's text moves to its new letter; the distractors fill the other letters in a hash order.
- Yes/No: where the subtask's swap rule defines the flipped answer (`order_sensitive` and `flip_yes_no`, e.g.
  SubEvent), a deterministic subset is swapped NaturalBench-style (image1 <-> image2, answer flipped; the
  swap itself is `mmra.benchmark.variants.swapped_sample`, which eval uses too) so Yes is near 50 %.
  Elsewhere Yes/No cannot be flipped safely and the imbalance is only reported.

Ids stay as they are (they hash the question as first written); `content_hash` changes, so `mmra diff`
shows every moved sample. Each moved sample records what was done in `provenance.extra["balance"]`."""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass, field
from typing import Any

from ..registry import get_subtask
from ..schema import Provenance, QAType, Sample, stable_hash
from ..variants import balanced_order, reordered_sample, swapped_sample  # the option variants eval uses too


@dataclass
class SubtaskBalance:
    letters_before: Counter = field(default_factory=Counter)
    letters_after: Counter = field(default_factory=Counter)
    reordered: int = 0  # samples whose options changed order
    yes_before: Counter = field(default_factory=Counter)
    yes_after: Counter = field(default_factory=Counter)
    swapped: int = 0  # yes/no samples whose images were swapped and answer flipped
    yes_no_rule: str | None = None  # "swapped pairs" | "not swappable: ..." (None: no yes/no items)

    def to_json(self) -> dict[str, Any]:
        return {"letters_before": dict(sorted(self.letters_before.items())),
                "letters_after": dict(sorted(self.letters_after.items())), "reordered": self.reordered,
                "yes_no_before": dict(self.yes_before), "yes_no_after": dict(self.yes_after),
                "swapped": self.swapped, "yes_no_rule": self.yes_no_rule}


def _rank_key(sample: Sample) -> str:
    return stable_hash("balance", sample.id)


def _offset(*parts: Any, modulo: int) -> int:
    return int(stable_hash("balance-offset", *parts), 16) % modulo


def _with_extra(sample: Sample, update: dict[str, Any], record: dict[str, Any]) -> Sample:
    prov = update.get("provenance", sample.provenance)
    extra = {**prov.extra, "balance": {**prov.extra.get("balance", {}), **record}}
    update["provenance"] = prov.model_copy(update={"extra": extra})
    return sample.model_copy(update=update)


def reorder_options(sample: Sample, gold_index: int) -> Sample:
    """The sample with its gold option at `gold_index`; distractors in a deterministic order seeded by id.
    `options_from` records the shown-to-original letter map."""
    order = balanced_order(sample, gold_index)
    if order.identity:
        return sample
    moved = reordered_sample(sample, order)
    return _with_extra(
        sample,
        {"options": moved.options, "answer": moved.answer},
        {"options_from": list(order.original_letters), "answer_was": sample.answer},
    )


def _swap_provenance(prov: Provenance) -> Provenance:
    """Evidence keyed by image follows its image."""
    def swap_keys(d: dict) -> dict:
        return {{"image1": "image2", "image2": "image1"}.get(k, k): v for k, v in d.items()}

    boxes = [b.model_copy(update={"image": 3 - b.image}) for b in prov.boxes]
    return prov.model_copy(update={"entities": swap_keys(prov.entities), "captions": swap_keys(prov.captions),
                                   "boxes": boxes})


def swap_pair(sample: Sample) -> Sample | None:
    """NaturalBench-style flipped twin: images swapped, answer flipped by the subtask's swap rule; None when
    the rule defines no flip for this sample."""
    if get_subtask(sample.subtask).swap_rule != "flip_yes_no":
        return None
    twin = swapped_sample(sample)
    if twin is None:
        return None
    return _with_extra(twin, {"provenance": _swap_provenance(twin.provenance)},
                       {"images_swapped": True, "answer_was": sample.answer, "rule": "flip_yes_no"})


def _yes_no_rule(subtask: str) -> str:
    spec = get_subtask(subtask)
    if spec.order_sensitive and spec.swap_rule == "flip_yes_no":
        return "swapped pairs"
    return "not swappable"  # the swap rule defines no flipped answer: the imbalance is reported only


def balance_samples(samples: list[Sample]) -> tuple[list[Sample], dict[str, SubtaskBalance]]:
    """Balanced copies of `samples` (same order, same ids) and what was done per subtask."""
    report: dict[str, SubtaskBalance] = defaultdict(SubtaskBalance)
    groups: dict[tuple, list[int]] = defaultdict(list)
    for i, s in enumerate(samples):
        if s.qa_type == QAType.multiple_choice:
            report[s.subtask].letters_before[s.answer] += 1
            groups[("mc", s.subtask, len(s.options))].append(i)
        else:
            report[s.subtask].yes_before[s.answer] += 1
            groups[("yn", s.subtask)].append(i)
    out = list(samples)
    for key, members in sorted(groups.items()):
        kind, subtask = key[0], key[1]
        ranked = sorted(members, key=lambda i: _rank_key(samples[i]))
        if kind == "mc":
            n = key[2]
            start = _offset(subtask, n, modulo=n)
            for rank, i in enumerate(ranked):
                new = reorder_options(samples[i], (start + rank) % n)
                report[subtask].reordered += new is not samples[i]
                out[i] = new
            continue
        rule = _yes_no_rule(subtask)
        report[subtask].yes_no_rule = rule
        if rule != "swapped pairs":
            continue
        start = _offset(subtask, "yes_no", modulo=2)
        for rank, i in enumerate(ranked):
            target = ("Yes", "No")[(start + rank) % 2]
            if samples[i].answer != target:
                twin = swap_pair(samples[i])
                if twin is not None:
                    out[i] = twin
                    report[subtask].swapped += 1
    for s in out:
        (report[s.subtask].letters_after if s.qa_type == QAType.multiple_choice
         else report[s.subtask].yes_after)[s.answer] += 1
    return out, dict(report)
