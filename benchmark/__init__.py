"""What defines a benchmark: the Sample schema, the subtask registry, answer extraction, leakage, releases."""

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
