"""Building one release folder from validated samples:

    README.md                 data card (Hub YAML metadata + tables), also copied to data_cards/
    plots/*.png               the card's plots
    data/<level>-0000i-of-0000n.parquet   shards, one group per granularity (entity_level, image_level)
    flagged/flagged-0000i-of-0000n.parquet  samples the leakage filter flagged: their own `flagged` config,
                                            outside data/ so every reader of the default config skips them
    lmms_eval/<task>.yaml, lmms_eval/utils.py
    vlmevalkit/<task>_v<version>.tsv, vlmevalkit/README.md   VLMEvalKit's TSV format
    manifest.json             name, version, fingerprint, every file's sha256

Deterministic: rows in a fixed order, shard count from the data size, fixed row-group size, no
timestamps anywhere, so the same samples give the same bytes."""

from __future__ import annotations

import hashlib
import json
import math
import os
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import datasets
import pyarrow as pa
import pyarrow.parquet as pq

from mmra import __version__ as toolkit_version
from mmra.progress import progress_bar

from ..sources import format_problems
from .card import CardInputs, render_card, task_name
from .diff import ReleaseDiff
from .digest import FEATURES, sort_key
from .errors import ReleaseInputError
from .inputs import SourceSample
from .lmms_eval import write_lmms_eval
from .plots import write_plots
from .refs import ALIAS_SPLITS, FORMAT, MANIFEST, SPLIT
from .rows import read_image, rows_to_table, sample_to_row
from .stats import add_flagged, derive_licence, subtask_stats
from .validity import FLAGGED_CONFIG
from .vlmevalkit import write_vlmevalkit

DEFAULT_MAX_SHARD_BYTES = 500 * 1024**2  # the Hub's push_to_hub default
ROW_GROUP_ROWS = 100  # datasets' row-group size for image data: small groups keep the viewer fast


def _checked_row(src: SourceSample, version: str) -> dict[str, Any] | str:
    try:
        images = (read_image(src.sample.image1, src, "image1"), read_image(src.sample.image2, src, "image2"))
        return sample_to_row(src, images, version)
    except ValueError as exc:
        return str(exc)


def prepare_rows(sources: list[SourceSample], version: str, *, show_progress: bool = True,
                 workers: int | None = None) -> list[dict[str, Any]]:
    """Read and fully decode every image (threads: PIL releases the GIL while decoding), then make the rows
    in release order. All problems are reported at once."""
    rows: list[dict[str, Any]] = []
    problems: list[str] = []
    workers = workers or min(8, os.cpu_count() or 1)
    with progress_bar(disable=not show_progress, transient=True) as bar, \
            ThreadPoolExecutor(max_workers=workers) as pool:
        task = bar.add_task("checking images", total=len(sources))
        for result in pool.map(lambda src: _checked_row(src, version), sources, chunksize=64):
            (problems.append if isinstance(result, str) else rows.append)(result)
            bar.advance(task)
    if problems:
        raise ReleaseInputError(format_problems(f"{len(problems)} sample(s) with unusable images, nothing was published", problems))
    rows.sort(key=sort_key)
    return rows


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def _row_bytes(row: dict[str, Any]) -> int:
    return len(row["image1"]["bytes"]) + len(row["image2"]["bytes"]) + len(row["question"]) + len(row["provenance"] or "")


@dataclass(frozen=True)
class Shard:
    path: str
    group: str
    rows: list[dict[str, Any]]


