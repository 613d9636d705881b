"""Annotator accounts and scripted annotation (tests, the demo's playback of bundled annotations).

An annotator signs up through Label Studio's own form (the Community edition has no API to set a
password) and then reads their API token, so their annotations are made *as* them, not on their behalf.
"""

from __future__ import annotations

import re
from dataclasses import replace

import httpx

from mmra.errors import MMRAError

from .labeling import QAContent
from .project import Project, api_error
from .server import Connection

_CSRF = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')


def _form_session(url: str, path: str, fields: dict[str, str]) -> httpx.Client:
    client = httpx.Client(base_url=url, timeout=60, follow_redirects=False)
    page = client.get(path)
    match = _CSRF.search(page.text)
    token = match.group(1) if match else client.cookies.get("csrftoken", "")
    resp = client.post(path, data={**fields, "csrfmiddlewaretoken": token},
                       headers={"Referer": f"{url}{path}", "X-CSRFToken": client.cookies.get("csrftoken", "")})
    if resp.status_code not in (302, 303):
        errors = re.findall(r'class="[^"]*error[^"]*"[^>]*>([^<]+)<', resp.text)
        client.close()
        detail = "; ".join(e.strip() for e in errors if e.strip()) or f"HTTP {resp.status_code}"
        raise MMRAError(f"Label Studio form {path} failed: {detail}")
    return client


def login(conn: Connection, email: str, password: str) -> httpx.Client:
    """A browser-like session (cookies) for `email`; used for tokens and for the rendered-task test."""
    return _form_session(conn.url, "/user/login/", {"email": email, "password": password})


def _token_of(session: httpx.Client) -> str:
    resp = session.get("/api/current-user/token")
    if resp.status_code != 200:
        raise MMRAError(f"could not read the API token of the signed-in user (HTTP {resp.status_code})")
    return resp.json()["token"]


def create_annotator(conn: Connection, email: str, password: str) -> Connection:
    """Sign up `email` (or sign in when the account exists) and return a connection acting as them."""
    if len(password) < 8:
        raise ValueError(f"annotator {email}: Label Studio needs a password of at least 8 characters")
    try:
        try:
            session = login(conn, email, password)
        except MMRAError:
            session = _form_session(conn.url, "/user/signup/", {"email": email, "password": password,
                                                                "allow_newsletters": "false"})
        try:
            return replace(conn, token=_token_of(session))
        finally:
            session.close()
    except httpx.HTTPError as exc:
        raise api_error(exc, f"signing up annotator {email}") from None


def annotate(conn: Connection, project_name: str, external_id: str, content: QAContent, *,
             lead_time: float | None = None, ground_truth: bool = False, project: Project | None = None) -> int:
    """Submit one annotation, as the user `conn` authenticates, to the task with `external_id`.

    Returns the annotation id. Raises MMRAError when the task does not exist.
    """
    project = project or Project.open(conn, project_name)
    tasks = project.tasks_by_external_id().get(external_id)
    if not tasks:
        raise MMRAError(f"project {project_name!r} has no task with external_id {external_id!r}")
    return annotate_task(project, tasks[0].id, content, lead_time=lead_time, ground_truth=ground_truth)


def annotate_task(project: Project, task_id: int, content: QAContent, *, lead_time: float | None = None,
                  ground_truth: bool = False) -> int:
    try:
        created = project.client.annotations.create(id=task_id, result=content.to_result(), lead_time=lead_time,
                                                    ground_truth=ground_truth)
    except Exception as exc:
        raise api_error(exc, f"annotating task {task_id}") from None
    return created.id


def annotate_many(conn: Connection, project_name: str, items: list[tuple[str, QAContent]], *,
                  lead_time: float | None = None) -> list[int]:
    """Submit several annotations as one user (scripted playback): the task list is read once."""
    project = Project.open(conn, project_name)
    try:
        by_key = project.tasks_by_external_id()
        missing = [ext_id for ext_id, _ in items if ext_id not in by_key]
        if missing:
            raise MMRAError(f"project {project_name!r} has no task with external_id {', '.join(missing[:5])}"
                            + (f" (and {len(missing) - 5} more)" if len(missing) > 5 else ""))
        return [annotate_task(project, by_key[ext_id][0].id, content, lead_time=lead_time)
                for ext_id, content in items]
    finally:
        project.close()
