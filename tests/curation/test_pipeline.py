"""End to end on the real shared data, bad inputs through the CLI, manifests, HF datasets, plug-in miners."""

from __future__ import annotations

import json
import shutil
from itertools import combinations
from pathlib import Path

from typer.testing import CliRunner

from mmra.benchmark.records import read_jsonl
from mmra.benchmark.registry import REGISTRY, Subtask, all_subtasks
from mmra.benchmark.schema import Candidate
from mmra.cli import app

CONCEPTNET_MINERS = {"SimilarMaterial", "UsageSimilarity", "AppearanceSimilarity", "MentalitySimilarity",
                     "Environment", "SubEvent"}
GEOMETRY_MINERS = {"RelativePosition", "NearSameEntity", "Layout"}


def test_shared_data_gives_every_subtask_checkable_candidates(shared_run):
    report = shared_run.report
    names = [s.name for s in all_subtasks() if s.origin == "builtin"]
    assert all(report["candidates_per_subtask"][n] >= 20 for n in names), report["candidates_per_subtask"]
    on_disk = read_jsonl(shared_run.candidates_path, Candidate)
    assert len(on_disk) == len(shared_run.candidates)
    for c in on_disk:
        for ref in (c.image1, c.image2):
            assert Path(ref.path).is_absolute() and Path(ref.path).is_file()
            assert ref.sha256 and len(ref.phash) == 16 and len(ref.dhash) == 16 and ref.width and ref.height
            assert ref.source.startswith("coco:") and ref.source_url.startswith("http")
            assert ref.licence.startswith("CC-") or ref.licence in ("Flickr-Commons-no-known-copyright-restrictions",
                                                                     "US-Government-Work")
        ev = c.evidence
        assert ev.miner and ev.score == c.score and ev.concepts
        assert set(ev.entities) == {"image1", "image2"} and set(ev.captions) == {"image1", "image2"}
        if c.subtask in CONCEPTNET_MINERS:
            assert ev.edges, f"{c.subtask} candidate {c.id} has no edges"
            assert all(e.weight > 0 for e in ev.edges)
        if c.subtask in GEOMETRY_MINERS:
            assert {b.image for b in ev.boxes} == {1, 2} and ev.heuristic
        if c.subtask == "ObservationAngle":
            assert "HEURISTIC" in ev.heuristic
    by = shared_run.by_subtask
    # checkable: a SimilarMaterial edge pair names the shared material and both entities
    for c in by["SimilarMaterial"]:
        ev = c.evidence
        shared, e1, e2 = ev.extra["shared"], ev.extra["entity1"], ev.extra["entity2"]
        assert e1 in ev.entities["image1"] and e2 in ev.entities["image2"]
        heads = {e.head for e in ev.edges if e.relation == "MadeOf"}
        assert e1 in heads and e2 in heads and any(e.tail == shared for e in ev.edges)
    answers = {c.evidence.extra["expected_answer"] for c in by["SubEvent"]}
    assert answers == {"Yes", "No"}  # direction matters and both orders are present
    for c in by["SubEvent"]:
        step = c.evidence.edges[0]
        assert step.relation in ("HasSubevent", "HasFirstSubevent", "HasLastSubevent")
        assert c.evidence.extra["sub_event"] == step.tail
    # image-use cap (2, doubled only in the relaxed pass) and no repeated pair
    for name, cands in by.items():
        pairs = [frozenset((c.image1.source, c.image2.source)) for c in cands]
        assert len(pairs) == len(set(pairs)), name


def test_no_candidate_pairs_near_duplicates(shared_run):
    for c in shared_run.candidates:
        distance = bin(int(c.image1.phash, 16) ^ int(c.image2.phash, 16)).count("1")
        assert distance > 8 and c.image1.sha256 != c.image2.sha256
    # no two kept images are near-duplicates either
    keys = {c.image1.source: c.image1.phash for c in shared_run.candidates}
    keys.update({c.image2.source: c.image2.phash for c in shared_run.candidates})
    for (_, a), (_, b) in combinations(keys.items(), 2):
        assert bin(int(a, 16) ^ int(b, 16)).count("1") > 8


