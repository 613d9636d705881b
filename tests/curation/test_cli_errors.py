"""`mmra curate` on bad inputs: one clear line naming the item and the cause, exit != 0, no traceback."""

from __future__ import annotations

from typer.testing import CliRunner

from mmra.cli import app


def _ckbc(tmp_path):
    path = tmp_path / "cn.tsv"
    path.write_text("IsA\tcat\tanimal\t1.0\nAtLocation\tcat\thouse\t1.0\n", encoding="utf-8")
    return path


def _curate(*args):
    result = CliRunner().invoke(app, ["curate", "--no-progress", *map(str, args)])
    return result, " ".join(result.output.split())  # rich wraps long lines


def test_empty_manifest_is_named_as_empty(tmp_path):
    manifest = tmp_path / "images.jsonl"
    manifest.write_text("")
    result, output = _curate("--conceptnet", _ckbc(tmp_path), "--manifest", manifest, "--out", tmp_path / "out")
    assert result.exit_code == 1, result.output
    assert "images.jsonl: manifest file is empty" in output
    assert "Traceback" not in result.output
    assert not (tmp_path / "out" / "candidates.jsonl").exists()


def test_folders_given_as_files_say_so(tmp_path):
    folder = tmp_path / "somedir"
    folder.mkdir()
    result, output = _curate("--conceptnet", folder, "--manifest", folder, "--out", tmp_path / "out")
    assert result.exit_code == 1, result.output
    assert f"ConceptNet file {folder} is a folder, not a file" in output
    result, output = _curate("--conceptnet", _ckbc(tmp_path), "--manifest", folder, "--out", tmp_path / "out")
    assert result.exit_code == 1, result.output
    assert f"{folder}: manifest is a folder, not a JSONL file" in output
    assert "Traceback" not in result.output
