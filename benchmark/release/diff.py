"""What changed between two releases: samples added, removed and changed (same id, other content),
per subtask (a sample's content is compared field by field, not trusted from its stored content_hash);
plus samples whose metadata alone changed (provenance, agreement, leakage, ...), and samples that
moved between the default config and the `flagged` one. A balanced answer key shows as `options (reordered)`
and `answer`; a NaturalBench-style swap as `images (swapped)` and `answer`."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq

from mmra.parsing import ParseError, load_literal

# What a benchmark user sees; a change here changes content_hash. Images compare by sha256.
CONTENT_FIELDS = ("Task", "QA_type", "question", "options", "answer", "image1_sha256", "image2_sha256")
_NOT_METADATA = {"image1", "image2", "version", "content_hash", "id", *CONTENT_FIELDS}


@dataclass(frozen=True)
class Entry:
    id: str
    task: str
    content_hash: str
    fields: dict[str, Any]
    metadata_digest: str
    config: str = "default"  # "default" | "flagged"


def _metadata_digest(row: dict[str, Any]) -> str:
    meta = {k: v for k, v in row.items() if k not in _NOT_METADATA}
    blob = json.dumps(meta, sort_keys=True, ensure_ascii=False, default=str)
    return hashlib.sha256(blob.encode("utf-8")).hexdigest()


def index_rows(rows: Iterable[dict[str, Any]], config: str | None = None, *, where: str = "these rows"
               ) -> dict[str, Entry]:
    """Entries by id; the config is `config`, else derived from `leakage_flagged` (how publish splits rows).
    An id seen twice is a ValueError naming `where` (a second row must not hide the first)."""
    entries: dict[str, Entry] = {}
    for r in rows:
        if r["id"] in entries:
            raise ValueError(f"{where}: sample id {r['id']!r} appears more than once")
        entries[r["id"]] = Entry(
            r["id"], r["Task"], r["content_hash"], {f: r.get(f) for f in CONTENT_FIELDS}, _metadata_digest(r),
            config or ("flagged" if r.get("leakage_flagged") else "default"))
    return entries


def index_release(version_dir: str | Path, files: list[str]) -> dict[str, Entry]:
    """Index a release from its parquet shards (`files`: the default config; the manifest's `flagged_files`
    are added), reading every column but the image bytes."""
    version_dir = Path(version_dir)
    manifest_path = version_dir / "manifest.json"
    flagged = []
    if manifest_path.is_file():
        flagged = [f["path"] for f in json.loads(manifest_path.read_text(encoding="utf-8")).get("flagged_files", [])]
    entries: dict[str, Entry] = {}
    for rel, config in [*((f, "default") for f in files), *((f, "flagged") for f in flagged if f not in files)]:
        pf = pq.ParquetFile(version_dir / rel)
        columns = [c for c in pf.schema_arrow.names if c not in ("image1", "image2")]
        found = index_rows(pf.read(columns=columns).to_pylist(), config, where=str(version_dir / rel))
        again = found.keys() & entries.keys()
        if again:
            raise ValueError(f"{version_dir / rel}: sample id {min(again)!r} appears in another data file too")
        entries.update(found)
    return entries


def _options_texts(value: Any) -> list[str] | None:
    if not value:
        return None
    try:
        return sorted(str(v) for v in load_literal(value).values())
    except (ParseError, AttributeError):
        return None


def changed_fields(a: Entry, b: Entry) -> list[str]:
    """The content fields that differ, naming a reorder of the same options and a swap of the two images."""
    fields = [f for f in CONTENT_FIELDS if a.fields.get(f) != b.fields.get(f)]
    texts = _options_texts(a.fields.get("options"))
    if "options" in fields and texts is not None and texts == _options_texts(b.fields.get("options")):
        fields[fields.index("options")] = "options (reordered)"
    fa, fb = a.fields, b.fields
    if {"image1_sha256", "image2_sha256"} <= set(fields) and fa["image1_sha256"] == fb["image2_sha256"] \
            and fa["image2_sha256"] == fb["image1_sha256"]:
        fields = [f for f in fields if f != "image2_sha256"]
        fields[fields.index("image1_sha256")] = "images (swapped)"
    return fields or ["content_hash"]


@dataclass
class SubtaskDiff:
    added: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    changed: dict[str, list[str]] = field(default_factory=dict)  # id -> the content fields that differ
    metadata_changed: list[str] = field(default_factory=list)
    unchanged: int = 0


@dataclass
class ReleaseDiff:
    old: str
    new: str
    subtasks: dict[str, SubtaskDiff]
    moved: dict[str, list[str]] = field(default_factory=dict)  # id -> [old config, new config]

    def total(self, kind: str) -> int:
        return sum(len(getattr(d, kind)) if kind != "unchanged" else d.unchanged for d in self.subtasks.values())

    @property
    def is_empty(self) -> bool:
        return not any(self.total(k) for k in ("added", "removed", "changed", "metadata_changed"))

    def to_json(self) -> dict[str, Any]:
        return {
            "old": self.old,
            "new": self.new,
            "totals": {k: self.total(k) for k in ("added", "removed", "changed", "metadata_changed", "unchanged")},
            "subtasks": {
                name: {"added": d.added, "removed": d.removed, "changed": d.changed,
                       "metadata_changed": d.metadata_changed, "unchanged": d.unchanged}
                for name, d in self.subtasks.items()
            },
            "moved": self.moved,
        }

    def table_rows(self) -> list[tuple[str, int, int, int, int, int]]:
        """(subtask, added, removed, changed, metadata only, unchanged) per subtask, then a total row."""
        rows = [(n, len(d.added), len(d.removed), len(d.changed), len(d.metadata_changed), d.unchanged)
                for n, d in self.subtasks.items()]
        rows.append(("total", *(self.total(k) for k in ("added", "removed", "changed", "metadata_changed", "unchanged"))))
        return rows


def diff_indexes(old: dict[str, Entry], new: dict[str, Entry], old_label: str, new_label: str,
                 order: list[str] | None = None) -> ReleaseDiff:
    """Compare by id; a sample counts under its new subtask (its old one when removed)."""
    per: dict[str, SubtaskDiff] = {}
    moved: dict[str, list[str]] = {}

    def bucket(task: str) -> SubtaskDiff:
        return per.setdefault(task, SubtaskDiff())

    for sid in sorted(new.keys() - old.keys()):
        bucket(new[sid].task).added.append(sid)
    for sid in sorted(old.keys() - new.keys()):
        bucket(old[sid].task).removed.append(sid)
    for sid in sorted(old.keys() & new.keys()):
        a, b = old[sid], new[sid]
        d = bucket(b.task)
        if a.config != b.config:
            moved[sid] = [a.config, b.config]
        if a.content_hash != b.content_hash or a.fields != b.fields:
            d.changed[sid] = changed_fields(a, b)
        elif a.metadata_digest != b.metadata_digest:
            d.metadata_changed.append(sid)
        else:
            d.unchanged += 1
    rank = {name: i for i, name in enumerate(order or [])}
    ordered = dict(sorted(per.items(), key=lambda kv: (rank.get(kv[0], len(rank)), kv[0])))
    return ReleaseDiff(old_label, new_label, ordered, moved)
