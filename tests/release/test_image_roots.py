"""`mmra publish` applies the allowed image folders push and revise use (`benchmark/images.py: allowed_roots`):
an image outside `[paths].image_roots`, or reached through a symlink out of them, refuses the release with one
line naming the sample and the cause, and nothing is published."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from PIL import Image
from typer.testing import CliRunner

from mmra.benchmark.images import allowed_roots
from mmra.benchmark.records import write_jsonl
from mmra.benchmark.release import ReleaseInputError, publish
from mmra.benchmark.schema import ImageRef, LeakageVerdict
from mmra.cli import app

from .conftest import make_sample_records

CHECKED = LeakageVerdict(leaked=False, hits=0, models=["m"])


def _secret(folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "secret.png"
    Image.new("RGB", (90, 90), (1, 2, 3)).save(path)
    return path


@pytest.fixture()
def setup(tmp_path):
    """corpus/ holds the images (the configured root), work/ the samples file, outside/ a private image;
    returns (config file, samples with absolute paths into the corpus, tmp_path)."""
    corpus = tmp_path / "corpus"
    samples = [s.model_copy(update={
        "leakage": CHECKED,
        "image1": s.image1.model_copy(update={"path": str(corpus / s.image1.path)}),
        "image2": s.image2.model_copy(update={"path": str(corpus / s.image2.path)}),
    }) for s in make_sample_records(corpus, 6, flag_every=0)]
    (tmp_path / "work").mkdir()
    config = tmp_path / "mmra.toml"
    config.write_text(f'[paths]\nimage_roots = ["{corpus}"]\n')
    return config, samples, tmp_path


def _publish_cli(config: Path, samples_path: Path, store: Path, *extra: str):
    result = CliRunner().invoke(app, ["--config", str(config), "publish", "--samples", str(samples_path),
                                      "--version", "1.0.0", "--to", str(store), "--name", "roots",
                                      "--cards-dir", str(store.parent / "cards"), *extra])
    return result, " ".join(result.output.split())


def _with_image2(samples, index: int, path: Path):
    bad = samples[index].model_copy(update={"image2": ImageRef(path=str(path), source="attacker")})
    return [*samples[:index], bad, *samples[index + 1:]], bad


@pytest.mark.parametrize("how", ["outside", "symlink"])
def test_image_outside_the_roots_is_refused_and_nothing_published(setup, how):
    """An image outside the configured roots, or a symlink inside them to one: refused, nothing written."""
    config, samples, tmp = setup
    secret = _secret(tmp / "outside")
    target = secret
    if how == "symlink":
        target = tmp / "corpus" / "escape.png"
        target.symlink_to(secret)
    samples, bad = _with_image2(samples, 2, target)
    path = write_jsonl(tmp / "work" / "samples.jsonl", samples)
    result, text = _publish_cli(config, path, tmp / "store")
    assert result.exit_code == 2, text
    via = f" (via a symlink to {secret.resolve()})" if how == "symlink" else ""
    assert f"(id {bad.id}): image2 '{target}' lies outside the allowed image folders{via}" in text
    assert f"allowed: {(tmp / 'corpus').resolve()}" in text and "nothing was published" in text
    assert "Traceback" not in result.output
    assert not (tmp / "store").exists() and not (tmp / "cards").exists()  # refused before anything is written


def test_configured_roots_do_not_admit_the_samples_folder(setup):
    """With image_roots set, the samples file's own folder is not allowed as well (it is only the default)."""
    config, samples, tmp = setup
    beside = _secret(tmp / "work")
    samples, bad = _with_image2(samples, 0, beside)
    path = write_jsonl(tmp / "work" / "samples.jsonl", samples)
    result, text = _publish_cli(config, path, tmp / "store")
    assert result.exit_code == 2 and f"(id {bad.id}): image2 '{beside}' lies outside" in text


def test_images_inside_the_roots_publish_and_an_image_root_flag_widens_them(setup):
    config, samples, tmp = setup
    path = write_jsonl(tmp / "work" / "samples.jsonl", samples)
    result, text = _publish_cli(config, path, tmp / "store", "--allow-blind-gap")
    assert result.exit_code == 0, text
    assert (tmp / "store" / "roots" / "1.0.0" / "manifest.json").is_file()

    extra = _secret(tmp / "extra")
    samples, _ = _with_image2(samples, 1, extra)
    path = write_jsonl(tmp / "work" / "more.jsonl", samples)
    result, text = _publish_cli(config, path, tmp / "store2", "--allow-blind-gap", "--image-root",
                                str(tmp / "extra"))
    assert result.exit_code == 0, text


