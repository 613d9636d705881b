"""Reading samples from wherever they are: the one reader that release, eval and leakage share.

A source `spec` is one of:
- a JSONL file of `Sample` records (the stages' hand-off format) or of MMRA rows (`Task`, `QA_type`,
  `question`, `image1`, `image2`, `options`, `answer`); image paths are relative to the file (samples come
  back with them absolute, so what a stage writes from them works from any folder; ids do not change);
- a parquet file, or a folder of parquet files (searched recursively, e.g. `data/train-*.parquet`);
- a `datasets.save_to_disk` folder;
- a release made by `mmra publish` (`mmra.benchmark.release`): a version folder, or a store folder, optionally
  with '@X.Y.Z' / '@latest'; its data files are checked against the manifest first;
- a Hugging Face Hub dataset, `REPO[@REVISION]`.

The format (Samples or MMRA) is taken from the first record (or a table's columns); every later record must be
in the same format. Images are never decoded here: they stay bytes or paths, so a corrupt image only fails its
own row, later, in the stage that uses it.

Every stage keeps its own policy through `load_samples`' arguments: the release stops on any problem and lists
all of them, eval collects problems and goes on, leakage accepts rows without images (placeholder paths).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from mmra.errors import MMRAError

from .jsonl import SourceRecord, iter_json_lines
from .mmra_format import IMAGE_COLUMNS, MMRA_REQUIRED, sample_from_mmra
from .records import MISSING_IMAGE, anchor_image_paths, parse_record
from .release.refs import split_ref
from .schema import Sample, SchemaError

SAMPLES, MMRA = "samples", "mmra"
MAX_REPORTED = 20
_JSONL_SUFFIXES = (".jsonl", ".json", ".ndjson")
_SAVED_DATASET_MARKERS = ("dataset_info.json", "dataset_dict.json", "state.json")
_SPLIT_PREFERENCE = ("test", "train", "validation")  # our releases publish `test`, m-a-p/MMRA only `train`


@dataclass
class RecordSource:
    """An opened source: what it is and its records (read lazily, in order)."""

    source: str  # what was read, for messages and run metadata
    base_dir: Path | None  # where relative image paths resolve
    records: Iterable[SourceRecord]
    revision: str | None = None  # the release version or Hub revision read
    columns: tuple[str, ...] | None = None  # a table's columns; None for JSONL
    files: tuple[Path, ...] = ()  # the local files read

    def __iter__(self) -> Iterator[SourceRecord]:
        return iter(self.records)


@dataclass
class LoadedSamples:
    samples: list[Sample]
    problems: list[str]  # records that could not become a Sample, one message each (item and cause)
    source: str
    base_dir: Path | None
    revision: str | None = None
    items: list[str] = field(default_factory=list)  # how messages name each sample, parallel to `samples`
    format: str | None = None  # SAMPLES | MMRA
    columns: tuple[str, ...] | None = None
    files: tuple[Path, ...] = ()

    def __len__(self) -> int:
        return len(self.samples)


# ---------------------------------------------------------------------------------------------- records


def _parquet_records(files: list[Path]) -> Iterator[SourceRecord]:
    import pyarrow as pa
    import pyarrow.parquet as pq

    index = 0
    for file in files:
        try:
            batches = pq.ParquetFile(file).iter_batches(batch_size=256)
            for batch in batches:
                for row in batch.to_pylist():  # image cells stay {"bytes", "path"} structs
                    yield SourceRecord(f"row {index}", row)
                    index += 1
        except (pa.ArrowException, OSError) as exc:
            raise ValueError(f"{file}: not a readable parquet file ({exc})") from None


def _parquet_columns(files: list[Path]) -> tuple[str, ...]:
    import pyarrow as pa
    import pyarrow.parquet as pq

    try:
        return tuple(pq.read_schema(files[0]).names)
    except (pa.ArrowException, OSError) as exc:
        raise ValueError(f"{files[0]}: not a readable parquet file ({exc})") from None


def _dataset_records(ds) -> Iterator[SourceRecord]:
    import datasets

    for column in IMAGE_COLUMNS:  # keep the encoded bytes; decoding to PIL is the using stage's job
        if isinstance(ds.features.get(column), datasets.Image):
            ds = ds.cast_column(column, datasets.Image(decode=False))
    for index, row in enumerate(ds):
        yield SourceRecord(f"row {index}", dict(row))


def _pick_split(loaded):
    import datasets

    if not isinstance(loaded, datasets.DatasetDict):
        return loaded
    split = next((s for s in _SPLIT_PREFERENCE if s in loaded), next(iter(loaded)))
    return loaded[split]


# ---------------------------------------------------------------------------------------------- sources


def _looks_like_path(spec: str) -> bool:
    return spec.startswith((".", "/", "~")) or spec.endswith((*_JSONL_SUFFIXES, ".parquet")) or spec.count("/") > 1


def open_source(spec: str | Path, *, revision: str | None = None) -> RecordSource:
    """Find what `spec` names (see the module docstring) and open it for reading."""
    text = str(spec)
    base, at = split_ref(text)
    if revision and at and revision != at:
        raise ValueError(f"{text!r} names version {at} but revision {revision!r} was given")
    wanted = revision or at
    local = Path(base).expanduser()
    if local.exists():
        local = local.resolve()  # a run's identity should not depend on how the path was typed
        if local.is_file():
            if wanted:
                raise ValueError(f"{local} is a file, which has no versions; a revision needs a release or Hub dataset")
            return _open_file(local)
        return _open_folder(local, wanted, shown=f"{local}@{at}" if at else str(local))
    if _looks_like_path(base):
        raise FileNotFoundError(f"samples source {text} does not exist (no such file or folder)")
    return _open_hub(base, wanted)


def _open_file(path: Path) -> RecordSource:
    suffix = path.suffix.lower()
    if suffix == ".parquet":
        return RecordSource(str(path), path.parent, _parquet_records([path]), columns=_parquet_columns([path]),
                            files=(path,))
    if suffix in _JSONL_SUFFIXES:
        return RecordSource(str(path), path.parent, iter_json_lines(path), files=(path,))
    raise ValueError(f"{path}: unsupported file type {suffix!r}; give a Samples or MMRA-format JSONL, a parquet "
                     "file, a folder of parquet files, a release or a Hub dataset id")


def _is_release(folder: Path) -> bool:
    """A release version folder, or a store of them (<name>/<X.Y.Z>/manifest.json), made by `mmra publish`."""
    return any(next(folder.glob(pattern), None) for pattern in ("manifest.json", "*/manifest.json",
                                                                 "*/*/manifest.json"))


def _open_folder(folder: Path, wanted: str | None, *, shown: str) -> RecordSource:
    if _is_release(folder):  # our own releases: manifest-checked, versions by "@X.Y.Z"
        from mmra.benchmark.release.refs import resolve_local

        release = resolve_local(str(folder), wanted)
        release.verify()
        files = release.data_files
        return RecordSource(shown, release.path, _parquet_records(files), revision=release.version,
                            columns=_parquet_columns(files), files=tuple(files))
    if wanted:
        raise ValueError(f"{folder} is not a release folder (no manifest.json), so it has no version {wanted!r}")
    if any((folder / marker).exists() for marker in _SAVED_DATASET_MARKERS):
        import datasets

        ds = _pick_split(datasets.load_from_disk(str(folder)))
        return RecordSource(str(folder), folder, _dataset_records(ds), columns=tuple(ds.column_names))
    parquet = sorted(folder.rglob("*.parquet"))
    if parquet:
        return RecordSource(str(folder), folder, _parquet_records(parquet), columns=_parquet_columns(parquet),
                            files=tuple(parquet))
    jsonl = sorted(folder.glob("*.jsonl"))
    if len(jsonl) == 1:
        return _open_file(jsonl[0])
    raise ValueError(f"{folder}: the folder holds no parquet files, no saved dataset (datasets.save_to_disk) and "
                     f"not exactly one .jsonl file ({len(jsonl)} found)")


def _open_hub(repo: str, revision: str | None) -> RecordSource:
    import datasets

    from mmra.benchmark.release.refs import hub_revision

    try:  # our releases are tagged vX.Y.Z: hub_revision maps a semver to its tag; shas and branches pass
        loaded = datasets.load_dataset(repo, revision=hub_revision(revision))
    except Exception as exc:  # the Hub raises many types (offline, 404, gated, bad config)
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise MMRAError(
            f"dataset {repo!r}{'@' + revision if revision else ''}: not a local path, and loading it from the "
            f"Hugging Face Hub failed: {first}"
        ) from None
    ds = _pick_split(loaded)
    return RecordSource(repo, None, _dataset_records(ds), revision=revision, columns=tuple(ds.column_names))


# ---------------------------------------------------------------------------------------------- samples


def detect_format(record: dict[str, Any]) -> str:
    if "Task" in record:
        return MMRA
    if "subtask" in record:
        return SAMPLES
    raise SchemaError(
        "cannot tell the format: a Samples record has 'subtask' and 'qa_type', an MMRA row has 'Task' and "
        f"'QA_type'; got keys {sorted(record)[:12]}"
    )


def _empty_image(value: Any) -> bool:
    if value is None:
        return True
    if isinstance(value, dict):
        return value.get("bytes") is None and not value.get("path")
    return isinstance(value, str) and not value.strip()


def _to_sample(record: dict[str, Any], fmt: str, base_dir: Path | None, item: str, *, placeholders: bool,
               from_table: bool) -> Sample:
    if placeholders:
        record = dict(record)
        for column in IMAGE_COLUMNS:
            if _empty_image(record.get(column)):
                path = f"{MISSING_IMAGE}{column}"
                record[column] = {"path": path} if fmt == SAMPLES else path
    if fmt == MMRA:
        sample = sample_from_mmra(record, base_dir=base_dir, item=item)
    else:
        if from_table:  # a table has every column in every row: an absent field is a null cell there
            record = {k: v for k, v in record.items() if v is not None or k == "leakage"}
        sample = parse_record(Sample, record, item)
    # paths relative to the source become absolute (ids already fixed), so a stage's output works from anywhere
    return anchor_image_paths(sample, base_dir)


def load_samples(
    spec: str | Path,
    *,
    limit: int | None = None,
    revision: str | None = None,
    on_error: Literal["raise", "collect"] = "raise",
    missing_images: Literal["error", "placeholder"] = "error",
    rename_duplicates: bool = False,
) -> LoadedSamples:
    """Read `spec` (see the module docstring) into Samples.

    limit: keep the first N records (good or bad).
    on_error: "raise" -> after reading everything, a `SchemaError` listing every problem; "collect" -> the
        problems are returned in `LoadedSamples.problems` and the good samples are kept.
    missing_images: "error" -> a record without an image is a problem; "placeholder" -> it gets the path
        "missing:image1"/"missing:image2" (text-only audits; eval counts such a row wrong when it needs it).
    rename_duplicates: a record WITHOUT an id whose derived id repeats an earlier one (the same question about
        images that cannot be told apart) is kept as "<id>~2", "<id>~3", ...; otherwise it is a problem. A
        repeated explicit id is always a problem naming both records.
    """
    if on_error not in ("raise", "collect"):
        raise ValueError(f"on_error must be 'raise' or 'collect', got {on_error!r}")
    if missing_images not in ("error", "placeholder"):
        raise ValueError(f"missing_images must be 'error' or 'placeholder', got {missing_images!r}")
    opened = open_source(spec, revision=revision)
    from_table = opened.columns is not None
    fmt = None
    if from_table:
        try:
            fmt = detect_format(dict.fromkeys(opened.columns))
        except SchemaError as exc:
            raise SchemaError(f"{opened.source}: {exc}") from None
    if fmt == MMRA:
        missing = [c for c in MMRA_REQUIRED if c not in opened.columns]
        if missing:
            raise SchemaError(f"{opened.source}: missing MMRA column(s) {', '.join(missing)} "
                              f"(columns: {', '.join(opened.columns)})")
    out = LoadedSamples([], [], opened.source, opened.base_dir, opened.revision, columns=opened.columns,
                        files=opened.files)
    first_at: dict[str, str] = {}  # id -> the record that first had it
    seen = 0
    records = iter(opened.records)
    try:
        for rec in records:
            if limit is not None and seen >= limit:
                break
            seen += 1
            sample, record_fmt = _read_one(rec, opened, fmt, out.problems,
                                           placeholders=missing_images == "placeholder", from_table=from_table)
            fmt = fmt or record_fmt  # the first record whose format is known sets the source's format
            if sample is None:
                continue
            if sample.id in first_at:
                if not (rename_duplicates and not rec.record.get("id")):
                    out.problems.append(f"{rec.item} (id {sample.id}): duplicate id {sample.id} "
                                        f"(first at {first_at[sample.id]})")
                    continue
                n = 2
                while f"{sample.id}~{n}" in first_at:
                    n += 1
                sample = sample.model_copy(update={"id": f"{sample.id}~{n}"})
            first_at[sample.id] = rec.item
            out.samples.append(sample)
            out.items.append(f"{rec.item} (id {sample.id})")
    finally:
        close = getattr(records, "close", None)
        if close is not None:
            close()  # a limit stops early: release the open file now
    out.format = fmt
    if seen == 0 and limit != 0:
        raise ValueError(f"{opened.source}: holds no samples")
    if out.problems and on_error == "raise":
        raise SchemaError(format_problems(f"{opened.source}: {len(out.problems)} bad record(s)", out.problems))
    return out


def _read_one(rec: SourceRecord, opened: RecordSource, fmt: str | None, problems: list[str], *,
              placeholders: bool, from_table: bool) -> tuple[Sample | None, str | None]:
    """One record as a Sample, or None with its problem appended; and the record's format when known."""
    if rec.record is None:
        problems.append(f"{rec.item}: {rec.error}")
        return None, None
    item = f"{rec.item} (id {rec.record['id']})" if rec.record.get("id") else rec.item
    record_fmt = fmt if from_table else None
    try:
        record_fmt = record_fmt or detect_format(rec.record)
        if fmt is not None and record_fmt != fmt:
            raise SchemaError(f"an {record_fmt!r} record among {fmt!r} records; use one format per file")
        return _to_sample(rec.record, record_fmt, opened.base_dir, item, placeholders=placeholders,
                          from_table=from_table), record_fmt
    except (SchemaError, ValueError, OSError) as exc:
        message = str(exc)
        problems.append(message if message.startswith(item) else f"{item}: {message}")
        return None, record_fmt


def format_problems(headline: str, problems: list[str]) -> str:
    """A headline and the first problems, one per line (a long list ends with how many more there are)."""
    shown = problems[:MAX_REPORTED]
    more = len(problems) - len(shown)
    tail = [f"... and {more} more"] if more else []
    return "\n".join([headline + ":", *(f"  {p}" for p in shown), *tail])
