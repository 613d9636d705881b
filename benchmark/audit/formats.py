"""Reading a benchmark where it is, in its own format, and writing a subset of it in that same format.

    source = open_source("MMStar.tsv")                    # or .jsonl .json .csv .parquet, a folder, a Hub id
    source.columns()                                      # ['index', 'question', 'A', 'B', ..., 'answer', 'image']
    for row in source.rows(["index", "question", "answer"]):
        ...                                               # RawRow(number, where, values) or RowError(...)
    source.write_subset({0, 3, 7}, out_dir)               # out_dir/blind_proof.tsv: those records, untouched

Kinds (`BenchmarkSource.kind`), chosen by suffix or by what a folder holds:
- "jsonl": one JSON object per line (.jsonl, .ndjson), read line by line.
- "json": a .json file holding an array of objects (read whole: a JSON array cannot be streamed with the
  standard library, so use JSONL for files larger than memory) or one object per line (streamed like JSONL).
- "csv" / "tsv": the csv module with ',' or tab and standard quoting (VLMEvalKit's TSVs are written by pandas);
  the first record is the header; an empty cell reads as None (CSV has no other null). The field size limit
  is raised process-wide, since a VLMEvalKit `image` cell is a whole base64 image (or a str(list) of them).
- "parquet": one file, read per row group and only the requested columns (image columns are never read).
- "arrow": a `datasets.save_to_disk` folder (memory-mapped); a DatasetDict folder gives `split`, or its only
  split, or 'test'.
- "parquet-folder": a folder of data files of one kind (parquet, JSONL, CSV, TSV or JSON), e.g. a local Hub
  snapshot (README.md + data/test-00000-of-00001.parquet), read in sorted path order. A file's split is NAME in
  the Hub's shard names (NAME-00000-of-00002.parquet), else a split word in its path (test.jsonl,
  train/0000.parquet); `split` keeps that split's files (or, when no file is named so, the files with it as a
  word in their path); without `split`, a folder showing several splits gives 'test' or an error listing them.
- "hub": a Hub dataset id ("org/name" that is not a local path), via `datasets.load_dataset`.

Every record keeps its place in the source (`number`, 0-based, counting bad records too, across the files of a
folder), so an audit's choice of rows maps back onto the file. Messages name the record the way an editor finds
it: "q.jsonl line 7", "bench.tsv line 13" (the line the record starts on), "data/test-00000.parquet row 3"
(0-based row in that file), "q.json item 4" (0-based element of the array).

Hostile input: a record that cannot be read (bad JSON, not an object, wrong number of fields, not UTF-8) is a
`RowError` and the stream goes on; a file that cannot be read at all (missing, unreadable, empty, no header,
unknown suffix, broken JSON array, unreachable Hub) is a `FormatError`, one line naming the file and the cause.

`write_subset` writes the kept records in the input's own format: JSONL and CSV/TSV records are copied byte for
byte (the header line too); a JSON array gets the kept elements' original text; parquet keeps its schema and
metadata; a save_to_disk folder is `Dataset.select(...).save_to_disk` (a DatasetDict keeps only the audited split);
a folder of files mirrors its relative file names (README.md is not copied: its recorded split sizes would no
longer match); a Hub dataset is written as a save_to_disk folder. Files are written under a temporary name and
renamed into place.
"""

from __future__ import annotations

import csv
import itertools
import json
import re
import shutil
import sys
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mmra.parsing import load_json

BOM = b"\xef\xbb\xbf"
SAMPLE_SCAN_LIMIT = 5_000  # sample_values looks at most this many records: a mostly empty column stays cheap
COLUMN_SCAN_RECORDS = 100  # a JSON source's columns are the keys of its first records (there is no header)
_PARQUET_READ_ROWS = 1024  # text columns: rows per batch
_PARQUET_COPY_ROWS = 64  # all columns (images too) when copying: keeps a batch of large images small
_PARQUET_FLUSH_BYTES = 64 << 20  # kept rows are written as row groups of about this size
_JSONL_SUFFIXES = (".jsonl", ".ndjson")
_DATA_SUFFIXES = {".parquet": "parquet", ".jsonl": "jsonl", ".ndjson": "jsonl", ".csv": "csv", ".tsv": "tsv",
                  ".json": "json"}
_SAVED_DATASET_MARKERS = ("dataset_dict.json", "state.json")
_METADATA_JSON = {"dataset_info.json", "dataset_infos.json", "dataset_dict.json", "state.json"}
_KNOWN_SPLITS = ("train", "test", "validation", "val", "dev", "eval")
_HUB_SHARD = re.compile(r"(?P<split>[A-Za-z][\w.]*?)-\d+-of-\d+")
_HUB_ID = re.compile(r"[A-Za-z0-9][\w.-]*/[A-Za-z0-9][\w.-]*")
_JSON_WS = re.compile(r"[ \t\n\r]*")
# finds where JSON values end without converting numbers: that needs none of them, and a 5,000-digit integer
# then cannot stop the scan (it becomes that one record's RowError when the record is read)
_SCANNER = json.JSONDecoder(parse_int=lambda s: None, parse_float=lambda s: None, parse_constant=lambda s: None)

Keep = Callable[[int], bool]


@dataclass(frozen=True)
class RawRow:
    """One record: its 0-based place in the source, how messages name it, and the requested columns it has."""

    number: int
    where: str
    values: dict[str, Any]


@dataclass(frozen=True)
class RowError:
    """A record that could not be read; it still has its number, so the stream and the numbering go on."""

    number: int
    where: str
    message: str

    def __str__(self) -> str:
        return f"{self.where}: {self.message}"


