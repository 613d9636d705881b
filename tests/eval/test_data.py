"""Every accepted `--dataset` form loads into the same samples; bad datasets give clear errors."""

from __future__ import annotations

import json

import pytest

from mmra.benchmark.records import write_jsonl
from mmra.benchmark.schema import ImageRef, Sample
from mmra.errors import MMRAError
from mmra.eval.data import load_dataset_samples, load_descriptions

from .conftest import make_png, mmra_rows, write_parquet_release


@pytest.fixture()
def samples_jsonl(tmp_path):
    """A Samples JSONL (the stages' hand-off format) with real image files beside it."""
    (tmp_path / "img").mkdir()
    samples = []
    for i, (task, qa, question, options, answer) in enumerate(
        [("SimilarMaterial", "multiple_choice", "Which material do both share?", ["wood", "metal", "glass"], "B"),
         ("SubEvent", "yes_no", "Does Image 2 come after Image 1?", [], "Yes")]
    ):
        for k in (1, 2):
            (tmp_path / "img" / f"{i}_{k}.png").write_bytes(make_png(10 * i + k, (64 + i % 32, 72)))
        samples.append(Sample(subtask=task, qa_type=qa, question=question, options=options, answer=answer,
                              image1=ImageRef(path=f"img/{i}_1.png"), image2=ImageRef(path=f"img/{i}_2.png"),
                              descriptions={"image1": f"first {i}", "image2": f"second {i}"}))
    return write_jsonl(tmp_path / "samples.jsonl", samples), samples


def test_parquet_folder_file_and_limit(release_dir):
    folder = load_dataset_samples(release_dir)
    assert len(folder) == 12 and not folder.problems
    assert [s.id for s in folder.samples[:2]] == ["s000", "s001"]
    assert folder.samples[1].options == ["cutting", "writing", "sitting", "cooking"]
    assert folder.samples[9].qa_type.value == "yes_no"
    one_file = load_dataset_samples(next(release_dir.rglob("*.parquet")), limit=3)
    assert [s.id for s in one_file.samples] == ["s000", "s001", "s002"]
    assert one_file.samples[0].image1.bytes_ == folder.samples[0].image1.bytes_


def test_samples_jsonl_and_mmra_jsonl(samples_jsonl, tmp_path):
    from mmra.eval.data import load_image

    path, samples = samples_jsonl
    loaded = load_dataset_samples(path)
    assert [s.id for s in loaded.samples] == [s.id for s in samples]
    assert load_image(loaded.samples[0], "image2", loaded.base_dir).size[0] > 0
    assert loaded.samples[0].descriptions["image1"] == "first 0"
    mmra = tmp_path / "mmra.jsonl"
    mmra.write_text("".join(json.dumps({
        "Task": s.subtask, "QA_type": "Choice QA" if s.options else "True or false QA", "question": s.question,
        "image1": s.image1.path, "image2": s.image2.path,
        "options": repr(dict(zip("ABC", s.options, strict=False))) if s.options else None, "answer": s.answer,
    }) + "\n" for s in samples))
    from_mmra = load_dataset_samples(mmra)
    assert [(s.subtask, s.answer, s.options) for s in from_mmra.samples] == [
        (s.subtask, s.answer, s.options) for s in samples]
    assert load_image(from_mmra.samples[1], "image1", from_mmra.base_dir).mode == "RGB"


def test_published_release_store_and_version(samples_jsonl, tmp_path):
    release = pytest.importorskip("mmra.benchmark.release")
    path, samples = samples_jsonl
    from mmra.benchmark.release.validity import ValidityOptions

    # these samples never went through `mmra leakage`: publishing them needs --publish-unchecked
    release.publish(path, "1.0.0", tmp_path / "store", name="mini", show_progress=False,
                    validity=ValidityOptions(publish_unchecked=True))
    for spec in (tmp_path / "store", f"{tmp_path / 'store'}@1.0.0", tmp_path / "store" / "mini" / "1.0.0"):
        loaded = load_dataset_samples(spec)
        assert sorted(s.id for s in loaded.samples) == sorted(s.id for s in samples), spec
    with pytest.raises(Exception, match="2.0.0"):
        load_dataset_samples(f"{tmp_path / 'store'}@2.0.0")


def test_unreadable_rows_are_reported_and_skipped(tmp_path):
    cols = mmra_rows(4)
    cols["options"][1] = "{'A': 'only one'}"  # a multiple-choice row with one option
    cols["Task"][2] = "NoSuchSubtask"
    loaded = load_dataset_samples(write_parquet_release(tmp_path / "rel", cols))
    assert [s.id for s in loaded.samples] == ["s000", "s003"]
    assert len(loaded.problems) == 2
    assert loaded.problems[0].startswith("row 1 (id s001): ") and "needs 3 or 4 options (A-D), got 1" in loaded.problems[0]
    assert "row 2 (id s002)" in loaded.problems[1] and "NoSuchSubtask" in loaded.problems[1]


def test_dataset_without_image_columns(tmp_path):
    import datasets

    cols = mmra_rows(2)
    del cols["image2"]
    path = tmp_path / "x.parquet"
    datasets.Dataset.from_dict(cols).to_parquet(str(path))
    with pytest.raises(MMRAError, match=r"no image column\(s\) image2 \(columns: id, Task"):
        load_dataset_samples(path)


def test_unknown_hub_dataset_is_a_clear_error(monkeypatch):
    import datasets
    import huggingface_hub

    # the Hub is unreachable here: run the real Hub code path in offline mode so it fails fast
    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_OFFLINE", True)
    monkeypatch.setattr(datasets.config, "HF_HUB_OFFLINE", True)
    with pytest.raises(MMRAError, match=r"dataset 'nobody/no-such-mmra'@v1: not a local path, and loading it"):
        load_dataset_samples("nobody/no-such-mmra@v1")


def test_duplicate_rows_get_distinct_ids(tmp_path):
    cols = mmra_rows(2)
    for key in cols:
        cols[key] = [cols[key][0], cols[key][0]]
    cols["id"] = [None, None]
    loaded = load_dataset_samples(write_parquet_release(tmp_path / "rel", cols))
    a, b = (s.id for s in loaded.samples)
    assert b == a + "~2"


def test_descriptions_file_errors(tmp_path):
    good = tmp_path / "d.jsonl"
    good.write_text(json.dumps({"id": "s1", "description1": "x", "description2": "y"}) + "\n")
    assert load_descriptions(good) == {"s1": {"image1": "x", "image2": "y"}}
    bad = tmp_path / "bad.jsonl"
    bad.write_text(json.dumps({"id": "s1", "description1": "x"}) + "\n")
    with pytest.raises(ValueError, match=r"bad.jsonl:1 \(id s1\): missing description2"):
        load_descriptions(bad)
