"""What one subtask is (`Subtask`): name, level, definition, QA types, swap rule, annotator guidance and its
candidate miner. A leaf model: the built-in subtasks (`subtasks.py`), plug-ins and the registry all use it."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from .vocabulary import Granularity, QAType

SwapRule = Literal["none", "flip_yes_no", "swap_image_mentions"]


class Subtask(BaseModel):
    """Everything the toolkit knows about one subtask."""

    model_config = ConfigDict(extra="forbid", frozen=True, arbitrary_types_allowed=True)

    name: str
    abbreviation: str
    granularity: Granularity
    definition: str
    relations: tuple[str, ...] = ()  # ConceptNet relations it is mined from (empty: geometry/captions)
    signal: str = "conceptnet"  # what the miner reads: "conceptnet", "geometry", "captions+conceptnet", ...
    qa_types: tuple[QAType, ...] = (QAType.multiple_choice,)
    guidance: str = ""  # shown to annotators in Label Studio
    example_question: str = ""
    order_sensitive: bool = False  # does the gold answer depend on which image comes first?
    swap_rule: SwapRule = "none"  # how the gold answer changes when the images are swapped
    paper_count: int | None = None  # samples in the published MMRA (derived from its result table)
    # The subtask's candidate miner, `fn(context, quota, rng)`: the function itself, or "module:function",
    # imported only when curation asks for it (`resolve_miner`), so defining a subtask loads no curation code.
    miner: Callable[..., Any] | str | None = Field(default=None, exclude=True, repr=False)
    origin: str = "builtin"

    @field_validator("name", "abbreviation")
    @classmethod
    def _no_blank(cls, value: str) -> str:
        if not value or not value.strip() or any(c.isspace() for c in value):
            raise ValueError(f"must be a non-empty word without spaces, got {value!r}")
        return value

    def public_dict(self) -> dict[str, Any]:
        data = self.model_dump(mode="json", exclude={"miner"})
        data["relations"] = list(self.relations)
        data["qa_types"] = [q.value if hasattr(q, "value") else q for q in self.qa_types]
        return data

    def resolve_miner(self) -> Callable[..., Any] | None:
        """The miner as a callable ("module:function" references are imported here)."""
        if self.miner is None or callable(self.miner):
            return self.miner
        from mmra.plugins import load_reference

        return load_reference(self.miner)
