"""Parsing untrusted text (JSON lines, JSON files, MMRA's Python-dict `options` strings) without a traceback.

    data = load_json(line)            # ParseError("not valid JSON: nested more than 1000 levels deep")
    data = load_json(line, finite=True)  # ParseError("not valid JSON: agreement: NaN is not a JSON number")
    options = load_literal(text)      # ParseError("not a Python literal: ...")

Every failure, including input nested so deeply that the parser runs out of stack (`'[' * 100000`) and a
number too long for Python to convert (over 4,300 digits), is a `ParseError`: a ValueError whose message is
one line with the cause, to which the caller adds the item (file:line, row). Nothing else in the toolkit calls
`json.loads` / `ast.literal_eval` on input.
"""

from __future__ import annotations

import ast
import json
import math
import sys
from pathlib import Path
from typing import Any

MAX_LITERAL_CHARS = 1_000_000  # an options string is a few hundred characters; this is far past any real one


class ParseError(ValueError):
    """Input that cannot be parsed; the message is the cause in one line."""


def _too_deep(what: str) -> ParseError:
    return ParseError(f"{what}: nested too deeply")


class _NonFinite:
    """What a NaN, Infinity or overflowing number (1e999) parses to when `finite=True`; found and named
    after the parse."""

    __slots__ = ("text",)

    def __init__(self, text: str):
        self.text = text


def _key(key: Any) -> str:
    key = str(key)
    return key if len(key) <= 40 else key[:40] + "..."


def non_finite_field(data: Any) -> tuple[str, str] | None:
    """(field path such as "image1.boxes.0.bbox.2", the number as written) of the first NaN, Infinity or
    overflowing number in parsed data (a float, or what `load_json(finite=True)` marked); None when there is
    none. Table rows, which no JSON parser saw, are checked with it too."""
    stack: list[tuple[Any, str]] = [(data, "")]
    while stack:
        value, path = stack.pop()
        if isinstance(value, _NonFinite):
            return path or "value", value.text
        if isinstance(value, float) and not math.isfinite(value):
            return path or "value", repr(value)
        if isinstance(value, dict):
            stack.extend((v, f"{path}.{_key(k)}" if path else _key(k)) for k, v in reversed(value.items()))
        elif isinstance(value, list | tuple):
            stack.extend((v, f"{path}.{i}" if path else str(i)) for i, v in reversed(list(enumerate(value))))
    return None


def load_json(text: str | bytes | bytearray, *, unit: str = "text", finite: bool = False) -> Any:
    """`json.loads` for untrusted input; `unit` names it in messages ("line" for a JSONL line). `finite`:
    NaN, Infinity and numbers beyond a float's range (which Python's json accepts, and writers turn into
    null) are refused, naming the field that holds one."""
    if not finite:
        return _loads(text, unit)
    bad: list[_NonFinite] = []

    def constant(name: str) -> _NonFinite:
        bad.append(_NonFinite(name))
        return bad[-1]

    def number(literal: str) -> float | _NonFinite:
        value = float(literal)
        return value if math.isfinite(value) else constant(literal)

    data = _loads(text, unit, parse_constant=constant, parse_float=number)
    if bad:
        path, literal = non_finite_field(data) or ("value", bad[0].text)
        raise ParseError(f"not valid JSON: {path}: {literal} is not a JSON number (NaN and Infinity are "
                         "refused; a number must be finite)")
    return data


def _loads(text: str | bytes | bytearray, unit: str, **hooks: Any) -> Any:
    try:
        return json.loads(text, **hooks)
    except json.JSONDecodeError as exc:
        where = f"column {exc.colno}" if exc.lineno == 1 else f"line {exc.lineno} column {exc.colno}"
        raise ParseError(f"not valid JSON: {exc.msg} at {where}") from None
    except UnicodeDecodeError:
        raise ParseError(f"not valid JSON: the {unit} is not UTF-8 text") from None
    except RecursionError:
        raise _too_deep("not valid JSON") from None
    except ValueError as exc:  # Python's int-max-str-digits guard; it names no position
        if "integer string conversion" in str(exc):
            limit = sys.get_int_max_str_digits() or 4300
            raise ParseError(f"not valid JSON: a number with more than {limit:,} digits (no field holds a "
                             "number this long)") from None
        raise ParseError(f"not valid JSON: {exc}") from None


def load_json_file(path: str | Path) -> Any:
    """A whole JSON file; a ParseError or OSError names the file."""
    path = Path(path)
    data = path.read_bytes()
    try:
        return load_json(data)
    except ParseError as exc:
        raise ParseError(f"{path}: {exc}") from None


def load_literal(text: str) -> Any:
    """`ast.literal_eval` for untrusted input (a Python-dict string such as MMRA's `options`)."""
    if len(text) > MAX_LITERAL_CHARS:
        raise ParseError(f"not a Python literal: {len(text):,} characters, more than {MAX_LITERAL_CHARS:,}")
    try:
        return ast.literal_eval(text)
    except SyntaxError as exc:
        raise ParseError(f"not a Python literal: {exc.msg}") from None
    except (ValueError, TypeError) as exc:
        raise ParseError(f"not a Python literal: {exc}") from None
    except (RecursionError, MemoryError):  # CPython's parser reports its own stack overflow as MemoryError
        raise _too_deep("not a Python literal") from None


__all__ = ["MAX_LITERAL_CHARS", "ParseError", "load_json", "load_json_file", "load_literal", "non_finite_field"]
