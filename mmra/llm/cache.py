"""SQLite response cache for chat requests: a re-run costs nothing and a killed run resumes.

One row per (endpoint, model, messages, sampling parameters) key (the key is built by
`ChatRequest.cache_key`); every response is committed as soon as it arrives,
so whatever finished before a crash is kept. WAL mode lets several processes share one cache file.
"""

from __future__ import annotations

import json
import sqlite3
import time
from collections.abc import Iterable
from pathlib import Path
from typing import Any

_SCHEMA = """
CREATE TABLE IF NOT EXISTS responses (
    key TEXT PRIMARY KEY,
    model TEXT NOT NULL,
    text TEXT,
    finish_reason TEXT,
    usage TEXT,
    created REAL NOT NULL
)
"""
_CHUNK = 500  # SQLite's host-parameter limit is 999 on old builds


class ResponseCache:
    def __init__(self, path: str | Path, commit_every_s: float = 0.25) -> None:
        self.path = Path(path)
        self.commit_every_s = commit_every_s
        self._pending = 0
        self._last_commit = time.monotonic()
        self.path.parent.mkdir(parents=True, exist_ok=True)
        try:
            self._db = sqlite3.connect(self.path, timeout=30.0, check_same_thread=False)
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=NORMAL")
            self._db.execute(_SCHEMA)
            self._db.commit()
        except sqlite3.DatabaseError as exc:
            raise ValueError(f"LLM cache {self.path} cannot be opened as SQLite: {exc}") from None

    def get_many(self, keys: Iterable[str]) -> dict[str, dict[str, Any]]:
        keys = list(dict.fromkeys(keys))
        found: dict[str, dict[str, Any]] = {}
        for start in range(0, len(keys), _CHUNK):
            chunk = keys[start:start + _CHUNK]
            marks = ",".join("?" * len(chunk))
            rows = self._db.execute(
                f"SELECT key, text, finish_reason, usage FROM responses WHERE key IN ({marks})", chunk
            )
            for key, text, finish, usage in rows:
                found[key] = {"text": text, "finish_reason": finish, "usage": json.loads(usage or "{}")}
        return found

    def put(self, key: str, model: str, text: str | None, finish_reason: str | None, usage: dict) -> None:
        """Store one response; commits are grouped (at most `commit_every_s` of answers lost to a kill -9)."""
        now = time.time()
        self._db.execute(
            "INSERT OR REPLACE INTO responses (key, model, text, finish_reason, usage, created) VALUES (?,?,?,?,?,?)",
            (key, model, text, finish_reason, json.dumps(usage), now),
        )
        self._pending += 1
        if self._pending >= 64 or time.monotonic() - self._last_commit >= self.commit_every_s:
            self.flush()

    def flush(self) -> None:
        if self._pending:
            self._db.commit()
            self._pending = 0
        self._last_commit = time.monotonic()

    def count(self, model: str | None = None) -> int:
        if model is None:
            return self._db.execute("SELECT COUNT(*) FROM responses").fetchone()[0]
        return self._db.execute("SELECT COUNT(*) FROM responses WHERE model = ?", (model,)).fetchone()[0]

    def close(self) -> None:
        self.flush()
        self._db.close()

    def __enter__(self) -> ResponseCache:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
