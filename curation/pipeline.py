"""The curation pipeline, one way through: ConceptNet ingest -> edge store -> image corpora -> image QC
(+ near-duplicates, earlier-release exclusion) -> entity linking -> one miner per subtask -> ranking ->
`OUT/candidates.jsonl` (Candidate schema) + `OUT/curation_report.json`.

    from mmra.curation.pipeline import curate
    result = curate(conceptnet=["kb.tsv"], manifests=["images/manifest.jsonl"], out_dir="out", per_subtask=20)
    result.candidates, result.report, result.candidates_path

Manifest format: see `mmra.curation.corpus` (path, id, entities, boxes, captions, source, licence).
"""

from __future__ import annotations

import hashlib
import json
import time
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from mmra.benchmark.records import write_jsonl
from mmra.benchmark.registry import all_subtasks, get_subtask
from mmra.benchmark.schema import Candidate
from mmra.errors import MMRAError
from mmra.fileio import write_json
from mmra.progress import progress_bar

from .conceptnet import IngestStats, ingest_conceptnet
from .corpus import Corpus, ImageRecord, Issue, load_coco, load_hf_dataset, load_manifest
from .edges import EdgeStore
from .entities import Linker, load_alias_file
from .mining import MiningContext, RankingConfig, mine_subtask
from .qc import QCConfig, check_images, exclude_release, load_release_hashes, remove_near_duplicates

REPORT_VERSION = 1


@dataclass
class CurationResult:
    candidates: list[Candidate]
    report: dict[str, Any]
    candidates_path: Path
    report_path: Path
    by_subtask: dict[str, list[Candidate]] = field(default_factory=dict)


def _ingest_cached(path: Path, out_dir: Path, relations: Sequence[str] | None, on_progress) -> IngestStats:
    """Ingest once per (file, size, mtime, filters): re-runs on a 10 GB dump reuse the parquet."""
    st = path.stat()
    key = hashlib.sha256(json.dumps([str(path.resolve()), st.st_size, st.st_mtime_ns, sorted(relations or [])])
                         .encode()).hexdigest()[:12]
    parquet = out_dir / f"{path.name.split('.')[0]}-{key}.parquet"
    sidecar = parquet.with_suffix(".stats.json")
    if parquet.exists() and sidecar.exists():
        data = json.loads(sidecar.read_text(encoding="utf-8"))
        data.pop("mb_per_s", None)
        data.pop("malformed_listed", None)
        from .conceptnet import MalformedLine

        data["malformed_lines"] = [MalformedLine(**m) for m in data.get("malformed_lines", [])]
        return IngestStats(**data, parquet=str(parquet))
    stats = ingest_conceptnet(path, parquet, relations=relations, on_progress=on_progress)
    sidecar.write_text(json.dumps(stats.to_dict()), encoding="utf-8")
    stats.parquet = str(parquet)
    return stats


@dataclass
class CurationOptions:
    """Everything one curation run reads; `mmra curate` builds it from its flags."""

    out_dir: str | Path
    conceptnet: Sequence[str | Path] = ()
    coco_instances: Sequence[str | Path] = ()
    coco_captions: Sequence[str | Path] = ()
    images: Sequence[str | Path] = ()
    manifests: Sequence[str | Path] = ()
    hf_datasets: Sequence[str | Path] = ()
    hf_split: str | None = None
    hf_image_column: str = "image"
    hf_caption_column: str | None = None
    hf_entities_column: str | None = None
    per_subtask: int = 100
    seed: int = 0
    subtasks: Sequence[str] | None = None
    relations: Sequence[str] | None = None
    aliases: str | Path | Mapping[str, Sequence[str]] | None = None
    exclude_release_hashes: Sequence[str | Path] = ()
    image_roots: Sequence[str | Path] = ()
    qc: QCConfig = field(default_factory=QCConfig)
    ranking: RankingConfig | None = None
    show_progress: bool = True

    def check(self) -> None:
        if self.per_subtask < 1:
            raise ValueError(f"--per-subtask must be at least 1, got {self.per_subtask}")
        if not self.conceptnet:
            raise MMRAError("no ConceptNet file given (--conceptnet): the miners join image entities with its edges")
        if not (self.coco_instances or self.coco_captions or self.manifests or self.hf_datasets):
            raise MMRAError("no image corpus given: pass --coco-instances/--coco-captions with --images, "
                            "--manifest, or --hf-dataset")

    def inputs(self) -> dict[str, list[str]]:
        return {"conceptnet": list(map(str, self.conceptnet)), "coco_instances": list(map(str, self.coco_instances)),
                "coco_captions": list(map(str, self.coco_captions)), "images": list(map(str, self.images)),
                "manifests": list(map(str, self.manifests)), "hf_datasets": list(map(str, self.hf_datasets)),
                "exclude_release_hashes": list(map(str, self.exclude_release_hashes))}


