"""`mmra publish` given a folder as --samples: the message names it and says why."""

from __future__ import annotations

from typer.testing import CliRunner

from mmra.cli import app


def test_samples_folder_is_named_as_a_folder(tmp_path):
    result = CliRunner().invoke(app, ["publish", "--samples", str(tmp_path), "--version", "1.0.0",
                                      "--to", str(tmp_path / "store")])
    output = " ".join(result.output.split())
    assert result.exit_code == 2, result.output
    assert f"samples file {tmp_path} is a folder, not a JSONL file" in output
    assert "Traceback" not in result.output
    assert not (tmp_path / "store").exists()
