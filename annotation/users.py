"""Annotator accounts and scripted annotation (tests, the demo's playback of bundled annotations).

Signup on the server is closed: an account is made here, by the admin, through Label Studio's own signup
form opened with the organisation's invite token (the Community edition has no API to set a password);
the token is reset right after, so the link never works twice, and only the admin can read it (the server's
gate, ls_guard.py, refuses it to every other account). Every account made here goes into the
toolkit's registry (`<data_dir>/.mmra-accounts.json`, 0600: e-mail, Label Studio user id, reviewer or not);
`annotate pull` uses only annotations from registered accounts, and ground truth only from reviewers.
Annotations are then made *as* the annotator (their own API token), not on their behalf.
"""

from __future__ import annotations

import json
import os
import re
import time
from dataclasses import asdict, dataclass, replace
from pathlib import Path

import httpx

from mmra.errors import MMRAError

from .labeling import QAContent
from .project import Project, api_error, sdk
from .server import Connection

_CSRF = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')
MIN_PASSWORD = 8  # Label Studio's AUTH_PASSWORD_MIN_LENGTH


@dataclass(frozen=True)
class Account:
    email: str
    id: int  # Label Studio user id: an e-mail alone could be re-used by a later account
    reviewer: bool = False
    created: str = ""


class AccountRegistry:
    """The accounts the toolkit created on one server, in a private JSON file (never holds a password)."""

    def __init__(self, path: Path | None, accounts: dict[str, Account] | None = None) -> None:
        self.path = Path(path) if path else None
        self.accounts = accounts or {}

    @classmethod
    def load(cls, path: Path | None) -> AccountRegistry:
        if path is None or not Path(path).exists():
            return cls(path)
        try:
            rows = json.loads(Path(path).read_text())["accounts"]
            accounts = {row["email"].lower(): Account(row["email"], int(row["id"]), bool(row.get("reviewer")),
                                                      str(row.get("created", ""))) for row in rows}
        except (ValueError, KeyError, TypeError) as exc:
            raise MMRAError(f"account registry {path} is damaged ({type(exc).__name__}: {exc}); restore it from a "
                            "backup or re-add the annotators with `mmra annotate users add`") from None
        return cls(path, accounts)

    @classmethod
    def of(cls, conn: Connection) -> AccountRegistry:
        return cls.load(conn.accounts_file)

    def get(self, email: str) -> Account | None:
        return self.accounts.get(email.lower())

    def add(self, account: Account) -> None:
        if self.path is None:
            raise MMRAError("this connection has no account registry file: accounts cannot be recorded")
        self.accounts[account.email.lower()] = account
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_name(self.path.name + f".{os.getpid()}.tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as fh:
            json.dump({"accounts": [asdict(a) for a in sorted(self.accounts.values(), key=lambda a: a.email)]},
                      fh, indent=1)
        tmp.replace(self.path)

    def knows(self, user_id: int | None, email: str | None) -> bool:
        """True when (id, e-mail) is an account the toolkit created (both must match)."""
        account = self.get(email or "")
        return account is not None and user_id is not None and account.id == int(user_id)


def _form_session(url: str, path: str, fields: dict[str, str], *, query: str = "") -> httpx.Client:
    client = httpx.Client(base_url=url, timeout=60, follow_redirects=False)
    page = client.get(path + query)
    match = _CSRF.search(page.text)
    token = match.group(1) if match else client.cookies.get("csrftoken", "")
    resp = client.post(path + query, data={**fields, "csrfmiddlewaretoken": token},
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


def whoami(conn: Connection) -> Account:
    """The account `conn`'s token belongs to (the admin, for the connection `serve` gives)."""
    try:
        me = sdk(conn).users.whoami()
    except Exception as exc:
        raise api_error(exc, "reading the current Label Studio user") from None
    return Account(me.email, int(me.id), reviewer=True)


def server_accounts(conn: Connection) -> list[Account]:
    """Every account in the admin's organisation, as the server lists it (reviewer flag unset)."""
    try:
        users = sdk(conn).users.list()
    except Exception as exc:
        raise api_error(exc, "listing Label Studio users") from None
    return [Account(u.email, int(u.id)) for u in users]


def _admin_call(conn: Connection, method: str, path: str) -> dict:
    client = sdk(conn)
    auth = client._client_wrapper.get_headers()["Authorization"]  # legacy token or a swapped PAT (SDK pinned)
    with httpx.Client(base_url=conn.url, timeout=60) as http:
        resp = http.request(method, path, headers={"Authorization": auth})
    if not resp.is_success:
        raise MMRAError(f"Label Studio {method} {path} answered {resp.status_code} (is the token the admin's?)")
    return resp.json()


def _sign_up(conn: Connection, email: str, password: str) -> httpx.Client:
    """Sign `email` up through the invite link, then reset the link's token so it cannot be used again."""
    invite = _admin_call(conn, "GET", "/api/invite")["token"]
    try:
        return _form_session(conn.url, "/user/signup/", {"email": email, "password": password,
                                                         "allow_newsletters": "false"}, query=f"?token={invite}")
    except MMRAError as exc:
        raise MMRAError(f"creating annotator {email}: {exc} (an account with this e-mail may exist already, "
                        "with another password)") from None
    finally:
        _admin_call(conn, "POST", "/api/invite/reset-token")


def create_annotator(conn: Connection, email: str, password: str, *, reviewer: bool = False) -> Connection:
    """Create `email` in the admin's organisation (or sign in when the toolkit already made it), record it in
    the registry, and return a connection acting as them. `conn` must be the admin's connection.

    An existing account that the given password opens is adopted into the registry (whoever holds its
    password vouches for it); `reviewer` is recorded either way."""
    if len(password) < MIN_PASSWORD:
        raise ValueError(f"annotator {email}: Label Studio needs a password of at least {MIN_PASSWORD} characters")
    registry = AccountRegistry.of(conn)
    try:
        try:
            session = login(conn, email, password)
        except MMRAError:
            session = _sign_up(conn, email, password)
        try:
            me = session.get("/api/current-user/whoami")
            if me.status_code != 200:
                raise MMRAError(f"annotator {email}: could not read the new account (HTTP {me.status_code})")
            previous = registry.get(email)
            account = Account(me.json()["email"], int(me.json()["id"]),
                              reviewer=reviewer or bool(previous and previous.reviewer),
                              created=previous.created if previous else time.strftime("%Y-%m-%dT%H:%M:%SZ",
                                                                                      time.gmtime()))
            if previous != account:
                registry.add(account)
            return replace(conn, token=_token_of(session))
        finally:
            session.close()
    except httpx.HTTPError as exc:
        raise api_error(exc, f"creating annotator {email}") from None


def set_reviewer(conn: Connection, email: str, reviewer: bool = True) -> Account:
    """Mark an account the toolkit created as a reviewer (or not)."""
    registry = AccountRegistry.of(conn)
    account = registry.get(email)
    if account is None:
        raise MMRAError(f"{email} is not an account the toolkit created; add it with `mmra annotate users add`")
    account = replace(account, reviewer=reviewer)
    registry.add(account)
    return account


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
