"""Text LLMs over the OpenAI chat API: a resilient cached client (`client`) and the embedded local
llama-cpp-python server for GGUF models installed from PyPI (`models`, `server`)."""

from .client import ChatClient, ChatRequest, ChatResult

__all__ = ["ChatClient", "ChatRequest", "ChatResult"]
