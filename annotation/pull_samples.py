"""`mmra annotate pull`: Label Studio annotations -> validated, adjudicated Samples plus a report.

Per task: every annotation is validated on its own (the Sample schema: 3-4 distinct non-empty options
with the answer among them, Yes/No answers, a non-empty question; plus the subtask's allowed question
types and that both images still exist). Then the annotators' keep/reject votes and answers are
adjudicated: a ground-truth annotation (a reviewer's) wins; otherwise the majority; a tie goes to review.
Nothing disappears silently: invalid annotations, rejected pairs, tasks needing review and tasks still
waiting for annotators are listed in `<out>.report.json` with the task link and the reason.

Who wrote it is what the server recorded, not what the client claimed: Label Studio stores `completed_by` as
the client sends it, but sets `updated_by` itself to the account of every request that saves the annotation.
An annotation counts only when the two agree; one claimed for another account, changed by someone other than
its author, or with no recorded writer (imported, bulk-created) is listed under `authorship` (task, both
accounts, what happened) and not used. (The server `serve` starts also refuses such writes: ls_guard.py.)

Who counts (see users.AccountRegistry): only annotations by accounts the toolkit created, or by the account
pulling; others are listed under `unknown_accounts` and not used. A ground-truth mark counts only from a
reviewer (the pulling admin, accounts added with `--reviewer`, `[label_studio].reviewers`); anyone else's
is an ordinary annotation, listed under `ground_truth_ignored`.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from mmra.benchmark.images import record_roots, resolve_roots
from mmra.benchmark.records import parse_record, write_jsonl
from mmra.benchmark.registry import get_subtask
from mmra.benchmark.schema import AnnotationRecord, Candidate, Sample, SchemaError
from mmra.fileio import write_json

from .agreement import keep_reject_kappa, subtask_alphas
from .labeling import QAContent
from .origins import MEDIA_PREFIX, load_origins, origins_path, restore_paths
from .project import Project
from .server import Connection
from .users import Account, AccountRegistry, whoami

NOT_CREATED = "account not created by the toolkit"
NOT_REVIEWER = "ground-truth mark by an account that is not a reviewer: counted as an ordinary annotation"
NOT_BY_AUTHOR = ("credited to one account but last written by another (the server's updated_by): a forged or "
                 "altered annotation, not used; its author can submit it again")
NO_WRITER = ("the server recorded no account writing it (imported or bulk-created): its author is only claimed, "
             "not used")


@dataclass
class Judgement:
    annotator: str
    annotation_id: int
    content: QAContent
    ground_truth: bool
    updated_at: str
    sample: Sample | None = None
    problem: str | None = None

    @property
    def verdict(self) -> str | None:
        return self.content.verdict

    def answer_label(self) -> str:
        if self.verdict == "reject":
            return "reject"
        if self.problem:
            return "invalid"
        return self.sample.answer if self.sample else "?"


@dataclass
class PullReport:
    project: str
    output: str
    samples: int = 0
    tasks: int = 0
    invalid: list[dict[str, Any]] = field(default_factory=list)
    rejected: list[dict[str, Any]] = field(default_factory=list)
    needs_review: list[dict[str, Any]] = field(default_factory=list)
    pending: list[dict[str, Any]] = field(default_factory=list)
    revised: list[dict[str, Any]] = field(default_factory=list)
    unknown_accounts: list[dict[str, Any]] = field(default_factory=list)
    authorship: list[dict[str, Any]] = field(default_factory=list)  # written by another account than credited
    ground_truth_ignored: list[dict[str, Any]] = field(default_factory=list)
    agreement: dict[str, dict[str, Any]] = field(default_factory=dict)

    def write(self, path: Path) -> Path:
        return write_json(path, asdict(self))


def report_path(out: Path) -> Path:
    return out.with_name(out.name.removesuffix(".jsonl") + ".report.json")


@dataclass(frozen=True)
class Trust:
    """Whose annotations count, and whose ground-truth marks: the toolkit's accounts and its reviewers."""

    registry: AccountRegistry
    owner: Account  # the account pulling (the admin): trusted, a reviewer
    reviewers: frozenset[str] = frozenset()  # e-mails from [label_studio].reviewers (lower case)

    def known(self, who: dict[str, Any]) -> bool:
        if who.get("id") is not None and int(who["id"]) == self.owner.id:
            return True
        return self.registry.knows(who.get("id"), who.get("email"))

    def name(self, user_id: Any) -> str:
        """An account id as the report shows it: its e-mail when the toolkit knows it."""
        if user_id is not None and str(user_id).isdigit():
            if int(user_id) == self.owner.id:
                return self.owner.email
            for account in self.registry.accounts.values():
                if account.id == int(user_id):
                    return account.email
        return f"user-{user_id}"

    def reviewer(self, who: dict[str, Any]) -> bool:
        if not self.known(who):
            return False
        email = str(who.get("email") or "").lower()
        account = self.registry.get(email)
        return (int(who["id"]) == self.owner.id or email in self.reviewers
                or bool(account and account.reviewer))


