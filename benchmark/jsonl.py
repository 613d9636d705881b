"""Reading JSONL in one place: every JSONL input of the toolkit (candidates, samples, MMRA rows, manifests,
predictions) goes through `iter_json_lines`, which names each line and turns a bad one (not JSON, not UTF-8,
nested too deeply, a number over 4,300 digits, NaN or Infinity anywhere, not an object) into an error on that
line, naming the field where there is one, instead of stopping the read. Writing JSONL is
`records.write_jsonl`."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mmra.parsing import ParseError, load_json


@dataclass(frozen=True)
class SourceRecord:
    """One raw record and how messages name it ("samples.jsonl:12", "row 7"); `record` is None when the
    line could not be read, and `error` says why."""

    item: str
    record: dict[str, Any] | None
    error: str | None = None


def iter_json_lines(path: str | Path) -> Iterator[SourceRecord]:
    """The JSON objects of a JSONL file, one per non-blank line, named "file.jsonl:LINE"; a line that is not
    a JSON object comes back with `error` set instead of stopping the read."""
    path = Path(path)
    with path.open("rb") as fh:  # bytes: a stray non-UTF-8 line is one bad line, not a crash of the read
        for lineno, line in enumerate(fh, 1):
            if not line.strip():
                continue
            item = f"{path.name}:{lineno}"
            try:
                # finite: NaN/Infinity are not JSON; accepted, they would be written back as null
                data = load_json(line, unit="line", finite=True)
            except ParseError as exc:  # bad JSON, not UTF-8, nested too deeply, NaN: one bad line
                yield SourceRecord(item, None, str(exc))
                continue
            if isinstance(data, dict):
                yield SourceRecord(item, data)
            else:
                yield SourceRecord(item, None, f"expected a JSON object, got {type(data).__name__}")
