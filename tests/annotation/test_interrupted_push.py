"""SIGKILL the server while an import request is in flight, restart it, re-run the push: 0 duplicates, 0 missing."""

from __future__ import annotations

import sqlite3
import threading
from collections import Counter

import pytest

from mmra.annotation import push
from mmra.annotation.project import Project
from mmra.benchmark.schema import Candidate, ImageRef
from mmra.errors import MMRAError

pytestmark = pytest.mark.labelstudio

N_TASKS = 600
BATCH = 100
KILL_IN_BATCH = 3


@pytest.fixture()
def own_server(ls_template, tmp_path):
    from .conftest import LocalServer

    server = LocalServer(tmp_path / "ls", ls_template)
    server.start()
    yield server
    server.stop()


def _candidates(tmp_path, n):
    from PIL import Image

    folder = tmp_path / "imgs"
    folder.mkdir()
    cands = []
    for i in range(n):
        paths = []
        for side in (1, 2):
            p = folder / f"{i}_{side}.png"
            Image.new("RGB", (64, 64), (i % 256, i // 256, side * 100)).save(p)
            paths.append(str(p))
        cands.append(Candidate(subtask="SimilarEvent", image1=ImageRef(path=paths[0]), image2=ImageRef(path=paths[1])))
    return cands


def test_kill_during_push_then_rerun_completes_without_duplicates(own_server, tmp_path, monkeypatch):
    cands = _candidates(tmp_path, N_TASKS)
    real_import = Project.import_batch
    calls = {"n": 0}

    def import_then_kill(self, tasks):
        calls["n"] += 1
        if calls["n"] == KILL_IN_BATCH:  # SIGKILL lands while this request is being processed
            threading.Timer(0.03, own_server.kill).start()
        return real_import(self, tasks)

    monkeypatch.setattr(Project, "import_batch", import_then_kill)
    with pytest.raises(MMRAError, match="interrupted at batch 3 of 6.*run the same push again"):
        push(own_server.conn, cands, "interrupted", batch_size=BATCH, show_progress=False)
    monkeypatch.setattr(Project, "import_batch", real_import)

    db = own_server.cfg.data_dir.resolve() / "label_studio.sqlite3"
    with sqlite3.connect(db) as con:
        assert con.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        landed = con.execute("SELECT count(*) FROM task").fetchone()[0]
    assert 2 * BATCH <= landed <= 3 * BATCH < N_TASKS  # stopped mid-push; the in-flight batch is all or nothing

    conn = own_server.start()  # same data dir, new process
    report = push(conn, cands, "interrupted", batch_size=BATCH, show_progress=False)
    assert report.created == N_TASKS - landed
    assert report.unchanged == landed and report.duplicates_removed == 0

    project = Project.open(conn, "interrupted")
    ids = [t.data["external_id"] for t in project.tasks()]
    project.close()
    assert len(ids) == N_TASKS
    assert [k for k, v in Counter(ids).items() if v > 1] == []
    assert set(ids) == {c.id for c in cands}
    assert push(conn, cands, "interrupted", batch_size=BATCH, show_progress=False).created == 0


def test_rerun_removes_duplicates_left_by_a_retried_import(ls, project_name, make_candidate):
    """A POST retried after its response was lost duplicates tasks; the next push removes the copies."""
    cands = [make_candidate() for _ in range(3)]
    push(ls, cands, project_name, show_progress=False)
    project = Project.open(ls, project_name)
    task = project.tasks_by_external_id()[cands[0].id][0]
    project.import_batch([{"data": task.data}])  # what an SDK retry of a committed import leaves behind
    assert len(project.tasks_by_external_id()[cands[0].id]) == 2
    report = push(ls, cands, project_name, show_progress=False)
    assert (report.created, report.duplicates_removed) == (0, 1)
    assert [len(v) for v in project.tasks_by_external_id().values()] == [1, 1, 1]
    project.close()
