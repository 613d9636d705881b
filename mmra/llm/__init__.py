"""Text LLMs over the OpenAI chat API: a resilient cached client (`client`) and the embedded local
llama-cpp-python server for GGUF models installed from PyPI (`models`, `server`)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from mmra.faces import lazy_exports

if TYPE_CHECKING:  # the static face: editors and type checkers see these names
    from .client import ChatClient, ChatRequest, ChatResult

_EXPORTS = {
    "ChatClient": ".client",
    "ChatRequest": ".client",
    "ChatResult": ".client",
}
__all__ = ["ChatClient", "ChatRequest", "ChatResult"]
__getattr__ = lazy_exports(__name__, _EXPORTS)  # imported on first use: the CLI starts fast
