"""`mmra diff` compares what a benchmark user sees, row by row, and refuses a release whose files do not match
its manifest. Releases are made with `mmra publish`; the edits are made to their parquet files with pyarrow,
as someone changing a published release in place would."""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

from mmra.benchmark.release.digest import fingerprint, sort_key
from mmra.benchmark.release.load import load_release
from mmra.cli import app

runner = CliRunner()


@pytest.fixture()
def release(tmp_path, samples_file):
    """A published release (12 samples, two of them in the `flagged` config; the fixture leaves half of them
    without a leakage check, hence --publish-unchecked): its version folder."""
    path, _ = samples_file(12)
    store = tmp_path / "store"
    r = runner.invoke(app, ["publish", "--samples", str(path), "--version", "1.0.0", "--to", str(store),
                            "--name", "bench", "--cards-dir", str(tmp_path / "cards"), "--keep-option-order",
                            "--probe-embedder", "none", "--publish-unchecked"])
    assert r.exit_code == 0, r.output
    return store / "bench" / "1.0.0"


def edited_copy(version_dir: Path, edit, *, reseal: bool) -> tuple[Path, Path]:
    """A copy of the release with `edit(rows)` applied to its first data file. `reseal` also rewrites the
    manifest's sha256 and fingerprint to match, as a release made some other way would be (so only the
    row-by-row comparison can tell what changed). Returns (version folder, edited parquet file)."""
    copy = version_dir.parent.parent.parent / "edited" / "bench" / "1.0.0"
    shutil.copytree(version_dir, copy)
    for p in copy.rglob("*"):
        p.chmod(0o755 if p.is_dir() else 0o644)
    manifest = json.loads((copy / "manifest.json").read_text())
    entry = manifest["data_files"][0]
    target = copy / entry["path"]
    table = pq.read_table(target)
    rows = table.to_pylist()
    edit(rows)
    pq.write_table(pa.Table.from_pylist(rows, schema=table.schema), target)
    if reseal:
        entry["sha256"] = hashlib.sha256(target.read_bytes()).hexdigest()
        every = [r for f in (*manifest["data_files"], *manifest["flagged_files"])
                 for r in pq.read_table(copy / f["path"]).to_pylist()]
        manifest["fingerprint"] = fingerprint(sorted(every, key=sort_key))
        (copy / "manifest.json").write_text(json.dumps(manifest, indent=2))
    return copy, target


def _flip_answer(rows):
    row = rows[0]
    row["answer"] = ("No" if row["answer"] == "Yes" else "Yes") if row["answer"] in ("Yes", "No") \
        else ("B" if row["answer"] == "A" else "A")


def _change_option(rows):
    row = next(r for r in rows if r["options"])
    row["options"] = row["options"].replace("option 0", "option zero")
    row["options_list"] = [o.replace("option 0", "option zero") for o in row["options_list"]]


def _add_row(rows):
    extra = dict(rows[0], id="s-added-by-hand", question="A question nobody reviewed?")
    rows.append(extra)


