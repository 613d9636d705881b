"""`mmra curate`: ConceptNet + image corpora -> OUT/candidates.jsonl and OUT/curation_report.json."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.table import Table

from mmra.errors import cli_errors
from mmra.output import labelled, literal_console

console = literal_console()
err = literal_console(stderr=True)
MAX_LISTED_PROBLEMS = 40


@cli_errors
def curate_cmd(
    conceptnet: list[Path] = typer.Option(..., "--conceptnet", help="ConceptNet assertions CSV(.gz) or CKBC TSV(.gz); repeat for more."),
    coco_instances: list[Path] = typer.Option([], "--coco-instances", help="COCO instances_*.json; repeat for more."),
    coco_captions: list[Path] = typer.Option([], "--coco-captions", help="COCO captions_*.json; repeat for more."),
    images: list[Path] = typer.Option([], "--images", help="Folder with the COCO images (its sub-folders are searched too)."),
    manifest: list[Path] = typer.Option([], "--manifest", help="JSONL manifest of an image folder (see mmra.curation.corpus)."),
    hf_dataset: list[str] = typer.Option([], "--hf-dataset", help="A `datasets` dataset (save_to_disk folder or name) with an image column."),
    hf_split: str = typer.Option(None, "--hf-split"),
    hf_image_column: str = typer.Option("image", "--hf-image-column"),
    hf_caption_column: str = typer.Option(None, "--hf-caption-column"),
    hf_entities_column: str = typer.Option(None, "--hf-entities-column"),
    out: Path = typer.Option(..., "--out", help="Output folder."),
    per_subtask: int = typer.Option(100, "--per-subtask", min=1, help="Candidates per subtask (quota)."),
    seed: int = typer.Option(0, "--seed", help="Seed for tie-breaking and sampling (same seed, same output)."),
    subtask: list[str] = typer.Option([], "--subtask", help="Only these subtasks (name or abbreviation); repeat."),
    relation: list[str] = typer.Option([], "--relation", help="Keep only these ConceptNet relations at ingest."),
    aliases: Path = typer.Option(None, "--aliases", help="TSV label<TAB>concept[...] extending the alias table."),
    exclude_release: list[Path] = typer.Option([], "--exclude-release", help="Hashes of an earlier release (JSONL or one hash a line)."),
    min_side: int = typer.Option(64, "--min-side", help="Reject images smaller than this many pixels on a side."),
    max_pixels: int = typer.Option(50_000_000, "--max-pixels", help="Reject images with more pixels (decompression bombs)."),
    phash_distance: int = typer.Option(8, "--phash-distance", help="Near-duplicate if pHash differs in <= this many bits."),
    dhash_distance: int = typer.Option(8, "--dhash-distance", help="... or dHash does."),
    max_image_uses: int = typer.Option(2, "--max-image-uses", help="Diversity: uses of one image per subtask."),
    max_concept_share: float = typer.Option(0.2, "--max-concept-share", help="Diversity: share of the quota one concept may take."),
    workers: int = typer.Option(1, "--workers", help="Processes for image decoding/hashing."),
    image_root: list[Path] = typer.Option([], "--image-root", help="Another folder images may lie in (a manifest's images outside its own folder, symlink targets); repeat for more."),
    no_progress: bool = typer.Option(False, "--no-progress", help="No progress bars."),
) -> None:
    """Mine candidate image pairs for every subtask from ConceptNet and image corpora."""
    from .mining import RankingConfig
    from .pipeline import CurationOptions, curate
    from .qc import QCConfig

    result = curate(CurationOptions(
        out_dir=out, conceptnet=conceptnet, coco_instances=coco_instances, coco_captions=coco_captions,
        images=images, manifests=manifest, hf_datasets=hf_dataset, hf_split=hf_split,
        hf_image_column=hf_image_column, hf_caption_column=hf_caption_column, hf_entities_column=hf_entities_column,
        per_subtask=per_subtask, seed=seed, subtasks=subtask or None, relations=relation or None, aliases=aliases,
        exclude_release_hashes=exclude_release, image_roots=image_root,
        qc=QCConfig(min_side=min_side, max_pixels=max_pixels, phash_distance=phash_distance,
                    dhash_distance=dhash_distance, workers=workers),
        ranking=RankingConfig(quota=per_subtask, max_image_uses=max_image_uses, max_concept_share=max_concept_share),
        show_progress=not no_progress,
    ))
    print_summary(result.report)
    console.print(f"wrote {result.candidates_path} ({len(result.candidates)} candidates) and {result.report_path}")


def print_summary(report: dict) -> None:
    for stats in report["conceptnet"]:
        console.print(f"ConceptNet {Path(stats['path']).name}: {stats['lines']:,} lines, {stats['kept']:,} edges kept, "
                      f"{stats['malformed']:,} malformed, {stats['not_english']:,} not English")
        for bad in stats["malformed_lines"][:10]:
            err.print(labelled("malformed", "yellow", f"{Path(stats['path']).name}:{bad['line']}: {bad['reason']}"),
                      highlight=False)
        if stats["malformed"] > 10:
            err.print(f"  ... {stats['malformed'] - 10:,} more malformed lines listed in the report", highlight=False)

    table = Table(title=f"Candidates per subtask (quota {report['per_subtask']}, seed {report['seed']})")
    for col in ("subtask", "candidates", "proposed", "relaxed caps", "shortfall"):
        table.add_column(col, justify="left" if col == "subtask" else "right")
    for name, count in report["candidates_per_subtask"].items():
        stats = report["ranking"].get(name, {})
        table.add_row(name, str(count), f"{stats.get('proposed', 0):,}", str(stats.get("selected_relaxed", 0)),
                      str(report["shortfall"].get(name, "")) or "-")
    console.print(table)

    images = report["images"]
    rejects = Table(title=f"Images: {images['ingested']} ingested, {images['passed_qc']} passed QC, "
                          f"{images['used_in_candidates']} used; rejects by reason")
    rejects.add_column("reason")
    rejects.add_column("rejected images", justify="right")
    for reason, count in report["rejects_by_reason"].items():
        rejects.add_row(reason, str(count))
    if not report["rejects_by_reason"]:
        rejects.add_row("(none)", "0")
    console.print(rejects)
    if report["input_problems_by_reason"]:
        problems = Table(title="Input problems (item skipped, the rest processed)")
        problems.add_column("kind")
        problems.add_column("count", justify="right")
        for reason, count in report["input_problems_by_reason"].items():
            problems.add_row(reason, str(count))
        console.print(problems)
    listed = report["rejects"] + report["input_problems"]
    for issue in listed[:MAX_LISTED_PROBLEMS]:
        err.print(labelled(issue["reason"], "yellow", f"{issue['item']}: {issue['detail']}"), highlight=False)
    if len(listed) > MAX_LISTED_PROBLEMS:
        err.print(f"... {len(listed) - MAX_LISTED_PROBLEMS} more in curation_report.json", highlight=False)


def register(app: typer.Typer) -> None:
    app.command("curate")(curate_cmd)
