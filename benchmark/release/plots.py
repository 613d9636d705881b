"""PNG plots of the per-subtask table (counts, answer balance, agreement and leakage). Written with
the Agg backend and without a 'Software' tag, so rebuilding gives the same bytes."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from mmra.plots import pyplot

from .stats import SubtaskStats, letters_used

PLOT_FILES = {
    "counts": "plots/counts.png",
    "answer_balance": "plots/answer_balance.png",
    "agreement_leakage": "plots/agreement_leakage.png",
}
VALIDITY_PLOT = "plots/validity.png"  # written when publish ran the validity checks
_PNG_META = {"Software": None}


def _save(fig, path: Path) -> None:
    plt = pyplot()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=100, metadata=_PNG_META)
    plt.close(fig)


def write_plots(stats: list[SubtaskStats], out_dir: Path, title: str,
                validity: dict[str, Any] | None = None) -> dict[str, str]:
    plt = pyplot()  # late: loading a release must stay light
    labels = [s.abbreviation for s in stats]
    x = range(len(stats))
    width = max(6.0, 0.7 * len(stats) + 2)

    fig, ax = plt.subplots(figsize=(width, 3.6))
    mc = [s.qa_types.get("Choice QA", 0) for s in stats]
    yn = [s.qa_types.get("True or false QA", 0) for s in stats]
    ax.bar(x, mc, label="Choice QA", color="#4C72B0")
    ax.bar(x, yn, bottom=mc, label="True or false QA", color="#DD8452")
    ax.set_xticks(list(x), labels)
    ax.set_ylabel("samples")
    ax.set_title(f"{title}: samples per subtask")
    ax.legend(frameon=False)
    fig.tight_layout()
    _save(fig, out_dir / PLOT_FILES["counts"])

    fig, ax = plt.subplots(figsize=(width, 3.6))
    bottom = [0.0] * len(stats)
    colours = {"A": "#4C72B0", "B": "#55A868", "C": "#C44E52", "D": "#8172B2", "Yes": "#CCB974", "No": "#64B5CD"}
    for key in (*letters_used(stats), "Yes", "No"):
        shares = []
        for s in stats:
            counts = s.letters if key in colours and len(key) == 1 else s.yes_no
            shares.append(counts.get(key, 0) / s.n if s.n else 0.0)
        ax.bar(x, shares, bottom=bottom, label=key, color=colours[key])
        bottom = [b + v for b, v in zip(bottom, shares, strict=True)]
    ax.set_xticks(list(x), labels)
    ax.set_ylim(0, 1)
    ax.set_ylabel("share of gold answers")
    ax.set_title(f"{title}: answer balance per subtask")
    ax.legend(frameon=False, ncol=6, fontsize=8, loc="upper center", bbox_to_anchor=(0.5, -0.12))
    fig.tight_layout()
    _save(fig, out_dir / PLOT_FILES["answer_balance"])

    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(max(8.0, 2 * width * 0.7), 3.6))
    agree = [s.agreement if s.agreement is not None else 0.0 for s in stats]
    ax1.bar(x, agree, color="#55A868")
    for i, s in enumerate(stats):
        if s.agreement is None:
            ax1.text(i, 0.02, "n/a", ha="center", fontsize=7, rotation=90)
    ax1.set_xticks(list(x), labels)
    ax1.set_ylim(0, 1)
    ax1.set_title("mean annotator agreement")
    flagged = [s.leakage_flagged / s.leakage_checked if s.leakage_checked else 0.0 for s in stats]
    ax2.bar(x, flagged, color="#C44E52")
    for i, s in enumerate(stats):
        if not s.leakage_checked:
            ax2.text(i, 0.02, "not checked", ha="center", fontsize=7, rotation=90)
    ax2.set_xticks(list(x), labels)
    ax2.set_ylim(0, 1)
    ax2.set_title("share flagged as text-answerable (leakage)")
    fig.tight_layout()
    _save(fig, out_dir / PLOT_FILES["agreement_leakage"])
    written = dict(PLOT_FILES)
    if validity is not None:
        write_validity_plot(stats, validity, out_dir / VALIDITY_PLOT, title)
        written["validity"] = VALIDITY_PLOT
    return written


_PROBE_COLOURS = ("#4C72B0", "#C44E52", "#55A868", "#8172B2", "#CCB974")


def write_validity_plot(stats: list[SubtaskStats], validity: dict[str, Any], path: Path, title: str) -> None:
    """Left: each model-free probe's blind accuracy (95 % interval) per subtask against chance. Right: the
    answer key after balancing: largest gold-letter share and Yes share per subtask, against uniform."""
    plt = pyplot()
    blind = (validity.get("blind") or {}).get("subtasks", {})
    names = [s.name for s in stats]
    labels = [s.abbreviation for s in stats]
    x = list(range(len(stats)))
    width = max(6.0, 0.7 * len(stats) + 2)
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(max(10.0, 2 * width * 0.75), 3.8))
    probes = sorted({p for name in names for p in (blind.get(name, {}).get("probes") or {})})
    bar_w = 0.8 / max(1, len(probes))
    for j, probe in enumerate(probes):
        acc, lo, hi, xs = [], [], [], []
        for i, name in enumerate(names):
            got = (blind.get(name, {}).get("probes") or {}).get(probe)
            if not got or got.get("accuracy") is None:
                continue
            ci = got.get("ci") or [got["accuracy"], got["accuracy"]]
            xs.append(i - 0.4 + bar_w * (j + 0.5))
            acc.append(got["accuracy"])
            lo.append(max(0.0, got["accuracy"] - ci[0]))
            hi.append(max(0.0, ci[1] - got["accuracy"]))
        ax1.bar(xs, acc, width=bar_w, yerr=[lo, hi], capsize=2, label=probe,
                color=_PROBE_COLOURS[j % len(_PROBE_COLOURS)])
    for i, name in enumerate(names):
        chance = blind.get(name, {}).get("chance")
        if chance is not None:
            ax1.hlines(chance, i - 0.45, i + 0.45, colors="black", linestyles="dashed", linewidth=1)
        if blind.get(name, {}).get("too_small"):
            ax1.text(i, 0.02, "too small", ha="center", fontsize=7, rotation=90)
    if not blind:
        ax1.text(0.5, 0.5, "blind probes not run", ha="center", transform=ax1.transAxes)
    ax1.set_xticks(x, labels)
    ax1.set_ylim(0, 1)
    ax1.set_ylabel("accuracy without images")
    ax1.set_title("blind probes (dashes: chance)")
    if probes:
        ax1.legend(frameon=False, fontsize=8)

    top = [max((s.letter_share(L) for L in s.letters), default=0.0) if s.letters else 0.0 for s in stats]
    yes = [s.yes_share() for s in stats]
    ax2.bar([i - 0.2 for i in x], top, width=0.4, label="largest gold-letter share", color="#4C72B0")
    ax2.bar([i + 0.2 for i in x], [y or 0.0 for y in yes], width=0.4, label="Yes share", color="#CCB974")
    for i, s in enumerate(stats):
        if s.n_options:
            uniform = sum(c / k for k, c in s.n_options.items()) / sum(s.n_options.values())
            ax2.hlines(uniform, i - 0.4, i, colors="black", linestyles="dashed", linewidth=1)
        if yes[i] is not None:
            ax2.hlines(0.5, i, i + 0.4, colors="black", linestyles="dashed", linewidth=1)
    ax2.set_xticks(x, labels)
    ax2.set_ylim(0, 1)
    ax2.set_title("answer key after balancing (dashes: uniform)")
    ax2.legend(frameon=False, fontsize=8)
    fig.suptitle(f"{title}: validity of the default config", fontsize=10)
    fig.tight_layout()
    _save(fig, path)
