"""A hostile annotator against the Label Studio that `serve` starts (issue 18, "who wrote an annotation is a fact").

Two accounts made by `mmra annotate users add` (an annotator and a reviewer) on the session's real server. The
annotator forges ground truth in the reviewer's and the admin's name, edits and deletes the reviewer's
annotation, reads the invite token and signs a new account up with it, through the HTTP API and the web UI's
session: the server refuses each, and pull credits only what the server recorded each account writing.
"""

from __future__ import annotations

import re
import uuid
from contextlib import closing

import httpx
import pytest
from typer.testing import CliRunner

from mmra.annotation import QAContent, annotate, create_annotator, pull, push
from mmra.annotation.project import Project
from mmra.annotation.pull_samples import NO_WRITER, NOT_BY_AUTHOR
from mmra.annotation.users import AccountRegistry, login, server_accounts, whoami
from mmra.benchmark.records import read_jsonl
from mmra.benchmark.schema import Sample
from mmra.cli import app

from .conftest import TEST_CREDS

pytestmark = pytest.mark.labelstudio

MC = "multiple_choice"
QUESTION = "What are both for?"
OPTIONS = ["cutting", "eating", "flying"]
ADMIN = {"Authorization": f"Token {TEST_CREDS.token}"}
_CSRF = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')


class Person:
    """An account made by `users add`: its e-mail, password, server id and API connection."""

    def __init__(self, ls, email: str, password: str) -> None:
        self.email, self.password = email, password
        self.conn = create_annotator(ls, email, password)  # signs in with the handed-over password
        self.id = AccountRegistry.of(ls).get(email).id
        self.headers = {"Authorization": f"Token {self.conn.token}"}

    def session(self, ls) -> httpx.Client:
        """The web UI's way in: a signed-in browser session (cookies + CSRF header), no API token."""
        client = login(ls, self.email, self.password)
        client.headers["X-CSRFToken"] = client.cookies.get("csrftoken", "")
        client.headers["Referer"] = f"{ls.url}/"
        return client


def _users_add(email: str, *extra: str) -> str:
    """`mmra annotate users add` on the session's server (the `on_session_server` fixture aims it there)."""
    result = CliRunner().invoke(app, ["annotate", "users", "add", email, "--show-password", *extra])
    assert result.exit_code == 0, result.output
    return result.output.strip().splitlines()[-1]


@pytest.fixture()
def people(on_session_server) -> tuple[Person, Person]:
    tag = uuid.uuid4().hex[:8]
    annotator, reviewer = f"forger-{tag}@mmra.test", f"lead-{tag}@mmra.test"
    annotator_pw = _users_add(annotator)
    reviewer_pw = _users_add(reviewer, "--reviewer")
    conn = on_session_server.conn
    return Person(conn, annotator, annotator_pw), Person(conn, reviewer, reviewer_pw)


def _result(answer: str) -> list[dict]:
    return QAContent(MC, QUESTION, OPTIONS, answer).to_result()


def _task_ids(ls, project_name: str) -> dict[str, int]:
    project = Project.open(ls, project_name)
    try:
        return {ext: tasks[0].id for ext, tasks in project.tasks_by_external_id().items()}
    finally:
        project.close()


def _annotation(ls, annotation_id: int) -> dict:
    resp = httpx.get(f"{ls.url}/api/annotations/{annotation_id}/", headers=ADMIN)
    assert resp.status_code == 200, resp.text
    return resp.json()


def _answer(annotation: dict) -> str:
    return QAContent.from_result(annotation["result"]).answer