class FormatError(ValueError):
    """A source that cannot be read at all; the message is one line naming the file and the cause."""


# ---------------------------------------------------------------------------------------------- helpers


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def _json_error(exc: ValueError) -> str:
    # ParseError already says "not valid JSON: ..."; Python's digit limit on int() is a bare ValueError
    message = _first_line(exc).split("; use sys.set_int_max_str_digits")[0]
    return message if message.startswith("not valid JSON") else f"not valid JSON: {message}"


def _json_type(value: Any) -> str:
    return {list: "an array", str: "a string", bool: "a boolean", type(None): "null"}.get(
        type(value), "a number" if isinstance(value, int | float) else type(value).__name__)


def _raise_csv_field_limit() -> None:
    """An image cell is megabytes of base64; csv's default limit is 128 KiB. sys.maxsize overflows a C long on
    some platforms, so halve until it fits."""
    limit = sys.maxsize
    while True:
        try:
            csv.field_size_limit(limit)
            return
        except OverflowError:
            limit //= 2


def _read_lines(path: Path) -> Iterator[bytes]:
    """The raw lines of a file (line endings kept); a read failure is a FormatError naming the file."""
    try:
        with path.open("rb") as fh:
            yield from fh
    except OSError as exc:
        raise FormatError(f"{path}: cannot read ({exc.strerror or _first_line(exc)})") from None


def _first_nonblank_line(path: Path) -> bytes | None:
    """The first line with text (without a BOM), or None for a file of blank lines; reads only that far."""
    lines = _read_lines(path)
    try:
        for lineno, line in enumerate(lines, 1):
            if lineno == 1:
                line = line.removeprefix(BOM)
            if line.strip():
                return line
        return None
    finally:
        lines.close()


def _starts_with_bom(path: Path) -> bool:
    try:
        with path.open("rb") as fh:
            return fh.read(len(BOM)) == BOM
    except OSError as exc:
        raise FormatError(f"{path}: cannot read ({exc.strerror or _first_line(exc)})") from None


def _check_readable(path: Path) -> None:
    try:
        with path.open("rb"):
            pass
    except OSError as exc:
        raise FormatError(f"{path}: cannot read ({exc.strerror or _first_line(exc)})") from None


@contextmanager
def _atomic_file(target: Path) -> Iterator[Path]:
    """A temporary path beside `target`, renamed onto it when the block succeeds (see mmra/fileio.py)."""
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(target.name + ".tmp")
    try:
        yield tmp
        tmp.replace(target)
    finally:
        tmp.unlink(missing_ok=True)


@contextmanager
def _atomic_dir(target: Path) -> Iterator[Path]:
    """A temporary folder beside `target` that replaces it when the block succeeds."""
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(f".{target.name}.tmp")
    old = target.with_name(f".{target.name}.old")
    for stale in (tmp, old):
        if stale.exists():
            shutil.rmtree(stale)
    try:
        yield tmp
        if target.is_dir():
            target.rename(old)
        elif target.exists():
            target.unlink()
        tmp.rename(target)
    finally:
        for leftover in (tmp, old):
            if leftover.exists():
                shutil.rmtree(leftover)


def _with_newline(raw: bytes, newline: bytes) -> bytes:
    """A copied record keeps its bytes; only a last line that had no line ending gets one."""
    return raw if raw.endswith((b"\n", b"\r")) else raw + newline


# ---------------------------------------------------------------------------------------------- base


class BenchmarkSource:
    """An opened benchmark. `label` names it in row messages (a file name, or a path inside a folder)."""

    kind: str = ""

    def __init__(self, path: Path | None, label: str):
        self.path = path
        self.label = label

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.kind} {self.path or self.label}>"

    def columns(self) -> list[str]:
        raise NotImplementedError

    def rows(self, columns: Sequence[str]) -> Iterator[RawRow | RowError]:
        raise NotImplementedError

    def sample_values(self, column: str, n: int = 50) -> list[Any]:
        """The first `n` non-null values of `column` (None and, in CSV/TSV, empty cells are null), looking at
        no more than SAMPLE_SCAN_LIMIT records."""
        found: list[Any] = []
        stream = self.rows([column])
        try:
            for seen, row in enumerate(stream):
                if len(found) >= n or seen >= SAMPLE_SCAN_LIMIT:
                    break
                if isinstance(row, RawRow) and row.values.get(column) is not None:
                    found.append(row.values[column])
        finally:
            stream.close()  # stopping early: release the open file now
        return found

    def write_subset(self, keep: set[int], out_dir: Path, stem: str = "blind_proof") -> Path:
        """Write the records whose `number` is in `keep`, in this source's format, to `out_dir/<stem><suffix>`
        (a folder `out_dir/<stem>` for folder kinds); returns what was written."""
        raise NotImplementedError


class _FileSource(BenchmarkSource):
    """One file: the subset is `<stem><same suffix>`, written by `_write_kept`."""

    path: Path

    def write_subset(self, keep: set[int], out_dir: Path, stem: str = "blind_proof") -> Path:
        target = Path(out_dir) / f"{stem}{self.path.suffix}"
        kept = frozenset(keep)
        self._write_kept(kept.__contains__, target)
        return target

    def _write_kept(self, keep: Keep, target: Path) -> int:
        """Write the kept records to `target` atomically; returns how many records the file holds."""
        raise NotImplementedError


# ---------------------------------------------------------------------------------------------- JSON