def curate(options: CurationOptions | None = None, /, **fields: Any) -> CurationResult:
    """Run the whole curation: `curate(CurationOptions(...))` or `curate(out_dir=..., conceptnet=[...], ...)`.
    Bad inputs become entries of the report (named, with the cause); only a run that has nothing to work with
    (no ConceptNet edges, no usable image) raises `MMRAError`. The named steps below run in order."""
    if options is None:
        if fields.get("qc") is None:
            fields.pop("qc", None)
        options = CurationOptions(**fields)
    elif fields:
        raise TypeError("give a CurationOptions or keyword fields, not both")
    opts = options
    opts.check()
    started = time.perf_counter()
    timings: dict[str, float] = {}
    out = Path(opts.out_dir)
    out.mkdir(parents=True, exist_ok=True)
    ranking = opts.ranking or RankingConfig(quota=opts.per_subtask)
    ranking.quota = opts.per_subtask
    specs = [get_subtask(s) for s in opts.subtasks] if opts.subtasks else all_subtasks()
    alias_table = load_alias_file(opts.aliases) if isinstance(opts.aliases, (str, Path)) else dict(opts.aliases or {})
    release = load_release_hashes(opts.exclude_release_hashes) if opts.exclude_release_hashes else None

    with progress_bar(disable=not opts.show_progress) as bars:
        t0 = time.perf_counter()
        store, stats_list = ingest_step(opts, out, bars)
        timings["conceptnet"] = time.perf_counter() - t0
        t0 = time.perf_counter()
        corpus = corpus_step(opts, out)
        ingested = len(corpus.images)
        timings["corpus"] = time.perf_counter() - t0
        t0 = time.perf_counter()
        good, dup_pairs = qc_step(opts, out, corpus, release, bars)
        timings["qc"] = time.perf_counter() - t0
        t0 = time.perf_counter()
        linker, ctx = linking_step(opts, good, store, alias_table, bars)
        timings["linking"] = time.perf_counter() - t0
        t0 = time.perf_counter()
        by_subtask, ranking_stats = mining_step(specs, ctx, ranking, bars)
        timings["mining"] = time.perf_counter() - t0

    all_candidates = [c for name in by_subtask for c in by_subtask[name]]
    candidates_path = write_jsonl(out / "candidates.jsonl", all_candidates)
    timings["total"] = time.perf_counter() - started
    report = _report(
        out=out, specs=[s.name for s in specs], seed=opts.seed, per_subtask=opts.per_subtask, stats_list=stats_list,
        store=store, corpus=corpus, ingested=ingested, good=len(good), by_subtask=by_subtask,
        ranking_stats=ranking_stats, dup_pairs=dup_pairs, linker=linker, timings=timings, qc=opts.qc,
        ranking=ranking, inputs=opts.inputs(), image_roots=[str(r) for r in opts.qc.roots or ()],
    )
    report_path = out / "curation_report.json"
    write_json(report_path, report)
    return CurationResult(all_candidates, report, candidates_path, report_path, by_subtask)


def ingest_step(opts: CurationOptions, out: Path, bars) -> tuple[EdgeStore, list[IngestStats]]:
    """1. ConceptNet: stream each file once into the parquet edge store (cached for later runs)."""
    stats_list: list[IngestStats] = []
    for path in map(Path, opts.conceptnet):
        if not path.is_file():
            cause = "is a folder, not a file" if path.is_dir() else "does not exist"
            raise MMRAError(f"ConceptNet file {path} {cause}")
        task = bars.add_task(f"ConceptNet {path.name}", total=path.stat().st_size)
        stats = _ingest_cached(path, out / "conceptnet", opts.relations,
                               lambda done, total, task=task: bars.update(task, completed=done))
        bars.update(task, completed=path.stat().st_size)
        stats_list.append(stats)
    store = EdgeStore.from_parquet([s.parquet for s in stats_list])
    if len(store) == 0:
        raise MMRAError("no usable ConceptNet edges in " + ", ".join(map(str, opts.conceptnet)) + "; "
                        + "; ".join(s.summary() for s in stats_list))
    return store, stats_list


def corpus_step(opts: CurationOptions, out: Path) -> Corpus:
    """2. Image corpora: COCO files, manifests, HF datasets into one list of image records."""
    corpus = Corpus()
    if opts.coco_instances or opts.coco_captions:
        corpus.extend(load_coco(opts.coco_instances, opts.coco_captions, opts.images))
    for manifest in opts.manifests:
        corpus.extend(load_manifest(manifest))
    for name in opts.hf_datasets:
        corpus.extend(load_hf_dataset(name, cache_dir=out / "cache", split=opts.hf_split,
                                      image_column=opts.hf_image_column, caption_column=opts.hf_caption_column,
                                      entities_column=opts.hf_entities_column))
    return corpus


