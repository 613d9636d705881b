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
    import inspect

    options = {k: v for k, v in options.items() if v is not None}
    cls = backend_class(name)
    try:
        inspect.signature(cls).bind(model, **options)
    except TypeError as exc:  # an option this backend does not take (e.g. a mistyped --backend-option)
        raise MMRAError(f"backend {name!r}: {exc}") from None
    return cls(model, **options)


def backend_options(name: str, flags: dict[str, Any], extra: dict[str, Any] | None = None, *,
                    llm: Any = None, cache_dir: Any = None) -> dict[str, Any]:
    """The constructor options of backend `name` from the command line: the flags it declares
    (`Backend.cli_options`), then `--backend-option KEY=VALUE` pairs (`extra`, any backend, winning), and the
    `[llm]` settings for a backend that takes them (plain values: they travel to data-parallel workers)."""
    cls = backend_class(name)
    options = {kw: flags[flag] for flag, kw in cls.cli_options.items() if flag in flags}
    if cls.takes_llm_settings:
        options.update(llm=llm.model_dump(mode="json") if hasattr(llm, "model_dump") else llm,
                       cache_dir=None if cache_dir is None else str(cache_dir))
    options.update(extra or {})
    return options


def parse_backend_option(text: str) -> tuple[str, Any]:
    """`KEY=VALUE`: VALUE read as JSON when it is JSON (numbers, true/false, null, lists), else as text."""
    from mmra.parsing import ParseError, load_json

    key, sep, value = text.partition("=")
    if not sep or not key.strip().isidentifier():
        raise ValueError(f"--backend-option {text!r}: expected KEY=VALUE with KEY a Python name, e.g. dtype=float16")
    try:
        return key.strip(), load_json(value)
    except ParseError:
        return key.strip(), value


__all__ = ["BACKENDS", "Backend", "Output", "backend_class", "backend_names", "backend_options", "make_backend",
           "parse_backend_option"]
