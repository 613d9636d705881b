"""`mmra annotate push`: candidates -> Label Studio tasks, idempotently and in atomic batches.

Every task carries `external_id` (the candidate id, stable across machines). A push lists what the
project already holds, imports only what is missing, updates tasks whose data changed, and removes
unannotated duplicates, so pushing twice adds nothing and an interrupted push, re-run, completes
without duplicates or gaps.

What the annotator finds pre-filled when a task opens is the task's one prediction: the machine draft (when
there is one) plus the candidate's entity boxes as read-only regions on both images. Label Studio pre-fills
only from predictions of the project's `model_version`, so every prediction of a push carries one version:
the draft model's name, else the version the project already uses, else `ENTITY_BOXES_MODEL`.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from mmra.benchmark.schema import Candidate
from mmra.errors import MMRAError
from mmra.progress import progress_bar

from .labeling import DRAFT_FIELDS, NO_DRAFT_CHECK, QAContent, entity_regions, task_data
from .media import ImageRejected, VerifiedImage, stage_pair
from .origins import MEDIA_PREFIX, origins_path, record_origins
from .project import Project, api_error, project_call
from .server import Connection


@dataclass
class Draft:
    """A machine-written first version of a question (pushed as a Label Studio prediction)."""

    content: QAContent
    model: str
    score: float | None = None
    # what the blind probes said before an annotator sees it (check.draft_check_text); shown in the task
    check: str = ""
    check_result: dict[str, Any] | None = None  # {"leaky": bool, "reasons": [...], "checked": [...]}
    vision: bool = False  # written by a model that saw both images

    def prediction(self, regions: list[dict[str, Any]] | None = None, model_version: str | None = None
                   ) -> dict[str, Any]:
        pred: dict[str, Any] = {"model_version": model_version or self.model,
                                "result": self.content.to_result() + list(regions or [])}
        if self.score is not None:
            pred["score"] = self.score
        return pred


ENTITY_BOXES_MODEL = "entity-boxes"  # the prediction version of tasks pre-filled with boxes only


@dataclass
class PushReport:
    project: str
    project_id: int
    total: int
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    duplicates_removed: int = 0
    predictions_added: int = 0
    skipped: list[tuple[str, str]] = field(default_factory=list)  # (candidate id, reason)
    warnings: list[str] = field(default_factory=list)


def stored_candidate(candidate: Candidate, images: Sequence[VerifiedImage], names: Sequence[str]) -> Candidate:
    """The candidate as kept in task data, which every account on the server can read: images only as their
    media names and sha256s (no host paths, no inline bytes); `origins` keeps where they came from."""
    refs = []
    for ref, image, name in zip((candidate.image1, candidate.image2), images, names, strict=True):
        refs.append(ref.model_copy(update={"path": f"{MEDIA_PREFIX}{name}", "bytes_": None, "sha256": image.sha256}))
    return candidate.model_copy(update={"image1": refs[0], "image2": refs[1]})


def prepare(candidates: Iterable[Candidate], media_dir: Path, *, base_dir: Path | None = None,
            drafts: dict[str, Draft] | None = None, roots: Sequence[Path] | None = None,
            origins: dict[str, str] | None = None, prefill_model: str | None = None,
            notes: list[str] | None = None) -> tuple[list[dict[str, Any]], list[tuple[str, str]]]:
    """Check both images of every candidate (the one image check), then store them in the media folder and
    build import payloads. A candidate with any refused image is skipped whole, with the reason.
    `origins` (sha256 -> original path) is filled for the private origins file. Entity boxes become read-only
    regions in the task's prediction (version `prefill_model`); a box outside its image is clipped or dropped,
    with a line in `notes`."""
    payloads, skipped, seen = [], [], set()
    for cand in candidates:
        if cand.id in seen:
            skipped.append((cand.id, "duplicate candidate id in the input (pushed once)"))
            continue
        seen.add(cand.id)
        try:
            images, names = stage_pair((cand.image1, cand.image2), media_dir, base_dir=base_dir, roots=roots,
                                       origins=origins)
        except ImageRejected as exc:
            skipped.append((cand.id, str(exc)))
            continue
        stored = stored_candidate(cand, images, names)
        regions, labels, box_notes = entity_regions(cand.evidence.boxes, {1: (images[0].width, images[0].height),
                                                                          2: (images[1].width, images[1].height)})
        if notes is not None:
            notes += [f"{cand.id}: {note}" for note in box_notes]
        draft = (drafts or {}).get(cand.id)
        extra = {"mmra_draft_check": draft.check_result} if draft and draft.check_result else None
        data = task_data(stored, (names[0], names[1]), entity_labels=labels, extra=extra,
                         draft_check=(draft.check or "(not checked)") if draft else NO_DRAFT_CHECK)
        payload: dict[str, Any] = {"data": data}
        if draft:
            payload["predictions"] = [draft.prediction(regions, prefill_model)]
        elif regions:
            payload["predictions"] = [{"model_version": prefill_model or ENTITY_BOXES_MODEL, "result": regions}]
        payloads.append(payload)
    return payloads, skipped


def align_prefill(project: Project, payloads: Sequence[dict[str, Any]]) -> None:
    """Give every prediction in `payloads` the project's pre-fill version (Label Studio pre-fills only from
    that one), so tasks added later (revisions, checks) open pre-filled too."""
    version = project.client.projects.get(id=project.id).model_version
    if version:
        for payload in payloads:
            for prediction in payload.get("predictions") or []:
                prediction["model_version"] = version


def _same(a: dict[str, Any], b: dict[str, Any]) -> bool:
    return json.dumps(a, sort_keys=True) == json.dumps(b, sort_keys=True)


def sync_tasks(project: Project, payloads: Sequence[dict[str, Any]], report: PushReport, *,
               batch_size: int, show_progress: bool = True) -> PushReport:
    """Make the project hold exactly one task per payload `external_id` (others are left alone)."""
    existing = project.tasks_by_external_id()
    wanted_ids = {p["data"]["external_id"] for p in payloads}
    # duplicates from an earlier interrupted or retried import: keep the annotated / oldest one
    for ext_id in wanted_ids & existing.keys():
        tasks = sorted(existing[ext_id], key=lambda t: (-t.total_annotations, t.id))
        extra = [t for t in tasks[1:] if t.total_annotations == 0]
        if len(tasks) - len(extra) > 1:
            report.warnings.append(f"{ext_id}: {len(tasks) - len(extra)} annotated copies exist; kept all of them")
        try:
            project.delete_tasks([t.id for t in extra])
        except Exception as exc:
            raise api_error(exc, f"removing duplicate tasks of {ext_id}") from None
        report.duplicates_removed += len(extra)
        existing[ext_id] = [t for t in tasks if t not in extra]

    missing = [p for p in payloads if p["data"]["external_id"] not in existing]
    changed, add_predictions = [], []
    for p in payloads:
        tasks = existing.get(p["data"]["external_id"])
        if not tasks:
            continue
        task = tasks[0]
        if p["data"].get("draft_check", NO_DRAFT_CHECK) == NO_DRAFT_CHECK:  # no draft this time: keep the last check
            for name in DRAFT_FIELDS:
                if name in task.data:
                    p["data"][name] = task.data[name]
        fresh = True
        if not _same(task.data, p["data"]):
            changed.append((task.id, p["data"]))
            fresh = False
        if p.get("predictions") and task.total_predictions == 0:
            add_predictions.append((task.id, p["predictions"][0]))
            fresh = False
        report.unchanged += fresh

    batches = [missing[i:i + batch_size] for i in range(0, len(missing), batch_size)]
    with progress_bar(disable=not show_progress) as bar:
        job = bar.add_task(f"push to {project.title}", total=len(missing) + len(changed) + len(add_predictions))
        for number, batch in enumerate(batches, 1):
            try:
                report.created += project.import_batch(batch)
            except Exception as exc:
                reason = api_error(exc, "import")
                raise MMRAError(
                    f"push to {project.title!r} interrupted at batch {number} of {len(batches)} "
                    f"({report.created} new tasks arrived in this run): {reason}. Nothing is lost: run the same "
                    "push again; it imports only what is missing and removes any duplicate."
                ) from None
            bar.advance(job, len(batch))
        for task_id, data in changed:
            try:
                project.update_task(task_id, data)
            except Exception as exc:
                raise api_error(exc, f"updating task {task_id} ({data['external_id']})") from None
            report.updated += 1
            bar.advance(job)
        for task_id, prediction in add_predictions:
            try:
                project.client.predictions.create(task=task_id, **prediction)
            except Exception as exc:
                raise api_error(exc, f"adding a draft to task {task_id}") from None
            report.predictions_added += 1
            bar.advance(job)
    return report


def push(conn: Connection, candidates: Sequence[Candidate], project_name: str, *, annotators_per_task: int = 2,
         batch_size: int = 250, drafts: dict[str, Draft] | None = None, base_dir: Path | None = None,
         roots: Sequence[Path] | None = None, show_progress: bool = True) -> PushReport:
    """Create/update the project and bring its tasks in line with `candidates`. Safe to re-run at any time.
    `roots`: the real folders images may lie in (None: anywhere but the system trees); every image is checked
    before anything of its candidate reaches the server."""
    if batch_size < 1:
        raise ValueError(f"batch size must be at least 1, got {batch_size}")
    try:
        project = Project.ensure(conn, project_name, annotators_per_task=annotators_per_task)
        project.ensure_storage()
    except (httpx.HTTPError, OSError) as exc:
        raise api_error(exc, f"opening project {project_name!r}") from None
    origins: dict[str, str] = {}
    try:
        current = project.client.projects.get(id=project.id).model_version or None
    except Exception as exc:
        raise api_error(exc, f"reading project {project_name!r}") from None
    prefill = sorted({d.model for d in drafts.values()})[-1] if drafts else current or ENTITY_BOXES_MODEL
    notes: list[str] = []
    payloads, skipped = prepare(candidates, conn.media_dir, base_dir=base_dir, drafts=drafts, roots=roots,
                                origins=origins, prefill_model=prefill, notes=notes)
    record_origins(origins_path(conn.data_dir, conn.document_root), origins, roots or ())
    report = PushReport(project=project_name, project_id=project.id, total=len(payloads), skipped=skipped,
                        warnings=notes)
    with project_call(project, f"push to {project_name!r}"):
        sync_tasks(project, payloads, report, batch_size=batch_size, show_progress=show_progress)
        if any(p.get("predictions") for p in payloads) and prefill != current:
            # the labeling UI pre-fills a new annotation only from this model version's predictions
            project.client.projects.update(id=project.id, model_version=prefill)
        return report
