"""Who gets into the Label Studio that `serve` starts, and whose annotations count (issue 12, "Label Studio access").

Against the real server of the session fixture: signup is closed, a foreign Host header is refused, the data
dir is private, only the toolkit's accounts count on pull and only reviewers' ground-truth marks settle a task.
"""

from __future__ import annotations

import os
import re
import stat
from pathlib import Path

import httpx
import pytest
from typer.testing import CliRunner

from mmra.annotation import QAContent, annotate, create_annotator, pull, push
from mmra.annotation.pull_samples import NOT_CREATED, NOT_REVIEWER
from mmra.annotation.server import ACCOUNTS_FILE, CREDENTIALS_FILE, DB_NAME, MEDIA_DIR, credentials, harden
from mmra.annotation.users import AccountRegistry, login, server_accounts
from mmra.benchmark.records import read_jsonl
from mmra.benchmark.schema import Sample
from mmra.cli import app
from mmra.config import LabelStudioConfig
from mmra.errors import MMRAError

from .conftest import ANNOTATOR_PASSWORD, LS_VENV, TEST_CREDS

MC = "multiple_choice"
_CSRF = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')
ADMIN = {"Authorization": f"Token {TEST_CREDS.token}"}


def _signup_form(url: str, email: str, password: str, query: str = "") -> tuple[httpx.Response, httpx.Client]:
    """What a browser does on the signup page: fetch the CSRF token, post the form."""
    client = httpx.Client(base_url=url, timeout=60, follow_redirects=False)
    page = client.get(f"/user/signup/{query}")
    match = _CSRF.search(page.text)
    csrf = match.group(1) if match else client.cookies.get("csrftoken", "")
    resp = client.post(f"/user/signup/{query}", data={"email": email, "password": password,
                                                      "csrfmiddlewaretoken": csrf},
                       headers={"Referer": f"{url}/user/signup/", "X-CSRFToken": csrf})
    return resp, client


def _account_behind_the_toolkits_back(ls, email: str) -> str:
    """An account the operator made by hand, with Label Studio's own invite link: returns its API token."""
    invite = httpx.get(f"{ls.url}/api/invite", headers=ADMIN).json()["token"]
    try:
        resp, client = _signup_form(ls.url, email, ANNOTATOR_PASSWORD, f"?token={invite}")
        try:
            assert resp.status_code == 302, resp.text[:300]
            return client.get("/api/current-user/token").json()["token"]
        finally:
            client.close()
    finally:
        httpx.post(f"{ls.url}/api/invite/reset-token", headers=ADMIN)


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.mark.labelstudio
def test_a_stranger_cannot_sign_up_nor_see_a_project(ls, project_name, make_candidate):
    push(ls, [make_candidate()], project_name, show_progress=False)
    for query in ("", "?token=guessed-token"):
        resp, client = _signup_form(ls.url, "stranger@evil.example", "stranger-pass-1", query)
        client.close()
        assert resp.status_code == 403, (query, resp.status_code)
    with pytest.raises(MMRAError):
        login(ls, "stranger@evil.example", "stranger-pass-1").close()
    assert "stranger@evil.example" not in {a.email for a in server_accounts(ls)}
    anonymous = httpx.get(f"{ls.url}/api/projects")
    assert anonymous.status_code in (401, 403) and project_name not in anonymous.text


@pytest.mark.labelstudio
def test_the_invite_link_works_once(ls):
    """The toolkit signs annotators up through the invite link and resets it: an earlier link is dead."""
    old = httpx.get(f"{ls.url}/api/invite", headers=ADMIN).json()["token"]
    create_annotator(ls, "invited-once@mmra.test", ANNOTATOR_PASSWORD)
    resp, client = _signup_form(ls.url, "reuses-link@evil.example", "stranger-pass-1", f"?token={old}")
    client.close()
    assert resp.status_code == 403
    assert "reuses-link@evil.example" not in {a.email for a in server_accounts(ls)}


@pytest.mark.labelstudio
@pytest.mark.parametrize("path", ["/health", "/user/login/", "/api/projects"])
def test_a_foreign_host_header_is_refused(ls, path):
    port = ls.url.rsplit(":", 1)[1]
    evil = httpx.get(f"{ls.url}{path}", headers={**ADMIN, "Host": "evil.example"})
    assert evil.status_code == 400  # Django's DisallowedHost: DNS rebinding gets nothing
    tunnel = httpx.get(f"{ls.url}{path}", headers={**ADMIN, "Host": f"localhost:{port}"})  # an SSH tunnel
    assert tunnel.status_code == 200


