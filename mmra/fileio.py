"""Atomic file writes: readers see the old file or the new one, never half of it (a temp file beside the
target, renamed into place)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any


def write_atomic(path: str | Path, data: str | bytes) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    if isinstance(data, bytes):
        tmp.write_bytes(data)
    else:
        tmp.write_text(data, encoding="utf-8")
    tmp.replace(path)
    return path


def write_json(path: str | Path, obj: Any, **dump_options: Any) -> Path:
    """JSON, indented and UTF-8 (not \\u-escaped) unless `dump_options` say otherwise, written atomically."""
    options = {"indent": 2, "ensure_ascii": False, **dump_options}
    return write_atomic(path, json.dumps(obj, **options))
