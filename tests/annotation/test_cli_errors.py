"""`mmra annotate push` on bad input or an unreachable server: one clear line, no traceback."""

from __future__ import annotations

import socket

from typer.testing import CliRunner

from mmra.cli import app


def _closed_port() -> int:
    with socket.socket() as s:  # bound then closed: nothing listens there
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _push(candidates, monkeypatch, tmp_path, project="audit-project"):
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(app, ["annotate", "push", "--candidates", str(candidates), "--project", project])
    return result, " ".join(result.output.split())


def test_candidates_folder_is_named_as_a_folder(tmp_path, monkeypatch):
    folder = tmp_path / "cands"
    folder.mkdir()
    result, output = _push(folder, monkeypatch, tmp_path)
    assert result.exit_code == 2, result.output
    assert f"candidates file {folder} is a folder, not a JSONL file" in output
    assert "Traceback" not in result.output


def test_unreachable_remote_server_names_the_url(tmp_path, monkeypatch):
    port = _closed_port()
    config = tmp_path / "mmra.toml"
    config.write_text(f'[label_studio]\nurl = "http://127.0.0.1:{port}"\n')
    monkeypatch.setenv("MMRA_CONFIG", str(config))
    monkeypatch.setenv("LABEL_STUDIO_API_KEY", "not-a-real-token")
    candidates = tmp_path / "candidates.jsonl"
    candidates.write_text("")
    result, output = _push(candidates, monkeypatch, tmp_path)
    assert result.exit_code == 1, result.output
    assert f"cannot reach Label Studio at http://127.0.0.1:{port}" in output
    assert "Traceback" not in result.output
