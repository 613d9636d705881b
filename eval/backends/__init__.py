"""Inference backends: a backend turns batches of `Prompt`s into `Output`s. `make_backend` builds one by name."""

from __future__ import annotations

from typing import Any

from mmra.errors import MMRAError

from .base import Backend, Output

BACKENDS = ("hf", "vllm", "openai")


def make_backend(name: str, model: str, **options: Any) -> Backend:
    """`hf` (transformers), `vllm` (optional install) or `openai` (any OpenAI-compatible chat API)."""
    options = {k: v for k, v in options.items() if v is not None}
    if name == "hf":
        from .hf import HFBackend

        return HFBackend(model, **options)
    if name == "vllm":
        from .vllm import VLLMBackend

        return VLLMBackend(model, **options)
    if name == "openai":
        from .openai import OpenAIBackend

        return OpenAIBackend(model, **options)
    raise MMRAError(f"unknown backend {name!r}; choose one of {', '.join(BACKENDS)}")


__all__ = ["BACKENDS", "Backend", "Output", "make_backend"]
