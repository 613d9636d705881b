"""The release's row shape and content digest, a leaf that readers share with the writer: `refs.verify` checks a
published release with exactly the functions `publish` fingerprinted it with (rows.py builds the rows)."""

from __future__ import annotations

import hashlib
import json
from typing import Any

import datasets

from ..mmra_format import IMAGE_COLUMNS
from ..registry import get_subtask
from ..subtasks import PAPER_ORDER

_S = datasets.Value("string")
FEATURES = datasets.Features(
    {
        "Task": _S,
        "QA_type": _S,
        "question": _S,
        "image1": datasets.Image(),
        "image2": datasets.Image(),
        "options": _S,
        "answer": _S,
        "id": _S,
        "granularity": _S,
        "options_list": datasets.List(_S),
        "provenance": _S,
        **{f"image{i}_{k}": _S for i in (1, 2) for k in ("source", "source_url", "licence", "sha256")},
        "annotators": datasets.Value("int32"),
        "agreement": datasets.Value("float64"),
        "alpha_answers": datasets.Value("float64"),  # subtask-level Krippendorff's alpha at the pull
        "alpha_keep_reject": datasets.Value("float64"),
        "adjudication": _S,
        "leakage_checked": datasets.Value("bool"),
        "leakage_flagged": datasets.Value("bool"),
        "leakage_hits": datasets.Value("int32"),
        "leakage_models": datasets.List(_S),
        "leakage": _S,
        "description1": _S,
        "description2": _S,
        "candidate_id": _S,
        "version": _S,
        "content_hash": _S,
    }
)


def sort_key(row: dict[str, Any]) -> tuple:
    """Release order: entity level, then image level; subtasks in the paper's order; then id."""
    level = {"entity": 0, "image": 1}.get(row["granularity"], 2)
    try:
        abbr = get_subtask(row["Task"]).abbreviation
        rank = PAPER_ORDER.index(abbr) if abbr in PAPER_ORDER else len(PAPER_ORDER)
    except KeyError:
        rank = len(PAPER_ORDER)
    return (level, rank, row["Task"], row["id"])


def row_digest(row: dict[str, Any]) -> str:
    """A digest of everything in a row, images by their sha256: the unit of the release fingerprint."""
    flat = {k: (v if k not in IMAGE_COLUMNS else row[f"{k}_sha256"]) for k, v in row.items()}
    blob = json.dumps(flat, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(blob.encode("utf-8")).hexdigest()


def fingerprint(rows: list[dict[str, Any]]) -> str:
    """Content fingerprint of a release: independent of parquet encoding, so a newer pyarrow that writes
    other bytes still recognises the same content."""
    h = hashlib.sha256()
    for row in rows:
        h.update(row_digest(row).encode("ascii"))
        h.update(b"\n")
    return "sha256:" + h.hexdigest()
