"""Loading an eval dataset from wherever it lives, into `Sample`s, without decoding any image.

Accepted `--dataset` values:
- a local release folder (via `mmra.benchmark.release.load_release` when that module is installed), or any
  folder of parquet files with MMRA columns (searched recursively, e.g. `data/train-*.parquet`);
- a parquet file with MMRA columns;
- a JSONL of `Sample` records (our stage hand-off format; image paths relative to the file);
- an MMRA-format JSONL (`Task`, `QA_type`, `question`, `image1`, `image2`, `options`, `answer`);
- a Hugging Face Hub dataset id, `REPO[@REVISION]` (e.g. `m-a-p/MMRA@2d86f4f`).

Images stay encoded (bytes or paths) until the runner needs them, so a corrupt image only fails its own row.
A row that cannot become a Sample at all (bad options, unknown subtask, ...) is reported as a problem naming
the row and the cause; the rest of the dataset is kept.
"""

from __future__ import annotations

import contextlib
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mmra.benchmark.mmra_format import MMRA_COLUMNS, sample_from_mmra
from mmra.benchmark.schema import Sample, SchemaError, read_jsonl

from mmra.errors import MMRAError

IMAGE_COLUMNS = ("image1", "image2")
MISSING_IMAGE = "missing://"  # path prefix for a row whose image cell is empty: the row fails at load time


@dataclass
class LoadedDataset:
    samples: list[Sample]
    source: str  # what was loaded, for run metadata
    base_dir: Path | None = None  # where relative image paths resolve
    problems: list[str] = field(default_factory=list)  # rows that could not be read, one line each
    revision: str | None = None

    def __len__(self) -> int:
        return len(self.samples)


def split_repo_revision(spec: str) -> tuple[str, str | None]:
    repo, sep, rev = spec.partition("@")
    return repo, (rev or None) if sep else None


def load_dataset_samples(dataset: str | Path, *, limit: int | None = None, revision: str | None = None) -> LoadedDataset:
    """Read `dataset` (path or `REPO[@REV]`) into Samples. `limit` keeps the first N rows."""
    spec = str(dataset)
    path = Path(spec).expanduser()
    if path.exists():
        path = path.resolve()  # the run's identity should not depend on how the path was typed
        spec = str(path)
    if path.is_file():
        suffix = path.suffix.lower()
        if suffix == ".parquet":
            return _from_hf_dataset(_read_parquet([path]), str(path), path.parent, limit)
        if suffix in (".jsonl", ".json"):
            return _from_jsonl(path, limit)
        raise MMRAError(f"dataset {path}: unsupported file type {suffix!r}; give a release folder, a parquet file, "
                        "a Samples JSONL or an MMRA-format JSONL")
    base, _, at = spec.rpartition("@") if "@" in spec and not path.exists() else (spec, "", "")
    local = Path(base).expanduser()
    if local.is_dir():
        if _is_release_store(local):  # our own releases: manifest-checked, versions by "@X.Y.Z"
            return _from_hf_dataset(_release_loader()(spec, revision), spec, local, limit)
        if at or revision:
            raise MMRAError(f"dataset {spec}: {local} is not a release folder (no manifest.json), so it has no versions")
        return _from_folder(local, limit)
    if spec.startswith((".", "/", "~")) or spec.endswith((".parquet", ".jsonl", ".json")):
        raise FileNotFoundError(f"dataset {spec}: no such file or folder")
    repo, rev = split_repo_revision(spec)
    return _from_hub(repo, revision or rev, limit)


# ---------------------------------------------------------------------------------------------- sources


def _release_loader():
    try:
        from mmra.benchmark.release import load_release
    except ImportError:
        return None
    return load_release


def _is_release_store(folder: Path) -> bool:
    """A release version folder, or a store of them (<name>/<X.Y.Z>/manifest.json), made by `mmra release`."""
    if _release_loader() is None:
        return False
    return any(depth_match for pattern in ("manifest.json", "*/manifest.json", "*/*/manifest.json")
               for depth_match in folder.glob(pattern))


def _from_folder(path: Path, limit: int | None) -> LoadedDataset:
    parquet = sorted(path.rglob("*.parquet"))
    if parquet:
        return _from_hf_dataset(_read_parquet(parquet), str(path), path, limit)
    jsonl = sorted(path.glob("*.jsonl"))
    if len(jsonl) == 1:
        return _from_jsonl(jsonl[0], limit)
    raise MMRAError(f"dataset {path}: the folder holds no parquet files (and not exactly one JSONL file)")