def _who(annotation: dict[str, Any]) -> dict[str, Any]:
    who = annotation.get("completed_by")
    return who if isinstance(who, dict) else {"id": who, "email": None}


def _annotator(annotation: dict[str, Any]) -> str:
    who = _who(annotation)
    return who.get("email") or f"user-{who.get('id')}"


def _writer_id(annotation: dict[str, Any]) -> Any:
    writer = annotation.get("updated_by")
    return writer.get("id") if isinstance(writer, dict) else writer


def _authorship_problem(annotation: dict[str, Any]) -> str | None:
    """Why the server's record does not show the credited account writing this annotation, or None."""
    writer, author = _writer_id(annotation), _who(annotation).get("id")
    if writer is None or author is None:
        return NO_WRITER
    return None if str(writer) == str(author) else NOT_BY_AUTHOR


def _judgements(task: dict[str, Any], trust: Trust, report: PullReport, base: dict[str, Any]) -> list[Judgement]:
    """One judgement per annotator (their latest, non-cancelled annotation), from the toolkit's accounts."""
    latest: dict[str, Judgement] = {}
    for ann in task.get("annotations") or []:
        if ann.get("was_cancelled"):
            continue
        who = _who(ann)
        entry = {**base, "account": _annotator(ann), "annotation_id": ann.get("id")}
        forged = _authorship_problem(ann)
        if forged:
            writer = _writer_id(ann)
            report.authorship.append({**entry, "written_by": None if writer is None else trust.name(writer),
                                      "ground_truth": bool(ann.get("ground_truth")), "reason": forged})
            continue
        if not trust.known(who):
            report.unknown_accounts.append({**entry, "reason": NOT_CREATED})
            continue
        ground_truth = bool(ann.get("ground_truth"))
        if ground_truth and not trust.reviewer(who):
            report.ground_truth_ignored.append({**entry, "reason": NOT_REVIEWER})
            ground_truth = False
        j = Judgement(annotator=_annotator(ann), annotation_id=ann.get("id"),
                      content=QAContent.from_result(ann.get("result") or []),
                      ground_truth=ground_truth, updated_at=str(ann.get("updated_at") or ""))
        if j.annotator not in latest or j.updated_at >= latest[j.annotator].updated_at:
            latest[j.annotator] = j
    return sorted(latest.values(), key=lambda j: (j.updated_at, j.annotation_id))


def _build_sample(candidate: Candidate, content: QAContent, item: str, sample_id: str | None) -> Sample:
    spec = get_subtask(candidate.subtask)
    allowed = [q.value for q in spec.qa_types]
    if content.qa_type not in allowed:
        shown = content.qa_type or "none"
        raise SchemaError(f"{item}: question type {shown!r} is not allowed for {spec.name} (allowed: {', '.join(allowed)})")
    record = {
        "subtask": candidate.subtask, "image1": candidate.image1.model_dump(mode="json", by_alias=True, exclude_none=True),
        "image2": candidate.image2.model_dump(mode="json", by_alias=True, exclude_none=True),
        "qa_type": content.qa_type, "question": content.question,
        # options typed before switching to yes/no stay in the result but are hidden in the UI: not part of it
        "options": content.options if content.qa_type == "multiple_choice" else [],
        "answer": content.answer or "", "provenance": candidate.evidence.model_dump(mode="json"),
        "candidate_id": candidate.id,
    }
    if sample_id:
        record["id"] = sample_id
    return parse_record(Sample, record, item)


def _missing_images(candidate: Candidate) -> str | None:
    for key, ref in (("image1", candidate.image1), ("image2", candidate.image2)):
        if ref.bytes_ is None and ref.path and not Path(ref.path).is_file():
            return f"{key} file {ref.path} no longer exists (deleted or moved after the push)"
    return None


