"""`mmra annotate serve/status/push/pull/revise` through the real command line."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from mmra.annotation import QAContent, annotate, create_annotator
from mmra.benchmark.records import read_jsonl, write_jsonl
from mmra.benchmark.schema import Sample
from mmra.cli import app
from mmra.procs import free_port

from .conftest import ANNOTATOR_PASSWORD, LS_VENV, TEST_CREDS

pytestmark = pytest.mark.labelstudio


@pytest.fixture()
def workspace(tmp_path, ls_template, monkeypatch):
    data_dir = tmp_path / "ls-data"
    # the cache holding the migrated template (the ls_template fixture built it): serve starts in seconds
    (tmp_path / "mmra.toml").write_text(
        f'[paths]\ncache = "{ls_template.parent}"\n'
        f'[label_studio]\ndata_dir = "{data_dir}"\nvenv = "{LS_VENV}"\nport = {free_port()}\n'
        f'username = "{TEST_CREDS.username}"\nimport_batch_size = 2\n')
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("LABEL_STUDIO_API_KEY", TEST_CREDS.token)
    monkeypatch.setenv("LABEL_STUDIO_PASSWORD", TEST_CREDS.password)
    monkeypatch.setenv("CI", "true")  # must not reach the server (it would change its settings)
    yield tmp_path
    CliRunner().invoke(app, ["annotate", "serve", "--stop"])


def _run(*args):
    result = CliRunner().invoke(app, ["annotate", *args])
    result.text = " ".join(result.output.split())  # rich wraps lines at the terminal width
    return result


def test_cli_serve_push_pull_revise_stop(workspace, make_candidate):
    result = _run("serve")
    assert result.exit_code == 0, result.text
    assert "serves at" in result.text and TEST_CREDS.token not in result.text
    log = (workspace / "ls-data" / "server.log").read_text()
    assert TEST_CREDS.token not in log and TEST_CREDS.password not in log

    cands = [make_candidate("UsageSimilarity") for _ in range(3)]
    write_jsonl(workspace / "candidates.jsonl", cands)
    result = _run("push", "-c", "candidates.jsonl", "-p", "cli project")
    assert result.exit_code == 0, result.text
    assert "3 new" in result.text
    result = _run("push", "-c", "candidates.jsonl", "-p", "cli project")
    assert "0 new" in result.text and "3 unchanged" in result.text

    from mmra.annotation.server import connection
    from mmra.config import load_config

    conn = connection(load_config())
    people = [create_annotator(conn, f"cli{i}@mmra.test", ANNOTATOR_PASSWORD) for i in (1, 2)]
    for who in people:
        for cand in cands[:2]:
            annotate(who, "cli project", cand.id, QAContent("multiple_choice", "What are both for?",
                                                              ["cutting", "eating", "flying"], "A"))
    result = _run("status", "-p", "cli project")
    assert "3 tasks, 2 with annotations, 4 annotations" in result.text

    result = _run("pull", "-p", "cli project", "-o", "samples.jsonl")
    assert result.exit_code == 0, result.text
    assert "2 samples" in result.text and "1 pending" in result.text
    samples = read_jsonl(workspace / "samples.jsonl", Sample)
    assert len(samples) == 2 and (workspace / "samples.report.json").exists()
    assert (workspace / "samples.agreement.png").read_bytes()[:4] == b"\x89PNG"

    result = _run("revise", "-f", "samples.jsonl", "-p", "cli project")
    assert result.exit_code == 1 and "none of the samples" in result.text  # nothing flagged: said, not ignored

    result = _run("push", "-c", "missing.jsonl", "-p", "cli project")
    assert result.exit_code == 2 and "missing.jsonl does not exist" in result.text

    result = _run("serve", "--stop")
    assert result.exit_code == 0 and "stopped" in result.text
    result = _run("pull", "-p", "cli project", "-o", "x.jsonl")
    assert result.exit_code == 1 and "no Label Studio server is running" in result.text


def test_exported_functions_survive_submodule_imports():
    """`from mmra.annotation import push` gives the function even after the `push` submodule was imported."""
    import inspect

    import mmra.annotation.pull_samples  # noqa: F401  (imports .push as a side effect)
    from mmra.annotation import pull, push, revise

    assert all(inspect.isfunction(f) for f in (push, pull, revise))
