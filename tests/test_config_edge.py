"""Config is read once, at the command-line edge: `mmra --config FILE` (or $MMRA_CONFIG) for every command,
and no library module reads it."""

from __future__ import annotations

import ast
from pathlib import Path

from typer.testing import CliRunner

from mmra.cli import app

ROOT = Path(__file__).resolve().parents[1]
CODE = ("annotation", "benchmark", "curation", "eval", "mmra")


def _text(result) -> str:
    return " ".join(result.output.split())


def test_root_config_flag_and_env_reach_the_command(tmp_path, monkeypatch):
    store = tmp_path / "my-store"
    cfg = tmp_path / "team.toml"
    cfg.write_text(f'[paths]\nreleases = "{store}"\n')
    monkeypatch.chdir(tmp_path)  # no ./mmra.toml here
    assert f"no releases in {store}" in _text(CliRunner().invoke(app, ["--config", str(cfg), "releases"]))
    monkeypatch.setenv("MMRA_CONFIG", str(cfg))
    assert f"no releases in {store}" in _text(CliRunner().invoke(app, ["releases"]))
    monkeypatch.delenv("MMRA_CONFIG")
    # the next command without the flag is back to the defaults: nothing leaks between invocations
    assert "no releases in mmra-workspace/releases" in _text(CliRunner().invoke(app, ["releases"]))


def test_a_bad_config_file_is_one_line(tmp_path):
    missing = CliRunner().invoke(app, ["--config", str(tmp_path / "nope.toml"), "releases"])
    assert missing.exit_code == 2 and "does not exist" in _text(missing) and "Traceback" not in missing.output
    secret = tmp_path / "secret.toml"
    secret.write_text('[llm]\napi_key = "sk-123"\n')
    refused = CliRunner().invoke(app, ["--config", str(secret), "releases"])
    assert refused.exit_code == 2 and "secrets do not belong in the config file" in _text(refused)
    assert "sk-123" not in refused.output


def test_only_the_config_module_calls_load_config():
    callers = []
    for folder in CODE:
        for path in (ROOT / folder).rglob("*.py"):
            tree = ast.parse(path.read_text(encoding="utf-8"))
            for node in ast.walk(tree):
                if isinstance(node, ast.Call) and getattr(node.func, "id", getattr(node.func, "attr", None)) == "load_config":
                    callers.append(str(path.relative_to(ROOT)))
    assert set(callers) == {"mmra/config.py"}, callers
