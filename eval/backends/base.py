"""The backend contract shared by the HF, vLLM and OpenAI backends."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any


@dataclass
class Output:
    text: str | None
    error: str | None = None


class Backend:
    """Subclasses implement `generate`; `stream` may overlap preparing the next batch with running this one."""

    name = "base"
    model_id = ""
    # how many requests one `generate` call should get; None: the runner's --batch-size
    preferred_chunk: int | None = None
    # how large the model's processor makes images (an `ImageBudget`); None: unknown / unlimited
    image_budget: Any = None

    def generate(self, prompts: list[Any], *, max_new_tokens: int) -> list[Output]:
        raise NotImplementedError

    def stream(self, batches: Iterable[tuple[Any, list[Any]]], *, max_new_tokens: int) -> Iterator[tuple[Any, list[Output]]]:
        """`batches` yields (tag, prompts); yields (tag, outputs) in the same order."""
        for tag, prompts in batches:
            yield tag, (self.generate(prompts, max_new_tokens=max_new_tokens) if prompts else [])

    def describe(self) -> dict[str, Any]:
        """Facts recorded in the run metadata (model id, dtype, device, ...)."""
        return {"backend": self.name, "model": self.model_id}

    def close(self) -> None:
        pass
