"""Show a leakage report: a rich table (per subtask: flagged, QO accuracy and hit rate per model vs chance)
and a PNG plot (per subtask QO accuracy of each model against chance, and the flagged counts)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from rich.table import Table
from rich.text import Text

# Cells and titles that hold data (subtask and model names) are Text, shown literally on any console.


def _name(name: str, suffix: str = "") -> Text:
    return Text(name, style="bold") if name == "ALL" else Text(name + suffix)


def report_table(report: dict[str, Any]) -> Table:
    labels = report["settings"]["models"]
    rows = dict(report["subtasks"])
    rows["ALL"] = report["totals"]
    table = Table(title=Text(f"question-only leakage ({report['settings']['rule']})"))
    table.add_column("subtask")
    table.add_column("n", justify="right")
    table.add_column("flagged", justify="right")
    table.add_column("chance", justify="right")
    kinds = report["settings"].get("kinds", ["circular"])
    for label in labels:  # one column per model and probe kind: accuracy per probe / share of samples hit
        for kind in kinds:
            table.add_column(Text(f"{label}\n{kind}\nacc / hit"), justify="right")
    for name, row in rows.items():
        cells = [f"{row['flagged']} ({row['flag_rate']:.0%})", f"{row['chance_accuracy']:.2f}"]
        for label in labels:
            per_kind = row["models"][label].get("probes", {})
            for kind in kinds:
                k = per_kind.get(kind)
                cells.append("-" if not k or k["accuracy"] is None else f"{k['accuracy']:.2f} / {k['hit_rate']:.2f}")
        table.add_row(_name(name), str(row["n"]), *cells)
    return table


def image_table(image_report: dict[str, Any]) -> Table:
    """Per subtask: the VLM's accuracy under each image setting, and the samples one image answers."""
    rows = dict(image_report["subtasks"])
    rows["ALL"] = image_report["totals"]
    settings = list(image_report["totals"]["settings"])
    table = Table(title=Text(f"image probes: {image_report['model']} (one-image rule: {image_report['rule']})"))
    for col in ("subtask", "n", "chance", *settings, "one image"):
        table.add_column(col, justify="left" if col == "subtask" else "right")
    for name, row in rows.items():
        accs = [f"{row['settings'][s]['accuracy']:.2f}" for s in settings]
        table.add_row(_name(name), str(row["n"]), f"{row['chance_accuracy']:.2f}",
                      *accs, f"{row['one_image']} ({row['one_image_rate']:.0%})")
    return table


def usage_table(report: dict[str, Any]) -> Table:
    table = Table(title="requests and tokens per model")
    for col in ("model", "probes", "cached", "sent", "retries", "errors", "parse failures",
                "prompt tok (run)", "completion tok (run)", "time s"):
        table.add_column(col, justify="right" if col != "model" else "left")
    for label, m in report["models"].items():
        table.add_row(Text(label), str(m["requests"]), str(m["cached"]), str(m["sent"]), str(m["retries"]),
                      str(m["errors"]), str(m["parse_failures"]), str(m["usage_this_run"]["prompt_tokens"]),
                      str(m["usage_this_run"]["completion_tokens"]), f"{m['elapsed_s']:.1f}")
    return table


def _blind_probes(report: dict[str, Any]) -> list[str]:
    rows = list(report["subtasks"].values())
    return list(rows[0].get("probes", {})) if rows else []


def blind_table(report: dict[str, Any]) -> Table:
    """Per subtask: n, chance and each model-free probe's out-of-fold blind accuracy with its 95 % interval."""
    probes = _blind_probes(report)
    rows = dict(report["subtasks"])
    rows["ALL"] = report["totals"]
    table = Table(title="model-free blind probes (out of fold; accuracy [95 % CI], one-sided binomial p vs chance)")
    for col in ("subtask", "n", "chance", *(p.replace("_", " ") for p in probes), "flagged"):
        table.add_column(col, justify="left" if col == "subtask" else "right")
    for name, row in rows.items():
        cells = []
        for probe in probes:
            st = row["probes"][probe]
            if st["accuracy"] is None:
                cells.append("-")
                continue
            hot = st["p_value"] < 0.05 and st["gap_points"] > 5 and not row.get("too_small")
            text = f"{st['accuracy']:.2f} [{st['ci'][0]:.2f}, {st['ci'][1]:.2f}] p={st['p_value']:.2g}"
            cells.append(Text(text, style="red" if hot else ""))
        table.add_row(_name(name, " (too small)" if row.get("too_small") else ""), str(row["n"]), f"{row['chance']:.2f}", *cells, str(row["flagged"]))
    return table


def plot_report(report: dict[str, Any], path: Path) -> Path:
    from mmra.plots import pyplot

    plt = pyplot()

    labels = report["settings"]["models"]
    names = list(report["subtasks"])
    n = len(names)
    fig, (ax_acc, ax_flag) = plt.subplots(2, 1, figsize=(max(6.0, 1.1 * n + 2), 7), sharex=True,
                                          gridspec_kw={"height_ratios": [3, 2]})
    # one bar series per model, then the model-free blind probes (with their 95 % intervals) when present
    series = [(label, [report["subtasks"][s]["models"][label]["qo_accuracy"] or 0.0 for s in names], None)
              for label in labels]
    for probe in _blind_probes(report):
        stats = [report["subtasks"][s]["probes"][probe] for s in names]
        vals = [st["accuracy"] or 0.0 for st in stats]
        err = [[v - (st["ci"][0] or 0.0) for v, st in zip(vals, stats, strict=True)],
               [(st["ci"][1] or 0.0) - v for v, st in zip(vals, stats, strict=True)]]
        series.append((f"{probe.replace('_', ' ')} (blind)", vals, err))
    width = 0.8 / max(1, len(series))
    xs = list(range(n))
    for k, (label, vals, err) in enumerate(series):
        ax_acc.bar([x - 0.4 + width * (k + 0.5) for x in xs], vals, width, label=label, yerr=err,
                   capsize=2 if err else 0)
    for x, s in zip(xs, names, strict=True):
        chance = report["subtasks"][s]["chance_accuracy"]
        ax_acc.hlines(chance, x - 0.45, x + 0.45, colors="black", linestyles="dashed",
                      label="chance" if x == 0 else None)
    ax_acc.set_ylim(0, 1)
    ax_acc.set_ylabel("question-only accuracy\n(per probe)")
    ax_acc.legend(fontsize=8, ncol=min(4, len(series) + 1))
    ax_acc.set_title("Text-only answer leakage per subtask")
    totals = [report["subtasks"][s]["n"] for s in names]
    flagged = [report["subtasks"][s]["flagged"] for s in names]
    ax_flag.bar(xs, totals, 0.6, color="#d9d9d9", label="samples")
    ax_flag.bar(xs, flagged, 0.6, color="#c0392b", label="flagged")
    for x, f, t in zip(xs, flagged, totals, strict=True):
        ax_flag.text(x, t, f"{f}/{t}", ha="center", va="bottom", fontsize=8)
    ax_flag.set_ylabel("samples")
    ax_flag.legend(fontsize=8)
    ax_flag.set_xticks(xs, names, rotation=30, ha="right")
    fig.tight_layout()
    fig.savefig(path, format="png", dpi=110)
    plt.close(fig)
    return path