def test_report_and_determinism(shared_run, coco, tmp_path):
    report = json.loads(shared_run.report_path.read_text())
    assert report["images"]["ingested"] == 239 and report["notes"]["captions_for_images_not_on_disk"] == 4841
    assert report["conceptnet"][0]["kept"] == 100_000
    from mmra.curation.pipeline import curate

    again = curate(out_dir=tmp_path, conceptnet=[coco["ckbc"]], coco_instances=coco["instances"],
                   coco_captions=coco["captions"], images=[coco["root"]], per_subtask=25, seed=7,
                   subtasks=["SimilarMaterial", "Layout", "SubE"], show_progress=False)
    for name in ("SimilarMaterial", "Layout", "SubEvent"):
        assert [c.id for c in again.by_subtask[name]] == [c.id for c in shared_run.by_subtask[name]]


def test_bad_inputs_are_named_and_the_rest_is_processed(broken_inputs, tmp_path):
    b = broken_inputs
    out = tmp_path / "out"
    result = CliRunner().invoke(app, [
        "curate", "--conceptnet", str(b["conceptnet"]), "--coco-instances", str(b["instances"]),
        "--coco-captions", str(b["captions"]), "--images", str(b["images"]), "--out", str(out),
        "--per-subtask", "5", "--no-progress"])
    assert result.exit_code == 0, result.output
    text = " ".join(result.output.split())
    assert "assertions.csv.gz:3: fewer than 5 tab-separated fields" in text
    assert "unknown category id 4242" in text and "annotation 999000001" in text
    assert f"image file {b['missing']}" in text and "is not in" in text
    assert f"{b['truncated']} is not a readable image" in text
    report = json.loads((out / "curation_report.json").read_text())
    reasons = {r["item"]: r["reason"] for r in report["rejects"]}
    assert reasons == {
        f"coco:val2017:{b['missing_id']:012d}": "missing_file",
        f"coco:val2017:{b['truncated_id']:012d}": "truncated",
        f"coco:val2017:{b['corrupt_id']:012d}": "corrupt",
        f"coco:val2017:{b['dup_id']:012d}": "near_duplicate",
    }
    # the resized copy no longer matches its annotated size: noted (boxes rescaled), then rejected as a duplicate
    assert report["input_problems_by_reason"] == {"unknown_category": 1, "malformed_conceptnet_line": 1,
                                                  "size_mismatch": 1}
    assert report["conceptnet"][0]["malformed_lines"][0]["line"] == 3
    assert report["images"]["passed_qc"] == 8
    candidates = read_jsonl(out / "candidates.jsonl", Candidate)
    assert candidates and sum(report["candidates_per_subtask"].values()) == len(candidates)
    dup = f"coco:val2017:{b['dup_id']:012d}"
    assert all(dup not in (c.image1.source, c.image2.source) for c in candidates)