def _parse_object(raw: bytes | str) -> dict[str, Any] | str:
    """A JSON object, or the reason it is not one."""
    try:
        data = load_json(raw, unit="line")
    except (ValueError, RecursionError) as exc:  # ParseError, or int()'s digit limit (a 5,000-digit number)
        return _json_error(exc)
    if not isinstance(data, dict):
        return f"expected a JSON object, got {_json_type(data)}"
    return data


def _picked(data: dict[str, Any], columns: Sequence[str]) -> dict[str, Any]:
    return {c: data[c] for c in columns if c in data}


class JsonLinesSource(_FileSource):
    """One JSON object per line; blank lines are not records."""

    def __init__(self, path: Path, label: str, *, kind: str = "jsonl", allow_empty: bool = False):
        super().__init__(path, label)
        self.kind = kind
        if _first_nonblank_line(path) is None and not allow_empty:
            raise FormatError(f"{path}: empty file (no JSON records)")

    def _lines(self) -> Iterator[tuple[int, int, bytes]]:
        """(record number, line number, raw line without a BOM) for each non-blank line."""
        number = 0
        for lineno, line in enumerate(_read_lines(self.path), 1):
            if lineno == 1 and line.startswith(BOM):
                line = line[len(BOM):]
            if not line.strip():
                continue
            yield number, lineno, line
            number += 1

    def columns(self) -> list[str]:
        names: dict[str, None] = {}
        stream = self._lines()
        try:
            for number, _, line in stream:
                if number >= COLUMN_SCAN_RECORDS:
                    break
                data = _parse_object(line)
                if isinstance(data, dict):
                    names.update(dict.fromkeys(data))
        finally:
            stream.close()
        return list(names)

    def rows(self, columns: Sequence[str]) -> Iterator[RawRow | RowError]:
        wanted = list(dict.fromkeys(columns))
        for number, lineno, line in self._lines():
            where = f"{self.label} line {lineno}"
            data = _parse_object(line)
            if isinstance(data, str):
                yield RowError(number, where, data)
            else:
                yield RawRow(number, where, _picked(data, wanted))

    def _write_kept(self, keep: Keep, target: Path) -> int:
        count = 0
        with _atomic_file(target) as tmp, tmp.open("wb") as out:
            if _starts_with_bom(self.path):
                out.write(BOM)
            for number, _, line in self._lines():
                count += 1
                if keep(number):
                    out.write(_with_newline(line, b"\n"))
        return count


class JsonArraySource(_FileSource):
    """A .json file holding one array of objects. The file is read whole (json cannot stream an array); the
    elements' spans are found once, so the subset copies each kept element's original text."""

    kind = "json"

    def __init__(self, path: Path, label: str, text: str, *, bounds: tuple[int, int] | None = None):
        super().__init__(path, label)
        self._text = text
        self._bounds = bounds or (0, len(text))  # where the array lies in the text (a wrapper's member: inside)
        self._spans = self._scan()

    def _scan(self) -> list[tuple[int, int]]:
        text, path = self._text, self.path
        first, stop = self._bounds
        spans: list[tuple[int, int]] = []
        pos = _JSON_WS.match(text, first).end()
        if not text.startswith("[", pos):
            raise FormatError(f"{path}: expected a JSON array of objects or one JSON object per line")
        pos = _JSON_WS.match(text, pos + 1).end()
        closed = text.startswith("]", pos)
        pos += closed
        while not closed:
            end = _value_end(text, pos, f"{path}: item {len(spans)}")
            spans.append((pos, end))
            pos = _JSON_WS.match(text, end).end()
            if text.startswith(",", pos):
                pos = _JSON_WS.match(text, pos + 1).end()
            elif text.startswith("]", pos):
                pos, closed = pos + 1, True
            else:
                line = text.count("\n", 0, pos) + 1
                raise FormatError(f"{path}: item {len(spans) - 1}: expected ',' or ']' after it (line {line})")
        if _JSON_WS.match(text, pos).end() < stop:
            line = text.count("\n", 0, pos) + 1
            raise FormatError(f"{path}: extra data after the JSON array (line {line})")
        return spans

    def columns(self) -> list[str]:
        names: dict[str, None] = {}
        for start, end in self._spans[:COLUMN_SCAN_RECORDS]:
            data = _parse_object(self._text[start:end])
            if isinstance(data, dict):
                names.update(dict.fromkeys(data))
        return list(names)

    def rows(self, columns: Sequence[str]) -> Iterator[RawRow | RowError]:
        wanted = list(dict.fromkeys(columns))
        for number, (start, end) in enumerate(self._spans):
            where = f"{self.label} item {number}"
            data = _parse_object(self._text[start:end])
            if isinstance(data, str):
                yield RowError(number, where, data)
            else:
                yield RawRow(number, where, _picked(data, wanted))

    def _write_kept(self, keep: Keep, target: Path) -> int:
        kept = [self._text[start:end] for number, (start, end) in enumerate(self._spans) if keep(number)]
        body = "[\n" + ",\n".join(kept) + "\n]" if kept else "[]"
        first, stop = self._bounds
        if (first, stop) != (0, len(self._text)):  # a wrapper: everything around the array stays as it was
            body = self._text[:first] + body + self._text[stop:]
        else:
            body += "\n"
        with _atomic_file(target) as tmp:
            tmp.write_bytes(body.encode("utf-8", "surrogatepass"))
        return len(self._spans)


