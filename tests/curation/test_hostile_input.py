"""Hostile input to `mmra curate` (issue 12): JSON nested deeply enough to exhaust the parser's stack and
ConceptNet edges that do not join two concepts. Each bad item is one line naming it and the cause; the run
goes on past it."""

from __future__ import annotations

import json
import shutil

from typer.testing import CliRunner

from mmra.cli import app
from mmra.curation.conceptnet import ingest_conceptnet
from mmra.curation.corpus import load_coco

DEEP_ARRAY = "[" * 100_000
DEEP_OBJECT = '{"path": ' * 50_000


def _cn_row(rel: str, start: str, end: str, weight: float = 1.0) -> str:
    data = json.dumps({"dataset": "/d/conceptnet/4/en", "license": "cc:by/4.0", "weight": weight})
    return f"/a/[/r/{rel}/,{start}/,{end}/]\t/r/{rel}\t{start}\t{end}\t{data}"


# the official 5-column format; ExternalURL rows as in conceptnet-assertions-5.7.0.csv
CONCEPTNET_ROWS = [
    _cn_row("IsA", "/c/en/cat", "/c/en/animal"),
    _cn_row("IsA", "/c/en/dog", "/c/en/animal"),
    _cn_row("ExternalURL", "/c/en/cat", "http://dbpedia.org/resource/Cat"),
    _cn_row("AtLocation", "/c/en/cat", "/c/en/house"),
    _cn_row("ExternalURL", "/c/en/dog/n", "http://wikidata.dbpedia.org/resource/Q144"),
    _cn_row("ExternalURL", "/c/fr/chat", "http://fr.dbpedia.org/resource/Chat"),
    _cn_row("UsedFor", "/c/en/knife", "/c/en/cut"),
    _cn_row("IsA", "/c/en/", "/c/en/animal"),  # a broken concept URI stays malformed
]


def test_external_url_edges_are_skipped_by_relation_not_malformed(tmp_path):
    path = tmp_path / "assertions.csv"
    path.write_text("\n".join(CONCEPTNET_ROWS) + "\n", encoding="utf-8")
    stats = ingest_conceptnet(path, tmp_path / "edges.parquet", block_bytes=300)  # several blocks
    assert stats.non_concept_by_relation == {"ExternalURL": 3}
    assert stats.malformed == 1 and [m.line for m in stats.malformed_lines] == [8]
    assert stats.kept == 4 and stats.lines == 8
    assert "3 non-concept edges skipped" in stats.summary()


def test_deeply_nested_coco_file_is_one_issue(tmp_path):
    deep = tmp_path / "instances_deep.json"
    deep.write_text(DEEP_ARRAY)
    corpus = load_coco(instances=[deep], image_dirs=[tmp_path])
    assert [(i.item, i.reason) for i in corpus.issues] == [(str(deep), "bad_json")]
    assert "nested too deeply" in corpus.issues[0].detail


def test_curate_goes_on_past_deeply_nested_lines(tmp_path, shared_data):
    images = tmp_path / "images"
    images.mkdir()
    entities = [["cat", "sofa"], ["dog", "car"], ["knife", "table"], ["cup", "table"], ["cat", "bed"], ["dog", "sofa"]]
    lines = []
    for source, ents in zip(sorted((shared_data / "coco-mini" / "val2017").glob("*.jpg"))[:6], entities,
                            strict=True):
        shutil.copy(source, images / source.name)
        lines.append(json.dumps({"path": f"images/{source.name}", "entities": ents,
                                 "captions": [f"a {ents[0]} next to a {ents[1]}"]}))
    lines.insert(1, DEEP_ARRAY)  # line 2
    lines.insert(3, DEEP_OBJECT)  # line 4
    manifest = tmp_path / "manifest.jsonl"
    manifest.write_text("\n".join(lines) + "\n", encoding="utf-8")
    conceptnet = tmp_path / "assertions.csv"
    conceptnet.write_text("\n".join(CONCEPTNET_ROWS) + "\n", encoding="utf-8")
    out = tmp_path / "out"
    result = CliRunner().invoke(app, ["curate", "--no-progress", "--conceptnet", str(conceptnet), "--manifest",
                                      str(manifest), "--out", str(out)], env={"COLUMNS": "400"})
    assert result.exit_code == 0, result.output
    assert "Traceback" not in result.output and "RecursionError" not in result.output
    shown = [line for line in result.output.splitlines() if "nested too deeply" in line]
    assert len(shown) == 2 and "manifest.jsonl:2" in shown[0] and "manifest.jsonl:4" in shown[1]
    report = json.loads((out / "curation_report.json").read_text())
    problems = {p["item"]: p["detail"] for p in report["input_problems"]}
    assert problems["manifest.jsonl:2"] == problems["manifest.jsonl:4"] == "skipped: not valid JSON: nested too deeply"
    assert report["images"]["ingested"] == 6  # every good line was read
    assert (out / "candidates.jsonl").is_file()
    (stats,) = report["conceptnet"]
    assert stats["non_concept_by_relation"] == {"ExternalURL": 3} and stats["malformed"] == 1
