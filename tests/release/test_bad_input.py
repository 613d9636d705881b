"""Bad input stops the release, names the sample, and leaves nothing half published."""

from __future__ import annotations

import json
import os
import resource
import signal
import subprocess
import sys
import textwrap

import pytest
from typer.testing import CliRunner

from mmra.benchmark.records import write_jsonl
from mmra.benchmark.release import ReleaseInputError, ReleaseStore, load_release, publish
from mmra.cli import app


def _store_is_empty_of(store, name="bench", version="1.0.0"):
    base = store / name
    assert not (base / version).exists()
    assert not list(base.glob(".tmp-*")) if base.exists() else True


def _records(path):
    return [json.loads(line) for line in path.read_text().splitlines()]


def test_sample_without_image(tmp_path, samples_file):
    path, samples = samples_file(5)
    recs = _records(path)
    del recs[3]["image2"]
    path.write_text("".join(json.dumps(r) + "\n" for r in recs))
    with pytest.raises(ReleaseInputError, match=rf"samples.jsonl:4 \(id {samples[3].id}\): image2: Field required"):
        publish(path, "1.0.0", tmp_path / "store", name="bench", show_progress=False)
    _store_is_empty_of(tmp_path / "store")


def test_mmra_row_without_image(tmp_path, make_image):
    make_image("a.png")
    row = {"Task": "SubEvent", "QA_type": "True or false QA", "question": "Q?", "image1": "a.png", "answer": "Yes"}
    src = tmp_path / "mmra.jsonl"
    src.write_text(json.dumps(row) + "\n")
    with pytest.raises(ReleaseInputError, match=r"mmra.jsonl:1: image2: missing image"):
        publish(src, "1.0.0", tmp_path / "store", name="bench", show_progress=False)
    _store_is_empty_of(tmp_path / "store")


