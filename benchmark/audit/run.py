"""`run_audit`: read a benchmark where it is, run the probe panel on its text, write what it gives away and, with
`prune_eps`, a blind-proof subset in the benchmark's own format.

The panel is the one `mmra leakage` runs (`benchmark/leakage/panel.py`): the registered model-free probes out of
fold, the question-only LLM probes when models are given, the same flag policy and the same iterative bias
pruning. What differs is only the edge: items come from any file through `formats` + `columns`, and the outputs
keep the benchmark's own ids, task names and row numbers.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mmra.benchmark.leakage.blind import BlindSettings
from mmra.benchmark.leakage.items import ProbeItem
from mmra.benchmark.leakage.panel import PanelSettings
from mmra.benchmark.leakage.run import LeakageSettings
from mmra.llm.endpoints import ClientOptions

from .columns import ColumnFlags, ItemErrors, map_columns, read_items

AUDIT_LLM_PROBES = ("circular", "choices-only")  # the eval-* probes ask MMRA's own prompts, not a benchmark's
SHOWN_LINES = 20  # left-out rows named on the terminal; report.json keeps every line
SMALL_TASK = 30  # a task keeping fewer items than this gets a warning: its figures are too noisy to trust


class AuditError(ValueError):
    """The audit cannot run at all (nothing readable, no mappable columns); one line."""


@dataclass
class AuditOptions:
    source: str
    out: Path
    split: str | None = None
    columns: ColumnFlags = field(default_factory=ColumnFlags)
    models: list[str] = field(default_factory=list)  # NAME@URL[#ENV] or embedded model names
    # the same settings objects as `mmra leakage` (leakage/stage.LeakageOptions): LLM probes, blind probes, policy
    settings: LeakageSettings = field(default_factory=lambda: LeakageSettings(probes=AUDIT_LLM_PROBES))
    blind: BlindSettings = field(default_factory=BlindSettings)
    panel: PanelSettings = field(default_factory=PanelSettings)  # panel.prune_eps: write the blind-proof subset
    clients: ClientOptions = field(default_factory=ClientOptions)  # cache, timeouts, keys, servers
    vlm: str | None = None  # image probes (MMRA-shaped data only: they need its image pairs)
    vlm_backend: str = "hf"
    vlm_options: dict[str, Any] = field(default_factory=dict)
    vlm_batch_size: int = 8


@dataclass
class AuditResult:
    items: list[ProbeItem]
    report: dict[str, Any]
    verdicts: list[dict[str, Any]]
    skipped: list[str]
    subset: Path | None
    kept_rows: set[int] | None
    paths: dict[str, Path]


def read_benchmark(opts: AuditOptions, say: Callable[[str], None]) -> tuple[Any, Any, list[ProbeItem], ItemErrors]:
    """The source, its column map, its items and the rows left out (one line each)."""
    from mmra.progress import progress_bar

    from .formats import FormatError, open_source

    try:
        source = open_source(opts.source, split=opts.split)
        columns = source.columns()
    except FormatError as exc:
        raise AuditError(str(exc)) from None
    name = str(source.path.name if source.path else opts.source)
    cmap = map_columns(columns, opts.columns, name)
    errors = ItemErrors()
    default_task = Path(name).stem or "all"
    with progress_bar(transient=True) as bar:
        task = bar.add_task(f"reading {name}", total=None)

        def counted():
            for row in source.rows(cmap.needed):
                bar.advance(task)
                yield row

        try:
            items = read_items(counted(), cmap, default_task, errors)
        except FormatError as exc:
            raise AuditError(str(exc)) from None
    for line in errors.lines[:SHOWN_LINES]:
        say(line)
    if len(errors.lines) > SHOWN_LINES:  # a benchmark with hundreds of free-form rows: the rest in report.json
        say(f"... and {len(errors.lines) - SHOWN_LINES} more line(s) like these (all of them: report.json "
            "audit.left_out)")
    if not items:
        raise AuditError(f"{name}: no row could be read as a question with its answer "
                         f"({len(errors.rows)} left out; columns used: {cmap.describe()})")
    return source, cmap, items, errors


def run_audit(opts: AuditOptions, *, llm: Any = None, servers: Any = None,
              say: Callable[[str], None] = lambda line: None) -> AuditResult:
    """`llm` and `servers`: the `[llm]` settings and the local model servers (from the config, read at the CLI
    edge); needed only with `opts.models`."""
    from mmra.benchmark.leakage.panel import run_panel

    source, cmap, items, errors = read_benchmark(opts, say)
    say(f"{len(items)} items in {len({i.subtask for i in items})} task(s) read from {opts.source}"
        + (f"; {len(errors.rows)} row(s) left out" if errors.rows else ""))
    run_ref = str(opts.out / "verdicts.jsonl")
    image_probes = _image_probes(items, opts, say) if opts.vlm else None
    llm_result = (_llm_probes(items, opts, llm, servers, say, image_probes)
                  if opts.models or image_probes is not None else None)
    panel = run_panel(items, llm_result, opts.blind, opts.panel, run_ref=run_ref)
    result = panel.result
    by_id = {i.id: i for i in items}
    for v in result.verdicts:
        v["row"] = by_id[v["id"]].row
    report = result.report
    report["audit"] = {
        "source": str(opts.source), "format": source.kind, "columns": cmap.describe(),
        "items": len(items), "rows_left_out": len(errors.rows), "left_out": errors.lines,
        "tasks": sorted({i.subtask for i in items}),
    }
    _registered_levels(report)
    subset, kept = None, None
    if opts.panel.prune_eps is not None:
        leaked = {v["id"] for v in result.verdicts if v["leaked"]}
        kept = {i.row for i in items if i.id not in leaked}
        report["audit"]["subset"] = _subset_summary(items, kept, panel, opts.panel.prune_eps, errors)
        for line in report["audit"]["subset"]["warnings"]:
            say(line)
        subset = source.write_subset(kept, opts.out)
        report["audit"]["subset"]["path"] = str(subset)
    paths = write_audit_outputs(result, report, opts.out, items)
    return AuditResult(items=items, report=report, verdicts=result.verdicts, skipped=errors.lines, subset=subset,
                       kept_rows=kept, paths=paths)


def _image_probes(items: list[ProbeItem], opts: AuditOptions, say) -> dict[str, Any]:
    """The VLM image probes of `mmra leakage` (IQ, IQ-image1, IQ-image2, IQ-blank). They need the images of an
    MMRA-shaped benchmark (two per item, as the eval runner reads them); the ids must be the items' ids."""
    from mmra.benchmark.leakage.vlm import run_image_probes
    from mmra.benchmark.sources import load_samples

    try:
        samples = load_samples(opts.source).samples
    except Exception as exc:  # any reason it is not MMRA-shaped: one line, before any model work
        cause = " ".join(str(exc).split())[:200]
        raise AuditError(f"--vlm: the image probes run the eval settings IQ/IQ-image1/IQ-image2/IQ-blank, which need "
                         f"MMRA-shaped data with two images per item; {opts.source} is not ({cause}). "
                         "Audit without --vlm, or convert the benchmark to MMRA's columns") from None
    if {s.id for s in samples} != {i.id for i in items}:
        raise AuditError(f"--vlm: the ids read from {opts.source} as MMRA data differ from the audited items' ids")
    say(f"image probes with {opts.vlm} ({opts.vlm_backend}) ...")
    return run_image_probes(opts.source, model=opts.vlm, out_dir=opts.out / "vlm", backend=opts.vlm_backend,
                            backend_options=dict(opts.vlm_options), batch_size=opts.vlm_batch_size,
                            max_new_tokens=opts.settings.max_tokens, rule=opts.settings.one_image_rule)


