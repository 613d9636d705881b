"""NaN, Infinity and numbers beyond a float in curation inputs (issue 18 item 6): a COCO box or image size and a
ConceptNet/CKBC weight that is not a finite number is one line naming the file and item (annotation, image,
line) and the cause; that item is skipped, the rest is curated, and no such number reaches the candidates."""

from __future__ import annotations

import gzip
import json
import math
from itertools import islice

import polars as pl
from typer.testing import CliRunner

from mmra.benchmark.jsonl import iter_json_lines
from mmra.cli import app
from mmra.curation.conceptnet import ingest_conceptnet
from mmra.curation.corpus import load_coco, load_manifest

HUGE = "1" + "0" * 400  # an integer JSON reads, but no float holds


def _coco_with_bad_numbers(coco, tmp_path):
    """The real COCO-MINI val2017 instances with three boxes and one image size made non-finite; returns
    (file, {annotation id: the bad value as written}, id of the image whose width is NaN)."""
    data = json.loads(coco["instances"][0].read_text())
    anns = data["annotations"]
    bad = {anns[0]["id"]: "NaN", anns[1]["id"]: "Infinity", anns[2]["id"]: "1e999", anns[3]["id"]: HUGE}
    for ann in anns[:4]:
        ann["bbox"][2] = f"@{ann['id']}@"
    broken_image = data["images"][5]["id"]
    data["images"][5]["width"] = "@width@"
    text = json.dumps(data)
    for ann_id, literal in bad.items():
        text = text.replace(f'"@{ann_id}@"', literal)
    path = tmp_path / "instances_val2017.json"
    path.write_text(text.replace('"@width@"', "NaN"))
    return path, bad, broken_image


def test_non_finite_coco_boxes_and_sizes_are_one_issue_each_and_skipped(coco, tmp_path):
    path, bad, broken_image = _coco_with_bad_numbers(coco, tmp_path)
    corpus = load_coco(instances=[path], image_dirs=[coco["root"]])
    issues = {i.item: i for i in corpus.issues if i.reason == "bad_annotation"}
    for ann_id, literal in bad.items():
        (issue,) = [i for item, i in issues.items() if item.startswith(f"{path.name}: annotation {ann_id} ")]
        shown = literal if literal != HUGE else HUGE[:40] + "..."
        expected = {"NaN": "nan", "Infinity": "inf", "1e999": "inf"}.get(literal, shown)
        assert issue.detail == f"bbox.2 is {expected}, not a finite number; annotation skipped", issue.detail
    image_issue = issues[f"{path.name}: image {broken_image}"]
    assert image_issue.detail == "width is nan, not a finite number; image entry skipped"
    # the rest is read, and every box and size that reaches a record is finite
    assert len(corpus.images) >= 3
    assert all(math.isfinite(v) for image in corpus.images for box in image.boxes for v in box.bbox)
    assert all(image.width is None or math.isfinite(image.width) for image in corpus.images)


def test_a_manifest_box_beyond_a_float_is_one_line(tmp_path, make_image):
    make_image("a.png")
    make_image("b.png", shape_seed=3)
    lines = [json.dumps({"path": "a.png", "boxes": [{"label": "cat", "bbox": [1, 2, 30, 40]}]}),
             '{"path": "b.png", "boxes": [{"label": "dog", "bbox": [1, 2, HUGE, 40]}]}'.replace("HUGE", HUGE),
             '{"path": "b.png", "boxes": [{"label": "dog", "bbox": [1, 2, NaN, 40]}]}']
    manifest = tmp_path / "manifest.jsonl"
    manifest.write_text("\n".join(lines) + "\n")
    corpus = load_manifest(manifest)
    assert [(i.item, i.detail) for i in corpus.issues] == [
        ("manifest.jsonl:2", f"skipped: box 'dog': bbox.2 is {HUGE[:40]}..., not a finite number"),
        ("manifest.jsonl:3", "skipped: not valid JSON: boxes.0.bbox.2: NaN is not a JSON number (NaN and Infinity "
                             "are refused; a number must be finite)")]
    assert [image.path.name for image in corpus.images] == ["a.png"]


def test_non_finite_weights_are_malformed_lines_and_never_stored(tmp_path):
    ckbc = tmp_path / "ckbc.tsv"
    ckbc.write_text("UsedFor\tknife\tcut\t2.5\nUsedFor\tfork\teat\tNaN\nAtLocation\tcup\ttable\tinf\n"
                    "IsA\tcat\tanimal\t-Infinity\nIsA\tdog\tanimal\t1e999\nIsA\tcow\tanimal\n")
    stats = ingest_conceptnet(ckbc, tmp_path / "ckbc.parquet", block_bytes=40)  # several blocks
    assert [(m.line, m.reason) for m in stats.malformed_lines] == [
        (2, "weight is not a finite number: NaN"), (3, "weight is not a finite number: inf"),
        (4, "weight is not a finite number: -Infinity"), (5, "weight is not a finite number: 1e999")]
    edges = pl.read_parquet(tmp_path / "ckbc.parquet")
    assert edges["weight"].to_list() == [2.5, 1.0] and stats.kept == 2

    row = '/a/[/r/IsA/,/c/en/{0}/,/c/en/animal/]\t/r/IsA\t/c/en/{0}\t/c/en/animal\t{{"weight": {1}}}'
    csv = tmp_path / "assertions.csv"
    csv.write_text("\n".join([row.format("cat", "1.0"), row.format("dog", "1e999"), row.format("cow", "NaN")]) + "\n")
    stats = ingest_conceptnet(csv, tmp_path / "csv.parquet")
    assert [(m.line, m.reason) for m in stats.malformed_lines] == [
        (2, "weight is not a finite number: 1e999"), (3, "no numeric 'weight' in the JSON column")]
    assert pl.read_parquet(tmp_path / "csv.parquet")["weight"].to_list() == [1.0]


def test_curate_names_each_bad_number_and_writes_only_finite_candidates(coco, tmp_path):
    path, bad, _ = _coco_with_bad_numbers(coco, tmp_path)
    with gzip.open(coco["ckbc"], "rt", encoding="utf-8") as fh:
        edges = list(islice(fh, 20_000))
    edges[1:1] = ["UsedFor\tknife\tcut\tNaN\n", "AtLocation\tcup\ttable\t1e999\n"]  # lines 2 and 3
    ckbc = tmp_path / "ckbc.tsv"
    ckbc.write_text("".join(edges), encoding="utf-8")
    out = tmp_path / "out"
    result = CliRunner().invoke(app, ["curate", "--no-progress", "--conceptnet", str(ckbc), "--coco-instances",
                                      str(path), "--images", str(coco["root"]), "--out", str(out),
                                      "--per-subtask", "3", "--seed", "1"], env={"COLUMNS": "400"})
    assert result.exit_code == 0, result.output
    assert "Traceback" not in result.output
    report = json.loads((out / "curation_report.json").read_text())
    problems = {p["item"]: p["detail"] for p in report["input_problems"]}
    for ann_id in bad:
        (detail,) = [d for item, d in problems.items() if item.startswith(f"{path.name}: annotation {ann_id} ")]
        assert "not a finite number; annotation skipped" in detail
    (stats,) = report["conceptnet"]
    assert stats["malformed"] == 2
    # every line of the candidates reads back under the finite-number rule, and there are candidates
    lines = list(iter_json_lines(out / "candidates.jsonl"))
    assert lines and all(line.error is None for line in lines), [line.error for line in lines if line.error]
