"""`mmra publish`, `mmra diff`, `mmra releases`."""

from __future__ import annotations

import json
import sys
from datetime import UTC, datetime
from pathlib import Path

import typer
from rich.table import Table

from mmra.errors import cli_errors
from mmra.output import labelled, literal_console

console = literal_console()
err = literal_console(stderr=True)


def _store_default() -> Path:
    from mmra.config import cli_config

    return cli_config().paths.releases


def _parse_size(text: str) -> int:
    units = {"KB": 1024, "MB": 1024**2, "GB": 1024**3, "B": 1}
    t = text.strip().upper()
    for unit, mult in units.items():
        if t.endswith(unit):
            try:
                return int(float(t[: -len(unit)]) * mult)
            except ValueError:
                break
    if t.isdigit():
        return int(t)
    raise ValueError(f"--max-shard-size {text!r}: use a size such as 500MB")


@cli_errors
def publish_cmd(
    samples: Path = typer.Option(..., "--samples", help="Samples JSONL, or an MMRA-format JSONL (Task, QA_type, ...)."),
    version: str = typer.Option(..., "--version", help="Semantic version X.Y.Z (Hub tag vX.Y.Z)."),
    to: Path | None = typer.Option(None, "--to", help="Local release store folder (default: paths.releases)."),
    hub: str | None = typer.Option(None, "--hub", help="Also push to this Hub dataset repo (org/name) and tag it."),
    private: bool = typer.Option(False, "--private", help="Create the Hub repo as private."),
    name: str | None = typer.Option(None, "--name", help="Release name (default: the Hub repo name, else 'mmra')."),
    cards_dir: Path | None = typer.Option(None, "--cards-dir", help="Where data cards go (default: paths.data_cards)."),
    text_licence: str = typer.Option("cc-by-4.0", "--text-licence", help="Licence of the questions/annotations."),
    max_shard_size: str = typer.Option("500MB", "--max-shard-size", help="Largest parquet shard."),
    keep_option_order: bool = typer.Option(
        False, "--keep-option-order",
        help="Do not balance the answer key (no option reshuffle, no yes/no image swaps)."),
    max_blind_gap: float = typer.Option(
        5.0, "--max-blind-gap", min=0.0,
        help="Refuse the release when a subtask's blind accuracy is more than this many points above chance "
             "(and significant, one-sided binomial p < 0.05)."),
    allow_blind_gap: bool = typer.Option(
        False, "--allow-blind-gap", help="Publish even when the release gate fails (the card says so)."),
    publish_unchecked: bool = typer.Option(
        False, "--publish-unchecked",
        help="Publish samples whose leakage check is missing or failed (refused otherwise; the card says so)."),
    eval_runs: list[Path] = typer.Option(
        [], "--eval-run", help="An `mmra eval` run folder (scores.json) for MMStar's MG/ML on the card; repeatable."),
    probe_embedder: str = typer.Option(
        "auto", "--probe-embedder",
        help="Sentence-embedding model for the learned blind probe ('auto', a model name, or 'none')."),
    image_root: list[Path] = typer.Option(
        [], "--image-root",
        help="A folder the samples' images may lie in (default: \\[paths].image_roots and the folders recorded in "
             "a curation_report.json beside the samples, else the samples file's folder); repeat for more."),
) -> None:
    """Publish a versioned, immutable release (parquet + data card + lmms-eval task).

    Samples the leakage filter flagged go to a separate `flagged` config; samples with no or a failed leakage
    check are refused (unless --publish-unchecked); the answer key is balanced; the model-free blind probes gate
    the release."""
    from mmra.benchmark.images import allowed_roots
    from mmra.config import cli_config

    from .hub import push_release
    from .store import publish
    from .validity import ValidityOptions

    if to is None and hub is None:
        raise ValueError("say where to publish: --to DIR (local store) and/or --hub ORG/NAME")
    cfg = cli_config()
    result = publish(
        samples, version, to or cfg.paths.releases,
        roots=allowed_roots(samples, flags=image_root, configured=cfg.paths.image_roots),
        name=name or (hub.split("/")[-1] if hub else "mmra"),
        repo_id=hub, cards_dir=cards_dir or cfg.paths.data_cards,
        text_licence=text_licence, max_shard_bytes=_parse_size(max_shard_size),
        show_progress=sys.stderr.isatty(),
        validity=ValidityOptions(
            balance=not keep_option_order, allow_blind_gap=allow_blind_gap, max_blind_gap=max_blind_gap,
            embedder=None if probe_embedder.lower() == "none" else probe_embedder, eval_runs=tuple(eval_runs),
            publish_unchecked=publish_unchecked),
    )
    for w in result.warnings:
        err.print(labelled("warning:", "yellow", w), highlight=False)
    verb = "published" if result.status == "published" else "already published with identical content (no-op):"
    console.print(f"{result.name} {result.version} {verb} {result.path} ({result.num_samples} samples, "
                  f"{result.fingerprint[:23]}...)", highlight=False)
    gate = (result.manifest.get("validity") or {}).get("gate") or {}
    if gate.get("offending"):
        err.print(labelled("warning:", "bold yellow", f"published with --allow-blind-gap although "
                           f"{len(gate['offending'])} subtask(s) are answerable without the images:\n  "
                           + "\n  ".join(gate["offending"])), highlight=False)
    unchecked = (result.validity or {}).get("unchecked") or {}
    if unchecked.get("n"):
        err.print(labelled("warning:", "bold yellow", f"published with --publish-unchecked: {unchecked['n']} "
                           f"sample(s) have no leakage check ({unchecked['missing']}) or a failed one "
                           f"({unchecked['failed']}); the card says so"), highlight=False)
    flagged = (result.manifest.get("configs") or {}).get("flagged")
    if flagged:
        console.print(f"{flagged} leakage-flagged sample(s) published in the separate `flagged` config",
                      highlight=False)
    if result.card_path:
        console.print(f"data card: {result.card_path}", highlight=False)
    if hub:
        status, url = push_release(result.path, hub, private=private)
        console.print(f"hub: {status} {url}", highlight=False)


