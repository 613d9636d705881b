"""The eval runner with real transformers forward passes on tiny random VLMs (CPU): batched == batch-1,
settings, swap, CircularEval, broken rows, data-parallel shards."""

from __future__ import annotations

import json

import pytest

from mmra.errors import MMRAError
from mmra.eval import evaluate

from .conftest import mmra_rows, write_parquet_release


def _responses(result) -> dict[str, str | None]:
    lines = [json.loads(x) for x in result.predictions.read_text().splitlines()]
    return {r["id"]: r["response"] for r in lines}


def _records(result) -> dict[str, dict]:
    return {r["id"]: r for r in map(json.loads, result.predictions.read_text().splitlines())}


@pytest.mark.parametrize("backend_fixture", ["qwen_backend", "smolvlm_backend"])
def test_batched_equals_batch_of_one(request, release_dir, tmp_path, backend_fixture):
    backend = request.getfixturevalue(backend_fixture)
    one = evaluate(release_dir, model=backend.model_id, backend=backend, out=tmp_path / "b1", batch_size=1,
                   show_progress=False)
    eight = evaluate(release_dir, model=backend.model_id, backend=backend, out=tmp_path / "b8", batch_size=8,
                     show_progress=False)
    r1, r8 = _responses(one), _responses(eight)
    assert len(r1) == 12
    assert r1 == r8
    # the tiny models answer gibberish, but they answer: a real generate ran for every row
    assert sum(bool(v) for v in r1.values()) >= 10
    assert one.scores["overall"] == eight.scores["overall"]
    # the run folder has what `mmra eval` promises
    for name in ("predictions.jsonl", "run.json", "scores.json", "scores.png", "scored.jsonl"):
        assert (tmp_path / "b8" / name).exists(), name
    meta = json.loads((tmp_path / "b8" / "run.json").read_text())
    assert meta["model"] == backend.model_id and meta["backend_info"]["parameters"] > 0


def test_settings_change_what_the_model_sees(qwen_backend, tmp_path):
    release = write_parquet_release(tmp_path / "rel", mmra_rows(6, with_descriptions=True))
    runs = {}
    for setting in ("IQ", "DQ", "IDQ", "QO"):
        runs[setting] = _records(evaluate(release, model="tiny:qwen2-vl", backend=qwen_backend, setting=setting,
                                          out=tmp_path / setting, batch_size=4, show_progress=False))
    blank = _records(evaluate(release, model="tiny:qwen2-vl", backend=qwen_backend, setting="IQ", blank_images=True,
                              out=tmp_path / "blank", batch_size=4, show_progress=False))
    sid = "s000"
    assert runs["IQ"][sid]["prompt"].count("<image>") == 2 and "Description" not in runs["IQ"][sid]["prompt"]
    assert runs["DQ"][sid]["prompt"].count("<image>") == 0
    assert "Description of Image 1: a photo with coloured boxes, number 0" in runs["DQ"][sid]["prompt"]
    assert runs["IDQ"][sid]["prompt"].count("<image>") == 2 and "Description of Image 2" in runs["IDQ"][sid]["prompt"]
    assert "<image>" not in runs["QO"][sid]["prompt"] and "Description" not in runs["QO"][sid]["prompt"]
    assert {r["setting"] for r in blank.values()} == {"IQ-blank"}
    # different inputs give the model different prompts, hence (with these seeds) different outputs
    assert runs["IQ"][sid]["response"] != runs["QO"][sid]["response"]
    assert blank[sid]["response"] != runs["IQ"][sid]["response"]


def test_dq_without_descriptions_is_a_clear_error(qwen_backend, release_dir, tmp_path):
    with pytest.raises(MMRAError, match=r"setting DQ needs image descriptions, but 12 of 12 samples have none"):
        evaluate(release_dir, model="tiny:qwen2-vl", backend=qwen_backend, setting="DQ", out=tmp_path / "dq",
                 show_progress=False)


def test_descriptions_file_feeds_dq(qwen_backend, release_dir, tmp_path):
    from mmra.eval import describe

    desc = describe(release_dir, model="tiny:qwen2-vl", backend=qwen_backend, out=tmp_path / "desc.jsonl",
                    batch_size=8, max_new_tokens=12, limit=4, show_progress=False)
    lines = [json.loads(x) for x in desc.path.read_text().splitlines()]
    assert desc.n_samples == 4 and len(lines) == desc.n_described
    assert all(set(line) >= {"id", "description1", "description2"} for line in lines)
    assert desc.n_described == 4 and not desc.errors
    # rerun: nothing left to caption, same file
    again = describe(release_dir, model="tiny:qwen2-vl", backend=qwen_backend, out=tmp_path / "desc.jsonl",
                     limit=4, show_progress=False)
    assert again.n_described == 4 and again.path.read_text() == desc.path.read_text()
    result = evaluate(release_dir, model="tiny:qwen2-vl", backend=qwen_backend, setting="DQ", limit=4,
                      descriptions=desc.path, out=tmp_path / "dq", show_progress=False)
    first = _records(result)["s000"]
    assert first["prompt"].startswith(f"Description of Image 1: {lines[0]['description1']}")


