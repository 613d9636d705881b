"""What defines a benchmark: the Sample schema, the subtask registry, answer extraction, leakage, releases."""

from __future__ import annotations

from typing import TYPE_CHECKING

from mmra.faces import lazy_exports

if TYPE_CHECKING:  # the static face: editors and type checkers see these names
    from .schema import (
        AnnotationRecord,
        Candidate,
        Edge,
        Granularity,
        ImageRef,
        LeakageVerdict,
        Provenance,
        QAType,
        Sample,
        SchemaError,
    )

_EXPORTS = {
    "AnnotationRecord": ".schema",
    "Candidate": ".schema",
    "Edge": ".schema",
    "Granularity": ".schema",
    "ImageRef": ".schema",
    "LeakageVerdict": ".schema",
    "Provenance": ".schema",
    "QAType": ".schema",
    "Sample": ".schema",
    "SchemaError": ".schema",
}
__all__ = ["AnnotationRecord", "Candidate", "Edge", "Granularity", "ImageRef", "LeakageVerdict",
           "Provenance", "QAType", "Sample", "SchemaError"]
__getattr__ = lazy_exports(__name__, _EXPORTS)  # imported on first use: the CLI starts fast
