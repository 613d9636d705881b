"""What defines a benchmark: the Sample schema, the subtask registry, answer extraction, leakage, releases."""

from __future__ import annotations

from typing import Any

__all__ = [
    "AnnotationRecord",
    "Candidate",
    "Edge",
    "Granularity",
    "ImageRef",
    "LeakageVerdict",
    "Provenance",
    "QAType",
    "Sample",
    "SchemaError",
]


def __getattr__(name: str) -> Any:  # lazy: the stage CLIs under this package must not load pydantic at start
    if name in __all__:
        from . import schema

        return getattr(schema, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
