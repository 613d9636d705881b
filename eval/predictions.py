"""The predictions JSONL: one line per answered item, appended as soon as its batch completes.

Line fields (the first six are what `mmra score` needs; other harnesses can convert to them):
    id, Task, QA_type, options (MMRA dict string or null), answer, response (null when the row failed),
    sample_id, variant ("orig" | "swap" | "circK"), level ("entity" | "image": a subtask the scoring machine
    does not know, e.g. a plug-in's, scores under it), error (why the row failed, or null), setting, model,
    profile, prompt (the text part of the prompt, for auditing)

`evaluate` scores its own run from the typed items it asked; this file is what `mmra score` parses.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from mmra.benchmark.schema import SchemaError
from mmra.benchmark.sources import format_problems, iter_json_lines
from mmra.fileio import write_atomic
from mmra.parsing import ParseError, load_json

REQUIRED_FIELDS = ("id", "Task", "QA_type", "options", "answer", "response")


class PredictionWriter:
    """Appends records and makes them durable at once, so a killed run loses at most the batch in flight."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._fh = self.path.open("a", encoding="utf-8")

    def write(self, records: list[dict[str, Any]]) -> None:
        if not records:
            return
        self._fh.write("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records))
        self._fh.flush()
        os.fsync(self._fh.fileno())

    def close(self) -> None:
        self._fh.close()

    def __enter__(self) -> PredictionWriter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def read_done(path: str | Path) -> tuple[dict[str, dict[str, Any]], int]:
    """Records already written, by id, and how many torn/invalid lines were dropped. A run killed mid-write
    can leave a partial last line; it is removed from the file (atomically) so appends stay valid JSONL."""
    path = Path(path)
    if not path.exists():
        return {}, 0
    done: dict[str, dict[str, Any]] = {}
    kept: list[str] = []
    dropped = 0
    with path.open(encoding="utf-8", errors="replace") as fh:
        for line in fh:
            if not line.strip():
                continue
            try:
                record = load_json(line)
            except ParseError:
                dropped += 1
                continue
            if not isinstance(record, dict) or "id" not in record:
                dropped += 1
                continue
            done[str(record["id"])] = record
            kept.append(line if line.endswith("\n") else line + "\n")
    if dropped:
        write_atomic(path, "".join(kept))
    return done, dropped


def load_predictions(path: str | Path) -> list[dict[str, Any]]:
    """Read a predictions file for scoring. Every line must be a JSON object with the required fields;
    all bad lines are reported together (file:line and what is wrong)."""
    path = Path(path)
    if not path.is_file():
        cause = "is a folder, not a JSONL file" if path.is_dir() else "does not exist"
        raise FileNotFoundError(f"predictions file {path} {cause}")
    records: list[dict[str, Any]] = []
    problems: list[str] = []
    for rec in iter_json_lines(path):
        if rec.record is None:
            problems.append(f"{rec.item}: {rec.error}")
            continue
        missing = [f for f in REQUIRED_FIELDS if f not in rec.record]
        if missing:
            ident = f" (id {rec.record['id']})" if "id" in rec.record else ""
            problems.append(f"{rec.item}{ident}: missing field(s) {', '.join(missing)}")
            continue
        records.append(rec.record)
    if problems:
        raise SchemaError(format_problems(
            f"{path}: {len(problems)} bad line(s); each needs {', '.join(REQUIRED_FIELDS)}", problems))
    if not records:
        raise SchemaError(f"{path}: no predictions in the file")
    return records
