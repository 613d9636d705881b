"""Text LLMs over the OpenAI chat API: a bounded, resilient, cached client (`client`), one path from a model spec
to a ready client (`endpoints`), and the embedded local server (xllamacpp by default, llama-cpp-python optional)
for GGUF models installed from PyPI (`models`, `server`)."""

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
