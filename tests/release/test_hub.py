"""The Hub path, for real. Needs HF_TOKEN, network access to the Hub and MMRA_TEST_HUB_REPO (a dataset repo
the token may write, e.g. 'me/mmra-release-test'); without them it is skipped (the machine has no Hub access)."""

from __future__ import annotations

import os
import socket

import pytest

from mmra.benchmark.release import load_release, publish
from mmra.benchmark.release.hub import push_release


def _hub_reachable() -> bool:
    try:
        socket.create_connection(("huggingface.co", 443), timeout=3).close()
        return True
    except OSError:
        return False


pytestmark = pytest.mark.skipif(
    not (os.environ.get("HF_TOKEN") and os.environ.get("MMRA_TEST_HUB_REPO") and _hub_reachable()),
    reason="needs HF_TOKEN, MMRA_TEST_HUB_REPO and network access to huggingface.co",
)


def test_push_tag_and_load_by_revision(tmp_path, samples_file):
    repo = os.environ["MMRA_TEST_HUB_REPO"]
    path, samples = samples_file(6)
    version = f"0.0.{os.getpid()}"  # a fresh tag per run: published tags are never moved
    result = publish(path, version, tmp_path / "store", name=repo.split("/")[-1], repo_id=repo, show_progress=False)
    status, url = push_release(result.path, repo, private=True)
    assert status == "published" and url.endswith(f"/tree/v{version}")
    assert push_release(result.path, repo)[0] == "unchanged"
    ds = load_release(repo, revision=version)
    assert sorted(ds["id"]) == sorted(s.id for s in samples)
