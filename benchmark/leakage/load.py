"""Read the samples to audit: a Samples JSONL, an MMRA-format JSONL, a parquet file, a folder of parquet files
(a published release) or a `datasets.save_to_disk` folder. Rows with MMRA columns need only `Task`,
`QA_type`, `question`, `options`, `answer`; a missing `id` is derived, missing images get a placeholder path.
"""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import Any

from mmra.benchmark.mmra_format import sample_from_mmra
from mmra.benchmark.schema import Sample, SchemaError, parse_record, read_jsonl

MISSING_IMAGE = "missing:{column}"  # placeholder path for audits of text-only dumps


def load_samples(path: str | Path) -> list[Sample]:
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"samples input {path} does not exist")
    if path.is_dir():
        if (path / "dataset_info.json").exists() or (path / "dataset_dict.json").exists() or (path / "state.json").exists():
            return _from_rows(_rows_from_saved_dataset(path), path, base_dir=path)
        parquets = sorted(path.rglob("*.parquet"))
        if parquets:
            return _from_rows(_rows_from_parquet(parquets), path, base_dir=path)
        jsonls = sorted(path.glob("*.jsonl"))
        if len(jsonls) == 1:
            return load_samples(jsonls[0])
        raise ValueError(f"{path}: folder holds no parquet files, no saved dataset and not exactly one .jsonl file")
    if path.suffix == ".parquet":
        return _from_rows(_rows_from_parquet([path]), path, base_dir=path.parent)
    first = _first_record(path)
    if first is None:
        raise ValueError(f"{path}: no samples in the file")
    if "Task" in first and "subtask" not in first:
        return _from_rows(_rows_from_jsonl(path), path, base_dir=path.parent)
    samples = read_jsonl(path, Sample)
    _check_unique([s.id for s in samples], path)
    return samples


def _first_record(path: Path) -> dict | None:
    with path.open(encoding="utf-8") as fh:
        for lineno, line in enumerate(fh, 1):
            if line.strip():
                try:
                    data = json.loads(line)
                except json.JSONDecodeError as exc:
                    raise SchemaError(f"{path.name}:{lineno}: not valid JSON: {exc.msg} at column {exc.colno}") from None
                if not isinstance(data, dict):
                    raise SchemaError(f"{path.name}:{lineno}: expected a JSON object, got {type(data).__name__}")
                return data
    return None


def _rows_from_jsonl(path: Path):
    with path.open(encoding="utf-8") as fh:
        for lineno, line in enumerate(fh, 1):
            if line.strip():
                try:
                    yield f"{path.name}:{lineno}", json.loads(line)
                except json.JSONDecodeError as exc:
                    raise SchemaError(f"{path.name}:{lineno}: not valid JSON: {exc.msg} at column {exc.colno}") from None


def _rows_from_parquet(files: list[Path]):
    import pyarrow.parquet as pq

    for file in files:
        table = pq.read_table(file)
        for i, row in enumerate(table.to_pylist()):
            yield f"{file.name}:row {i}", row


def _rows_from_saved_dataset(path: Path):
    import datasets

    loaded = datasets.load_from_disk(str(path))
    splits = loaded.items() if isinstance(loaded, datasets.DatasetDict) else [("data", loaded)]
    for split, ds in splits:
        for column in ("image1", "image2"):  # keep the encoded bytes; decoding to PIL is not needed here
            if column in ds.column_names and isinstance(ds.features[column], datasets.Image):
                ds = ds.cast_column(column, datasets.Image(decode=False))
        for i, row in enumerate(ds):
            yield f"{path.name}/{split}:row {i}", row


def _from_rows(rows, source: Path, base_dir: Path) -> list[Sample]:
    samples: list[Sample] = []
    seen: Counter[str] = Counter()
    for item, row in rows:
        if not isinstance(row, dict):
            raise SchemaError(f"{item}: expected a record, got {type(row).__name__}")
        if "subtask" in row and "qa_type" in row:  # a Sample stored in a table
            sample = parse_record(Sample, {k: v for k, v in row.items() if v is not None or k == "leakage"}, item)
        else:
            row = dict(row)
            for column in ("image1", "image2"):
                if row.get(column) is None:
                    row[column] = MISSING_IMAGE.format(column=column)
            sample = sample_from_mmra(row, base_dir=base_dir, item=item)
            if not row.get("id") and seen[sample.id]:
                # the same question about images we cannot tell apart: keep both, by row position
                sample = sample.model_copy(update={"id": f"{sample.id}-{len(samples)}"})
        if seen[sample.id] and "subtask" in row:
            raise SchemaError(f"{item}: duplicate id {sample.id!r}")
        seen[sample.id] += 1
        samples.append(sample)
    if not samples:
        raise ValueError(f"{source}: no samples found")
    _check_unique([s.id for s in samples], source)
    return samples


def _check_unique(ids: list[str], source: Any) -> None:
    dupes = [i for i, n in Counter(ids).items() if n > 1]
    if dupes:
        raise SchemaError(f"{source}: duplicate sample id(s): {', '.join(dupes[:5])}")
