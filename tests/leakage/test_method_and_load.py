"""Probe construction, scoring rules and input formats of the leakage filter."""

from __future__ import annotations

import json

import pytest

from mmra.benchmark.leakage.load import load_samples
from mmra.benchmark.leakage.method import default_max_hits, is_hit, probes_for, score
from mmra.benchmark.mmra_format import sample_to_mmra
from mmra.benchmark.schema import SchemaError
from mmra.llm.endpoints import parse_model_spec
from tests.leakage.conftest import IMAGE_DEPENDENT, TEXT_ANSWERABLE, build_samples


def test_multiple_choice_probes_cover_every_circular_shift(make_image):
    fly = build_samples(make_image, TEXT_ANSWERABLE[1:2])[0]  # gold D = "bird"
    probes = probes_for(fly, choices_only=True)
    qo = [p for p in probes if p.kind == "circular"]
    co = [p for p in probes if p.kind == "choices-only"]
    assert len(qo) == len(co) == 4
    assert [p.shown[0] for p in qo] == ["stone", "chair", "spoon", "bird"]
    for p in qo:  # the letter of "bird" moves with the shift, and maps back to the gold letter D
        letter = "ABCD"[p.shown.index("bird")]
        assert f"{letter}. bird" in p.prompt and "Which of these can fly?" in p.prompt
        assert score(p, letter, None).correct and score(p, letter, None).answer == "D"
    assert all("can fly" not in p.prompt and "Options:" in p.prompt for p in co)


def test_yes_no_probes_use_both_answer_orders(make_image):
    yes_no = build_samples(make_image, IMAGE_DEPENDENT[2:3])[0]  # gold Yes
    probes = probes_for(yes_no, kinds=("circular",))
    assert [p.shown for p in probes] == [("Yes", "No"), ("No", "Yes")]
    always_a = [score(p, "A", None) for p in probes]
    always_yes = [score(p, "Yes", None) for p in probes]
    assert [a.correct for a in always_a] == [True, False] and not is_hit([a.correct for a in always_a], "all")
    assert [a.answer for a in always_yes] == ["Yes", "Yes"] and is_hit([a.correct for a in always_yes], "all")


def test_failures_are_wrong_answers_with_a_status(make_image):
    p = probes_for(build_samples(make_image, TEXT_ANSWERABLE[:1])[0])[0]
    assert score(p, "", None).status == "empty" and not score(p, "", None).correct
    assert score(p, "%%% ???", None).status == "unparseable"
    assert score(p, None, "HTTP 500").status == "error"


def test_hit_rules_and_default_max_hits():
    assert is_hit([True, True, True], "all") and not is_hit([True, True, False], "all")
    assert is_hit([True, True, False], "majority") and not is_hit([True, False], "majority")
    assert not is_hit([], "all")
    assert [default_max_hits(k) for k in (1, 2, 3, 4, 8, 9)] == [0, 0, 0, 1, 2, 2]  # MMStar: 2 of 8


def test_model_specs():
    assert parse_model_spec("gpt-4o-mini@https://api.openai.com/v1/").base_url == "https://api.openai.com/v1"
    assert parse_model_spec("qwen2.5-1.5b").local
    for bad in ("unknown-model", "m@ftp://x", "@http://x"):
        with pytest.raises(ValueError):
            parse_model_spec(bad)


def test_mmra_jsonl_without_ids_or_images(tmp_path, make_image):
    samples = build_samples(make_image, TEXT_ANSWERABLE + IMAGE_DEPENDENT)
    rows = []
    for s in samples:
        row = sample_to_mmra(s, image_value="path")
        del row["image1"], row["image2"]
        rows.append(row)
    rows.append(dict(rows[0]))  # the same question twice (different images in the original): both kept
    path = tmp_path / "mmra.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    loaded = load_samples(path)
    assert len(loaded) == len(rows) and len({s.id for s in loaded}) == len(rows)
    assert [s.question for s in loaded[:-1]] == [s.question for s in samples]
    assert loaded[0].image1.path == "missing:image1"


def test_release_folder_of_parquet_and_saved_dataset(tmp_path, make_image):
    import datasets

    samples = build_samples(make_image, TEXT_ANSWERABLE + IMAGE_DEPENDENT)
    rows = [{**sample_to_mmra(s, image_value="path"), "id": s.id} for s in samples]
    for r in rows:
        r["image1"] = {"path": r["image1"], "bytes": open(r["image1"], "rb").read()}
        r["image2"] = {"path": r["image2"], "bytes": open(r["image2"], "rb").read()}
    features = datasets.Features({
        "Task": datasets.Value("string"), "QA_type": datasets.Value("string"), "question": datasets.Value("string"),
        "image1": datasets.Image(), "image2": datasets.Image(), "options": datasets.Value("string"),
        "answer": datasets.Value("string"), "id": datasets.Value("string"),
    })
    ds = datasets.Dataset.from_list(rows, features=features)
    release = tmp_path / "release" / "data"
    release.mkdir(parents=True)
    ds.to_parquet(str(release / "test-00000-of-00001.parquet"))
    ds.save_to_disk(str(tmp_path / "saved"))
    for source in (tmp_path / "release", tmp_path / "saved"):
        loaded = load_samples(source)
        assert [s.id for s in loaded] == [s.id for s in samples]
        assert [s.answer for s in loaded] == [s.answer for s in samples]
        assert loaded[0].image1.read_bytes() == samples[0].image1.read_bytes(tmp_path)


def test_bad_inputs_name_the_item(tmp_path):
    with pytest.raises(FileNotFoundError, match="does not exist"):
        load_samples(tmp_path / "nope.jsonl")
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"Task": "UsageSimilarity", "QA_type": "Essay", "question": "Q?", "answer": "A"}\n')
    with pytest.raises(SchemaError, match=r"bad.jsonl:1: QA_type: unknown value 'Essay'"):
        load_samples(bad)
    (tmp_path / "empty").mkdir()
    with pytest.raises(ValueError, match="no parquet files"):
        load_samples(tmp_path / "empty")
