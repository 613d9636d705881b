"""Records from outside: a Candidate or Sample made from data a stage reads is validated here, against the
schema (fields, options, answer) and against the subtask registry (the subtask exists, its level is filled in
and must match). JSONL of records is read and written here too, so there is one way to do each.

Image paths: a relative path in a file resolves against that file's folder. Readers anchor such paths (make
them absolute) as they read, after the id is fixed, so whatever a stage then writes for the next one names
images that exist from any folder, whatever folder the next command runs in.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TypeVar

from pydantic import BaseModel, ValidationError

from mmra.fileio import write_atomic
from mmra.parsing import non_finite_field

from .jsonl import iter_json_lines
from .registry import get_subtask
from .schema import ImageRef, SchemaError, describe_validation_error

Record = TypeVar("Record", bound=BaseModel)
MISSING_IMAGE = "missing:"  # placeholder path prefix ("missing:image1") for a row that has no image; not a path

__all__ = ["MISSING_IMAGE", "anchor_image_paths", "check_subtask", "parse_record", "read_jsonl", "write_jsonl"]


def check_subtask(record: Record, item: str) -> Record:
    """The record's subtask must be registered; its granularity is filled in from the registry, or must match."""
    subtask = getattr(record, "subtask", None)
    if subtask is None:
        return record
    try:
        spec = get_subtask(subtask)
    except KeyError as exc:
        raise SchemaError(f"{item}: subtask: {exc.args[0]}") from None
    granularity = getattr(record, "granularity", None)
    if granularity is None:
        object.__setattr__(record, "granularity", spec.granularity)
    elif granularity != spec.granularity:
        raise SchemaError(f"{item}: granularity: {granularity.value!r} does not match subtask {subtask!r} "
                          f"({spec.granularity.value})")
    return record


def parse_record(model: type[Record], data: dict, item: str) -> Record:
    """Validate one record from outside; a `SchemaError` names the item, the field and the value. NaN and
    Infinity are refused in any field (JSONL refuses them as it reads; a table row is checked here), since
    writing them back would turn them into null."""
    bad = non_finite_field(data)
    if bad is not None:
        raise SchemaError(f"{item}: {bad[0]}: {bad[1]} is not a finite number (NaN and Infinity are refused)")
    try:
        record = model.model_validate(data)
    except ValidationError as exc:
        raise SchemaError(describe_validation_error(exc, item)) from None
    return check_subtask(record, item)


def _anchor(ref: ImageRef, base: Path) -> ImageRef:
    if ref.bytes_ is not None or not ref.path or ref.path.startswith(MISSING_IMAGE) or Path(ref.path).is_absolute():
        return ref  # with inline bytes the path is only a name
    return ref.model_copy(update={"path": str(base / ref.path)})


def anchor_image_paths(record: Record, base_dir: str | Path | None) -> Record:
    """`record` with its relative image paths made absolute against `base_dir` (the folder of the file it was
    read from; None: left as they are). Call it on a parsed record: an id derived from the path as written
    stays, since copying does not re-derive it."""
    if base_dir is None:
        return record
    base = Path(base_dir).absolute()
    update = {}
    for name in type(record).model_fields:
        value = getattr(record, name)
        if isinstance(value, ImageRef):
            anchored = _anchor(value, base)
        elif isinstance(value, list) and value and all(isinstance(v, ImageRef) for v in value):
            anchored = [_anchor(v, base) for v in value]
        else:
            continue
        if anchored != value:
            update[name] = anchored
    return record.model_copy(update=update) if update else record


def read_jsonl(path: str | Path, model: type[Record], *, errors: list[str] | None = None) -> list[Record]:
    """Read Candidates or Samples. With `errors` given, bad lines are collected there (named by file and
    line number) and the rest is kept; without it the first bad line raises `SchemaError`. Relative image
    paths are anchored to the file's folder (`anchor_image_paths`)."""
    base_dir = Path(path).resolve().parent
    records = []
    for rec in iter_json_lines(path):
        try:
            if rec.record is None:
                raise SchemaError(f"{rec.item}: {rec.error}")
            record = parse_record(model, rec.record, f"{rec.item} (id {rec.record.get('id') or '?'})")
            records.append(anchor_image_paths(record, base_dir))
        except SchemaError as exc:
            if errors is None:
                raise
            errors.append(str(exc))
    return records


def write_jsonl(path: str | Path, records, *, append: bool = False) -> Path:
    """Write records (pydantic models, or plain dicts) atomically (a temp file renamed into place) unless
    appending."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    lines = "".join((r.model_dump_json(by_alias=True, exclude_none=False) if isinstance(r, BaseModel)
                     else json.dumps(r, ensure_ascii=False)) + "\n" for r in records)
    if append:
        with path.open("a", encoding="utf-8") as fh:
            fh.write(lines)
        return path
    return write_atomic(path, lines)