def test_manifest_and_hf_dataset_inputs(coco, tmp_path):
    """The demo's path: a small CKBC-style TSV + a JSONL manifest (real photos here), and an HF dataset."""
    import datasets

    from mmra.curation.corpus import load_hf_dataset, load_manifest
    from mmra.curation.pipeline import curate

    photos = sorted((coco["root"] / "val2017").glob("*.jpg"))[:8]
    folder = tmp_path / "gen"
    (folder / "images").mkdir(parents=True)
    lines = []
    for k, photo in enumerate(photos):
        shutil.copy(photo, folder / "images" / photo.name)
        near = 20 + 40 * (k % 2)
        entry = {"path": f"images/{photo.name}", "id": f"demo-{k}", "licence": "CC-BY-4.0",
                 "boxes": [{"label": "bench", "bbox": [10, 200, 150, 100]},
                           {"label": "tree", "bbox": [170 + near, 210, 120, 110]},
                           {"label": "dog", "bbox": [400, 60, 90, 90]}],
                 "captions": ["a wooden bench beside a tree" if k % 2 else "a dog sitting near a wooden bench"]}
        lines.append(json.dumps(entry))
    lines.insert(3, '{"path": 5}')
    lines.append(json.dumps({"path": "images/missing.png"}))
    (folder / "manifest.jsonl").write_text("\n".join(lines) + "\n")
    kb = tmp_path / "kb.tsv"
    kb.write_text("MadeOf\tbench\twood\t2.0\nMadeOf\ttree\twood\t2.0\nUsedFor\tbench\tsit on\t2.0\n"
                  "AtLocation\tbench\tpark\t2.0\nAtLocation\ttree\tpark\t2.0\nIsA\tdog\tanimal\t1.0\n")
    corpus = load_manifest(folder / "manifest.jsonl")
    assert len(corpus.images) == 8
    assert [(i.item, i.reason) for i in corpus.issues] == [
        ("manifest.jsonl:4", "bad_manifest_line"), ("manifest:manifest:images/missing.png", "missing_file")]
    result = curate(out_dir=tmp_path / "out", conceptnet=[kb], manifests=[folder / "manifest.jsonl"],
                    per_subtask=4, show_progress=False,
                    subtasks=["SimilarMaterial", "RelativePosition", "NearSameEntity", "Environment"])
    counts = result.report["candidates_per_subtask"]
    assert counts["SimilarMaterial"] == 4 and counts["RelativePosition"] == 4 and counts["Environment"] >= 1
    sm = result.by_subtask["SimilarMaterial"][0]
    assert sm.image1.licence == "CC-BY-4.0" and sm.image1.source.startswith("manifest:manifest:demo-")
    assert sm.evidence.extra["shared"] == "wood"

    ds = datasets.Dataset.from_dict({"image": [str(p) for p in photos[:3]], "caption": ["a bench"] * 3})
    ds = ds.cast_column("image", datasets.Image())
    ds.save_to_disk(tmp_path / "hf")
    hf = load_hf_dataset(tmp_path / "hf", cache_dir=tmp_path / "cache", caption_column="caption")
    assert [r.key for r in hf.images] == ["hf:hf:train:0", "hf:hf:train:1", "hf:hf:train:2"]
    assert all(r.path.is_file() and r.path.is_absolute() and r.captions == ["a bench"] for r in hf.images)
    missing = load_hf_dataset(tmp_path / "hf", cache_dir=tmp_path / "cache", image_column="picture")
    assert missing.issues[0].reason == "bad_dataset" and "no image column 'picture'" in missing.issues[0].detail


def test_plugin_subtask_brings_its_own_miner(shared_run):
    from mmra.curation.mining import Proposal, RankingConfig, mine_subtask

    def mine_colour(ctx, quota, rng):
        for a in range(0, len(ctx.images) - 1, 2):
            yield Proposal(a, a + 1, 1.0 / (a + 1), ("colour",),
                           lambda a=a: ctx.evidence(a, a + 1, concepts=["colour"], heuristic="test plug-in"))

    spec = Subtask(name="ColourPluginTest", abbreviation="CPT", granularity="image", definition="d",
                   miner=mine_colour, origin="test")
    REGISTRY.register(spec)
    try:
        from mmra.curation.corpus import load_coco
        from mmra.curation.edges import EdgeStore
        from mmra.curation.entities import Linker
        from mmra.curation.mining import MiningContext

        store = EdgeStore.from_edges([("MadeOf", "bench", "wood", 1.0)])
        inputs = shared_run.report["inputs"]
        corpus = load_coco([inputs["coco_instances"][0]], [], [inputs["images"][0]])
        images = corpus.images[:6]
        for r in images:
            r.sha256 = r.key
        linker = Linker(store)
        ctx = MiningContext(images=images, facts=[linker.facts(r) for r in images], store=store, linker=linker)
        cands, stats = mine_subtask("ColourPluginTest", ctx, RankingConfig(quota=2))
        assert [c.subtask for c in cands] == ["ColourPluginTest"] * 2 and stats["proposed"] == 3
        assert cands[0].evidence.miner.endswith("mine_colour") and cands[0].score == 1.0
    finally:
        REGISTRY._items.pop("ColourPluginTest", None)


def test_cli_missing_conceptnet_file_is_one_clear_line(tmp_path):
    result = CliRunner().invoke(app, ["curate", "--conceptnet", str(tmp_path / "nope.tsv"), "--manifest",
                                      str(tmp_path / "m.jsonl"), "--out", str(tmp_path / "out"), "--no-progress"])
    text = " ".join(result.output.split())
    assert result.exit_code == 1, result.output
    assert "error: ConceptNet file" in text and "nope.tsv does not exist" in text
    assert "Traceback" not in text
