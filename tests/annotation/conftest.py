"""A real Label Studio server per test session (label-studio 1.23.2 from .venv-ls).

The first run migrates an account-less template database once (~25-60 s) under
.mmra/cache/ls-template-<version>/ (the same one `mmra annotate serve` uses); every server copies it, creates
its account on start and is healthy in a few seconds. The server's environment is scrubbed of HOST, PORT,
USERNAME, PASSWORD, DEBUG, CI (see mmra.annotation.server.server_env). When the server cannot start, the
tests fail (CI installs it with `make setup-ls`).
"""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest

from mmra.annotation.server import Connection, Credentials, build_template, start, stop, template_dir_for
from mmra.benchmark.schema import Candidate, Edge, ImageRef, Provenance
from mmra.config import LabelStudioConfig
from mmra.procs import free_port

REPO_ROOT = Path(__file__).resolve().parents[2]
LS_VENV = REPO_ROOT / ".venv-ls"
# test-only account of the throw-away servers (not a secret: they live in tmp dirs for one session)
TEST_CREDS = Credentials("admin@mmra.test", "mmra-test-password", "5f0c3e21a9d84b7e9a6f1c2d3b4a59687c6d5e4f")
ANNOTATOR_PASSWORD = "annotator-pass-1"


@pytest.fixture(scope="session")
def ls_template() -> Path:
    if not (LS_VENV / "bin" / "label-studio").exists():
        pytest.fail(f"Label Studio is not installed in {LS_VENV}: run `make setup-ls`")
    template = template_dir_for(REPO_ROOT / ".mmra" / "cache", LS_VENV)
    build_template(template, LS_VENV)
    return template


class LocalServer:
    """A server in its own data dir; `kill()` and `restart()` for the interruption test."""

    def __init__(self, data_dir: Path, template: Path) -> None:
        self.cfg = LabelStudioConfig(data_dir=data_dir, venv=LS_VENV, username=TEST_CREDS.username)
        self.template = template
        self.state = None
        self.conn: Connection | None = None

    def start(self) -> Connection:
        self.state, self.conn = start(self.cfg, creds=TEST_CREDS, port=free_port(), template_dir=self.template)
        return self.conn

    def kill(self) -> None:
        import os
        import signal

        os.killpg(self.state.pid, signal.SIGKILL)  # only the group this fixture started

    def stop(self) -> None:
        stop(self.cfg)


@pytest.fixture(scope="session")
def ls_server(ls_template, tmp_path_factory):
    server = LocalServer(tmp_path_factory.mktemp("ls-session"), ls_template)
    server.start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def ls(ls_server) -> Connection:
    return ls_server.conn


@pytest.fixture()
def project_name() -> str:
    return f"test-{uuid.uuid4().hex[:10]}"


@pytest.fixture(scope="session")
def annotators(ls):
    from mmra.annotation import create_annotator

    return [create_annotator(ls, f"annotator{i}@mmra.test", ANNOTATOR_PASSWORD) for i in (1, 2)]


@pytest.fixture()
def make_candidate(make_image):
    counter = iter(range(1, 100_000))

    def _make(subtask: str = "UsageSimilarity", question: str | None = None) -> Candidate:
        n = next(counter)
        img1 = make_image(f"pair{n}_1.png", color=(200, 30 + n % 200, 30), shape_seed=n)
        img2 = make_image(f"pair{n}_2.png", color=(30, 60, 200 - n % 150), shape_seed=n + 7)
        return Candidate(
            subtask=subtask, image1=ImageRef(path=str(img1), source="generated", licence="CC0-1.0"),
            image2=ImageRef(path=str(img2), source="generated", licence="CC0-1.0"),
            evidence=Provenance(edges=[Edge(relation="UsedFor", head="knife", tail="cut")],
                                entities={"image1": ["knife"], "image2": ["scissors"]}, miner="test"),
            suggested_question=question,
        )

    return _make


@pytest.fixture()
def on_session_server(ls_server, tmp_path, monkeypatch):
    """`mmra` commands aimed at the session's server (no second start: the 2-core machine is slow)."""
    (tmp_path / "mmra.toml").write_text(
        f'[label_studio]\ndata_dir = "{ls_server.cfg.data_dir}"\nvenv = "{LS_VENV}"\n'
        f'username = "{TEST_CREDS.username}"\n')
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("LABEL_STUDIO_API_KEY", TEST_CREDS.token)
    monkeypatch.setenv("LABEL_STUDIO_PASSWORD", TEST_CREDS.password)
    return ls_server