@pytest.mark.labelstudio
def test_only_a_reviewer_ground_truth_settles_a_task(ls, annotators, project_name, make_candidate, tmp_path):
    disputed, lonely = make_candidate("UsageSimilarity"), make_candidate("UsageSimilarity")
    push(ls, [disputed, lonely], project_name, show_progress=False)
    options = ["cutting", "eating", "flying"]
    annotate(annotators[0], project_name, disputed.id, QAContent(MC, "What are both for?", options, "A"))
    annotate(annotators[1], project_name, disputed.id, QAContent(MC, "What are both for?", options, "B"))
    plain = create_annotator(ls, "gt-not-reviewer@mmra.test", ANNOTATOR_PASSWORD)
    annotate(plain, project_name, disputed.id, QAContent(MC, "What are both for?", options, "C"), ground_truth=True)
    # alone, a ground-truth mark would also skip the minimum of two annotators
    annotate(plain, project_name, lonely.id, QAContent(MC, "What are both for?", options, "C"), ground_truth=True)

    out = tmp_path / "samples.jsonl"
    report = pull(ls, project_name, out, min_annotations=2)
    assert read_jsonl(out, Sample) == []
    assert [r["external_id"] for r in report.needs_review] == [disputed.id]
    assert [r["external_id"] for r in report.pending] == [lonely.id]
    assert {(r["external_id"], r["account"], r["reason"]) for r in report.ground_truth_ignored} == {
        (disputed.id, "gt-not-reviewer@mmra.test", NOT_REVIEWER), (lonely.id, "gt-not-reviewer@mmra.test", NOT_REVIEWER)}

    reviewer = create_annotator(ls, "reviewer@mmra.test", ANNOTATOR_PASSWORD, reviewer=True)
    annotate(reviewer, project_name, disputed.id, QAContent(MC, "What are both for?", options, "A"),
             ground_truth=True)
    report = pull(ls, project_name, out, min_annotations=2)
    samples = {s.candidate_id: s for s in read_jsonl(out, Sample)}
    assert list(samples) == [disputed.id]
    assert samples[disputed.id].answer == "A" and samples[disputed.id].annotation.adjudication == "review"
    assert [r["external_id"] for r in report.pending] == [lonely.id]

    # [label_studio].reviewers names the same account: now its mark settles the lonely task
    report = pull(ls, project_name, out, min_annotations=2, reviewers=["GT-Not-Reviewer@mmra.test"])
    samples = {s.candidate_id: s for s in read_jsonl(out, Sample)}
    assert samples[lonely.id].answer == "C" and samples[lonely.id].annotation.adjudication == "review"
    assert report.ground_truth_ignored == []


@pytest.mark.labelstudio
def test_an_account_made_behind_the_toolkits_back_is_reported_not_used(ls, annotators, project_name,
                                                                        make_candidate, tmp_path):
    cand = make_candidate("UsageSimilarity")
    push(ls, [cand], project_name, show_progress=False)
    agreed = QAContent(MC, "What are both for?", ["cutting", "eating", "flying"], "A")
    for who in annotators:
        annotate(who, project_name, cand.id, agreed)
    token = _account_behind_the_toolkits_back(ls, "by-hand@mmra.test")
    sneaky = ls.__class__(url=ls.url, token=token, data_dir=ls.data_dir, document_root=ls.document_root,
                          accounts_file=ls.accounts_file)
    annotate(sneaky, project_name, cand.id, QAContent(MC, "What are both for?", ["cutting", "eating", "flying"], "B"),
             ground_truth=True)

    out = tmp_path / "samples.jsonl"
    report = pull(ls, project_name, out)
    [sample] = read_jsonl(out, Sample)
    assert sample.answer == "A" and sample.annotation.adjudication == "unanimous"
    assert "by-hand@mmra.test" not in sample.annotation.annotators
    assert [(r["external_id"], r["account"], r["reason"]) for r in report.unknown_accounts] == [
        (cand.id, "by-hand@mmra.test", NOT_CREATED)]
    assert report.unknown_accounts[0]["task"].startswith(f"{ls.url}/projects/")
    assert AccountRegistry.of(ls).get("by-hand@mmra.test") is None


@pytest.mark.labelstudio
def test_data_dir_database_and_registry_are_private(ls_server, annotators, project_name, make_candidate, tmp_path):
    push(ls_server.conn, [make_candidate()], project_name, show_progress=False)
    pull(ls_server.conn, project_name, tmp_path / "s.jsonl")  # an export snapshot passes through the data dir
    data_dir = Path(ls_server.cfg.data_dir)
    assert _mode(data_dir) == 0o700 and _mode(data_dir / MEDIA_DIR) == 0o700
    for name in (DB_NAME, ".env", ACCOUNTS_FILE, "server.log", "server.json"):
        assert _mode(data_dir / name) == 0o600, name
    for root, dirs, files in os.walk(data_dir):
        for name in dirs:
            assert _mode(Path(root) / name) == 0o700, Path(root) / name
        for name in files:
            path = Path(root) / name
            # images may be group-readable (media.MEDIA_FILE_MODE), never world-readable; the rest is 0600
            private = 0o007 if path.is_relative_to(data_dir / MEDIA_DIR) else 0o077
            assert _mode(path) & private == 0, path
    status = Path(f"/proc/{ls_server.state.pid}/status").read_text()
    assert re.search(r"^Umask:\s+0077$", status, re.M), "the server process writes private files"


