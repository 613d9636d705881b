"""Score output: `scores.json`, a rich table laid out like the paper's (rows models; columns RP US MS SM AS NSE
| Env LO SimE SubE OA), a diagnostics table, and a PNG bar chart."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from mmra.benchmark.records import write_jsonl
from mmra.benchmark.subtasks import ENTITY_LEVEL, IMAGE_LEVEL
from mmra.fileio import write_json
from mmra.output import literal_console

from .scoring import Run, scored_lines, subtask_order


def _pct(value: float | None) -> str:
    return "–" if value is None else f"{100 * value:.2f}"


def columns_for(result: dict[str, Any]) -> tuple[list[str], list[str], list[str]]:
    present = {k for r in result["runs"] for k in r["subtasks"]}
    entity = [k for k in ENTITY_LEVEL if k in present]
    image = [k for k in IMAGE_LEVEL if k in present]
    other = [k for k in subtask_order(present) if k not in entity and k not in image]
    return entity, image, other


def accuracy_table(result: dict[str, Any]) -> Table:
    entity, image, other = columns_for(result)
    table = Table(title="Accuracy (%)  — Overall is micro over all samples", title_justify="left")
    table.add_column("Model", style="bold")
    table.add_column("Overall", justify="right", style="bold")
    table.add_column("n", justify="right", style="dim")
    for i, key in enumerate(entity + image + other):
        # a heavy rule between the entity- and image-level blocks, as in the paper
        table.add_column(("│ " if i == len(entity) and entity and image else "") + key, justify="right")
    table.add_column("Entity", justify="right", style="cyan")
    table.add_column("Image", justify="right", style="cyan")
    for run in result["runs"]:
        cells = [run["label"], _pct(run["overall"]), str(run["n"])]
        for key in entity + image + other:
            sub = run["subtasks"].get(key)
            cells.append(_pct(sub["accuracy"]) if sub else "–")
        levels = run["levels"]
        cells += [_pct(levels.get("entity", {}).get("micro")), _pct(levels.get("image", {}).get("micro"))]
        table.add_row(*cells)
    return table


def diagnostics_table(result: dict[str, Any]) -> Table:
    table = Table(title="Diagnostics", title_justify="left")
    for col in ("Model", "Overall 95% CI", "macro", "parse fail", "refusal", "errors", "CircularEval",
                "swap: orig → swapped (n)"):
        table.add_column(col, justify="right" if col != "Model" else "left")
    for run in result["runs"]:
        ci = run["ci95"]
        circ = run["circular"]
        swap = run["swap"]
        table.add_row(
            run["label"],
            f"{_pct(ci[0])}–{_pct(ci[1])}" if ci else "–",
            _pct(run["macro"]),
            _pct(run["parse_failure_rate"]),
            _pct(run["refusal_rate"]),
            _pct(run["error_rate"]),
            f"{_pct(circ['accuracy'])} (vanilla {_pct(circ['vanilla_accuracy'])})" if circ else "–",
            f"{_pct(swap['original'])} → {_pct(swap['swapped'])} ({swap['n']})" if swap else "–",
        )
    return table


def mmstar_table(result: dict[str, Any]) -> Table | None:
    if not result["mmstar"]:
        return None
    table = Table(title="MMStar multi-modal gain / leakage (%)", title_justify="left")
    for col in ("Model", "S_v (IQ)", "S_wv (blank)", "S_t (text base)", "MG", "ML"):
        table.add_column(col, justify="right" if col != "Model" else "left")
    for model, m in result["mmstar"].items():
        table.add_row(model, _pct(m["S_v"]), _pct(m["S_wv"]), _pct(m["S_t"]), _pct(m["MG"]), _pct(m["ML"]))
    return table


def print_tables(result: dict[str, Any], console: Console | None = None) -> None:
    if console is None:  # the paper-like table has 16 columns: do not let an 80-column default wrap it
        probe = literal_console()  # model names and subtasks are data: shown literally
        console = literal_console(width=max(probe.width, 150)) if not probe.is_terminal else probe
    console.print(accuracy_table(result))
    console.print(diagnostics_table(result))
    table = mmstar_table(result)
    if table is not None:
        console.print(table)


def plot_scores(result: dict[str, Any], path: Path) -> Path:
    from mmra.plots import pyplot

    plt = pyplot()
    import numpy as np

    entity, image, other = columns_for(result)
    keys = entity + image + other + ["Overall"]
    runs = result["runs"]
    width = 0.8 / max(1, len(runs))
    fig, ax = plt.subplots(figsize=(max(8, 0.9 * len(keys) + 2), 4.5), dpi=110)
    x = np.arange(len(keys))
    for i, run in enumerate(runs):
        cells = [run if k == "Overall" else (run["subtasks"].get(k) or {}) for k in keys]
        values = [100 * ((c.get("overall") if c is run else c.get("accuracy")) or 0.0) for c in cells]
        # bootstrap 95% intervals as error bars: with ~100 items per subtask, differences of a few points are noise
        low = [v - 100 * c["ci95"][0] if c.get("ci95") else 0.0 for v, c in zip(values, cells, strict=True)]
        high = [100 * c["ci95"][1] - v if c.get("ci95") else 0.0 for v, c in zip(values, cells, strict=True)]
        ax.bar(x + (i - (len(runs) - 1) / 2) * width, values, width, label=run["label"],
               yerr=[np.clip(low, 0, None), np.clip(high, 0, None)], capsize=2, error_kw={"lw": 0.8})
    if entity and image:
        ax.axvline(len(entity) - 0.5, color="grey", lw=1, ls="--")
    ax.set_xticks(x, keys)
    ax.set_ylabel("accuracy (%)")
    ax.set_ylim(0, 100)
    ax.set_title("MMRA accuracy per subtask (entity | image level), bootstrap 95% CI")
    ax.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.0, 1.0))
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path)
    plt.close(fig)
    return path


def write_report(result: dict[str, Any], runs: list[Run], out: Path, *, plot: bool = True) -> None:
    out.mkdir(parents=True, exist_ok=True)
    if plot:
        result["plot"] = str(plot_scores(result, out / "scores.png"))
    write_json(out / "scores.json", result)
    write_jsonl(out / "scored.jsonl", scored_lines(runs))
    with (out / "scores.txt").open("w", encoding="utf-8") as fh:  # the tables as plain text, for reports
        print_tables(result, literal_console(file=fh, width=160, force_terminal=False, color_system=None))