def test_swap_and_circular_variants(qwen_backend, release_dir, tmp_path):
    result = evaluate(release_dir, model="tiny:qwen2-vl", backend=qwen_backend, out=tmp_path / "sc",
                      swap_images=True, circular=True, batch_size=8, show_progress=False)
    records = _records(result)
    # 12 originals; 9 MC items with 3 or 4 options -> 2 or 3 rotations each; 2 SubEvent items are swapped
    n_rot = sum(len(eval(r["options"])) - 1 for r in records.values() if r["variant"] == "orig" and r["options"])
    assert result.n_items == len(records) == 12 + n_rot + 2
    swapped = {k: r for k, r in records.items() if r["variant"] == "swap"}
    assert set(swapped) == {"s009#swap", "s010#swap"}
    for rec in swapped.values():
        orig = records[rec["sample_id"]]
        assert {orig["answer"], rec["answer"]} == {"Yes", "No"}  # SubEvent's rule: flip Yes/No
    rot = records["s001#circ1"]  # options rotated by one, gold letter remapped
    assert eval(rot["options"]) == {"A": "writing", "B": "sitting", "C": "cooking", "D": "cutting"}
    assert rot["answer"] == "B"  # "sitting" was C
    run = result.scores["runs"][0]
    assert run["swap"]["n"] == 2 and run["circular"]["n"] == 9
    assert run["n"] == 12


def test_broken_image_row_is_reported_counted_wrong_and_the_run_goes_on(qwen_backend, tmp_path):
    cols = mmra_rows(8, broken={2})
    cols["image2"][5] = None  # a row with no image at all
    release = write_parquet_release(tmp_path / "rel", cols)
    result = evaluate(release, model="tiny:qwen2-vl", backend=qwen_backend, out=tmp_path / "out", batch_size=4,
                      show_progress=False)
    records = _records(result)
    assert len(records) == 8
    assert records["s002"]["response"] is None
    assert "s002: image1 is not a readable image" in records["s002"]["error"]
    assert "s005: image2: the dataset row has no image" in records["s005"]["error"]
    assert sum(r["error"] is None and r["response"] is not None for r in records.values()) == 6
    run = result.scores["runs"][0]
    assert run["n"] == 8 and run["error_rate"] == pytest.approx(2 / 8)
    assert len(result.errors) == 2
    assert "s002" in (tmp_path / "out" / "problems.txt").read_text()


def test_paper_profile_uses_the_official_prompts(qwen_backend, release_dir, tmp_path):
    records = _records(evaluate(release_dir, model="tiny:qwen2-vl", backend=qwen_backend, profile="paper", limit=10,
                                out=tmp_path / "paper", show_progress=False))
    mc = records["s001"]["prompt"]
    assert mc.startswith("<image><image>You will be giving one question, two images,  and four answers")
    assert "please only answer the question with A, B, C or D." in mc
    assert "answer:  A: cutting  B: writing  C: sitting  D: cooking" in mc
    assert "with A, B, C." in records["s000"]["prompt"]  # 3 options
    yn = records["s009"]["prompt"]
    assert 'Please answer the question using "Yes" or "No".' in yn and yn.endswith("Your answer is ")


def test_rerun_with_other_settings_in_the_same_folder_is_refused(qwen_backend, release_dir, tmp_path):
    evaluate(release_dir, model="tiny:qwen2-vl", backend=qwen_backend, out=tmp_path / "o", limit=2,
             show_progress=False)
    with pytest.raises(MMRAError, match="holds predictions of a different run.*setting: 'IQ' -> 'QO'"):
        evaluate(release_dir, model="tiny:qwen2-vl", backend=qwen_backend, setting="QO", out=tmp_path / "o",
                 limit=2, show_progress=False)


def test_shards_merge_into_the_same_predictions(qwen_backend, release_dir, tmp_path):
    full = _responses(evaluate(release_dir, model="tiny:qwen2-vl", backend=qwen_backend, out=tmp_path / "full",
                               show_progress=False))
    out = tmp_path / "dp"
    for i in range(2):  # what the two data-parallel workers do, in-process
        evaluate(release_dir, model="tiny:qwen2-vl", backend=qwen_backend, out=out, shard=(i, 2),
                 score_after=False, show_progress=False)
    assert sorted(p.name for p in out.glob("predictions.shard-*.jsonl")) == [
        "predictions.shard-0.jsonl", "predictions.shard-1.jsonl"]
    merged = evaluate(release_dir, model="tiny:qwen2-vl", backend=qwen_backend, out=out, show_progress=False)
    assert merged.n_new == 0  # everything came from the shards
    assert _responses(merged) == full
    assert not list(out.glob("predictions.shard-*.jsonl"))