def _change_image_byte(rows):
    data = bytearray(rows[0]["image1"]["bytes"])
    data[len(data) // 2] ^= 0xFF
    rows[0]["image1"] = dict(rows[0]["image1"], bytes=bytes(data))


def _diff(a: Path, b: Path, *extra: str):
    return runner.invoke(app, ["diff", str(a), str(b), *extra])


@pytest.mark.parametrize("edit", [_flip_answer, _change_option, _add_row, _change_image_byte],
                         ids=["answer", "option", "added-row", "image-byte"])
def test_an_edited_parquet_is_reported_as_tampered_not_diffed(release, edit):
    copy, target = edited_copy(release, edit, reseal=False)
    for args in ((release, copy), (copy, release)):
        r = _diff(*args)
        assert r.exit_code == 2, r.output
        lines = r.output.strip().splitlines()
        assert lines == [f"error: {target}: does not match its manifest sha256; the release was tampered with "
                         "after publishing"]
    # eval and load refuse it through the same check
    with pytest.raises(ValueError, match="tampered"):
        load_release(str(copy))


def test_an_edited_manifest_fingerprint_is_reported_as_tampered(release):
    copy = release.parent.parent.parent / "edited" / "bench" / "1.0.0"
    shutil.copytree(release, copy)
    manifest_path = copy / "manifest.json"
    manifest_path.chmod(0o644)
    manifest = json.loads(manifest_path.read_text())
    manifest["fingerprint"] = "sha256:" + "0" * 64
    manifest_path.write_text(json.dumps(manifest, indent=2))
    r = _diff(release, copy, "--json")
    assert r.exit_code == 2 and r.stdout == ""
    assert r.output.strip().splitlines() == [
        f"error: {manifest_path}: its fingerprint does not match the release's rows; the release was tampered "
        "with after publishing"]
    with pytest.raises(ValueError, match="fingerprint does not match"):
        load_release(str(copy))


def test_image_bytes_that_differ_from_their_recorded_sha256_are_tampered(release):
    """Resealing the files is not enough: each image must match the sha256 its row records."""
    copy, target = edited_copy(release, _change_image_byte, reseal=True)
    sid = pq.read_table(target, columns=["id"]).column("id")[0].as_py()
    r = _diff(release, copy)
    assert r.exit_code == 2
    assert r.output.strip().splitlines() == [
        f"error: {target}: image1 of sample {sid} does not match its image1_sha256; the release was tampered "
        "with after publishing"]


def _json_diff(a: Path, b: Path) -> dict:
    r = _diff(a, b, "--json")
    assert r.exit_code == 0, r.output
    return json.loads(r.stdout)


def _changed(d: dict) -> dict[str, list[str]]:
    return {sid: f for t in d["subtasks"].values() for sid, f in t["changed"].items()}


def test_content_is_compared_field_by_field_not_by_the_stored_content_hash(release):
    """A release whose manifest matches its files but whose content_hash column was left as it was: the
    changed answer, option and image still show, per row, by id."""
    first = pq.read_table(release / json.loads((release / "manifest.json").read_text())["data_files"][0]["path"],
                          columns=["id", "options"]).to_pylist()
    with_options = next(r["id"] for r in first if r["options"])

    copy, _ = edited_copy(release, _flip_answer, reseal=True)
    d = _json_diff(release, copy)
    assert _changed(d) == {first[0]["id"]: ["answer"]}
    assert d["totals"] == {"added": 0, "removed": 0, "changed": 1, "metadata_changed": 0, "unchanged": 11}
    table = _diff(release, copy)
    assert table.exit_code == 0 and f"changed {first[0]['id']}: answer" in table.stdout.splitlines()
    shutil.rmtree(copy.parent.parent)

    copy, _ = edited_copy(release, _change_option, reseal=True)
    assert _changed(_json_diff(release, copy)) == {with_options: ["options"]}
    shutil.rmtree(copy.parent.parent)

    def new_image(rows):  # another image, its sha256 recorded: a real image change
        _change_image_byte(rows)
        rows[0]["image1_sha256"] = hashlib.sha256(rows[0]["image1"]["bytes"]).hexdigest()

    copy, _ = edited_copy(release, new_image, reseal=True)
    assert _changed(_json_diff(release, copy)) == {first[0]["id"]: ["image1_sha256"]}


def test_added_and_removed_rows_are_reported_by_id(release):
    copy, _ = edited_copy(release, _add_row, reseal=True)
    d = _json_diff(release, copy)
    assert [sid for t in d["subtasks"].values() for sid in t["added"]] == ["s-added-by-hand"]
    assert d["totals"]["added"] == 1 and d["totals"]["unchanged"] == 12
    back = _json_diff(copy, release)
    assert [sid for t in back["subtasks"].values() for sid in t["removed"]] == ["s-added-by-hand"]
    table = _diff(copy, release)
    assert table.exit_code == 0
    assert any(line.startswith("removed s-added-by-hand (") for line in table.stdout.splitlines())


def test_a_duplicated_id_is_refused_not_hidden(release):
    """A second row with an existing id would replace the first in an index by id; it is named instead."""
    def duplicate(rows):
        rows.append(dict(rows[0], answer="changed in the copy"))

    copy, target = edited_copy(release, duplicate, reseal=True)
    sid = pq.read_table(target, columns=["id"]).column("id")[0].as_py()
    r = _diff(release, copy)
    assert r.exit_code == 2
    assert r.output.strip().splitlines() == [f"error: {target}: sample id {sid!r} appears more than once"]


def test_identical_content_is_reported_as_no_change(release):
    copy = release.parent.parent.parent / "same" / "bench" / "1.0.0"
    shutil.copytree(release, copy)
    r = _diff(release, copy)
    assert r.exit_code == 0 and "no sample added, removed or changed" in r.stdout
