"""One release row per sample: the MMRA columns unchanged plus ours, with the image bytes embedded.

Columns (the first seven are m-a-p/MMRA's, with MMRA's exact strings, so code written for it runs as is):

    Task, QA_type, question, image1, image2, options (Python-dict string | None), answer
    id, granularity, options_list, provenance (JSON), image{1,2}_{source,source_url,licence,sha256},
    annotators, agreement, adjudication, leakage_checked, leakage_flagged, leakage_hits, leakage_models,
    leakage (JSON), description1, description2, candidate_id, version, content_hash
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import datasets
import pyarrow as pa

from ..images import DEFAULT_LIMITS, ImageLimits, verify_ref
from ..mmra_format import sample_to_mmra
from ..registry import get_subtask
from ..schema import ImageRef
from .digest import FEATURES
from .inputs import SourceSample


@dataclass(frozen=True)
class ImageData:
    data: bytes
    sha256: str
    ext: str


def read_image(ref: ImageRef, source: SourceSample, column: str, *, roots: Sequence[Path] | None = None,
               limits: ImageLimits = DEFAULT_LIMITS) -> ImageData:
    """The image's bytes through the one image check (a regular file, inside `roots`, else the source's own
    `roots`, when given; decoding fully within the size limits curation uses) and matching a sha256 recorded
    upstream."""
    label = f"{source.item}: {column}" + (f" {ref.path!r}" if ref.path else "")
    roots = source.roots if roots is None else roots
    image = verify_ref(ref, base_dir=source.base_dir, label=label, roots=roots, limits=limits)  # ImageRejected is a ValueError
    return ImageData(image.data, image.sha256, image.extension.lstrip("."))


def _json_or_none(model: Any, **kwargs: Any) -> str | None:
    return None if model is None else model.model_dump_json(**kwargs)


def sample_to_row(source: SourceSample, images: tuple[ImageData, ImageData], version: str) -> dict[str, Any]:
    s = source.sample
    # image identity is its content: fill the sha256 so content_hash never depends on a file path
    s = s.model_copy(update={
        "image1": s.image1.model_copy(update={"sha256": images[0].sha256}),
        "image2": s.image2.model_copy(update={"sha256": images[1].sha256}),
    })
    leak = s.leakage
    row: dict[str, Any] = {
        **sample_to_mmra(s, image_value="none"),  # the one codec for MMRA's columns
        "id": s.id,
        "granularity": s.granularity.value if s.granularity else get_subtask(s.subtask).granularity.value,
        "options_list": list(s.options),
        "provenance": s.provenance.model_dump_json(),
        "annotators": len(s.annotation.annotators) or len(s.annotation.answers),
        "agreement": s.annotation.agreement,
        "alpha_answers": s.annotation.alpha.get("answers"),
        "alpha_keep_reject": s.annotation.alpha.get("keep_reject"),
        "adjudication": s.annotation.adjudication,
        "leakage_checked": leak is not None and (leak.checked or leak.leaked),  # a failed check is no check
        "leakage_flagged": None if leak is None else leak.leaked,
        "leakage_hits": None if leak is None else leak.hits,
        "leakage_models": [] if leak is None else list(leak.models),
        # `run` is a local path to the evidence; it means nothing to users of the release
        "leakage": _json_or_none(leak, exclude={"run"}),
        "description1": s.descriptions.get("image1"),
        "description2": s.descriptions.get("image2"),
        "candidate_id": s.candidate_id,
        "version": version,
        "content_hash": s.content_hash,
    }
    for i, (ref, img) in enumerate(zip((s.image1, s.image2), images, strict=True), 1):
        # a stable file name, so rebuilding on another machine gives the same bytes
        row[f"image{i}"] = {"bytes": img.data, "path": f"{s.id}-image{i}.{img.ext}"}
        row[f"image{i}_source"] = ref.source
        row[f"image{i}_source_url"] = ref.source_url
        row[f"image{i}_licence"] = ref.licence
        row[f"image{i}_sha256"] = img.sha256
    return {name: row.get(name) for name in FEATURES}


def rows_to_table(rows: list[dict[str, Any]]) -> pa.Table:
    return pa.Table.from_pylist(rows, schema=FEATURES.arrow_schema)


def to_dataset(rows: list[dict[str, Any]]) -> datasets.Dataset:
    """The rows as an in-memory `datasets.Dataset` with `Image` features (bytes embedded)."""
    return datasets.Dataset(rows_to_table(rows), info=datasets.DatasetInfo(features=FEATURES))


def check_content_duplicates(rows: list[dict[str, Any]]) -> list[str]:
    """Different ids with identical content (a question published twice); reported as warnings."""
    seen: dict[str, str] = {}
    warnings = []
    for row in rows:
        other = seen.setdefault(row["content_hash"], row["id"])
        if other != row["id"]:
            warnings.append(f"samples {other} and {row['id']} have identical content ({row['Task']})")
    return warnings

