"""Inference backends: a backend turns batches of `Prompt`s into `Output`s. `make_backend` builds one by name.

Backends register the way subtasks do: the built-in ones are listed here as "module:Class" references
(imported only when used: torch, vllm and openai are heavy), and a researcher's package adds one through the
entry-point group `mmra.backends`:

    [project.entry-points."mmra.backends"]
    my_server = "my_pkg.backend:MyBackend"      # a `Backend` subclass: MyBackend(model, **options)
"""

from __future__ import annotations

from typing import Any

from mmra.errors import MMRAError
from mmra.plugins import PluginError, Registry

from .base import Backend, Output

ENTRY_POINT_GROUP = "mmra.backends"
BUILTIN_BACKENDS = {
    "hf": "mmra.eval.backends.hf:HFBackend",  # transformers
    "vllm": "mmra.eval.backends.vllm:VLLMBackend",  # optional install
    "openai": "mmra.eval.backends.openai:OpenAIBackend",  # any OpenAI-compatible chat API
}
BACKENDS = tuple(BUILTIN_BACKENDS)


def _is_backend(obj: Any) -> str | None:
    return None if isinstance(obj, type) and issubclass(obj, Backend) else "is not a Backend subclass"


BACKEND_REGISTRY = Registry("backend", ENTRY_POINT_GROUP, BUILTIN_BACKENDS, check=_is_backend)


def backend_names() -> list[str]:
    """Built-in backends, then those installed packages registered."""
    return BACKEND_REGISTRY.names()


def backend_class(name: str) -> type[Backend]:
    try:
        return BACKEND_REGISTRY.get(name)
    except PluginError as exc:  # unknown or broken: one line, not a traceback
        raise MMRAError(str(exc)) from None


def make_backend(name: str, model: str, **options: Any) -> Backend:
    """Build backend `name` for `model`; options left at None are dropped (the backend's defaults apply)."""
    options = {k: v for k, v in options.items() if v is not None}
    return backend_class(name)(model, **options)


__all__ = ["BACKENDS", "Backend", "Output", "backend_class", "backend_names", "make_backend"]
