"""Question-only answer-leakage filter (`mmra leakage`): text-only LLMs answer each question without the
images, under every circular shift of the options; samples that too many models get right are flagged."""

from __future__ import annotations

import importlib
from typing import Any

# public name -> module; imported on first use, so `mmra --help` does not load the LLM client
_EXPORTS = {
    "load_samples": "load",
    "default_max_hits": "method", "probes_for": "method",
    "Endpoint": "run", "LeakageResult": "run", "LeakageSettings": "run", "parse_model_spec": "run",
    "run_leakage": "run", "write_outputs": "run",
}
__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        return getattr(importlib.import_module(f".{_EXPORTS[name]}", __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