def test_generated_admin_credentials_are_private(tmp_path, monkeypatch):
    monkeypatch.delenv("LABEL_STUDIO_API_KEY", raising=False)
    monkeypatch.delenv("LABEL_STUDIO_PASSWORD", raising=False)
    cfg = LabelStudioConfig(data_dir=tmp_path / "ls", venv=LS_VENV)
    creds = credentials(cfg, create=True)
    assert creds is not None and len(creds.password) >= 8
    assert _mode(tmp_path / "ls" / CREDENTIALS_FILE) == 0o600


def test_harden_tightens_what_exists_but_leaves_linked_originals_alone(tmp_path):
    data_dir = tmp_path / "ls"
    (data_dir / "export").mkdir(parents=True)
    (data_dir / DB_NAME).write_text("db")
    (data_dir / "export" / "project-1.json").write_text("[]")
    original = tmp_path / "photo.png"
    original.write_bytes(b"png")
    os.chmod(original, 0o644)
    (data_dir / MEDIA_DIR / "images").mkdir(parents=True)
    os.link(original, data_dir / MEDIA_DIR / "images" / "abc.png")  # what pushes before issue 12 left
    copied = data_dir / MEDIA_DIR / "images" / "def.png"
    copied.write_bytes(b"png")
    os.chmod(copied, 0o644)
    for path in (data_dir, data_dir / "export"):
        os.chmod(path, 0o755)
    os.chmod(data_dir / DB_NAME, 0o644)
    harden(data_dir)
    assert _mode(data_dir) == _mode(data_dir / "export") == _mode(data_dir / MEDIA_DIR / "images") == 0o700
    assert _mode(data_dir / DB_NAME) == _mode(data_dir / "export" / "project-1.json") == 0o600
    assert _mode(copied) == 0o640  # the server (same user) reads it; other users of the host do not
    assert _mode(original) == 0o644  # the operator's own file is not changed behind their back


def _run(*args):
    result = CliRunner().invoke(app, ["annotate", *args])
    result.text = " ".join(result.output.split())
    return result


@pytest.mark.labelstudio
def test_users_add_gives_a_new_annotator_a_working_login(on_session_server, project_name, make_candidate, tmp_path):
    ls = on_session_server.conn
    cand = make_candidate("UsageSimilarity")
    push(ls, [cand], project_name, show_progress=False)

    result = _run("users", "add", "newcomer@mmra.test")
    assert result.exit_code == 0, result.text
    cred_file = Path(on_session_server.cfg.data_dir) / "annotators" / "newcomer@mmra.test.txt"
    assert str(cred_file) in result.text and _mode(cred_file) == 0o600
    password = re.search(r"^password: (\S+)$", cred_file.read_text(), re.M).group(1)
    assert password not in result.output and password not in (Path(ls.data_dir) / "server.log").read_text()

    newcomer = create_annotator(ls, "newcomer@mmra.test", password)  # signs in with the handed-over password
    annotate(newcomer, project_name, cand.id, QAContent(MC, "What are both for?", ["cutting", "eating", "flying"], "A"))
    report = pull(ls, project_name, tmp_path / "s.jsonl", min_annotations=1)
    [sample] = read_jsonl(tmp_path / "s.jsonl", Sample)
    assert sample.annotation.annotators == ["newcomer@mmra.test"] and report.unknown_accounts == []

    result = _run("users", "add", "newcomer@mmra.test")
    assert result.exit_code == 1 and "already has an account" in result.text
    result = _run("users", "add", "lead@mmra.test", "--reviewer", "--show-password")
    assert result.exit_code == 0, result.text
    shown = result.output.strip().splitlines()[-1]
    login(ls, "lead@mmra.test", shown).close()
    assert AccountRegistry.of(ls).get("lead@mmra.test").reviewer
    result = _run("users", "add", "newcomer@mmra.test", "--reviewer")
    assert result.exit_code == 0 and "now a reviewer" in result.text
    result = _run("users", "add", "not-an-email")
    assert result.exit_code == 1 and "not an e-mail address" in result.text

    token = _account_behind_the_toolkits_back(ls, "listed-stranger@mmra.test")
    stranger = ls.__class__(url=ls.url, token=token)
    annotate(stranger, project_name, cand.id, QAContent(MC, "Which?", ["a", "b", "c"], "B"), ground_truth=True)
    result = _run("pull", "-p", project_name, "-o", "cli.jsonl", "--min-annotations", "1")
    assert result.exit_code == 0, result.text
    assert f"(listed-stranger@mmra.test): {NOT_CREATED}" in result.text and "1 samples" in result.text
    assert [s.answer for s in read_jsonl(tmp_path / "cli.jsonl", Sample)] == ["A"]

    result = _run("users", "list")
    assert result.exit_code == 0, result.text
    assert "lead@mmra.test" in result.text and "newcomer@mmra.test" in result.text
    assert ("account not created by the toolkit: listed-stranger@mmra.test" in result.text
            and "annotations are not used" in result.text)
    assert "account not created by the toolkit: newcomer@mmra.test" not in result.text
