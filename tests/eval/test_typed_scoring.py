"""Scoring inside a process reads the typed items (issue 21): `evaluate` scores the answers of its own run from
the items it asked, `mmra score` parses prediction files, and both give the same scored items. Prediction lines
carry the level, so a plug-in's subtask scores under its level where the plug-in is not installed."""

from __future__ import annotations

import json
from dataclasses import asdict

import pytest

from mmra.benchmark.registry import REGISTRY, get_subtask, subtask
from mmra.benchmark.schema import SchemaError
from mmra.eval import evaluate, score_runs
from mmra.eval.scoring import score_record

from .conftest import mmra_rows, write_parquet_release


def test_evaluate_scores_its_typed_items_as_score_reads_the_file(release_dir, qwen_backend, tmp_path):
    result = evaluate(release_dir, model="tiny:qwen2-vl", backend=qwen_backend, out=tmp_path / "run", batch_size=4,
                      circular=True, swap_images=True, show_progress=False)
    _, parsed = score_runs(result.predictions)
    assert result.run is not None and len(result.run.items) == result.n_items > 12
    assert [asdict(i) for i in result.run.items] == [asdict(i) for i in parsed[0].items]
    assert result.run.label == parsed[0].label == "tiny:qwen2-vl"
    lines = [json.loads(x) for x in result.predictions.read_text("utf-8").splitlines()]
    assert all(line["level"] == get_subtask(line["Task"]).granularity.value for line in lines)
    # not scored to a report, the answers are still scored (the leakage filter's image probes read them)
    quiet = evaluate(release_dir, model="tiny:qwen2-vl", backend=qwen_backend, out=tmp_path / "quiet", batch_size=4,
                     score_after=False, show_progress=False)
    assert quiet.scores is None and not (tmp_path / "quiet" / "scores.json").exists()
    assert {i.id: i.correct for i in quiet.run.items} == {i.id: i.correct for i in result.run.items
                                                          if i.variant == "orig"}


def test_a_plugin_subtask_scores_under_the_level_its_lines_carry(qwen_backend, tmp_path):
    @subtask(name="ColourMatchTest", abbreviation="CMT", granularity="image", definition="Same main colour?")
    def mine_colour(context, quota, rng):
        return iter(())

    try:
        cols = mmra_rows(2)
        cols["Task"] = ["ColourMatchTest", "ColourMatchTest"]
        release = write_parquet_release(tmp_path / "rel", cols)
        result = evaluate(release, model="tiny:qwen2-vl", backend=qwen_backend, out=tmp_path / "run",
                          show_progress=False)
        assert {i.level for i in result.run.items} == {"image"}
        assert result.scores["levels"]["image"]["n"] == 2
    finally:
        REGISTRY._items.pop("ColourMatchTest", None)
    # scored where the plug-in is not installed: the subtask keeps its name, the level comes from the lines
    scores, runs = score_runs(result.predictions)
    assert {(i.subtask, i.level) for i in runs[0].items} == {("ColourMatchTest", "image")}
    assert scores["levels"]["image"]["n"] == 2 and scores["subtasks"]["ColourMatchTest"]["level"] == "image"


def test_a_prediction_line_with_a_bad_level_is_one_line(tmp_path):
    line = {"id": "s1", "Task": "SomePluginTask", "QA_type": "True or false QA", "options": None, "answer": "Yes",
            "response": "Yes", "level": ["entity"]}
    with pytest.raises(SchemaError, match=r"^p\.jsonl record 1: level: expected one of entity, image or null"):
        score_record(line, "p.jsonl record 1")
    assert score_record({**line, "level": None}, "r").level is None  # lines from before the field, other harnesses
    assert score_record({**line, "level": "entity"}, "r").level == "entity"
