"""PNG plots of the per-subtask table (counts, answer balance, agreement and leakage). Written with
the Agg backend and without a 'Software' tag, so rebuilding gives the same bytes."""

from __future__ import annotations

from pathlib import Path

from mmra.plots import pyplot

from .stats import SubtaskStats, letters_used

PLOT_FILES = {
    "counts": "plots/counts.png",
    "answer_balance": "plots/answer_balance.png",
    "agreement_leakage": "plots/agreement_leakage.png",
}
_PNG_META = {"Software": None}


def _save(fig, path: Path) -> None:
    plt = pyplot()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=100, metadata=_PNG_META)
    plt.close(fig)


def write_plots(stats: list[SubtaskStats], out_dir: Path, title: str) -> dict[str, str]:
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
    return dict(PLOT_FILES)
