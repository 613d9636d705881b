"""Loading an eval dataset from wherever it lives, into `Sample`s, without decoding any image.

`--dataset` is anything the shared reader (`mmra.benchmark.sources`) opens: a release made by `mmra publish`
(version folder, or store + '@X.Y.Z'), a folder of parquet files or one parquet file with MMRA columns, a
Samples JSONL or an MMRA-format JSONL, a `save_to_disk` folder, or a Hub dataset `REPO[@REVISION]`.

Eval policy: a row that cannot become a Sample (bad options, unknown subtask, ...) is reported as a problem
naming the row and the cause, and the rest of the dataset is kept. A row whose image cell is empty is kept
with a placeholder path and counted wrong when its image is needed, so it cannot silently vanish from the
denominator. Images stay encoded (bytes or paths) until the runner needs them.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from mmra.benchmark.images import ImageLimits, ImageRejected, check_location, load_rgb
from mmra.benchmark.schema import Sample, SchemaError
from mmra.benchmark.sources import (
    IMAGE_COLUMNS,
    MISSING_IMAGE,
    LoadedSamples,
    format_problems,
    iter_json_lines,
    load_samples,
)
from mmra.errors import MMRAError


def load_dataset_samples(dataset: str | Path, *, limit: int | None = None, revision: str | None = None) -> LoadedSamples:
    """Read `dataset` (path or `REPO[@REV]`) into Samples. `limit` keeps the first N rows."""
    loaded = load_samples(dataset, limit=limit, revision=revision, on_error="collect",
                          missing_images="placeholder", rename_duplicates=True)
    if loaded.columns is not None:
        missing = [c for c in IMAGE_COLUMNS if c not in loaded.columns]
        if missing:
            raise MMRAError(
                f"dataset {loaded.source}: no image column(s) {', '.join(missing)} (columns: "
                f"{', '.join(loaded.columns)}); an MMRA dataset needs image1 and image2"
            )
    elif loaded.samples and all(getattr(s, c).path.startswith(MISSING_IMAGE)
                                for s in loaded.samples for c in IMAGE_COLUMNS):
        # a JSONL has no column list: a file in which no row has an image lacks the image columns
        raise MMRAError(f"dataset {loaded.source}: no row has an image1 or image2 field; an MMRA dataset needs "
                        "image1 and image2")
    return loaded


# ---------------------------------------------------------------------------------------------- images


def check_image_locations(loaded: LoadedSamples, keys: Sequence[str], roots: Sequence[Path] | None, *,
                          what: str) -> None:
    """Every image file the run will read (`keys` of each sample) must lie inside `roots` (symlinks
    resolved) and outside the system trees; checked up front, without reading a file, so a refused image
    stops the command before it writes anything. Raises `MMRAError` naming each refused sample and why
    (`what`: what did not happen). Missing or broken files stay the row's own failure, counted wrong."""
    problems = []
    for sample in loaded.samples:
        for key in keys:
            try:
                ref = getattr(sample, key)
                check_location(ref, base_dir=loaded.base_dir, label=f"sample {sample.id}: {key} {ref.path!r}",
                               roots=roots)
            except ImageRejected as exc:
                problems.append(str(exc))
    if problems:
        raise MMRAError(format_problems(f"dataset {loaded.source}: {len(problems)} image(s) may not be read, "
                                        f"{what}", problems))



class ImageLoadError(Exception):
    """An image of one row cannot be used; the row is counted wrong and the run goes on."""


@dataclass(frozen=True)
class ImageBudget:
    """How large the model's processor will make an image: a longest side and/or a pixel count."""

    max_side: int | None = None
    max_pixels: int | None = None

    def scale(self, width: int, height: int) -> float:
        s = 1.0
        if self.max_side:
            s = min(s, self.max_side / max(width, height))
        if self.max_pixels:
            s = min(s, (self.max_pixels / (width * height)) ** 0.5)
        return s


# Eval scores what a dataset holds (releases were checked at publish): any size is decoded, bombs are not.
EVAL_LIMITS = ImageLimits(min_side=1)


def load_image(sample: Sample, which: str, base_dir: Path | None, *, budget: ImageBudget | None = None,
               roots: Sequence[Path] | None = None):
    """Decode `sample.image1`/`image2` into an upright RGB PIL image through the one image check
    (`mmra.benchmark.images.load_rgb`: a regular file, fully decoded, EXIF orientation applied, 16-bit and
    palette modes converted).

    `budget`: how large the model's processor will make the image. A JPEG at least 4x larger than that is
    decoded at a reduced DCT scale (as PIL's `thumbnail` does) that still keeps at least twice the final size
    in each dimension, so the processor's own antialiased resize sees practically the same image while the
    decode costs a fraction. Other formats, and images not that large, decode in full."""
    ref = getattr(sample, which)
    if ref.path and ref.path.startswith(MISSING_IMAGE) and ref.bytes_ is None:
        raise ImageLoadError(f"sample {sample.id}: {which}: the dataset row has no image")
    try:
        return load_rgb(ref, base_dir=base_dir, label=f"sample {sample.id}: {which}", roots=roots,
                        limits=EVAL_LIMITS, draft_scale=budget.scale if budget is not None else None)
    except ImageRejected as exc:
        raise ImageLoadError(str(exc)) from None


def load_descriptions(path: str | Path) -> dict[str, dict[str, str]]:
    """A descriptions JSONL (from `mmra describe`): {"id", "description1", "description2"} per line."""
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"descriptions file {path} does not exist")
    out: dict[str, dict[str, str]] = {}
    for rec in iter_json_lines(path):
        data = rec.record
        if data is None:
            raise SchemaError(f"{rec.item}: {rec.error}")
        if not data.get("id"):
            raise SchemaError(f"{rec.item}: a description line needs an 'id'")
        desc = {k: data.get(f"description{k[-1]}") for k in IMAGE_COLUMNS}
        if isinstance(data.get("descriptions"), dict):
            desc = {k: data["descriptions"].get(k) or desc[k] for k in IMAGE_COLUMNS}
        missing = [f"description{k[-1]}" for k in IMAGE_COLUMNS if not desc[k]]
        if missing:
            raise SchemaError(f"{rec.item} (id {data['id']}): missing {', '.join(missing)}")
        out[str(data["id"])] = {k: str(v) for k, v in desc.items()}
    return out