def _value_end(text: str, pos: int, where: str) -> int:
    """Where the JSON value starting at `pos` ends; FormatError naming `where` for bad or too deep JSON."""
    try:
        return _SCANNER.raw_decode(text, pos)[1]
    except json.JSONDecodeError as exc:
        raise FormatError(f"{where}: not valid JSON: {exc.msg.removesuffix(' at')} at line {exc.lineno} "
                          f"column {exc.colno}") from None
    except RecursionError:
        raise FormatError(f"{where}: not valid JSON: nested too deeply") from None


def _object_members(text: str, path: Path) -> list[tuple[str, int, int, int]]:
    """The top-level members of a JSON object text: (key, start of the key, start of the value, end of the
    value); FormatError naming the member for bad JSON."""

    def line(at: int) -> int:
        return text.count("\n", 0, at) + 1

    members: list[tuple[str, int, int, int]] = []
    pos = _JSON_WS.match(text, 0).end()
    if not text.startswith("{", pos):
        raise FormatError(f"{path}: expected a JSON object of records keyed by id")
    pos = _JSON_WS.match(text, pos + 1).end()
    closed = text.startswith("}", pos)
    pos += closed
    while not closed:
        where = f"{path}: member {len(members)} (line {line(pos)})"
        if not text.startswith('"', pos):
            raise FormatError(f"{where}: expected a key in double quotes")
        try:
            key, after_key = _SCANNER.raw_decode(text, pos)
        except json.JSONDecodeError as exc:
            raise FormatError(f"{where}: not valid JSON: {exc.msg.removesuffix(' at')} at line {exc.lineno} "
                              f"column {exc.colno}") from None
        colon = _JSON_WS.match(text, after_key).end()
        if not text.startswith(":", colon):
            raise FormatError(f"{where}: expected ':' after the key {key!r}")
        start = _JSON_WS.match(text, colon + 1).end()
        end = _value_end(text, start, f"{path}: key {key!r}")
        members.append((key, pos, start, end))
        pos = _JSON_WS.match(text, end).end()
        if text.startswith(",", pos):
            pos = _JSON_WS.match(text, pos + 1).end()
        elif text.startswith("}", pos):
            pos, closed = pos + 1, True
        else:
            raise FormatError(f"{path}: key {key!r}: expected ',' or '}}' after its value (line {line(pos)})")
    extra = _JSON_WS.match(text, pos).end()
    if extra != len(text):
        raise FormatError(f"{path}: extra data after the JSON object (line {line(extra)})")
    return members


class JsonObjectSource(_FileSource):
    """A .json file holding one object whose values are the records, keyed by id (MathVista's testmini.json,
    ScienceQA's problems.json). Read whole, like an array; each record gets its key as a column (`key_column`:
    "id", or "key" when the records have an "id" of their own), and the subset copies each kept member's
    original text, key and all."""

    kind = "json"

    def __init__(self, path: Path, label: str, text: str):
        super().__init__(path, label)
        self._text = text
        self._members = self._scan()  # (key, start of the key's text, start of the value, end of the value)
        names = self._record_names()
        self.key_column = next(c for c in ("id", "key", "_key", "__key") if c not in names)
        self._names = [self.key_column, *names]

    def _scan(self) -> list[tuple[str, int, int, int]]:
        text, path = self._text, self.path
        members = _object_members(text, path)
        if members and not any(text.startswith("{", start) for _, _, start, _ in members[:COLUMN_SCAN_RECORDS]):
            keys = ", ".join(repr(k) for k, *_ in members[:8]) + (", ..." if len(members) > 8 else "")
            raise FormatError(f"{path}: expected a JSON array of objects or one JSON object per line, or an object "
                              f"of records keyed by id (this is one object with keys {keys}, not records)")
        return members

    def _record_names(self) -> list[str]:
        names: dict[str, None] = {}
        for _, _, start, end in self._members[:COLUMN_SCAN_RECORDS]:
            data = _parse_object(self._text[start:end])
            if isinstance(data, dict):
                names.update(dict.fromkeys(data))
        return list(names)

    def columns(self) -> list[str]:
        return list(self._names)

    def rows(self, columns: Sequence[str]) -> Iterator[RawRow | RowError]:
        wanted = list(dict.fromkeys(columns))
        for number, (key, _, start, end) in enumerate(self._members):
            where = f"{self.label} key {key!r}"
            data = _parse_object(self._text[start:end])
            if isinstance(data, str):
                yield RowError(number, where, data)
                continue
            values = _picked(data, wanted)
            if self.key_column in wanted:
                values[self.key_column] = key
            yield RawRow(number, where, values)

    def _write_kept(self, keep: Keep, target: Path) -> int:
        kept = [self._text[key_start:end] for number, (_, key_start, _, end) in enumerate(self._members)
                if keep(number)]
        body = "{\n" + ",\n".join(kept) + "\n}\n" if kept else "{}\n"
        with _atomic_file(target) as tmp:
            tmp.write_bytes(body.encode("utf-8", "surrogatepass"))
        return len(self._members)


def _read_json_text(path: Path) -> str:
    try:
        return path.read_bytes().decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise FormatError(f"{path}: not UTF-8 text (byte {exc.start})") from None
    except OSError as exc:
        raise FormatError(f"{path}: cannot read ({exc.strerror or _first_line(exc)})") from None


def _single_record(path: Path) -> bool:
    """True when the file has exactly one non-blank line."""
    lines = _read_lines(path)
    try:
        return len(list(itertools.islice((line for line in lines if line.strip()), 2))) == 1
    finally:
        lines.close()


