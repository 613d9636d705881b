"""The demo's workspace handling: it never deletes a folder it did not create, and --fresh starts over."""

from __future__ import annotations

import pytest

from mmra.demo.run import MARKER, ls_config, prepare_workspace, write_workspace_config
from mmra.errors import MMRAError


def test_refuses_a_folder_that_is_not_a_demo_workspace(tmp_path):
    (tmp_path / "precious.txt").write_text("keep me")
    with pytest.raises(MMRAError, match="not an mmra demo workspace"):
        prepare_workspace(tmp_path, fresh=True)
    assert (tmp_path / "precious.txt").read_text() == "keep me"


def test_fresh_deletes_only_a_marked_workspace(tmp_path):
    ws = tmp_path / "demo"
    prepare_workspace(ws, fresh=False)
    assert (ws / MARKER).exists()
    (ws / "curation").mkdir()
    (ws / "curation" / "candidates.jsonl").write_text("{}\n")
    prepare_workspace(ws, fresh=False)  # a re-run keeps what is there
    assert (ws / "curation" / "candidates.jsonl").exists()
    prepare_workspace(ws, fresh=True)
    assert (ws / MARKER).exists() and not (ws / "curation").exists()


def test_workspace_config_reopens_the_demo_label_studio_without_secrets(tmp_path, monkeypatch):
    from mmra.config import load_config

    prepare_workspace(tmp_path, fresh=False)
    cfg = ls_config(tmp_path, port=18089)
    path = write_workspace_config(tmp_path, cfg)
    text = path.read_text()
    assert "password" not in text.lower() and "token" not in text.lower()
    monkeypatch.setenv("MMRA_CONFIG", str(path))
    loaded = load_config().label_studio
    assert loaded.data_dir == tmp_path.resolve() / "label-studio" and loaded.port == 18089


def test_a_rerun_with_other_content_options_is_refused_unless_fresh(tmp_path):
    prepare_workspace(tmp_path, fresh=False, fixed={"per_subtask": 5, "llm": "qwen2.5-1.5b"})
    prepare_workspace(tmp_path, fresh=False, fixed={"per_subtask": 5, "llm": "qwen2.5-1.5b"})
    with pytest.raises(MMRAError, match="per_subtask 5 -> 3.*--fresh"):
        prepare_workspace(tmp_path, fresh=False, fixed={"per_subtask": 3, "llm": "qwen2.5-1.5b"})
    prepare_workspace(tmp_path, fresh=True, fixed={"per_subtask": 3, "llm": "qwen2.5-1.5b"})
