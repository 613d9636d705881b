"""`mmra annotate revise`: send leakage-flagged samples back to annotators.

Each flagged sample becomes a revision task (`external_id` = `rev-<sample id>-r<round>`) in the project:
same images, the current version pre-filled as a prediction to edit, and a note showing what the text-only
models answered. The previous Sample rides along in the task data, so `pull` can emit the rewritten
version under the same id with the old one appended to `annotation.history`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from mmra.benchmark.images import resolve_roots
from mmra.benchmark.schema import LETTERS, Candidate, Sample

from .labeling import QAContent, task_data
from .media import ImageRejected, stage_pair
from .origins import load_origins, origins_path, record_origins
from .project import Project, project_call
from .push_tasks import PushReport, align_prefill, stored_candidate, sync_tasks
from .server import Connection

PREVIOUS_VERSION_MODEL = "previous-version"
NOT_FLAGGED = "not flagged by the leakage filter (leakage.leaked is not true)"


@dataclass
class ReviseReport:
    project: str
    sent: int = 0
    push: PushReport | None = None
    skipped: list[tuple[str, str]] = field(default_factory=list)  # (sample id, why): not flagged, or refused

    @property
    def refused(self) -> list[tuple[str, str]]:
        """Flagged samples that were not sent because an image may not be used (the reason names it)."""
        return [(sid, why) for sid, why in self.skipped if why != NOT_FLAGGED]

    @property
    def not_flagged(self) -> int:
        return len(self.skipped) - len(self.refused)


def revision_note(sample: Sample) -> str:
    lines = ["Text-only models answered this question WITHOUT seeing the images, so the question or its options "
             "give the answer away. Rewrite it so that it needs both images (or reject the pair).",
             f"Current question: {sample.question}"]
    for letter, option in zip(LETTERS, sample.options, strict=False):
        lines.append(f"  {letter}. {option}")
    lines.append(f"Gold answer: {sample.answer}")
    verdict = sample.leakage
    if verdict is not None:
        for model, answers in sorted(verdict.answers.items()):
            shown = ", ".join("(no answer)" if a is None else str(a) for a in answers)
            lines.append(f"{model} answered: {shown}")
        if verdict.choices_only_hits is not None:
            lines.append(f"Right from the options alone (no question): {verdict.choices_only_hits} time(s)")
    return "\n".join(lines)


def revision_payload(sample: Sample, media_dir: Path, base_dir: Path | None = None, *,
                     roots: Sequence[Path] | None = None, origins: dict[str, str] | None = None) -> dict:
    """The revision task of one sample. Both images pass the one image check first (ImageRejected otherwise);
    task data names them only by their media names, as `push` does."""
    images, names = stage_pair((sample.image1, sample.image2), media_dir, base_dir=base_dir, roots=roots,
                               origins=origins)
    candidate = stored_candidate(
        Candidate(id=sample.candidate_id or "", subtask=sample.subtask, granularity=sample.granularity,
                  image1=sample.image1, image2=sample.image2, evidence=sample.provenance), images, names)
    previous = sample.model_copy(update={"image1": candidate.image1, "image2": candidate.image2})
    rnd = len(sample.annotation.history) + 1
    data = task_data(candidate, (names[0], names[1]), external_id=f"rev-{sample.id}-r{rnd}",
                     revision_note=revision_note(sample),
                     extra={"revision_of": sample.id, "revision_round": rnd,
                            "mmra_previous": previous.model_dump(mode="json", by_alias=True)})
    current = QAContent(qa_type=sample.qa_type.value, question=sample.question, options=list(sample.options),
                        answer=sample.answer, verdict="keep")
    return {"data": data, "predictions": [{"model_version": PREVIOUS_VERSION_MODEL, "result": current.to_result()}]}


def revise(conn: Connection, flagged: Sequence[Sample], project_name: str, *, batch_size: int = 250,
           base_dir: Path | None = None, roots: Sequence[Path] | None = None,
           show_progress: bool = True) -> ReviseReport:
    """Create one revision task per flagged sample (idempotent: re-running adds nothing). `roots`: as for
    `push`; the folders push allowed and the media folder (verified copies) are added."""
    report = ReviseReport(project=project_name)
    where = origins_path(conn.data_dir, conn.document_root)
    if roots is not None:
        known = load_origins(where)["roots"]
        roots = resolve_roots([*roots, *known, *([conn.media_dir] if conn.media_dir else [])])
    origins: dict[str, str] = {}
    payloads = []
    for sample in flagged:
        if sample.leakage is None or not sample.leakage.leaked:
            report.skipped.append((sample.id, NOT_FLAGGED))
            continue
        try:
            payloads.append(revision_payload(sample, conn.media_dir, base_dir, roots=roots, origins=origins))
        except ImageRejected as exc:
            report.skipped.append((sample.id, str(exc)))
    record_origins(where, origins, ())
    project = Project.open(conn, project_name)
    with project_call(project, f"sending revisions to {project_name!r}"):
        project.ensure_storage()
        align_prefill(project, payloads)  # the project's pre-fill version, or the previous version would not show
        report.push = sync_tasks(project, payloads, PushReport(project_name, project.id, len(payloads)),
                                 batch_size=batch_size, show_progress=show_progress)
        report.sent = len(payloads)
    return report
