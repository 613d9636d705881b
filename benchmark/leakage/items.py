"""What the probes need of an item, for benchmarks that are not MMRA-shaped.

A `Sample` carries these fields already (and stays the contract between MMRA stages); `mmra audit` reads any
benchmark into `ProbeItem`s instead: the benchmark's own task names (no registry), 2-10 options (A-J), any number
of images (never read by the text probes). Both go through the same probe code.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any

from mmra.benchmark.schema import Sample
from mmra.benchmark.vocabulary import CHOICE_LETTERS, QAType

MAX_OPTIONS = len(CHOICE_LETTERS)


@dataclass(frozen=True)
class ProbeItem:
    id: str  # the benchmark's own id, or the row number when it has none
    subtask: str  # the benchmark's task name, as it writes it
    qa_type: QAType
    question: str  # what the model is given: the hint (if any) and the question
    options: list[str] = field(default_factory=list)  # in letter order A, B, ...; empty for yes/no
    answer: str = ""  # a letter (multiple choice) or "Yes"/"No"
    row: int = -1  # position of the record in its source (what the subset writer keeps or drops)
    leakage: Any = None  # the verdict, once probed (as on a Sample)

    @property
    def letters(self) -> tuple[str, ...]:
        return CHOICE_LETTERS[: len(self.options)]

    @property
    def answer_text(self) -> str:
        if self.qa_type == QAType.multiple_choice:
            return self.options[CHOICE_LETTERS.index(self.answer)]
        return self.answer

    def model_copy(self, *, update: dict[str, Any] | None = None) -> ProbeItem:
        """The same item with fields replaced (the name and shape of pydantic's, so the panel treats both alike)."""
        return dataclasses.replace(self, **(update or {}))


Item = Sample | ProbeItem  # what every probe accepts