def _history_entry(previous: Sample, data: dict[str, Any]) -> dict[str, Any]:
    annotation = previous.annotation.model_dump(mode="json", exclude={"history"})
    return {
        "question": previous.question, "qa_type": previous.qa_type.value, "options": previous.options,
        "answer": previous.answer, "content_hash": previous.content_hash, "annotation": annotation,
        "leakage": previous.leakage.model_dump(mode="json") if previous.leakage else None,
        "replaced_by": "revision", "revision_round": data.get("revision_round"),
    }


@dataclass
class _TaskOutcome:
    subtask: str
    votes: dict[str, str]  # annotator -> keep/reject
    keep_agreement: float | None = None
    answers: dict[str, str] = field(default_factory=dict)  # annotator -> the answer kept (for alpha)
    sample: Sample | None = None
    status: str = "pending"  # sample | rejected | review | pending | invalid


def _adjudicate(task: dict[str, Any], project: Project, report: PullReport, min_annotations: int,
                trust: Trust) -> _TaskOutcome:
    data = task.get("data") or {}
    link = project.task_link(task["id"])
    ext_id = data.get("external_id", "?")
    base = {"task": link, "external_id": ext_id}
    try:
        candidate = parse_record(Candidate, data.get("mmra_candidate") or {}, f"task {task['id']} ({ext_id})")
    except SchemaError as exc:
        report.invalid.append({**base, "annotator": None, "reason": f"task data is not a candidate: {exc}"})
        return _TaskOutcome("?", {}, status="invalid")
    previous = None
    if data.get("mmra_previous"):
        try:
            previous = parse_record(Sample, data["mmra_previous"], f"task {task['id']} ({ext_id}): previous version")
        except SchemaError as exc:
            report.invalid.append({**base, "annotator": None, "reason": f"task data is not a sample: {exc}"})
            return _TaskOutcome(candidate.subtask, {}, status="invalid")
    judgements = _judgements(task, trust, report, base)
    votes = {j.annotator: j.verdict for j in judgements if j.verdict in ("keep", "reject")}
    outcome = _TaskOutcome(candidate.subtask, votes)
    if not judgements:
        report.pending.append({**base, "annotations": 0, "needed": min_annotations})
        return outcome

    missing = _missing_images(candidate)
    for j in judgements:
        item = f"task {task['id']} ({ext_id}) by {j.annotator}"
        if j.verdict not in ("keep", "reject"):
            j.problem = "no keep/reject verdict"
        elif j.verdict == "keep":
            if missing:
                j.problem = missing
            else:
                try:
                    j.sample = _build_sample(candidate, j.content, item, previous.id if previous else None)
                except SchemaError as exc:
                    j.problem = str(exc).removeprefix(f"{item}: ")
        if j.problem:
            report.invalid.append({**base, "annotator": j.annotator, "annotation_id": j.annotation_id,
                                   "reason": j.problem})

    reviewed = [j for j in judgements if j.ground_truth and not j.problem]
    if not reviewed and len(judgements) < min_annotations:
        report.pending.append({**base, "annotations": len(judgements), "needed": min_annotations})
        return outcome

    keepers = [j for j in judgements if j.verdict == "keep"]
    rejecters = [j for j in judgements if j.verdict == "reject"]
    groups: dict[tuple, list[Judgement]] = defaultdict(list)
    for j in keepers:
        if j.sample is not None:
            groups[j.content.key()].append(j)
    top = max(groups.values(), key=len) if groups else []
    outcome.answers = {j.annotator: repr(key) for key, group in groups.items() for j in group}
    if len(keepers) >= 2:
        outcome.keep_agreement = len(top) / len(keepers)

    winner: list[Judgement] | None = None
    if reviewed:
        final = reviewed[-1]
        if final.verdict == "reject":
            rejecters, winner = [final], None
        else:
            winner = groups[final.content.key()]
            winner = [final] + [j for j in winner if j is not final]
        adjudication = "review"
    elif len(rejecters) > len(keepers):
        winner, adjudication = None, "majority"
    elif len(rejecters) == len(keepers) or not top or len(top) * 2 <= len(keepers):
        why = ("annotators split between keep and reject" if len(rejecters) == len(keepers)
               else "annotators disagree on the question/answer" if top else "no valid keep annotation")
        report.needs_review.append({**base, "reason": why, "answers": {j.annotator: j.answer_label() for j in judgements},
                                    "how": "open the task, submit the adjudicated version and mark it as ground truth"})
        outcome.status = "review"
        return outcome
    else:
        winner = top
        adjudication = "unanimous" if len(top) == len(judgements) else "majority"

    if winner is None:
        reasons = {j.annotator: j.content.reject_reason or "(no reason given)" for j in rejecters}
        report.rejected.append({**base, "candidate_id": candidate.id, "reasons": reasons,
                                "revision_of": data.get("revision_of")})
        outcome.status = "rejected"
        return outcome

    chosen = winner[0]
    record = AnnotationRecord(
        annotators=[j.annotator for j in judgements],
        answers={j.annotator: j.answer_label() for j in judgements},
        agreement=round(len([j for j in judgements if j.sample and j.content.key() == chosen.content.key()])
                        / len(judgements), 4),
        adjudication=adjudication, source=link,
        history=(previous.annotation.history + [_history_entry(previous, data)]) if previous else [],
    )
    outcome.sample = chosen.sample.model_copy(update={"annotation": record})
    outcome.status = "sample"
    return outcome