def plan_shards(rows: list[dict[str, Any]], max_shard_bytes: int, *, group: str | None = None,
                folder: str = "data") -> list[Shard]:
    """Contiguous shards per granularity (or all in `group`); the count depends only on the data, so it is
    reproducible."""
    groups: dict[str, list[dict[str, Any]]] = {}
    for row in rows:
        groups.setdefault(group or f"{row['granularity']}_level", []).append(row)
    shards = []
    for group, members in groups.items():
        n = max(1, math.ceil(sum(_row_bytes(r) for r in members) / max_shard_bytes))
        n = min(n, len(members))
        for i in range(n):
            part = members[i * len(members) // n:(i + 1) * len(members) // n]
            shards.append(Shard(f"{folder}/{group}-{i:05d}-of-{n:05d}.parquet", group, part))
    return shards


def write_shards(out_dir: Path, shards: list[Shard], *, show_progress: bool = True) -> list[dict[str, Any]]:
    files = []
    total = sum(len(s.rows) for s in shards)
    with progress_bar(disable=not show_progress, transient=True) as bar:
        task = bar.add_task("writing parquet", total=total)
        for shard in shards:
            path = out_dir / shard.path
            path.parent.mkdir(parents=True, exist_ok=True)
            nbytes = 0
            with pq.ParquetWriter(path, FEATURES.arrow_schema, compression="snappy") as writer:
                for start in range(0, len(shard.rows), ROW_GROUP_ROWS):
                    table = rows_to_table(shard.rows[start:start + ROW_GROUP_ROWS])
                    nbytes += table.nbytes
                    writer.write_table(table, row_group_size=ROW_GROUP_ROWS)
                    bar.advance(task, table.num_rows)
            files.append({"path": shard.path, "group": shard.group, "rows": len(shard.rows),
                          "arrow_bytes": nbytes, "bytes": path.stat().st_size, "sha256": _sha256(path)})
    return files


def configs_for(files: list[dict[str, Any]], flagged_files: list[dict[str, Any]] = ()
                ) -> tuple[list[dict[str, Any]], dict[str, dict[str, Any]]]:
    """Hub `configs` YAML and per-config split sizes: `default` (test + the train alias), one per level and
    `flagged` (leakage-flagged samples, test split only) when there are any."""
    every = "data/*.parquet"
    configs: list[dict[str, Any]] = [{
        "config_name": "default",
        "default": True,
        "data_files": [{"split": s, "path": every} for s in (SPLIT, *ALIAS_SPLITS)],
    }]
    total_arrow = sum(f["arrow_bytes"] for f in files)
    total_n = sum(f["rows"] for f in files)
    infos: dict[str, dict[str, Any]] = {"default": {
        "splits": {s: (total_arrow, total_n) for s in (SPLIT, *ALIAS_SPLITS)},
        "download_size": sum(f["bytes"] for f in files),
    }}
    for group in sorted({f["group"] for f in files}):
        mine = [f for f in files if f["group"] == group]
        configs.append({"config_name": group, "data_files": [{"split": SPLIT, "path": f"data/{group}-*.parquet"}]})
        infos[group] = {"splits": {SPLIT: (sum(f["arrow_bytes"] for f in mine), sum(f["rows"] for f in mine))},
                        "download_size": sum(f["bytes"] for f in mine)}
    if flagged_files:
        configs.append({"config_name": FLAGGED_CONFIG,
                        "data_files": [{"split": SPLIT, "path": f"{FLAGGED_CONFIG}/*.parquet"}]})
        infos[FLAGGED_CONFIG] = {"splits": {SPLIT: (sum(f["arrow_bytes"] for f in flagged_files),
                                                    sum(f["rows"] for f in flagged_files))},
                                 "download_size": sum(f["bytes"] for f in flagged_files)}
    return configs, infos


@dataclass
class BuildOptions:
    name: str
    version: str
    fingerprint: str
    source: dict[str, Any]
    repo_id: str | None = None
    dataset_path: str = ""
    changelog: ReleaseDiff | None = None
    previous_versions: tuple[tuple[str, str], ...] = ()
    text_licence: str = "cc-by-4.0"
    max_shard_bytes: int = DEFAULT_MAX_SHARD_BYTES
    show_progress: bool = True
    validity: dict[str, Any] | None = None  # validity.ReleasePlan.report: flagged, balance, blind probes, gate


def write_release(out_dir: Path, rows: list[dict[str, Any]], opts: BuildOptions) -> dict[str, Any]:
    """Write a complete release into `out_dir` (a fresh folder) and return its manifest."""
    out_dir.mkdir(parents=True, exist_ok=True)
    default = [r for r in rows if not r["leakage_flagged"]]
    flagged = [r for r in rows if r["leakage_flagged"]]
    files = write_shards(out_dir, plan_shards(default, opts.max_shard_bytes), show_progress=opts.show_progress)
    flagged_files = write_shards(out_dir, plan_shards(flagged, opts.max_shard_bytes, group=FLAGGED_CONFIG,
                                                      folder=FLAGGED_CONFIG), show_progress=opts.show_progress)
    configs, infos = configs_for(files, flagged_files)
    meta_rows = [{k: v for k, v in r.items() if k not in ("image1", "image2")} for r in default]
    stats = add_flagged(subtask_stats(meta_rows), flagged)
    licence = derive_licence([{k: v for k, v in r.items() if k not in ("image1", "image2")} for r in rows],
                             opts.text_licence)
    task = task_name(opts.name)
    write_plots(stats, out_dir, f"{opts.name} {opts.version}", validity=opts.validity)
    write_lmms_eval(out_dir, task, opts.version, opts.fingerprint, repo_id=opts.repo_id,
                    data_files=[f["path"] for f in files])
    write_vlmevalkit(out_dir, task, opts.version, default)  # the VLMEvalKit TSV (vlmevalkit.py)
    card = CardInputs(
        name=opts.name, version=opts.version, fingerprint=opts.fingerprint, rows=meta_rows, stats=stats,
        licence=licence, configs=configs, config_infos=infos, repo_id=opts.repo_id,
        dataset_path=opts.dataset_path, source=opts.source, changelog=opts.changelog,
        previous_versions=list(opts.previous_versions), text_licence=opts.text_licence,
        validity=opts.validity,
    )
    (out_dir / "README.md").write_text(render_card(card), encoding="utf-8")
    extra = sorted(p for p in out_dir.rglob("*") if p.is_file()
                   and not p.relative_to(out_dir).as_posix().startswith(("data/", f"{FLAGGED_CONFIG}/")))
    manifest = {
        "format": FORMAT,
        "name": opts.name,
        "version": opts.version,
        "fingerprint": opts.fingerprint,
        "num_samples": len(rows),  # every row: the default config and the flagged one
        "configs": {"default": len(default), **({FLAGGED_CONFIG: len(flagged)} if flagged else {})},
        "split": SPLIT,
        "split_aliases": {alias: SPLIT for alias in ALIAS_SPLITS},
        "subtasks": {s.name: s.n for s in stats},
        "licence": licence.licence,
        "repo_id": opts.repo_id,
        "previous_version": opts.previous_versions[-1][0] if opts.previous_versions else None,
        "lmms_eval_task": task,
        "data_files": files,  # the default config (readers of the benchmark read these)
        "flagged_files": flagged_files,
        "other_files": [{"path": p.relative_to(out_dir).as_posix(), "bytes": p.stat().st_size, "sha256": _sha256(p)}
                        for p in extra],
        "source": opts.source,
        "validity": _validity_summary(opts.validity),
        "built_with": {"mmra-toolkit": toolkit_version, "datasets": datasets.__version__, "pyarrow": pa.__version__},
    }
    (out_dir / MANIFEST).write_text(json.dumps(manifest, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    _fsync_tree(out_dir)
    return manifest


def _validity_summary(validity: dict[str, Any] | None) -> dict[str, Any] | None:
    """What the manifest records of the validity checks (the card has the full tables)."""
    if validity is None:
        return None
    gate = validity.get("gate")
    summary = {
        "flagged": validity["flagged"]["n"],
        "balanced": validity["balance"]["applied"],
        "gate": None if gate is None else {
            "max_gap": gate["max_gap"], "alpha": gate["alpha"], "offending": gate["offending"],
            "status": "overridden (--allow-blind-gap)" if gate["allowed"] else "passed"},
    }
    unchecked = validity.get("unchecked")
    if unchecked and unchecked["n"]:  # published with --publish-unchecked (no or a failed leakage check)
        summary["unchecked"] = {k: unchecked[k] for k in ("n", "missing", "failed")}
    return summary


def _fsync_tree(root: Path) -> None:
    """Flush file contents before the rename that makes the release visible."""
    for path in sorted(root.rglob("*")):
        if path.is_file():
            fd = os.open(path, os.O_RDONLY)
            try:
                os.fsync(fd)
            finally:
                os.close(fd)