def test_library_publish_takes_the_roots_as_values(setup):
    _, samples, tmp = setup
    secret = _secret(tmp / "outside")
    samples, bad = _with_image2(samples, 4, secret)
    path = write_jsonl(tmp / "work" / "samples.jsonl", samples)
    roots = allowed_roots(path, configured=[tmp / "corpus"])
    with pytest.raises(ReleaseInputError) as info:
        publish(path, "1.0.0", tmp / "store", name="lib", roots=roots, show_progress=False)
    assert f"(id {bad.id}): image2 '{secret}' lies outside the allowed image folders" in str(info.value)
    assert not (tmp / "store" / "lib" / "1.0.0").exists()


def test_default_roots_are_the_samples_folder_when_none_are_configured(tmp_path):
    work = tmp_path / "work"
    work.mkdir()
    assert allowed_roots(work / "samples.jsonl") == (work.resolve(),)
    assert allowed_roots(work / "samples.jsonl", configured=[tmp_path]) == (tmp_path.resolve(),)
    assert allowed_roots(None) == ()  # a Hub dataset: no folder of its own


def test_overlong_release_name_is_one_line(setup):
    config, samples, tmp = setup
    path = write_jsonl(tmp / "work" / "samples.jsonl", samples)
    result, text = _publish_cli(config, path, tmp / "store", "--name", "n" * 300)
    assert result.exit_code == 2, text
    assert "is 300 characters; use at most 96" in text and "Traceback" not in result.output
    assert len(result.output.strip().splitlines()) == 1
    assert not (tmp / "store").exists()


def test_a_stage_record_names_the_roots_of_its_own_files_only(tmp_path):
    """`record_roots` / `recorded_roots`: the folders a stage applied, recorded per file it wrote; another
    file in the folder keeps its own entry (or none), and a record that cannot be read is ignored."""
    from mmra.benchmark.images import ROOTS_RECORD, record_roots, recorded_roots

    corpus, other, out = tmp_path / "corpus", tmp_path / "other", tmp_path / "out"
    for folder in (corpus, other, out):
        folder.mkdir()
    record_roots([out / "samples.jsonl", out / "flagged.jsonl"], [corpus.resolve()], written_by="mmra leakage",
                 source=str(tmp_path / "in.jsonl"))
    record_roots([out / "pulled.jsonl"], [other.resolve()], written_by="mmra annotate pull", source="project p")
    assert allowed_roots(out / "samples.jsonl") == (corpus.resolve(),)  # not OUT itself
    assert allowed_roots(out / "flagged.jsonl") == (corpus.resolve(),)
    assert allowed_roots(out / "pulled.jsonl") == (other.resolve(),)
    assert allowed_roots(out / "hand-made.jsonl") == (out.resolve(),)  # no entry: the default rule
    # flags and configured folders are added to a record, as to curate's report
    assert set(allowed_roots(out / "samples.jsonl", configured=[other])) == {corpus.resolve(), other.resolve()}
    assert recorded_roots(out) == []  # a folder source: only curate's report applies

    record = out / ROOTS_RECORD
    for hostile in ("[" * 100_000, "not json", '["a list"]', '{"files": ["samples.jsonl"]}',
                    '{"files": {"samples.jsonl": {"image_roots": "/"}}}', '{"files": {"samples.jsonl": 7}}'):
        record.write_text(hostile)
        assert allowed_roots(out / "samples.jsonl") == (out.resolve(),), hostile
    record.write_text(json.dumps({"files": {"samples.jsonl": {"image_roots": [1, None, str(corpus), "/no/such"]}}}))
    assert allowed_roots(out / "samples.jsonl") == (corpus.resolve(),)
    # a record that cannot be parsed is replaced, not merged into, by the next stage
    record.write_text("{")
    record_roots([out / "samples.jsonl"], [], written_by="mmra leakage", source=None)
    assert json.loads(record.read_text())["files"] == {
        "samples.jsonl": {"image_roots": [], "written_by": "mmra leakage", "input": None}}