def _wrapped_records(text: str, path: Path) -> tuple[str, int, int] | None:
    """(key, start, end) of the one member holding an array of records, in an object that is not itself records
    keyed by id (SEED-Bench's {"questions": [...], "question_type": {...}}); None otherwise. The subset keeps
    every other member as written."""
    members = _object_members(text, path)
    if any(text.startswith("{", start) for _, _, start, _ in members[:COLUMN_SCAN_RECORDS]) and \
            sum(text.startswith("{", start) for _, _, start, _ in members) * 2 > len(members):
        return None  # most members are objects: records keyed by id
    arrays = [(key, start, end) for key, _, start, end in members
              if text.startswith("[", start) and text.startswith("{", _JSON_WS.match(text, start + 1).end())]
    return arrays[0] if len(arrays) == 1 else None


def _open_json(path: Path, label: str, allow_empty: bool) -> BenchmarkSource:
    """A .json file: an array of objects, one object per line (its first line is a whole object), or one object
    of records keyed by id (over many lines, or on one line when every value is an object)."""
    first = _first_nonblank_line(path)
    if first is None:
        if allow_empty:
            return JsonLinesSource(path, label, kind="json", allow_empty=True)
        raise FormatError(f"{path}: empty file (no JSON records)")
    head = first.lstrip()
    if head.startswith(b"["):
        return JsonArraySource(path, label, _read_json_text(path))
    if head.startswith(b"{"):
        record = _parse_object(first)
        single = isinstance(record, dict) and _single_record(path)
        if isinstance(record, dict) and not single:
            return JsonLinesSource(path, label, kind="json", allow_empty=allow_empty)
        # one object, over many lines or on one: records under one key, records keyed by id, or one record
        text = _read_json_text(path)
        wrapped = _wrapped_records(text, path)
        if wrapped is not None:
            key, start, end = wrapped
            return JsonArraySource(path, f"{label} [{key!r}]", text, bounds=(start, end))
        if single and not (record and all(isinstance(v, dict) for v in record.values())):
            return JsonLinesSource(path, label, kind="json", allow_empty=allow_empty)
        return JsonObjectSource(path, label, text)
    raise FormatError(f"{path}: expected a JSON array of objects or one JSON object per line, or an object of "
                      "records keyed by id")


# ---------------------------------------------------------------------------------------------- CSV / TSV


@dataclass
class _CsvRecord:
    start: int  # the line the record starts on (1-based)
    end: int  # the line it ends on
    fields: list[bytes] | list[str] | None  # bytes from a line with no quote, text from csv; None: unreadable
    error: str | None
    raw: bytes  # the record's bytes (the header's with its BOM)


def _text(field: bytes | str) -> str:
    """A field as text; ValueError when it is not UTF-8 (csv's text keeps bad bytes as lone surrogates)."""
    if isinstance(field, bytes):
        return field.decode("utf-8")
    if not field.isascii():
        field.encode("utf-8")  # raises on a surrogate, i.e. on a byte that was not UTF-8
    return field


class DelimitedSource(_FileSource):
    """CSV or TSV with a header line, standard quoting (a quoted field may hold the delimiter, doubled quotes
    and line breaks).

    Speed: a line without a quote character is one record whose fields are the line split at the delimiter
    (what csv would return), kept as bytes and decoded only for the requested columns; so a VLMEvalKit image
    cell of megabytes of base64 is neither decoded nor parsed. Lines with quotes go through the csv module."""

    def __init__(self, path: Path, label: str, *, kind: str):
        super().__init__(path, label)
        self.kind = kind
        self.delimiter = "\t" if kind == "tsv" else ","
        records = self._records()
        try:
            header = next(records, None)
        finally:
            records.close()
        if header is None:
            raise FormatError(f"{path}: empty file (no header line)")
        try:
            names = [_text(name) for name in header.fields] if header.fields is not None else None
        except ValueError:
            names, header.error = None, "not UTF-8 text"
        if names is None:
            raise FormatError(f"{path}: line {header.start}: the header cannot be read ({header.error})")
        duplicates = sorted({name for name in names if names.count(name) > 1})
        if duplicates:
            raise FormatError(f"{path}: the header names column(s) {', '.join(map(repr, duplicates))} more "
                              "than once")
        self._header = names

    def _records(self) -> Iterator[_CsvRecord]:
        """Every non-blank record, the header first, with its bytes."""
        _raise_csv_field_limit()
        delimiter = self.delimiter.encode()
        file_lines = _read_lines(self.path)
        lines = enumerate(file_lines, 1)  # shared with `rest`, which csv pulls lines from
        at_end = False

        def rest(consumed: list[bytes]) -> Iterator[str]:
            """The lines after a quoted record's first, as csv asks for them."""
            nonlocal at_end
            for _, more in lines:
                consumed.append(more)
                yield more.decode("utf-8", "surrogateescape")
            at_end = True

        try:
            for lineno, line in lines:
                bom = b""
                if lineno == 1 and line.startswith(BOM):
                    bom, line = BOM, line[len(BOM):]
                if not line.strip():
                    continue
                body = line.rstrip(b"\r\n")
                if b'"' not in body and b"\r" not in body:
                    yield _CsvRecord(lineno, lineno, body.split(delimiter), None, bom + line)
                    continue
                consumed = [line]
                first = line.decode("utf-8", "surrogateescape")
                # csv pulls lines only until the record is complete: `consumed` is exactly this record's
                reader = csv.reader(itertools.chain([first], rest(consumed)), delimiter=self.delimiter)
                try:
                    fields, error = next(reader), None
                except csv.Error as exc:
                    fields, error = None, _first_line(exc)
                end = lineno + len(consumed) - 1
                raw = b"".join(consumed)
                if at_end and end > lineno and fields is not None and raw.count(b'"') % 2:
                    # csv (not strict) ends an unclosed quoted field at the end of the file, swallowing every
                    # later line into one field: say so instead of reading it as one long value
                    fields, error = None, ("a quote opened here is never closed: the record runs to the end of "
                                           f"the file (line {end})")
                yield _CsvRecord(lineno, end, fields, error, bom + raw)
        finally:
            file_lines.close()

    def columns(self) -> list[str]:
        return list(self._header)

    def _data_records(self) -> Iterator[_CsvRecord]:
        records = self._records()
        try:
            next(records, None)  # the header
            yield from records
        finally:
            records.close()

    def rows(self, columns: Sequence[str]) -> Iterator[RawRow | RowError]:
        position = {name: i for i, name in enumerate(self._header)}
        wanted = [(c, position[c]) for c in dict.fromkeys(columns) if c in position]
        width = len(self._header)
        for number, record in enumerate(self._data_records()):
            where = f"{self.label} line {record.start}"
            if record.fields is None:
                yield RowError(number, where, record.error or "cannot be read")
                continue
            if len(record.fields) != width:
                spans = f" (the record runs over lines {record.start}-{record.end})" if record.end > record.start else ""
                yield RowError(number, where, f"{len(record.fields)} field(s), the header has {width}{spans}")
                continue
            values: dict[str, Any] = {}
            for column, i in wanted:
                try:
                    values[column] = _text(record.fields[i]) or None
                except ValueError:
                    break
            else:
                yield RawRow(number, where, values)
                continue
            yield RowError(number, where, f"column {column!r} is not UTF-8 text")

    def _write_kept(self, keep: Keep, target: Path) -> int:
        count = 0
        records = self._records()
        try:
            header = next(records)
            newline = b"\r\n" if header.raw.endswith(b"\r\n") else b"\n"
            with _atomic_file(target) as tmp, tmp.open("wb") as out:
                out.write(_with_newline(header.raw, newline))
                for number, record in enumerate(records):
                    count += 1
                    if keep(number):
                        out.write(_with_newline(record.raw, newline))
        finally:
            records.close()
        return count


