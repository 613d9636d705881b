"""The image-probe eval settings (IQ-blank, IQ-image1, IQ-image2) with real transformers forward passes on the
tiny random Qwen2-VL (CPU): what each prompt shows, that every row gets a prediction, and the CLI names."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from mmra.eval import evaluate
from mmra.eval.backends.openai import to_openai_messages
from mmra.eval.items import SETTINGS, EvalItem, blank_image, build_prompt, check_setting

from .conftest import mmra_rows, write_parquet_release


def _records(result) -> dict[str, dict]:
    return {r["id"]: r for r in map(json.loads, result.predictions.read_text().splitlines())}


@pytest.fixture(scope="module")
def small_release(tmp_path_factory):
    return write_parquet_release(tmp_path_factory.mktemp("probe-rel"), mmra_rows(6))


def test_setting_names_are_case_insensitive_and_listed():
    assert check_setting("iq-image1") == "IQ-image1" and check_setting("IQ-BLANK") == "IQ-blank"
    assert {"IQ-blank", "IQ-image1", "IQ-image2"} <= set(SETTINGS)
    with pytest.raises(ValueError, match="unknown setting 'IQ-image3'"):
        check_setting("IQ-image3")


def test_one_image_prompt_labels_the_image_under_both_profiles():
    from mmra.benchmark.schema import ImageRef, Sample

    s = Sample(subtask="SubEvent", qa_type="yes_no", question="Does Image 2 come after Image 1?", options=[],
               answer="Yes", image1=ImageRef(path="a.png"), image2=ImageRef(path="b.png"))
    item = EvalItem(s.id, s, s.id, "orig")
    for profile in ("default", "paper"):
        p1 = build_prompt(item, "IQ-image1", profile, None, [blank_image()])
        p2 = build_prompt(item, "IQ-image2", profile, None, [blank_image()])
        assert p1.text.startswith("Image 1: <image>\n(Image 2 is not shown.)\n") and p1.text.count("<image>") == 1
        assert p2.text.startswith("Image 2: <image>\n(Image 1 is not shown.)\n") and len(p2.images) == 1
        # an API backend gets exactly one image part, in the labelled place
        content = to_openai_messages(p1)[0]["content"]
        assert [c["type"] for c in content] == ["text", "image_url", "text"]


def test_image_settings_predict_with_the_tiny_vlm(qwen_backend, small_release, tmp_path):
    runs = {}
    for setting in ("IQ", "IQ-image1", "IQ-image2", "IQ-blank"):
        runs[setting] = _records(evaluate(small_release, model="tiny:qwen2-vl", backend=qwen_backend,
                                          setting=setting, out=tmp_path / setting, batch_size=3,
                                          show_progress=False))
    for setting, records in runs.items():
        assert len(records) == 6 and {r["setting"] for r in records.values()} == {setting}
        assert all(r["error"] is None for r in records.values())
        # a real generate ran for every row (the random model answers gibberish, but it answers)
        assert sum(bool(r["response"]) for r in records.values()) >= 5, setting
    assert all(r["prompt"].count("<image>") == 1 for s in ("IQ-image1", "IQ-image2") for r in runs[s].values())
    assert all("(Image 2 is not shown.)" in r["prompt"] for r in runs["IQ-image1"].values())
    assert all(r["prompt"].count("<image>") == 2 for r in runs["IQ-blank"].values())
    # different images give different outputs for at least one row
    assert any(runs["IQ-image1"][k]["response"] != runs["IQ-image2"][k]["response"] for k in runs["IQ"])
    scores = json.loads((tmp_path / "IQ-image1" / "scores.json").read_text())
    assert scores["runs"][0]["setting"] == "IQ-image1"


def test_named_blank_setting_is_the_blank_images_run(qwen_backend, small_release, tmp_path):
    named = _records(evaluate(small_release, model="tiny:qwen2-vl", backend=qwen_backend, setting="IQ-blank",
                              out=tmp_path / "named", batch_size=6, show_progress=False))
    flag = _records(evaluate(small_release, model="tiny:qwen2-vl", backend=qwen_backend, setting="IQ",
                             blank_images=True, out=tmp_path / "flag", batch_size=6, show_progress=False))
    assert {k: r["response"] for k, r in named.items()} == {k: r["response"] for k, r in flag.items()}
    assert {r["setting"] for r in named.values()} == {"IQ-blank"}


def test_blank_images_with_a_one_image_setting_is_refused(qwen_backend, small_release, tmp_path):
    with pytest.raises(ValueError, match="--blank-images needs a setting with both images"):
        evaluate(small_release, model="tiny:qwen2-vl", backend=qwen_backend, setting="IQ-image2",
                 blank_images=True, out=tmp_path / "x", show_progress=False)


def test_cli_runs_a_one_image_setting(small_release, tmp_path):
    from mmra.cli import app

    out = tmp_path / "cli"
    result = CliRunner().invoke(app, ["eval", "--dataset", str(small_release), "--model", "tiny:qwen2-vl",
                                      "--setting", "iq-image2", "--out", str(out), "--limit", "3"])
    assert result.exit_code == 0, result.output
    records = [json.loads(x) for x in (out / "predictions.jsonl").read_text().splitlines()]
    assert len(records) == 3 and {r["setting"] for r in records} == {"IQ-image2"}
    assert json.loads((out / "run.json").read_text())["setting"] == "IQ-image2"
