"""Option variants: the one place a sample is shown another way. Each variant says what is shown and maps what
is shown back to the original, so an answer given to a variant is read back the same way everywhere:

- circular rotation (eval's `#circK` items, the leakage filter's circular and choices-only probes);
- balance reordering (publish moves the gold option to a chosen letter, the distractors in a hash order);
- image swap (eval's `#swap` item, publish's NaturalBench-style yes/no balance), per the subtask's swap rule.

An `OptionOrder` is the shown options and, for each shown position, the original position it came from; its
letters run A-J (`CHOICE_LETTERS`), so the leakage probes of any benchmark (2-10 options) use it too, and on
MMRA data (3 or 4 options) they are MMRA's `LETTERS`.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from .registry import get_subtask
from .schema import QAType, Sample
from .vocabulary import CHOICE_LETTERS, stable_hash

__all__ = ["OptionOrder", "balanced_order", "reordered_sample", "rotated_sample", "rotation", "swap_image_mentions",
           "swapped_sample"]


@dataclass(frozen=True)
class OptionOrder:
    """Options as shown (in letter order) and, per shown position, the original position it came from."""

    shown: tuple[str, ...]
    source: tuple[int, ...]

    @classmethod
    def of(cls, options: Sequence[str], order: Sequence[int]) -> OptionOrder:
        """`options` shown in `order` (order[i]: the original position shown at position i)."""
        if sorted(order) != list(range(len(options))):
            raise ValueError(f"an option order must use each of the {len(options)} positions once, got {list(order)}")
        return cls(tuple(options[i] for i in order), tuple(order))

    @property
    def identity(self) -> bool:
        return self.source == tuple(range(len(self.source)))

    def map_to(self, values: Sequence[str]) -> tuple[str, ...]:
        """Shown position -> the original position's value in `values` (its letter, or its Yes/No)."""
        return tuple(values[i] for i in self.source)

    @property
    def original_letters(self) -> tuple[str, ...]:
        """Shown position -> the original letter: the shown-to-original letter map."""
        return self.map_to(CHOICE_LETTERS)

    def original_letter(self, shown_letter: str) -> str:
        return CHOICE_LETTERS[self.source[CHOICE_LETTERS.index(shown_letter)]]

    def shown_letter(self, original_letter: str) -> str:
        return CHOICE_LETTERS[self.source.index(CHOICE_LETTERS.index(original_letter))]


def rotation(options: Sequence[str], shift: int) -> OptionOrder:
    """The options circularly shifted by `shift` (ABCD -> BCDA for 1): CircularEval's orders."""
    n = len(options)
    return OptionOrder.of(options, [(i + shift) % n for i in range(n)])


def reordered_sample(sample: Sample, order: OptionOrder) -> Sample:
    """The multiple-choice sample with its options as `order` shows them, gold letter moved with its option."""
    return sample.model_copy(update={"options": list(order.shown), "answer": order.shown_letter(sample.answer)})


def rotated_sample(sample: Sample, shift: int) -> Sample:
    """Options circularly shifted by `shift` (ABCD -> BCDA for 1), gold letter remapped."""
    return reordered_sample(sample, rotation(sample.options, shift))


def balanced_order(sample: Sample, gold_index: int) -> OptionOrder:
    """Publish's balance: the gold option at `gold_index`, the distractors in a deterministic order seeded by id."""
    gold = CHOICE_LETTERS.index(sample.answer)
    distractors = sorted((i for i in range(len(sample.options)) if i != gold),
                         key=lambda i: stable_hash("distractor", sample.id, sample.options[i]))
    return OptionOrder.of(sample.options, distractors[:gold_index] + [gold] + distractors[gold_index:])


# ---------------------------------------------------------------------------------------------- image swap

_IMAGE_MENTION = re.compile(r"\b(image)(\s*)([12])\b", re.IGNORECASE)
_ORDINAL_MENTION = re.compile(r"\b(first|second)(\s+(?:image|picture|photo))\b", re.IGNORECASE)


def swap_image_mentions(text: str) -> str:
    """'Image 1' <-> 'Image 2' (and 'first image' <-> 'second image'), keeping the original casing."""
    text = _IMAGE_MENTION.sub(lambda m: m.group(1) + m.group(2) + ("2" if m.group(3) == "1" else "1"), text)

    def ordinal(m: re.Match) -> str:
        word = m.group(1)
        new = "second" if word.lower() == "first" else "first"
        if word[0].isupper():
            new = new.capitalize()
        if word.isupper():
            new = new.upper()
        return new + m.group(2)

    return _ORDINAL_MENTION.sub(ordinal, text)


def swapped_sample(sample: Sample) -> Sample | None:
    """The sample with image1/image2 exchanged and the gold answer adjusted per the subtask's swap rule,
    or None when the subtask is not order-sensitive (swapping would not change the question). The options keep
    their order (their text follows the images under `swap_image_mentions`)."""
    spec = get_subtask(sample.subtask)
    if not spec.order_sensitive:
        return None
    update: dict[str, Any] = {"image1": sample.image2, "image2": sample.image1}
    if sample.descriptions:
        update["descriptions"] = {"image1": sample.descriptions.get("image2", ""),
                                  "image2": sample.descriptions.get("image1", "")}
    if spec.swap_rule == "flip_yes_no":
        if sample.qa_type == QAType.yes_no:
            update["answer"] = "No" if sample.answer == "Yes" else "Yes"
        else:
            return None  # the rule defines no gold change for multiple choice: skip rather than guess
    elif spec.swap_rule == "swap_image_mentions":
        update["question"] = swap_image_mentions(sample.question)
        update["options"] = [swap_image_mentions(o) for o in sample.options]
    else:
        return None
    return sample.model_copy(update=update)