# ---------------------------------------------------------------------------------------------- parquet


_PARQUET_CODECS = {"SNAPPY": "snappy", "GZIP": "gzip", "BROTLI": "brotli", "ZSTD": "zstd", "LZ4": "lz4",
                   "LZ4_RAW": "lz4", "UNCOMPRESSED": "none"}


class ParquetSource(_FileSource):
    """One parquet file, read per row group and only in the requested columns."""

    kind = "parquet"

    def __init__(self, path: Path, label: str):
        super().__init__(path, label)
        with self._open() as pf:  # the footer only
            self._names = list(pf.schema_arrow.names)
            self._group_rows = [pf.metadata.row_group(g).num_rows for g in range(pf.num_row_groups)]

    def _open(self):
        import pyarrow as pa
        import pyarrow.parquet as pq

        try:
            return pq.ParquetFile(self.path)
        except (pa.ArrowException, OSError) as exc:
            raise FormatError(f"{self.path}: not a readable parquet file ({_first_line(exc)})") from None

    def columns(self) -> list[str]:
        return list(self._names)

    def rows(self, columns: Sequence[str]) -> Iterator[RawRow | RowError]:
        import pyarrow as pa

        present = [c for c in dict.fromkeys(columns) if c in self._names]
        number = 0
        with self._open() as pf:
            for group, group_rows in enumerate(self._group_rows):
                done = 0
                try:
                    batches = (pf.iter_batches(batch_size=_PARQUET_READ_ROWS, row_groups=[group], columns=present)
                               if present else ())
                    for batch in batches:
                        for values in batch.to_pylist():
                            yield RawRow(number, f"{self.label} row {number}", values)
                            number, done = number + 1, done + 1
                except (pa.ArrowException, OSError) as exc:  # a damaged row group: its rows are bad, not the file
                    cause = f"row group {group} cannot be read ({_first_line(exc)})"
                    for _ in range(done, group_rows):
                        yield RowError(number, f"{self.label} row {number}", cause)
                        number += 1
                    continue
                for _ in range(done, group_rows):  # no requested column here: the rows are there, empty
                    yield RawRow(number, f"{self.label} row {number}", {})
                    number += 1

    def _write_kept(self, keep: Keep, target: Path) -> int:
        import pyarrow as pa
        import pyarrow.parquet as pq

        number = 0
        with self._open() as pf, _atomic_file(target) as tmp:
            schema = pf.schema_arrow  # with its metadata (e.g. the `huggingface` features)
            codec = (_PARQUET_CODECS.get(pf.metadata.row_group(0).column(0).compression, "snappy")
                     if pf.num_row_groups and pf.metadata.num_columns else "snappy")
            try:
                with pq.ParquetWriter(tmp, schema, compression=codec) as writer:
                    pending, pending_bytes = [], 0
                    for batch in pf.iter_batches(batch_size=_PARQUET_COPY_ROWS):
                        mask = pa.array([keep(number + i) for i in range(batch.num_rows)], pa.bool_())
                        number += batch.num_rows
                        kept = batch.filter(mask)
                        if kept.num_rows:
                            pending.append(kept)
                            pending_bytes += kept.nbytes
                        if pending_bytes >= _PARQUET_FLUSH_BYTES:
                            writer.write_table(pa.Table.from_batches(pending, schema=schema))
                            pending, pending_bytes = [], 0
                    if pending:
                        writer.write_table(pa.Table.from_batches(pending, schema=schema))
            except (pa.ArrowException, OSError) as exc:
                raise FormatError(f"{self.path}: cannot copy rows near row {number} "
                                  f"({_first_line(exc)})") from None
        return number