@pytest.mark.parametrize("damage", ["garbage", "truncated", "missing"])
def test_unreadable_image_names_the_sample(tmp_path, samples_file, damage):
    path, samples = samples_file(6)
    bad = samples[4]
    img = tmp_path / bad.image2.path
    if damage == "garbage":
        img.write_bytes(b"this is not an image at all")
    elif damage == "truncated":
        img.write_bytes(img.read_bytes()[: len(img.read_bytes()) // 2])
    else:
        img.unlink()
    expected = {"garbage": "is not a readable image", "truncated": "is not a readable image",
                "missing": "does not exist"}[damage]
    with pytest.raises(ReleaseInputError) as info:
        publish(path, "1.0.0", tmp_path / "store", name="bench", show_progress=False)
    msg = str(info.value)
    # the reader anchors the path to the file's folder: the message names the file wherever publish ran
    assert f"id {bad.id}): image2 '{path.resolve().parent / bad.image2.path}' {expected}" in msg
    assert "nothing was published" in msg
    _store_is_empty_of(tmp_path / "store")


def test_image_changed_since_curation(tmp_path, samples_file):
    path, samples = samples_file(2)
    s = samples[1]
    pinned = s.model_copy(update={"image1": s.image1.model_copy(update={"sha256": "0" * 64})})
    write_jsonl(path, [samples[0], pinned])
    with pytest.raises(ReleaseInputError, match=rf"id {s.id}\): image1 .* changed since it was curated"):
        publish(path, "1.0.0", tmp_path / "store", name="bench", show_progress=False)


@pytest.mark.parametrize("version", ["1.0", "v1", "latest", "1.0.0.0", "01.0.0", ""])
def test_non_semver_version_is_refused_before_reading(tmp_path, samples_file, version):
    path, _ = samples_file(2)
    with pytest.raises(ReleaseInputError, match="is not a semantic version"):
        publish(path, version, tmp_path / "store", name="bench", show_progress=False)
    assert not (tmp_path / "store").exists()


def test_duplicate_id_names_both_lines(tmp_path, samples_file):
    path, samples = samples_file(4)
    write_jsonl(path, [*samples, samples[1]])
    with pytest.raises(ReleaseInputError, match=rf"samples.jsonl:5 \(id {samples[1].id}\): duplicate id .* \(first at samples.jsonl:2\)"):
        publish(path, "1.0.0", tmp_path / "store", name="bench", show_progress=False)
    _store_is_empty_of(tmp_path / "store")


def test_cli_reports_bad_input_in_one_line_with_exit_2(tmp_path, samples_file):
    path, samples = samples_file(3)
    (tmp_path / samples[2].image1.path).write_bytes(b"junk")
    result = CliRunner().invoke(app, ["publish", "--samples", str(path), "--version", "1.0.0",
                                      "--to", str(tmp_path / "store"), "--cards-dir", str(tmp_path / "cards")])
    assert result.exit_code == 2, result.output
    output = "".join(result.output.split())  # rich wraps long lines, a long path too
    bad = path.resolve().parent / samples[2].image1.path  # the reader anchors it to the file's folder
    assert "".join(f"id {samples[2].id}): image1 '{bad}' is not a readable image".split()) in output
    assert "Traceback" not in result.output
    _store_is_empty_of(tmp_path / "store", name="mmra")
    assert not (tmp_path / "cards").exists()
    bad_version = CliRunner().invoke(app, ["publish", "--samples", str(path), "--version", "one",
                                           "--to", str(tmp_path / "store")])
    assert bad_version.exit_code == 2 and "not a semantic version" in bad_version.output


def test_crash_mid_publish_leaves_earlier_versions_and_no_half_version(tmp_path, samples_file):
    """A real crash: the publishing process is killed by the kernel (SIGXFSZ) while writing parquet."""
    path, samples = samples_file(10, flag_every=0)  # every sample in the default config
    store = tmp_path / "store"
    first = publish(path, "1.0.0", store, name="bench", show_progress=False)
    before = {p: p.read_bytes() for p in first.path.rglob("*") if p.is_file()}
    path2 = write_jsonl(tmp_path / "v2.jsonl", samples[:8])
    script = textwrap.dedent(f"""
        import signal, sys
        from mmra.benchmark.release import publish
        if sys.argv[1] == "hard":  # die like any process the kernel kills (CPython ignores SIGXFSZ by default)
            signal.signal(signal.SIGXFSZ, signal.SIG_DFL)
        publish({str(path2)!r}, "1.1.0", {str(store)!r}, name="bench", show_progress=False)
    """)

    def limit_file_size():
        resource.setrlimit(resource.RLIMIT_FSIZE, (8_000, 8_000))  # smaller than one parquet shard

    def run(mode):
        return subprocess.run([sys.executable, "-c", script, mode], preexec_fn=limit_file_size,
                              capture_output=True, text=True, timeout=120, env={**os.environ})

    st = ReleaseStore(store)
    # 1. the write fails with an error (EFBIG): the temp folder is removed on the way out
    soft = run("soft")
    assert soft.returncode == 1 and "File too large" in soft.stderr, soft.stderr[-2000:]
    assert st.versions("bench") == ["1.0.0"] and not list((store / "bench").glob(".tmp-*"))
    # 2. the process is killed mid-write: no cleanup code runs at all
    hard = run("hard")
    assert hard.returncode == -signal.SIGXFSZ, hard.stderr[-2000:]
    assert st.versions("bench") == ["1.0.0"]  # no half 1.1.0 visible
    assert not (store / "bench" / "1.1.0").exists()
    assert list((store / "bench").glob(".tmp-1.1.0-*"))  # the crashed build's hidden leftovers
    assert {p: p.read_bytes() for p in first.path.rglob("*") if p.is_file()} == before
    assert len(load_release(str(store / "bench"))) == 10
    # the next publish cleans up and succeeds
    again = publish(path2, "1.1.0", store, name="bench", show_progress=False)
    assert again.status == "published" and st.versions("bench") == ["1.0.0", "1.1.0"]
    assert not list((store / "bench").glob(".tmp-*"))


@pytest.mark.parametrize("damage", ["one-pixel", "144-megapixel", "system-file"])
def test_publish_applies_the_image_check_curate_uses(tmp_path, samples_file, damage):
    """Issue 12: publish used to accept a 1x1 PNG and a 144-megapixel PNG that curate rejects."""
    from PIL import Image

    path, samples = samples_file(6)
    bad = samples[3]
    img = tmp_path / bad.image1.path
    if damage == "one-pixel":
        img.unlink()
        Image.new("RGB", (1, 1)).save(img, format="PNG" if img.suffix == ".png" else "JPEG")
        expected = "smaller than 64 pixels"
    elif damage == "144-megapixel":
        img.unlink()
        Image.new("1", (12_000, 12_000)).save(img.with_suffix(".png"))
        img.with_suffix(".png").rename(img)
        expected = "pixel"
    else:
        img.unlink()
        img.symlink_to("/proc/self/environ")
        expected = "system file"
    with pytest.raises(ReleaseInputError) as info:
        publish(path, "1.0.0", tmp_path / "store", name="bench", show_progress=False)
    msg = " ".join(str(info.value).split())
    assert f"id {bad.id}): image1" in msg and expected in msg and "nothing was published" in msg
    _store_is_empty_of(tmp_path / "store")