@contextlib.contextmanager
def _quiet_datasets():
    """`datasets` prints a progress bar per parquet read; ours is the only bar the user should see."""
    import datasets

    was_disabled = datasets.utils.are_progress_bars_disabled()
    datasets.disable_progress_bars()
    try:
        yield
    finally:
        if not was_disabled:
            datasets.enable_progress_bars()


def _read_parquet(files: list[Path]):
    import datasets

    try:
        with _quiet_datasets():
            return datasets.Dataset.from_parquet([str(f) for f in files])
    except Exception as exc:
        raise MMRAError(f"cannot read parquet {', '.join(str(f) for f in files[:3])}: {exc}") from None


def _from_hub(repo: str, revision: str | None, limit: int | None) -> LoadedDataset:
    import datasets

    hub_revision = revision
    if _release_loader() is not None:  # our releases are tagged vX.Y.Z: map a semver; shas and branches pass
        from mmra.benchmark.release.load import hub_revision as to_hub_revision

        hub_revision = to_hub_revision(revision)
    try:
        # all splits: our releases publish `test`, m-a-p/MMRA only `train`
        loaded = datasets.load_dataset(repo, revision=hub_revision)
    except Exception as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise MMRAError(
            f"dataset {repo!r}{'@' + revision if revision else ''}: not a local path, and loading it from the "
            f"Hugging Face Hub failed: {first}"
        ) from None
    if isinstance(loaded, datasets.DatasetDict):
        split = next((s for s in ("test", "train", "validation") if s in loaded), next(iter(loaded)))
        loaded = loaded[split]
    return _from_hf_dataset(loaded, repo, None, limit, revision=revision)


def _from_hf_dataset(ds, source: str, base_dir: Path | None, limit: int | None, *,
                     revision: str | None = None) -> LoadedDataset:
    import datasets

    columns = list(ds.column_names)
    missing_images = [c for c in IMAGE_COLUMNS if c not in columns]
    if missing_images:
        raise MMRAError(
            f"dataset {source}: no image column(s) {', '.join(missing_images)} (columns: {', '.join(columns)}); "
            "an MMRA dataset needs image1 and image2"
        )
    missing = [c for c in MMRA_COLUMNS if c not in columns and c not in IMAGE_COLUMNS and c != "options"]
    if missing:
        raise MMRAError(f"dataset {source}: missing MMRA column(s) {', '.join(missing)} (columns: {', '.join(columns)})")
    if limit is not None:
        ds = ds.select(range(min(limit, len(ds))))
    # keep images encoded: a corrupt image must fail only its own row, and only when it is used
    for col in IMAGE_COLUMNS:
        if isinstance(ds.features.get(col), datasets.Image):
            ds = ds.cast_column(col, datasets.Image(decode=False))
    rows = (dict(row) for row in ds)
    return _rows_to_samples(rows, source, base_dir, revision=revision)


def _from_jsonl(path: Path, limit: int | None) -> LoadedDataset:
    first = _first_record(path)
    if first is None:
        raise MMRAError(f"dataset {path}: the file holds no records")
    if "Task" in first:
        rows = _iter_json_lines(path, limit)
        return _rows_to_samples(rows, str(path), path.parent)
    if "subtask" in first:
        problems: list[str] = []
        samples = read_jsonl(path, Sample, errors=problems)
        if limit is not None:
            samples = samples[:limit]
        return LoadedDataset(_dedupe(samples), str(path), path.parent, problems)
    raise MMRAError(
        f"dataset {path}: first record has neither 'Task' (MMRA format) nor 'subtask' (Sample format); "
        f"its keys are {', '.join(sorted(first))}"
    )


def _first_record(path: Path) -> dict | None:
    with path.open(encoding="utf-8") as fh:
        for lineno, line in enumerate(fh, 1):
            if line.strip():
                try:
                    data = json.loads(line)
                except json.JSONDecodeError as exc:
                    raise SchemaError(f"{path.name}:{lineno}: not valid JSON: {exc.msg}") from None
                return data if isinstance(data, dict) else None
    return None


def _iter_json_lines(path: Path, limit: int | None):
    n = 0
    with path.open(encoding="utf-8") as fh:
        for lineno, line in enumerate(fh, 1):
            if not line.strip():
                continue
            if limit is not None and n >= limit:
                return
            n += 1
            try:
                yield json.loads(line)
            except json.JSONDecodeError as exc:
                yield {"__error__": f"{path.name}:{lineno}: not valid JSON: {exc.msg}"}


