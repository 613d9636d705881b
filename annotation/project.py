"""A Label Studio project seen from the toolkit: found by title, tasks keyed by `external_id`.

The official SDK (label-studio-sdk 2.1.2, the one the pinned server ships with) does the talking. Two
traps from ../shared/notes/label-studio.md are handled here: the SDK retries POSTs (so imports run with
`max_retries=0` and are reconciled by `external_id`), and Label Studio task ids are not stable keys
(sqlite reuses them), so nothing is keyed on them.
"""

from __future__ import annotations

import contextlib
import json
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx

from mmra.errors import MMRAError

from .labeling import label_config
from .server import Connection

NO_RETRY = {"max_retries": 0}
PAGE_SIZE = 1000


def sdk(conn: Connection, *, timeout: float = 120.0):
    from label_studio_sdk import LabelStudio  # heavy import (pandas); only when talking to a server

    return LabelStudio(base_url=conn.url, api_key=conn.token, timeout=timeout)


@contextlib.contextmanager
def project_call(project: Any, doing: str) -> Iterator[Any]:
    """Work on an open project: an SDK/HTTP failure inside becomes one line naming what was being done
    (`api_error`), the toolkit's own errors pass as they are, and the project's connection is always closed."""
    try:
        yield project
    except MMRAError:
        raise
    except Exception as exc:
        raise api_error(exc, doing) from None
    finally:
        project.close()


def api_error(exc: Exception, what: str) -> MMRAError:
    """One readable line for an SDK/HTTP failure (the SDK's own str() dumps every response header)."""
    status = getattr(exc, "status_code", None)
    body = getattr(exc, "body", None)
    if status is not None:
        detail = body if isinstance(body, str) else json.dumps(body)[:400] if body is not None else ""
        if status == 401:
            return MMRAError(f"{what}: Label Studio refused the API token (401); check LABEL_STUDIO_API_KEY")
        return MMRAError(f"{what}: Label Studio answered {status}: {detail}")
    if isinstance(exc, httpx.ConnectError):  # never reached: say where, not "lost"
        try:
            where = f" at {exc.request.url.scheme}://{exc.request.url.netloc.decode()}"
        except RuntimeError:  # no request attached
            where = ""
        return MMRAError(f"{what}: cannot reach Label Studio{where} ({exc}); is the server running?")
    if isinstance(exc, httpx.HTTPError):
        return MMRAError(f"{what}: lost the connection to Label Studio ({type(exc).__name__}: {exc})")
    return MMRAError(f"{what}: {type(exc).__name__}: {exc}")


@dataclass
class RemoteTask:
    id: int
    data: dict[str, Any]
    total_annotations: int = 0
    total_predictions: int = 0


MAX_TITLE_CHARS = 50  # Label Studio's Project.title max_length


