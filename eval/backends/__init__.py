"""Inference backends: a backend turns batches of `Prompt`s into `Output`s. `make_backend` builds one by name.

Backends register the way subtasks do: the built-in ones are listed here as "module:Class" references
(imported only when used: torch, vllm and openai are heavy), and a researcher's package adds one through the
entry-point group `mmra.backends`:

    [project.entry-points."mmra.backends"]
    my_server = "my_pkg.backend:MyBackend"      # a `Backend` subclass: MyBackend(model, **options)
"""

from __future__ import annotations

from functools import cache
from importlib import import_module
from importlib.metadata import entry_points
from typing import Any

from mmra.errors import MMRAError

from .base import Backend, Output

ENTRY_POINT_GROUP = "mmra.backends"
BUILTIN_BACKENDS = {
    "hf": "mmra.eval.backends.hf:HFBackend",  # transformers
    "vllm": "mmra.eval.backends.vllm:VLLMBackend",  # optional install
    "openai": "mmra.eval.backends.openai:OpenAIBackend",  # any OpenAI-compatible chat API
}
BACKENDS = tuple(BUILTIN_BACKENDS)


@cache
def _plugins() -> dict[str, Any]:
    return {ep.name: ep for ep in entry_points(group=ENTRY_POINT_GROUP) if ep.name not in BUILTIN_BACKENDS}


def backend_names() -> list[str]:
    """Built-in backends, then those installed packages registered."""
    return [*BUILTIN_BACKENDS, *sorted(_plugins())]


def backend_class(name: str) -> type[Backend]:
    if name in BUILTIN_BACKENDS:
        module, _, attr = BUILTIN_BACKENDS[name].partition(":")
        return getattr(import_module(module), attr)
    plugin = _plugins().get(name)
    if plugin is None:
        raise MMRAError(f"unknown backend {name!r}; choose one of {', '.join(backend_names())}")
    try:
        cls = plugin.load()
    except Exception as exc:  # a broken plug-in: one line, not a traceback
        raise MMRAError(f"backend {name!r} (entry point {plugin.value}) cannot be loaded: {exc}") from None
    if not (isinstance(cls, type) and issubclass(cls, Backend)):
        raise MMRAError(f"backend {name!r} (entry point {plugin.value}) is not a Backend subclass")
    return cls


def make_backend(name: str, model: str, **options: Any) -> Backend:
    """Build backend `name` for `model`; options left at None are dropped (the backend's defaults apply)."""
    options = {k: v for k, v in options.items() if v is not None}
    return backend_class(name)(model, **options)


__all__ = ["BACKENDS", "Backend", "Output", "backend_class", "backend_names", "make_backend"]