@cli_errors
def diff_cmd(
    old: str = typer.Argument(..., help="Old release: version folder, STORE/NAME@X.Y.Z, or Hub repo@X.Y.Z."),
    new: str = typer.Argument(..., help="New release (same forms)."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON (ids per subtask) instead of a table."),
) -> None:
    """Samples added, removed and changed between two releases, per subtask."""
    from .diff import diff_indexes
    from .releases import index_of

    a_label, a = index_of(old)
    b_label, b = index_of(new)
    order = list(dict.fromkeys([e.task for e in a.values()] + [e.task for e in b.values()]))
    d = diff_indexes(a, b, a_label, b_label, order=order)
    if as_json:
        sys.stdout.write(json.dumps(d.to_json(), indent=2) + "\n")
        return
    table = Table(title=f"{a_label} -> {b_label}")
    for col in ("subtask", "added", "removed", "changed", "metadata only", "unchanged"):
        table.add_column(col, justify="left" if col == "subtask" else "right")
    for row in d.table_rows():
        table.add_row(*(str(c) for c in row))
    console.print(table)
    # one line per sample, by id, saying what changed
    lines = [f"{kind} {sid} ({name})" for name, sub in d.subtasks.items()
             for kind, ids in (("added", sub.added), ("removed", sub.removed)) for sid in ids]
    lines += [f"changed {sid}: {', '.join(fields)}" for sub in d.subtasks.values() for sid, fields in sub.changed.items()]
    lines += [f"moved {sid}: {was} -> {now} config" for sid, (was, now) in d.moved.items()]
    if d.is_empty:
        lines.append("no sample added, removed or changed")
    for line in lines:
        console.print(line, highlight=False, soft_wrap=True)


@cli_errors
def releases_cmd(
    store: Path | None = typer.Argument(None, help="Release store folder (default: paths.releases)."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """List the versions in a local release store."""
    from .store import ReleaseStore

    st = ReleaseStore(store or _store_default())
    rows = []
    for name in st.names():
        for v in st.versions(name):
            m = st.manifest(name, v)
            path = st.version_dir(name, v)
            size = sum(f["bytes"] for f in m["data_files"]) + sum(f["bytes"] for f in m.get("other_files", []))
            when = datetime.fromtimestamp((path / "manifest.json").stat().st_mtime, tz=UTC)
            rows.append({"name": name, "version": v, "samples": m["num_samples"], "fingerprint": m["fingerprint"],
                         "bytes": size, "published": when.isoformat(timespec="seconds"), "latest": v == st.latest(name),
                         "path": str(path)})
    if as_json:
        sys.stdout.write(json.dumps(rows, indent=2) + "\n")
        return
    if not rows:
        console.print(f"no releases in {st.root}", highlight=False)
        return
    table = Table(title=f"releases in {st.root}")
    for col in ("name", "version", "samples", "size", "fingerprint", "published (UTC)"):
        table.add_column(col)
    for r in rows:
        table.add_row(r["name"], r["version"] + (" (latest)" if r["latest"] else ""), str(r["samples"]),
                      f"{r['bytes'] / 1024**2:.1f} MB", r["fingerprint"][:19] + "...", r["published"])
    console.print(table)


def register(app: typer.Typer) -> None:
    app.command("publish")(publish_cmd)
    app.command("diff")(diff_cmd)
    app.command("releases")(releases_cmd)