def _restore_image_paths(tasks: list[dict[str, Any]], conn: Connection) -> tuple[Path, ...]:
    """Task data names images by media name only (see `origins`); put the original paths back. Returns the
    allowed folders that hold them, for the next stage: of the folders push recorded in the origins file
    (every push on this server), those holding a restored image, and the media folder when a media copy
    stands in. An original outside all of them (pushed with no folders, or revised with an --image-root of
    its own) gets no folder recorded: the next stage refuses it unless told that folder again."""
    origins = load_origins(origins_path(conn.data_dir, conn.document_root))
    candidates = resolve_roots([*origins["roots"], *([conn.media_dir] if conn.media_dir else [])])
    used: set[Path] = set()
    for task in tasks:
        data = task.get("data") or {}
        for key in ("mmra_candidate", "mmra_previous"):
            record = data.get(key)
            if not isinstance(record, dict):
                continue
            for which in ("image1", "image2"):
                ref = record.get(which)
                if not isinstance(ref, dict) or not str(ref.get("path") or "").startswith(MEDIA_PREFIX):
                    continue
                record[which] = restore_paths(ref, origins, conn.document_root)
                real = Path(record[which]["path"]).resolve()
                used.update(root for root in candidates if real.is_relative_to(root))
    return tuple(root for root in candidates if root in used)


