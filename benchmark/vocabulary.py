"""The benchmark's small shared vocabulary: option letters, answer words, levels, question types, the answer
normaliser, the schema error and the id hash. A leaf: every other benchmark module may import it, it imports none of them."""

from __future__ import annotations

import hashlib
import json
from enum import Enum
from typing import Any

LETTERS = ("A", "B", "C", "D")  # MMRA's option letters (a Sample has 3 or 4 options)
# Letters of any benchmark's options (2-10 options, A-J): `mmra audit` reads benchmarks that are not MMRA-shaped.
# LETTERS is their prefix, so code that indexes CHOICE_LETTERS behaves the same on MMRA data.
CHOICE_LETTERS = tuple("ABCDEFGHIJ")
YES_NO = ("Yes", "No")


class SchemaError(ValueError):
    """A record that breaks the schema. The message names the item, the field and the value."""


class Granularity(str, Enum):
    entity = "entity"
    image = "image"


class QAType(str, Enum):
    multiple_choice = "multiple_choice"
    yes_no = "yes_no"


def normalise_answer(answer: Any, qa_type: QAType | str | None) -> str:
    """A gold (or annotated) answer in its canonical form: the letter of a multiple-choice answer, upper case,
    without brackets or a trailing dot ("(b)" -> "B"); "Yes"/"No" capitalised. The one normaliser: the schema,
    the MMRA reader, scoring and labeling use it. Whether the result is a valid answer is the caller's check."""
    text = str(answer or "").strip()
    if qa_type == QAType.multiple_choice:  # the enum or its value; anything else reads as yes/no
        return text.strip("().: ").upper()
    return text.capitalize()


def stable_hash(*parts: Any, length: int = 16) -> str:
    """sha256 over a canonical JSON of the parts; the basis of every id."""
    blob = json.dumps(parts, sort_keys=True, ensure_ascii=False, separators=(",", ":"), default=str)
    return hashlib.sha256(blob.encode("utf-8")).hexdigest()[:length]