def qc_step(opts: CurationOptions, out: Path, corpus: Corpus, release, bars) -> tuple[list[ImageRecord], list[dict]]:
    """3. QC: the one image check on every image (inside a corpus folder given on the command line or in
    `image_roots`; these roots go into the report, where `mmra annotate push` finds them again), then
    near-duplicates and images of an earlier release out."""
    qc = opts.qc
    if qc.roots is None:
        qc.roots = corpus_roots(opts.images, opts.manifests, out / "cache", opts.image_roots)
    task = bars.add_task("image QC (decode + hash)", total=len(corpus.images))
    ingested = len(corpus.images)
    good, qc_issues = check_images(corpus.images, qc, on_progress=lambda n: bars.advance(task, n))
    corpus.issues.extend(qc_issues)
    good, dup_issues, dup_pairs = remove_near_duplicates(good, qc)
    corpus.issues.extend(dup_issues)
    if release is not None:
        good, release_issues = exclude_release(good, release, qc)
        corpus.issues.extend(release_issues)
    if not good:
        problems = "; ".join(str(i) for i in corpus.issues[:5])
        raise MMRAError(f"no usable image left after ingest and QC ({ingested} ingested). First problems: {problems}")
    return good, dup_pairs


def linking_step(opts: CurationOptions, good: list[ImageRecord], store: EdgeStore, alias_table, bars
                 ) -> tuple[Linker, MiningContext]:
    """4. Linking: image entities (box labels, caption words) to ConceptNet concepts."""
    linker = Linker(store, alias_table)
    task = bars.add_task("linking entities to ConceptNet", total=len(good))
    facts = []
    for record in good:
        facts.append(linker.facts(record))
        bars.advance(task)
    return linker, MiningContext(images=good, facts=facts, store=store, linker=linker, seed=opts.seed)


def mining_step(specs, ctx: MiningContext, ranking: RankingConfig, bars
                ) -> tuple[dict[str, list[Candidate]], dict[str, Any]]:
    """5. Mining + ranking: each subtask's own miner, then the seeded, capped ranking to the quota."""
    task = bars.add_task("mining candidate pairs", total=len(specs))
    by_subtask: dict[str, list[Candidate]] = {}
    ranking_stats: dict[str, Any] = {}
    for spec in specs:
        bars.update(task, description=f"mining {spec.name}")
        candidates, stats = mine_subtask(spec.name, ctx, ranking)
        by_subtask[spec.name] = candidates
        ranking_stats[spec.name] = stats
        bars.advance(task)
    return by_subtask, ranking_stats


def corpus_roots(images: Sequence[str | Path], manifests: Sequence[str | Path], hf_cache: Path,
                 extra: Sequence[str | Path]) -> tuple[Path, ...]:
    """The folders images may come from: the image folders, each manifest's folder, the HF image cache and
    any extra roots, as real paths."""
    folders = [*images, *(Path(m).parent for m in manifests), hf_cache, *extra]
    return tuple(dict.fromkeys(Path(f).resolve() for f in folders))


def _report(*, out: Path, specs: list[str], seed: int, per_subtask: int, stats_list: list[IngestStats],
            store: EdgeStore, corpus: Corpus, ingested: int, good: int, by_subtask: dict[str, list[Candidate]],
            ranking_stats: dict[str, Any], dup_pairs: list[dict], linker: Linker, timings: dict[str, float],
            qc: QCConfig, ranking: RankingConfig, inputs: dict[str, list[str]],
            image_roots: list[str]) -> dict[str, Any]:
    rejects: list[Issue] = [i for i in corpus.issues if i.reject]
    problems: list[Issue] = [i for i in corpus.issues if not i.reject]
    problem_counts = Counter(i.reason for i in problems)
    malformed = sum(s.malformed for s in stats_list)
    if malformed:
        problem_counts["malformed_conceptnet_line"] += malformed
    used = {c.image1.source for cs in by_subtask.values() for c in cs} | {
        c.image2.source for cs in by_subtask.values() for c in cs}
    return {
        "version": REPORT_VERSION,
        "created": datetime.now(UTC).isoformat(timespec="seconds"),
        "out_dir": str(out.resolve()),
        "seed": seed,
        "per_subtask": per_subtask,
        "subtasks": specs,
        "inputs": inputs,
        "image_roots": image_roots,
        "settings": {"qc": {k: v for k, v in vars(qc).items() if k != "roots"}, "ranking": vars(ranking)},
        "conceptnet": [s.to_dict() for s in stats_list],
        "edges": {"total": len(store), "by_relation": store.relation_counts()},
        "images": {"ingested": ingested, "passed_qc": good, "used_in_candidates": len(used),
                   "rejected": len(rejects)},
        "candidates_per_subtask": {name: len(cs) for name, cs in by_subtask.items()},
        "shortfall": {name: per_subtask - len(cs) for name, cs in by_subtask.items() if len(cs) < per_subtask},
        "ranking": ranking_stats,
        "rejects_by_reason": dict(Counter(i.reason for i in rejects).most_common()),
        "rejects": [i.to_dict() for i in rejects],
        "input_problems_by_reason": dict(problem_counts.most_common()),
        "input_problems": [i.to_dict() for i in problems],
        "near_duplicate_pairs": dup_pairs,
        "unlinked_labels": dict(linker.unlinked_labels),
        "notes": corpus.notes,
        "timings_s": {k: round(v, 3) for k, v in timings.items()},
    }