# ---------------------------------------------------------------------------------------------- datasets


def _pick_split(loaded: Any, split: str | None, where: str) -> tuple[Any, str | None]:
    """(dataset, split name) from a Dataset or DatasetDict: `split`, else the only split, else 'test'."""
    import datasets

    if not isinstance(loaded, datasets.DatasetDict):
        if split:
            raise FormatError(f"{where}: holds one dataset without splits, so split {split!r} cannot be chosen")
        return loaded, None
    names = list(loaded)
    if split is None:
        if len(names) == 1:
            split = names[0]
        elif "test" in names:
            split = "test"
        else:
            raise FormatError(f"{where}: holds splits {', '.join(names)}; choose one with split")
    if split not in loaded:
        raise FormatError(f"{where}: has no split {split!r} (splits: {', '.join(names)})")
    return loaded[split], split


class DatasetSource(BenchmarkSource):
    """A `datasets.Dataset` (memory-mapped Arrow): a save_to_disk folder, or a Hub dataset once loaded."""

    def __init__(self, path: Path | None, label: str, dataset: Any, split: str | None, *, kind: str,
                 as_dict: bool):
        super().__init__(path, label)
        self.kind = kind
        self.split = split
        self._ds = dataset
        self._as_dict = as_dict  # write the subset as a DatasetDict holding the audited split

    def columns(self) -> list[str]:
        return list(self._ds.column_names)

    def _where(self, number: int) -> str:
        return f"{self.label}[{self.split}] row {number}" if self.split else f"{self.label} row {number}"

    def rows(self, columns: Sequence[str]) -> Iterator[RawRow | RowError]:
        present = [c for c in dict.fromkeys(columns) if c in self._ds.column_names]
        if not present:
            for number in range(len(self._ds)):
                yield RawRow(number, self._where(number), {})
            return
        number = 0
        # raw Arrow, only these columns: no image column is read or decoded
        for table in self._ds.select_columns(present).with_format("arrow").iter(batch_size=_PARQUET_READ_ROWS):
            for values in table.to_pylist():
                yield RawRow(number, self._where(number), values)
                number += 1

    def write_subset(self, keep: set[int], out_dir: Path, stem: str = "blind_proof") -> Path:
        import datasets

        target = Path(out_dir) / stem
        subset = self._ds.select([i for i in range(len(self._ds)) if i in keep])
        bars_were_off = datasets.is_progress_bar_enabled() is False
        datasets.disable_progress_bars()  # a library call prints nothing; the CLI reports what was written
        try:
            with _atomic_dir(target) as tmp:
                if self._as_dict:
                    datasets.DatasetDict({self.split: subset}).save_to_disk(str(tmp))
                else:
                    subset.save_to_disk(str(tmp))
        finally:
            if not bars_were_off:
                datasets.enable_progress_bars()
        return target


def _open_saved_dataset(folder: Path, split: str | None) -> DatasetSource:
    import datasets

    try:
        loaded = datasets.load_from_disk(str(folder))
    except Exception as exc:  # noqa: BLE001 - datasets raises many types for a damaged folder
        raise FormatError(f"{folder}: not a readable datasets.save_to_disk folder ({_first_line(exc)})") from None
    ds, chosen = _pick_split(loaded, split, str(folder))
    return DatasetSource(folder, folder.name, ds, chosen, kind="arrow", as_dict=chosen is not None)


def _open_hub(repo: str, split: str | None) -> DatasetSource:
    import datasets

    try:
        loaded = datasets.load_dataset(repo, split=split)
    except Exception as exc:  # noqa: BLE001 - the Hub raises many types (offline, 404, gated, bad config)
        raise FormatError(f"{repo}: not a local path, and loading it from the Hugging Face Hub failed: "
                          f"{_first_line(exc)}") from None
    ds, chosen = _pick_split(loaded, None, repo) if split is None else (loaded, split)
    return DatasetSource(None, repo, ds, chosen, kind="hub", as_dict=False)


# ---------------------------------------------------------------------------------------------- folders


def _split_of(relative: str) -> str | None:
    """The split a data file belongs to: NAME in the Hub's shard names (data/testmini-00000-of-00001.parquet),
    else a common split word in its path (test.jsonl, train/0000.parquet); None when nothing says."""
    stem = relative.rsplit(".", 1)[0]
    shard = _HUB_SHARD.fullmatch(stem.rsplit("/", 1)[-1])
    if shard:
        return shard["split"]
    words = re.split(r"[^a-z0-9]+", stem.lower())
    return next((word for word in words if word in _KNOWN_SPLITS), None)


def _has_word(relative: str, word: str) -> bool:
    return re.search(rf"(?<![A-Za-z0-9]){re.escape(word)}(?![A-Za-z0-9])", relative) is not None