def _rows_to_samples(rows, source: str, base_dir: Path | None, *, revision: str | None = None) -> LoadedDataset:
    samples: list[Sample] = []
    problems: list[str] = []
    for index, row in enumerate(rows):
        item = f"row {index}" + (f" (id {row.get('id')})" if row.get("id") else "")
        if "__error__" in row:
            problems.append(row["__error__"])
            continue
        row = dict(row)
        for col in IMAGE_COLUMNS:
            if _empty_image(row.get(col)):
                # keep the row: it is counted wrong with a clear error instead of silently vanishing
                row[col] = f"{MISSING_IMAGE}{col}"
        try:
            samples.append(sample_from_mmra(row, base_dir=base_dir, item=item))
        except SchemaError as exc:
            problems.append(str(exc))
        except (OSError, ValueError) as exc:
            problems.append(f"{item}: {exc}")
    return LoadedDataset(_dedupe(samples), source, base_dir, problems, revision)


def _empty_image(value: Any) -> bool:
    if value is None:
        return True
    if isinstance(value, dict):
        return value.get("bytes") is None and not value.get("path")
    return isinstance(value, str) and not value.strip()


def _dedupe(samples: list[Sample]) -> list[Sample]:
    """Content ids collide when a dataset repeats a row; predictions are keyed by id, so make them unique."""
    seen: dict[str, int] = {}
    out = []
    for s in samples:
        count = seen.get(s.id, 0) + 1
        seen[s.id] = count
        out.append(s if count == 1 else s.model_copy(update={"id": f"{s.id}~{count}"}))
    return out


# ---------------------------------------------------------------------------------------------- images


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


def load_image(sample: Sample, which: str, base_dir: Path | None, *, budget: ImageBudget | None = None):
    """Decode `sample.image1`/`image2` into an RGB PIL image (fully read, so truncation fails here).

    `budget`: how large the model's processor will make the image. A JPEG at least 4x larger than that is
    decoded at a reduced DCT scale (as PIL's `thumbnail` does) that still keeps at least twice the final size
    in each dimension, so the processor's own antialiased resize sees practically the same image while the
    decode costs a fraction. Other formats, and images not that large, decode in full."""
    import io

    from PIL import Image, UnidentifiedImageError

    ref = getattr(sample, which)
    if ref.path and ref.path.startswith(MISSING_IMAGE) and ref.bytes_ is None:
        raise ImageLoadError(f"sample {sample.id}: {which}: the dataset row has no image")
    try:
        data = ref.read_bytes(base_dir)
        with Image.open(io.BytesIO(data)) as img:
            if budget is not None and img.format == "JPEG":
                scale = budget.scale(*img.size)
                if scale <= 0.25:
                    img.draft("RGB", (int(2 * scale * img.width) + 1, int(2 * scale * img.height) + 1))
            img.load()
            return img.convert("RGB")
    except FileNotFoundError as exc:
        raise ImageLoadError(f"sample {sample.id}: {which}: {exc}") from None
    except UnidentifiedImageError:
        raise ImageLoadError(f"sample {sample.id}: {which}: not a readable image (unknown or corrupt format)") from None
    except Exception as exc:  # PIL raises several types for truncated or corrupt data
        raise ImageLoadError(f"sample {sample.id}: {which}: cannot decode image ({type(exc).__name__}: {exc})") from None


def load_descriptions(path: str | Path) -> dict[str, dict[str, str]]:
    """A descriptions JSONL (from `mmra describe`): {"id", "description1", "description2"} per line."""
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"descriptions file {path} does not exist")
    out: dict[str, dict[str, str]] = {}
    with path.open(encoding="utf-8") as fh:
        for lineno, line in enumerate(fh, 1):
            if not line.strip():
                continue
            try:
                data = json.loads(line)
            except json.JSONDecodeError as exc:
                raise SchemaError(f"{path.name}:{lineno}: not valid JSON: {exc.msg}") from None
            if not isinstance(data, dict) or not data.get("id"):
                raise SchemaError(f"{path.name}:{lineno}: a description line needs an 'id'")
            desc = {k: data.get(f"description{k[-1]}") for k in IMAGE_COLUMNS}
            if isinstance(data.get("descriptions"), dict):
                desc = {k: data["descriptions"].get(k) or desc[k] for k in IMAGE_COLUMNS}
            missing = [f"description{k[-1]}" for k in IMAGE_COLUMNS if not desc[k]]
            if missing:
                raise SchemaError(f"{path.name}:{lineno} (id {data['id']}): missing {', '.join(missing)}")
            out[str(data["id"])] = {k: str(v) for k, v in desc.items()}
    return out
