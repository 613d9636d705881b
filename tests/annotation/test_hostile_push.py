"""Hostile candidates against a real Label Studio: nothing but verified images reaches the server."""

from __future__ import annotations

import os
import secrets
from pathlib import Path

import httpx
import pytest

from mmra.annotation import pull, push
from mmra.annotation.cli import allowed_roots
from mmra.annotation.project import Project
from mmra.annotation.revise_tasks import revise
from mmra.benchmark.images import resolve_roots
from mmra.benchmark.records import read_jsonl
from mmra.benchmark.schema import ImageRef, LeakageVerdict, Sample
from mmra.config import Config

pytestmark = pytest.mark.labelstudio


def _all_bytes_under(folder: Path) -> list[tuple[Path, bytes]]:
    found = []
    for root, _dirs, files in os.walk(folder):
        for name in files:
            path = Path(root) / name
            if path.is_file() and not path.is_symlink():
                found.append((path, path.read_bytes()))
    return found


def _hostile(make_candidate, outside, corpus):
    """One candidate per attack; image1 is always a good image inside the corpus."""
    secret_png = outside / "secret.png"
    from PIL import Image

    Image.new("RGB", (90, 90), (1, 2, 3)).save(secret_png)
    (corpus / "escape.png").symlink_to(secret_png)
    fake = corpus / "photo.jpg"
    fake.write_text("root:x:0:0:root:/root:/bin/bash\n")
    attacks = {
        "passwd": "/etc/passwd",
        "environ": "/proc/self/environ",
        "relative": "../../../../../../../../etc/hostname",
        "symlink": str(corpus / "escape.png"),
        "text-as-jpg": str(fake),
    }
    cands = {}
    for name, path in attacks.items():
        cand = make_candidate()
        cands[name] = cand.model_copy(update={"image2": ImageRef(path=path, source="attacker")})
    return cands, secret_png


def test_crafted_candidates_put_no_foreign_bytes_on_the_server(ls, ls_server, project_name, make_candidate,
                                                               make_image, tmp_path_factory, monkeypatch):
    marker = "mmra-test-secret-" + secrets.token_hex(8)
    monkeypatch.setenv("MMRA_TEST_SECRET", marker)  # would appear in a copy of /proc/self/environ
    corpus = make_image("anchor.png").parent  # make_image writes into tmp_path: the corpus root
    cands, secret_png = _hostile(make_candidate, tmp_path_factory.mktemp("outside"), corpus)
    good = make_candidate()
    roots = resolve_roots([corpus])
    report = push(ls, [good, *cands.values()], project_name, base_dir=corpus, roots=roots, show_progress=False)

    assert report.created == 1
    refused = dict(report.skipped)
    assert set(refused) == {c.id for c in cands.values()}
    assert "system file" in refused[cands["environ"].id] or "outside" in refused[cands["environ"].id]
    assert "outside the allowed image folders" in refused[cands["passwd"].id]
    assert "outside the allowed image folders" in refused[cands["relative"].id]
    assert "via a symlink" in refused[cands["symlink"].id]
    assert "not a readable image" in refused[cands["text-as-jpg"].id]

    passwd = Path("/etc/passwd").read_bytes()
    hostname = Path("/etc/hostname").read_bytes() if Path("/etc/hostname").exists() else None
    secret = secret_png.read_bytes()
    data_dir = ls_server.cfg.data_dir
    for path, content in _all_bytes_under(Path(data_dir)):
        assert passwd not in content, path
        assert marker.encode() not in content, path
        assert secret != content, path
        if hostname and len(hostname.strip()) > 6:
            assert content != hostname, path
    media = sorted(p.name for p in ls.media_dir.iterdir())
    assert all(name.endswith(".png") and len(name) == 68 for name in media)  # verified images only
    for name in media:
        assert (ls.media_dir / name).stat().st_mode & 0o007 == 0  # not world-readable

    # the task shows no host path; pull puts the original paths back
    project = Project.open(ls, project_name)
    try:
        task = project.tasks_by_external_id()[good.id][0]
    finally:
        project.close()
    stored = task.data["mmra_candidate"]
    assert stored["image1"]["path"].startswith("images/") and str(corpus) not in str(task.data)
    resp = httpx.get(ls.url + task.data["image1"], headers={"Authorization": f"Token {ls.token}"})
    assert resp.status_code == 200 and resp.content == Path(good.image1.path).read_bytes()


def test_revise_refuses_samples_whose_images_escape(ls, project_name, make_candidate, make_image, tmp_path):
    corpus = make_image("anchor.png").parent
    good = make_candidate()
    push(ls, [good], project_name, base_dir=corpus, roots=resolve_roots([corpus]), show_progress=False)
    verdict = LeakageVerdict(leaked=True, hits=1, models=["m"], model_hits={"m": True})
    base = dict(subtask=good.subtask, qa_type="yes_no", question="Do both show a tool?", answer="Yes",
                leakage=verdict, candidate_id=good.id)
    clean = Sample(image1=good.image1, image2=good.image2, **base)
    evil = Sample(image1=good.image1, image2=ImageRef(path="/proc/self/environ"), **{**base, "question": "Q2?"})
    report = revise(ls, [clean, evil], project_name, base_dir=corpus, roots=resolve_roots([corpus]),
                    show_progress=False)
    assert report.sent == 1
    assert [sid for sid, _ in report.skipped] == [evil.id] and "system file" in report.skipped[0][1]


def test_pull_returns_original_paths(ls, annotators, project_name, make_candidate, make_image, tmp_path):
    from mmra.annotation import QAContent, annotate

    corpus = make_image("anchor.png").parent
    cand = make_candidate("MentalitySimilarity")
    push(ls, [cand], project_name, base_dir=corpus, roots=resolve_roots([corpus]), show_progress=False)
    content = QAContent("yes_no", "Do the people in both images look happy?", [], "Yes")
    for account in annotators:
        annotate(account, project_name, cand.id, content)
    out = tmp_path / "samples.jsonl"
    pull(ls, project_name, out, min_annotations=2)
    (sample,) = read_jsonl(out, Sample)
    assert sample.image1.path == cand.image1.path and sample.image2.path == cand.image2.path


def test_push_roots_come_from_the_curation_report_else_the_candidates_folder(tmp_path):
    import json

    folder = tmp_path / "run"
    corpus = tmp_path / "corpus"
    folder.mkdir()
    corpus.mkdir()
    candidates = folder / "candidates.jsonl"
    candidates.write_text("")
    assert allowed_roots(candidates, [], Config()) == (folder.resolve(),)
    (folder / "curation_report.json").write_text(json.dumps({"image_roots": [str(corpus)]}))
    assert allowed_roots(candidates, [], Config()) == (corpus.resolve(),)
    extra = tmp_path / "extra"
    extra.mkdir()
    assert set(allowed_roots(candidates, [extra], Config())) == {corpus.resolve(), extra.resolve()}
    (folder / "curation_report.json").write_text("[" * 100_000)  # hostile report: ignored, not a traceback
    assert allowed_roots(candidates, [], Config()) == (folder.resolve(),)
