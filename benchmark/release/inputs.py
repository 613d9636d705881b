"""Reading the samples a release is built from: a Samples JSONL from the pipeline, or an MMRA-format JSONL
(`Task`, `QA_type`, `question`, `options`, `answer`, `image1`/`image2` paths relative to the file).

The format is detected per file from the first record's keys; every later line must use the same format.
Problems are collected (file, line, id) so one run reports all of them.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from ..mmra_format import sample_from_mmra
from ..schema import Sample, SchemaError, parse_record
from .errors import ReleaseInputError

SAMPLES_KEYS = {"subtask", "qa_type"}
MMRA_KEYS = {"Task", "QA_type"}
MAX_REPORTED = 20


@dataclass(frozen=True)
class SourceSample:
    sample: Sample
    item: str  # "file.jsonl:12 (id s-...)": how errors name this sample
    base_dir: Path  # relative image paths resolve here


def detect_format(record: dict) -> str:
    keys = set(record)
    if SAMPLES_KEYS <= keys:
        return "samples"
    if MMRA_KEYS <= keys:
        return "mmra"
    raise ReleaseInputError(
        "cannot tell the input format: a Samples record has 'subtask' and 'qa_type', an MMRA row has 'Task' "
        f"and 'QA_type'; got keys {sorted(keys)[:12]}"
    )


def read_source(path: str | Path) -> tuple[list[SourceSample], str]:
    """All samples in `path` and the detected format ("samples" | "mmra"). Raises `ReleaseInputError`
    listing every bad line, and for duplicate ids, naming both lines."""
    path = Path(path)
    if not path.is_file():
        raise ReleaseInputError(f"samples file {path} does not exist")
    base_dir = path.resolve().parent
    problems: list[str] = []
    samples: list[SourceSample] = []
    fmt: str | None = None
    first_line_of: dict[str, str] = {}
    with path.open(encoding="utf-8") as fh:
        for lineno, line in enumerate(fh, 1):
            if not line.strip():
                continue
            item = f"{path.name}:{lineno}"
            try:
                record = json.loads(line)
            except json.JSONDecodeError as exc:
                problems.append(f"{item}: not valid JSON: {exc.msg} at column {exc.colno}")
                continue
            if not isinstance(record, dict):
                problems.append(f"{item}: expected a JSON object, got {type(record).__name__}")
                continue
            if record.get("id"):
                item = f"{item} (id {record['id']})"
            try:
                line_fmt = detect_format(record)
            except ReleaseInputError as exc:
                problems.append(f"{item}: {exc}")
                continue
            fmt = fmt or line_fmt
            if line_fmt != fmt:
                problems.append(f"{item}: an {line_fmt!r} record in a {fmt!r} file; use one format per file")
                continue
            try:
                if fmt == "samples":
                    sample = parse_record(Sample, record, item)
                else:
                    sample = sample_from_mmra(record, base_dir=base_dir, item=item)
            except (SchemaError, ValueError, OSError) as exc:
                problems.append(str(exc) if str(exc).startswith(item) else f"{item}: {exc}")
                continue
            item = f"{path.name}:{lineno} (id {sample.id})"
            if sample.id in first_line_of:
                problems.append(f"{item}: duplicate id {sample.id} (first at {first_line_of[sample.id]})")
                continue
            first_line_of[sample.id] = f"{path.name}:{lineno}"
            samples.append(SourceSample(sample, item, base_dir))
    if problems:
        raise ReleaseInputError(format_problems(f"{path}: {len(problems)} bad sample(s), nothing was published", problems))
    if not samples:
        raise ReleaseInputError(f"{path}: no samples; a release needs at least one")
    return samples, fmt or "samples"


def format_problems(headline: str, problems: list[str]) -> str:
    shown = problems[:MAX_REPORTED]
    more = len(problems) - len(shown)
    tail = [f"... and {more} more"] if more else []
    return "\n".join([headline + ":", *(f"  {p}" for p in shown), *tail])