class FolderSource(BenchmarkSource):
    """A folder of data files of one kind, read in sorted path order as one source."""

    kind = "parquet-folder"

    def __init__(self, path: Path, parts: list[tuple[str, _FileSource]]):
        super().__init__(path, path.name)
        self.parts = parts  # (path relative to the folder, its source)

    def columns(self) -> list[str]:
        names: dict[str, None] = {}
        for _, part in self.parts:
            names.update(dict.fromkeys(part.columns()))
        return list(names)

    def rows(self, columns: Sequence[str]) -> Iterator[RawRow | RowError]:
        offset = 0
        for _, part in self.parts:
            count = 0
            for row in part.rows(columns):
                count = row.number + 1
                if isinstance(row, RawRow):
                    yield RawRow(offset + row.number, row.where, row.values)
                else:
                    yield RowError(offset + row.number, row.where, row.message)
            offset += count

    def write_subset(self, keep: set[int], out_dir: Path, stem: str = "blind_proof") -> Path:
        target = Path(out_dir) / stem
        kept = frozenset(keep)
        with _atomic_dir(target) as tmp:
            offset = 0
            for relative, part in self.parts:
                offset += part._write_kept(lambda i, base=offset: base + i in kept, tmp / relative)
        return target


def _data_files(folder: Path) -> dict[str, list[Path]]:
    """The folder's data files by kind, skipping hidden folders (.cache, .git) and dataset metadata."""
    by_kind: dict[str, list[Path]] = {}
    for file in folder.rglob("*"):
        relative = file.relative_to(folder)
        if any(part.startswith(".") for part in relative.parts) or not file.is_file():
            continue
        kind = _DATA_SUFFIXES.get(file.suffix.lower())
        if kind and not (kind == "json" and file.name in _METADATA_JSON):
            by_kind.setdefault(kind, []).append(file)
    return by_kind


def _open_folder(folder: Path, split: str | None) -> BenchmarkSource:
    if (folder / "manifest.json").is_file() and (folder / "data").is_dir():
        # an MMRA release: its default config (data/, both levels), or its `flagged` config with split "flagged"
        config = folder / ("flagged" if split == "flagged" else "data")
        files = sorted(config.glob("*.parquet"))
        if not files:
            raise FormatError(f"{folder}: a release without parquet files in {config.name}/")
        return FolderSource(folder, [(f.relative_to(folder).as_posix(), ParquetSource(f, f.relative_to(folder).as_posix()))
                                     for f in files])
    if any((folder / marker).is_file() for marker in _SAVED_DATASET_MARKERS):
        return _open_saved_dataset(folder, split)
    by_kind = _data_files(folder)
    # stray .json files (configs, notes) sit beside data files often; they count only when nothing else is there
    kinds = [k for k in by_kind if k != "json"] or list(by_kind)
    if not kinds:
        raise FormatError(f"{folder}: no data files (parquet, JSONL, CSV, TSV or JSON) and no "
                          "datasets.save_to_disk files (dataset_dict.json or state.json)")
    if len(kinds) > 1:
        counts = ", ".join(f"{len(by_kind[k])} {k}" for k in sorted(kinds))
        raise FormatError(f"{folder}: holds data files of several kinds ({counts}); give one file or a folder "
                          "of one kind")
    files = sorted(by_kind[kinds[0]], key=lambda f: f.relative_to(folder).as_posix())
    relatives = [f.relative_to(folder).as_posix() for f in files]
    if split is not None:
        chosen = ([i for i, rel in enumerate(relatives) if _split_of(rel) == split]
                  or [i for i, rel in enumerate(relatives) if _has_word(rel, split)])
        if not chosen:
            found = sorted({s for s in map(_split_of, relatives) if s})
            raise FormatError(f"{folder}: no data file has {split!r} in its name"
                              + (f" (splits seen: {', '.join(found)})" if found else ""))
    else:
        splits = {_split_of(rel) for rel in relatives}
        named = sorted(s for s in splits if s)
        if len(named) > 1:
            if "test" not in named:
                raise FormatError(f"{folder}: holds splits {', '.join(named)}; choose one with split")
            chosen = [i for i, rel in enumerate(relatives) if _split_of(rel) == "test"]
        else:
            chosen = list(range(len(files)))
    parts = [(relatives[i], _open_file(files[i], relatives[i], allow_empty=True)) for i in chosen]
    return FolderSource(folder, parts)


# ---------------------------------------------------------------------------------------------- opening


def _open_file(path: Path, label: str, *, allow_empty: bool = False) -> _FileSource:
    _check_readable(path)
    suffix = path.suffix.lower()
    if suffix in _JSONL_SUFFIXES:
        return JsonLinesSource(path, label, allow_empty=allow_empty)
    if suffix == ".json":
        return _open_json(path, label, allow_empty)
    if suffix in (".csv", ".tsv"):
        return DelimitedSource(path, label, kind=suffix[1:])
    if suffix == ".parquet":
        return ParquetSource(path, label)
    raise FormatError(f"{path}: unknown file type {path.suffix or '(no suffix)'!r}; expected .jsonl, .json, "
                      ".csv, .tsv or .parquet, a folder of such files, a datasets.save_to_disk folder or a Hub id")


def open_source(source: str | Path, *, split: str | None = None) -> BenchmarkSource:
    """Open a benchmark file, folder or Hub dataset id (see the module docstring). `split` chooses a split of a
    DatasetDict, a folder or a Hub dataset; a single file has none."""
    text = str(source)
    path = Path(text).expanduser()
    if path.exists():
        path = path.resolve()
        if path.is_dir():
            return _open_folder(path, split)
        if split is not None:
            raise FormatError(f"{path}: a single file has no splits (split {split!r} was given)")
        return _open_file(path, path.name)
    if _HUB_ID.fullmatch(text) and path.suffix.lower() not in _DATA_SUFFIXES:
        return _open_hub(text, split)
    raise FormatError(f"{text}: no such file or folder")


__all__ = ["BenchmarkSource", "FormatError", "RawRow", "RowError", "open_source"]