def test_forged_ground_truth_is_refused_and_never_settles_a_task(ls, people, project_name, make_candidate, tmp_path):
    annotator, reviewer = people
    cand = make_candidate("UsageSimilarity")
    push(ls, [cand], project_name, show_progress=False)
    task = _task_ids(ls, project_name)[cand.id]
    admin_id = whoami(ls).id

    # ground truth claimed for the reviewer and for the admin (id 1 on a new server): refused, nothing stored
    for claimed in (reviewer.id, admin_id, 1, str(reviewer.id), {"id": reviewer.id}, None):
        resp = httpx.post(f"{ls.url}/api/tasks/{task}/annotations/", headers=annotator.headers,
                          json={"result": _result("B"), "ground_truth": True, "completed_by": claimed})
        assert resp.status_code == 403, (claimed, resp.status_code, resp.text[:300])
        assert "mmra gate" in resp.json()["detail"] and "as themselves" in resp.json()["detail"]
    stored = httpx.get(f"{ls.url}/api/tasks/{task}/annotations/", headers=ADMIN).json()
    assert stored == []

    # the reviewer's own ground truth; the annotator edits, replaces, converts and deletes it: refused
    real = annotate(reviewer.conn, project_name, cand.id, QAContent(MC, QUESTION, OPTIONS, "A"), ground_truth=True)
    for method, path, body in (("PATCH", f"/api/annotations/{real}/", {"result": _result("B")}),
                               ("PATCH", f"/api/annotations/{real}/", {"result": _result("B"),
                                                                      "completed_by": reviewer.id}),
                               ("PUT", f"/api/annotations/{real}/", {"result": _result("B"), "ground_truth": True}),
                               ("DELETE", f"/api/annotations/{real}/", None),
                               ("POST", f"/api/annotations/{real}/convert-to-draft", {})):
        resp = httpx.request(method, ls.url + path, headers=annotator.headers, json=body)
        assert resp.status_code == 403, (method, path, resp.status_code, resp.text[:300])
        assert "mmra gate" in resp.text and "written by another account" in resp.json()["detail"]
    # the same through the web UI's signed-in session (which may write: its own annotation goes through)
    with closing(annotator.session(ls)) as browser:
        resp = browser.patch(f"/api/annotations/{real}/", json={"result": _result("B")})
        assert resp.status_code == 403 and "written by another account" in resp.text, resp.text[:300]
        resp = browser.post(f"/api/tasks/{task}/annotations/",
                            json={"result": _result("B"), "ground_truth": True, "completed_by": reviewer.id})
        assert resp.status_code == 403 and "as themselves" in resp.text, resp.text[:300]
        resp = browser.post(f"/api/tasks/{task}/annotations/", json={"result": _result("B"), "lead_time": 2.0})
        assert resp.status_code == 201, resp.text[:300]
        own = resp.json()["id"]
    kept = _annotation(ls, real)
    assert _answer(kept) == "A" and kept["completed_by"] == kept["updated_by"] == reviewer.id

    # its own annotation the annotator may change, but not hand to the reviewer
    resp = httpx.patch(f"{ls.url}/api/annotations/{own}/", headers=annotator.headers,
                       json={"completed_by": reviewer.id, "ground_truth": True})
    assert resp.status_code == 403 and "as themselves" in resp.json()["detail"]
    resp = httpx.patch(f"{ls.url}/api/annotations/{own}/", headers=annotator.headers, json={"result": _result("C")})
    assert resp.status_code == 200, resp.text[:300]

    out = tmp_path / "samples.jsonl"
    report = pull(ls, project_name, out, min_annotations=2)
    [sample] = read_jsonl(out, Sample)
    assert sample.answer == "A" and sample.annotation.adjudication == "review"
    assert sample.annotation.answers == {reviewer.email: "A", annotator.email: "C"}
    assert report.authorship == [] and report.unknown_accounts == []