def _llm_probes(items, opts: AuditOptions, llm, servers, say, image_probes=None):
    from mmra.benchmark.leakage.stage import probe_with_models
    from mmra.llm.endpoints import parse_model_specs

    return probe_with_models(items, parse_model_specs(opts.models), opts.settings, llm=llm, servers=servers,
                             clients=opts.clients, out=opts.out, image_probes=image_probes, say=say)


def _registered_levels(report: dict[str, Any]) -> None:
    """A task that is a registered subtask keeps its metadata (its level) in the report."""
    from mmra.benchmark.registry import get_subtask

    for name, row in report["subtasks"].items():
        try:
            row["level"] = get_subtask(name).granularity.value
        except KeyError:
            continue


def _subset_summary(items: list[ProbeItem], kept: set[int], panel: Any, eps: float, errors: ItemErrors) -> dict[str, Any]:
    """Per task: items before, rows kept, each probe's accuracy before and after (refitted on what is kept)."""
    before = panel.blind.subtasks
    after = panel.prune.final.subtasks if panel.prune is not None else {}
    tasks: dict[str, Any] = {}
    warnings: list[str] = []
    for name in sorted({i.subtask for i in items}):
        members = [i for i in items if i.subtask == name]
        n_kept = sum(i.row in kept for i in members)
        row_after = after.get(name)
        tasks[name] = {
            "n": len(members), "kept": n_kept, "chance_before": before[name]["chance"],
            "chance_after": row_after["chance"] if row_after else None,
            "before": {p: st["accuracy"] for p, st in before[name]["probes"].items()},
            "after": {p: st["accuracy"] for p, st in row_after["probes"].items()} if row_after else {},
            "after_ci": {p: st["ci"] for p, st in row_after["probes"].items()} if row_after else {},
        }
        if n_kept < SMALL_TASK:
            warnings.append(f"task {name}: only {n_kept} item(s) kept in the blind-proof subset (fewer than "
                            f"{SMALL_TASK}): its figures are too noisy to compare models on")
    prune = panel.prune
    return {"eps": eps, "kept": len(kept), "of": len(items), "tasks": tasks, "warnings": warnings,
            "converged": prune.converged if prune is not None else True,
            "rounds": len(prune.rounds) if prune is not None else 0,
            "rows_left_out_unread": len(errors.rows),
            "rule": "kept: items no probe flagged and bias pruning kept; rows that could not be read as items are "
                    "left out too (they were not audited)"}


def write_audit_outputs(result: Any, report: dict[str, Any], out: Path, items: list[ProbeItem]) -> dict[str, Path]:
    """verdicts.jsonl, report.json and leakage.png (as `mmra leakage` writes them) plus report.md."""
    from mmra.benchmark.leakage.run import write_outputs
    from mmra.fileio import write_atomic

    from .report import markdown_report

    result.report = report
    paths = write_outputs(result, out, records=False)
    paths["markdown"] = write_atomic(out / "report.md", markdown_report(report, result.verdicts, items))
    return paths