class Project:
    def __init__(self, conn: Connection, project_id: int, title: str, client=None) -> None:
        self.conn = conn
        self.id = project_id
        self.title = title
        self.client = client or sdk(conn)
        self._http = httpx.Client(base_url=conn.url, timeout=120)

    def _auth(self) -> dict[str, str]:
        # the SDK's header: "Token <legacy token>", or "Bearer <access>" swapped from a personal access token
        # (the SDK version is pinned exactly, so this internal stays put)
        return {"Authorization": self.client._client_wrapper.get_headers()["Authorization"]}

    # -- finding / creating ---------------------------------------------------------------------------
    @classmethod
    def find(cls, conn: Connection, title: str, client=None) -> Project | None:
        client = client or sdk(conn)
        try:
            matches = [p for p in client.projects.list(title=title, page_size=100) if p.title == title]
        except Exception as exc:
            raise api_error(exc, f"looking up project {title!r}") from None
        if len(matches) > 1:
            ids = ", ".join(str(p.id) for p in matches)
            raise MMRAError(f"{len(matches)} Label Studio projects are titled {title!r} (ids {ids}); rename all but one")
        return cls(conn, matches[0].id, title, client) if matches else None

    @classmethod
    def open(cls, conn: Connection, title: str) -> Project:
        project = cls.find(conn, title)
        if project is None:
            raise MMRAError(f"no Label Studio project titled {title!r} on {conn.url}; push candidates to it first")
        return project

    @classmethod
    def ensure(cls, conn: Connection, title: str, *, annotators_per_task: int) -> Project:
        """Create the project, or bring an existing one's labeling config and overlap up to date."""
        if len(title.strip()) < 3:
            raise ValueError(f"project name {title!r}: Label Studio needs at least 3 characters")
        if len(title) > MAX_TITLE_CHARS:  # Label Studio's own limit; its refusal would echo the whole name
            raise ValueError(f"project name {title[:40]!r}... is {len(title)} characters; Label Studio allows "
                             f"{MAX_TITLE_CHARS}")
        client = sdk(conn)
        project = cls.find(conn, title, client)
        settings = dict(label_config=label_config(), maximum_annotations=annotators_per_task,
                        show_overlap_first=True, overlap_cohort_percentage=100, show_skip_button=True,
                        description="MMRA image-pair questions (pushed by `mmra annotate push`).")
        try:
            if project is None:
                created = client.projects.create(title=title, **settings)
                project = cls(conn, created.id, title, client)
            else:
                current = client.projects.get(id=project.id)
                if ((current.label_config or "").strip() != settings["label_config"].strip()  # stored trimmed
                        or current.maximum_annotations != annotators_per_task):
                    client.projects.update(id=project.id, **settings)
        except MMRAError:
            raise
        except Exception as exc:
            raise api_error(exc, f"creating/updating project {title!r}") from None
        return project

    def ensure_storage(self) -> None:
        """Register (never sync) a local-files storage on the media folder so its images are served."""
        media = self.conn.media_dir
        if media is None:
            raise MMRAError("the server is remote and label_studio.document_root is not set: pushed images need "
                            "a folder that the server serves as LOCAL_FILES_DOCUMENT_ROOT")
        media.mkdir(parents=True, exist_ok=True)
        try:
            existing = self.client.import_storage.local.list(project=self.id)
            if not any(str(s.path).rstrip("/") == str(media) for s in existing):
                self.client.import_storage.local.create(project=self.id, path=str(media), use_blob_urls=False,
                                                        title="mmra images", regex_filter="")
        except Exception as exc:
            raise api_error(exc, f"registering local storage {media}") from None

    # -- tasks ----------------------------------------------------------------------------------------
    def tasks(self) -> list[RemoteTask]:
        """All tasks (id, data, annotation count), a page of 1,000 at a time."""
        out: list[RemoteTask] = []
        page = 1
        while True:
            try:
                resp = self._http.get("/api/tasks", headers=self._auth(), params={
                    "project": self.id, "page": page, "page_size": PAGE_SIZE, "fields": "task_only",
                    "include": "id,data,total_annotations,total_predictions"})
                resp.raise_for_status()
            except httpx.HTTPError as exc:
                raise api_error(exc, f"listing tasks of project {self.title!r}") from None
            body = resp.json()
            items = body["tasks"] if isinstance(body, dict) else body
            out += [RemoteTask(t["id"], t.get("data") or {}, t.get("total_annotations") or 0,
                               t.get("total_predictions") or 0) for t in items]
            total = body.get("total", len(out)) if isinstance(body, dict) else len(out)
            if not items or len(out) >= total:
                return out
            page += 1

    def tasks_by_external_id(self) -> dict[str, list[RemoteTask]]:
        by_key: dict[str, list[RemoteTask]] = defaultdict(list)
        for task in self.tasks():
            by_key[str(task.data.get("external_id", f"(no external_id: task {task.id})"))].append(task)
        return by_key

    def import_batch(self, tasks: list[dict[str, Any]]) -> int:
        """One atomic import request, without the SDK's automatic retry (a retried POST can duplicate)."""
        result = self.client.projects.import_tasks(id=self.id, request=tasks, return_task_ids=True,
                                                   request_options=NO_RETRY)
        return int(result.task_count or 0)

    def delete_tasks(self, ids: list[int]) -> None:
        if ids:
            self.client.actions.create(id="delete_tasks", project=self.id,
                                       selected_items={"all": False, "included": ids})

    def update_task(self, task_id: int, data: dict[str, Any]) -> None:
        self.client.tasks.update(id=str(task_id), data=data)

    def task_link(self, task_id: int) -> str:
        return f"{self.conn.url}/projects/{self.id}/data?tab=0&task={task_id}"

    # -- export ---------------------------------------------------------------------------------------
    def export(self) -> list[dict[str, Any]]:
        """Full JSON of every task with its annotations (annotators as e-mails, predictions in full)."""
        exports = self.client.projects.exports
        try:
            snap = exports.create(id=self.id, title="mmra pull", serialization_options={
                "predictions": {"only_id": False}, "annotations__completed_by": {"only_id": False}},
                task_filter_options={"only_with_annotations": False})
            try:
                import time

                for _ in range(600):
                    status = exports.get(id=self.id, export_pk=snap.id).status
                    if status in ("completed", "failed"):
                        break
                    time.sleep(0.2)
                if status != "completed":
                    raise MMRAError(f"export of project {self.title!r} ended with status {status!r}")
                blob = b"".join(exports.download(id=self.id, export_pk=snap.id, export_type="JSON"))
            finally:
                exports.delete(id=self.id, export_pk=snap.id)  # snapshots would pile up in the data dir
        except MMRAError:
            raise
        except Exception as exc:
            raise api_error(exc, f"exporting project {self.title!r}") from None
        return json.loads(blob)

    def close(self) -> None:
        self._http.close()