def test_pull_credits_only_what_the_server_saw_each_account_write(ls, people, project_name, make_candidate,
                                                                   tmp_path):
    """Without the gate (a remote server, or the admin's own token), forged rows still reach the database:
    pull compares the claimed author with the writer the server recorded, reports and skips what differs."""
    _, reviewer = people
    claimed, changed, copied = (make_candidate("UsageSimilarity") for _ in range(3))
    push(ls, [claimed, changed, copied], project_name, show_progress=False)
    tasks = _task_ids(ls, project_name)
    admin = whoami(ls)

    resp = httpx.post(f"{ls.url}/api/tasks/{tasks[claimed.id]}/annotations/", headers=ADMIN,
                      json={"result": _result("B"), "ground_truth": True, "completed_by": reviewer.id})
    assert resp.status_code == 201, resp.text[:300]  # the admin passes the gate: the row is stored as claimed
    real = annotate(reviewer.conn, project_name, changed.id, QAContent(MC, QUESTION, OPTIONS, "A"),
                    ground_truth=True)
    resp = httpx.patch(f"{ls.url}/api/annotations/{real}/", headers=ADMIN, json={"result": _result("C")})
    assert resp.status_code == 200, resp.text[:300]
    task = httpx.get(f"{ls.url}/api/tasks/{tasks[copied.id]}", headers=ADMIN).json()
    data = {**task["data"], "external_id": f"{copied.id}-imported"}
    project = Project.open(ls, project_name)
    try:
        project.import_batch([{"data": data, "annotations": [
            {"result": _result("B"), "ground_truth": True, "completed_by": reviewer.id}]}])
    finally:
        project.close()

    out = tmp_path / "samples.jsonl"
    report = pull(ls, project_name, out, min_annotations=1)
    assert read_jsonl(out, Sample) == []  # not one of them settles a task, even with one annotation needed
    assert {(r["external_id"], r["account"], r["written_by"], r["ground_truth"], r["reason"])
            for r in report.authorship} == {
        (claimed.id, reviewer.email, admin.email, True, NOT_BY_AUTHOR),
        (changed.id, reviewer.email, admin.email, True, NOT_BY_AUTHOR),
        (f"{copied.id}-imported", reviewer.email, None, True, NO_WRITER)}
    assert all(r["task"].startswith(f"{ls.url}/projects/") for r in report.authorship)
    assert {r["external_id"] for r in report.pending} >= {claimed.id, changed.id, f"{copied.id}-imported"}

    # the reviewer submits again, as themselves: that counts
    annotate(reviewer.conn, project_name, changed.id, QAContent(MC, QUESTION, OPTIONS, "A"), ground_truth=True)
    pull(ls, project_name, out, min_annotations=1)
    assert [(s.candidate_id, s.answer) for s in read_jsonl(out, Sample)] == [(changed.id, "A")]


def _signup(url: str, email: str, query: str) -> int:
    with httpx.Client(base_url=url, timeout=60, follow_redirects=False) as client:
        page = client.get(f"/user/signup/{query}")
        match = _CSRF.search(page.text)
        csrf = match.group(1) if match else client.cookies.get("csrftoken", "")
        resp = client.post(f"/user/signup/{query}", data={"email": email, "password": "minted-pass-1",
                                                          "csrfmiddlewaretoken": csrf},
                           headers={"Referer": f"{url}/user/signup/", "X-CSRFToken": csrf})
        return resp.status_code


def test_an_annotator_cannot_read_the_invite_nor_mint_an_account(ls, people):
    annotator, _ = people
    before = httpx.get(f"{ls.url}/api/invite", headers=ADMIN).json()["token"]  # the admin's: what users add uses
    org = httpx.get(f"{ls.url}/api/organizations/", headers=annotator.headers).json()[0]["id"]
    for method, path in (("GET", "/api/invite"), ("POST", "/api/invite/reset-token"), ("POST", "/api/users/")):
        resp = httpx.request(method, ls.url + path, headers=annotator.headers,
                             json={"email": "minted@evil.example"} if path == "/api/users/" else None)
        assert resp.status_code == 403 and "mmra gate" in resp.text, (path, resp.status_code, resp.text[:300])
        assert before not in resp.text
    # Label Studio's organisation record carries the token too: withheld
    resp = httpx.get(f"{ls.url}/api/organizations/{org}", headers=annotator.headers)
    assert before not in resp.text and resp.status_code == 403, resp.text[:300]
    assert before in httpx.get(f"{ls.url}/api/organizations/{org}", headers=ADMIN).text  # what it withholds
    with closing(annotator.session(ls)) as browser:
        for path in ("/api/invite", f"/api/organizations/{org}", "/organization/", "/people/", "/user/account/"):
            assert before not in browser.get(path).text, path
        for page in ("/projects/", "/user/account/", "/api/current-user/whoami"):  # the UI itself still opens
            assert browser.get(page).status_code == 200, page
        assert browser.get("/api/invite").status_code == 403
    # the invite still in force is the one the annotator never saw; a guessed or empty one does not sign up
    assert httpx.get(f"{ls.url}/api/invite", headers=ADMIN).json()["token"] == before
    for query in ("", "?token=", "?token=guessed-token"):
        assert _signup(ls.url, "minted@evil.example", query) == 403, query
    assert not {"minted@evil.example"} & {a.email for a in server_accounts(ls)}

    # users add keeps working: a new account, and the invite it used is dead afterwards
    newcomer = f"newcomer-{uuid.uuid4().hex[:8]}@mmra.test"
    password = _users_add(newcomer)
    login(ls, newcomer, password).close()
    assert _signup(ls.url, "minted@evil.example", f"?token={before}") == 403
    assert not {"minted@evil.example"} & {a.email for a in server_accounts(ls)}


