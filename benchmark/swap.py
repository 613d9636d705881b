"""Swapping the two images of a sample, per the subtask's swap rule (registry `order_sensitive`, `swap_rule`).
One implementation, used by eval (the `#swap` item variant) and by publish (NaturalBench-style yes/no balance)."""

from __future__ import annotations

import re
from typing import Any

from .registry import get_subtask
from .schema import QAType, Sample

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
    or None when the subtask is not order-sensitive (swapping would not change the question)."""
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
