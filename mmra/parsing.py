"""Parsing untrusted text (JSON lines, JSON files, MMRA's Python-dict `options` strings) without a traceback.

    data = load_json(line)            # ParseError("not valid JSON: nested more than 1000 levels deep")
    options = load_literal(text)      # ParseError("not a Python literal: ...")

Every failure, including input nested so deeply that the parser runs out of stack (`'[' * 100000`), is a
`ParseError`: a ValueError whose message is one line with the cause, to which the caller adds the item
(file:line, row). Nothing else in the toolkit calls `json.loads` / `ast.literal_eval` on input.
"""

from __future__ import annotations

import ast
import json
from pathlib import Path
from typing import Any

MAX_LITERAL_CHARS = 1_000_000  # an options string is a few hundred characters; this is far past any real one


class ParseError(ValueError):
    """Input that cannot be parsed; the message is the cause in one line."""


def _too_deep(what: str) -> ParseError:
    return ParseError(f"{what}: nested too deeply")


def load_json(text: str | bytes | bytearray, *, unit: str = "text") -> Any:
    """`json.loads` for untrusted input; `unit` names it in messages ("line" for a JSONL line)."""
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        where = f"column {exc.colno}" if exc.lineno == 1 else f"line {exc.lineno} column {exc.colno}"
        raise ParseError(f"not valid JSON: {exc.msg} at {where}") from None
    except UnicodeDecodeError:
        raise ParseError(f"not valid JSON: the {unit} is not UTF-8 text") from None
    except RecursionError:
        raise _too_deep("not valid JSON") from None


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


__all__ = ["MAX_LITERAL_CHARS", "ParseError", "load_json", "load_json_file", "load_literal"]