def test_an_annotator_may_only_annotate(ls, people, project_name, make_candidate):
    annotator, reviewer = people
    cand = make_candidate("UsageSimilarity")
    push(ls, [cand], project_name, show_progress=False)
    task = _task_ids(ls, project_name)[cand.id]
    project_id = httpx.get(f"{ls.url}/api/tasks/{task}", headers=ADMIN).json()["project"]
    refused = (
        ("PATCH", f"/api/tasks/{task}/", {"data": {"external_id": "swapped"}}),
        ("POST", f"/api/projects/{project_id}/import", [{"data": {"external_id": "planted"}}]),
        ("PATCH", f"/api/projects/{project_id}/", {"title": "taken over"}),
        ("POST", f"/api/projects/{project_id}/exports/", {"title": "mine"}),
        ("POST", f"/api/dm/actions/?id=delete_tasks&project={project_id}", {"selectedItems": {"all": True}}),
        ("PATCH", f"/api/users/{reviewer.id}/", {"first_name": "renamed"}),
        ("POST", "/api/webhooks/", {"url": "http://127.0.0.1:9/", "project": project_id}),
    )
    for method, path, body in refused:
        resp = httpx.request(method, ls.url + path, headers=annotator.headers, json=body)
        assert resp.status_code == 403 and "mmra gate" in resp.text, (method, path, resp.status_code, resp.text[:300])
    assert httpx.get(f"{ls.url}/api/tasks/{task}", headers=ADMIN).json()["data"]["external_id"] == cand.id
    assert httpx.get(f"{ls.url}/api/projects/{project_id}/", headers=ADMIN).json()["title"] == project_name

    # what annotating needs still works: the labeling page, the task, the stream, drafts, own profile, annotate
    with closing(annotator.session(ls)) as browser:
        assert browser.get(f"/projects/{project_id}/data?tab=0&task={task}").status_code == 200
        resp = browser.post(f"/api/dm/actions/?id=next_task&project={project_id}", json={})
        assert resp.status_code == 200 and resp.json()["id"] == task, resp.text[:300]
    assert httpx.get(f"{ls.url}/api/tasks/{task}", headers=annotator.headers).status_code == 200
    assert httpx.get(f"{ls.url}/api/projects/{project_id}/next/", headers=annotator.headers).status_code == 200
    draft = httpx.post(f"{ls.url}/api/tasks/{task}/drafts", headers=annotator.headers,
                       json={"result": _result("A"), "lead_time": 1.0})
    assert draft.status_code == 201, draft.text[:300]
    resp = httpx.patch(f"{ls.url}/api/users/{annotator.id}/", headers=annotator.headers, json={"first_name": "Ann"})
    assert resp.status_code == 200, resp.text[:300]
    resp = httpx.post(f"{ls.url}/api/tasks/{task}/annotations/", headers=annotator.headers,
                      json={"result": _result("A"), "completed_by": annotator.id, "draft_id": draft.json()["id"]})
    assert resp.status_code == 201, resp.text[:300]
    assert _annotation(ls, resp.json()["id"])["updated_by"] == annotator.id
