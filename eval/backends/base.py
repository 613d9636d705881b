"""The backend contract shared by the HF, vLLM and OpenAI backends."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any, ClassVar


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
    # True: the runner orders items by their prompt text, so prompts that share a beginning (the same image
    # description, the same question) follow each other and a server that keeps its slots' previous prompts
    # (llama.cpp) computes the shared part once; False: longest first (batches of similar length pad less)
    order_by_text: ClassVar[bool] = False
    # command-line flags this backend takes: flag name (as `mmra eval` names it) -> constructor keyword; any
    # other keyword comes through `--backend-option KEY=VALUE`, for built-in and plug-in backends alike
    cli_options: ClassVar[dict[str, str]] = {}
    # True: the constructor also takes the `[llm]` settings (`llm`) and the cache folder (`cache_dir`), as read
    # by the command line
    takes_llm_settings: ClassVar[bool] = False

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
