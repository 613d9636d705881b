"""Text LLMs over the OpenAI chat API: a resilient cached client (`client`) and the embedded local
llama-cpp-python server for GGUF models installed from PyPI (`models`, `server`)."""

from __future__ import annotations

from typing import Any

__all__ = ["ChatClient", "ChatRequest", "ChatResult"]


def __getattr__(name: str) -> Any:  # lazy: `openai` loads on first use, not at `mmra` CLI start
    if name in __all__:
        from . import client

        return getattr(client, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