def fold_check_revisions(tasks: list[dict[str, Any]]) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Move each check-revision task's annotations BY ITS AUTHOR into the task it revises (the latest
    annotation of an annotator is the one that counts, so the rewrite replaces the leaky version) and drop the
    revision tasks. Returns (tasks, ignored): annotations on them by anyone else, which do not count."""
    by_ext: dict[str, dict[str, Any]] = {}
    for task in sorted(tasks, key=lambda t: t.get("id", 0)):
        ext = str((task.get("data") or {}).get("external_id", ""))
        by_ext.setdefault(ext, task)
    kept, ignored = [], []
    for task in tasks:
        data = task.get("data") or {}
        original = data.get("check_of")
        if not original:
            kept.append(task)
            continue
        target = by_ext.get(str(original))
        for ann in task.get("annotations") or []:
            who = ann.get("completed_by")
            who_id = who.get("id") if isinstance(who, dict) else who
            if target is not None and who_id is not None and str(who_id) == str(data.get("author_id")):
                target.setdefault("annotations", []).append(ann)
            else:
                annotator = who.get("email") if isinstance(who, dict) else f"user-{who_id}"
                ignored.append({"task": task.get("id"), "external_id": data.get("external_id"), "annotator": annotator,
                                "annotation_id": ann.get("id"), "author": data.get("author")})
    return kept, ignored



def pull(conn: Connection, project_name: str, out: Path, *, min_annotations: int = 2,
         reviewers: Iterable[str] = ()) -> PullReport:
    """Export the project, validate and adjudicate, write Samples to `out` and the report next to it.

    `reviewers`: e-mails (besides the pulling account and those registered with --reviewer) whose
    ground-truth marks settle a task; they must be accounts the toolkit created."""
    out = Path(out)
    trust = Trust(AccountRegistry.of(conn), whoami(conn), frozenset(r.strip().lower() for r in reviewers))
    project = Project.open(conn, project_name)
    try:

        tasks, ignored = fold_check_revisions(project.export())
        roots = _restore_image_paths(tasks, conn)
        report = PullReport(project=project_name, output=str(out), tasks=len(tasks))
        report.invalid += [{"task": project.task_link(i["task"]), "external_id": i["external_id"],
                            "annotator": i["annotator"], "annotation_id": i["annotation_id"],
                            "reason": f"a revision task for {i['author']} only: another account's annotation is not used"}
                           for i in ignored]
        outcomes: list[tuple[dict[str, Any], _TaskOutcome]] = []
        for task in sorted(tasks, key=lambda t: t["id"]):
            outcomes.append((task, _adjudicate(task, project, report, min_annotations, trust)))
    finally:
        project.close()

    # per-subtask agreement, then the kappa lands in each sample of that subtask
    by_subtask: dict[str, list[_TaskOutcome]] = defaultdict(list)
    for _, outcome in outcomes:
        if outcome.subtask != "?":
            by_subtask[outcome.subtask].append(outcome)
    for subtask, items in sorted(by_subtask.items()):
        kappa, method, used = keep_reject_kappa([o.votes for o in items if len(o.votes) >= 2])
        answer_agreement = [o.keep_agreement for o in items if o.keep_agreement is not None]
        counts = Counter(o.status for o in items)
        report.agreement[subtask] = {
            "tasks": len(items), "samples": counts["sample"], "rejected": counts["rejected"],
            "review": counts["review"], "pending": counts["pending"], "invalid": counts["invalid"],
            "keep_reject_kappa": None if kappa is None else round(kappa, 4), "kappa_method": method,
            "kappa_tasks": used,
            "answer_agreement": round(sum(answer_agreement) / len(answer_agreement), 4) if answer_agreement else None,
            **subtask_alphas([o.votes for o in items], [o.answers for o in items]),  # Krippendorff's alpha
        }

    # revisions replace the version they revise (the latest complete round wins); a rejected revision drops it
    samples: dict[str, Sample] = {}
    rounds: dict[str, int] = {}
    dropped: set[str] = set()
    for task, outcome in outcomes:
        data = task.get("data") or {}
        revision_of, rnd = data.get("revision_of"), int(data.get("revision_round") or 0)
        if outcome.status == "rejected" and revision_of:
            dropped.add(revision_of)
        if outcome.sample is None:
            continue
        sample = outcome.sample
        row = report.agreement.get(sample.subtask, {})
        alpha = {"answers": row.get("answer_alpha"), "keep_reject": row.get("keep_reject_alpha")}
        sample = sample.model_copy(update={"annotation": sample.annotation.model_copy(
            update={"kappa": row.get("keep_reject_kappa"), "alpha": alpha})})
        if sample.id in samples and rounds.get(sample.id, 0) > rnd:
            continue
        samples[sample.id], rounds[sample.id] = sample, rnd
        if revision_of:
            report.revised.append({"task": sample.annotation.source, "sample_id": sample.id, "round": rnd})
    final = [s for sid, s in samples.items() if sid not in dropped]
    write_jsonl(out, final)
    # the folders its images lie in, for the next stage run from anywhere (`images.recorded_roots`)
    record_roots([out], roots, written_by="mmra annotate pull", source=f"{conn.url} project {project_name}")
    report.samples = len(final)
    report.write(report_path(out))
    return report



def plot_agreement(report: PullReport, path: Path) -> Path | None:
    """Bar chart per subtask: keep/reject kappa and answer agreement (PNG, Agg backend)."""
    rows = [(name, row) for name, row in report.agreement.items()
            if row["keep_reject_kappa"] is not None or row["answer_agreement"] is not None]
    if not rows:
        return None
    from mmra.plots import pyplot

    plt = pyplot()

    names = [name for name, _ in rows]
    xs = range(len(rows))
    fig, ax = plt.subplots(figsize=(max(5.0, 1.1 * len(rows) + 2), 3.6))
    ax.bar([x - 0.2 for x in xs], [r["keep_reject_kappa"] or 0.0 for _, r in rows], width=0.4,
           label="keep/reject kappa")
    ax.bar([x + 0.2 for x in xs], [r["answer_agreement"] or 0.0 for _, r in rows], width=0.4,
           label="answer agreement")
    ax.set_xticks(list(xs), names, rotation=30, ha="right")
    ax.set_ylim(min(0.0, *(r["keep_reject_kappa"] or 0.0 for _, r in rows)) - 0.05, 1.05)
    ax.axhline(0, color="grey", linewidth=0.6)
    ax.set_title(f"Annotator agreement in {report.project!r}")
    ax.legend(loc="lower right", fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path
