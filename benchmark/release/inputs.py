"""The samples a release is built from, read by the shared reader (`mmra.benchmark.sources`): a Samples JSONL
from the pipeline, an MMRA-format JSONL (image paths relative to the file) or a parquet file.

Release policy: every problem (file, line, id; a duplicate id names both lines) is collected, then the release
stops with all of them listed, before anything is written."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from ..schema import Sample
from ..sources import format_problems, load_samples
from .errors import ReleaseInputError


@dataclass(frozen=True)
class SourceSample:
    sample: Sample
    item: str  # "file.jsonl:12 (id s-...)": how errors name this sample
    base_dir: Path  # relative image paths resolve here
    # the real folders its image files may lie in (`mmra.benchmark.images.allowed_roots`); None: anywhere but
    # the system trees. `publish` sets them on every sample it builds rows from.
    roots: Sequence[Path] | None = None


def read_source(path: str | Path) -> tuple[list[SourceSample], str]:
    """All samples in `path` and the detected format ("samples" | "mmra"). Raises `ReleaseInputError`
    listing every bad line, and for duplicate ids, naming both lines."""
    path = Path(path)
    if not path.is_file():
        cause = "is a folder, not a JSONL file" if path.is_dir() else "does not exist"
        raise ReleaseInputError(f"samples file {path} {cause}")
    try:
        loaded = load_samples(path, on_error="collect", missing_images="error")
    except ValueError as exc:  # not a samples file, or no samples in it
        raise ReleaseInputError(str(exc)) from None
    if loaded.problems:
        headline = f"{path}: {len(loaded.problems)} bad sample(s), nothing was published"
        raise ReleaseInputError(format_problems(headline, loaded.problems))
    base_dir = loaded.base_dir or path.resolve().parent
    return [SourceSample(s, item, base_dir) for s, item in zip(loaded.samples, loaded.items, strict=True)], \
        loaded.format or "samples"
