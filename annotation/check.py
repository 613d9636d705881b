"""Leakage caught while the annotator is still at it: drafts probed before anyone sees them, and submitted
questions probed before the next pull (`mmra annotate check`).

The probes are the leakage filter's own (issue 11): the model-free blind probes (`benchmark.leakage.blind`,
flagging by the panel's rule: the learned text-bias probe answers a question right, confidently, in a subtask
where it beats chance) and, when a text-only model is given, the question-only probe (`run_leakage`, every
option order). The learned probe is fitted out of fold on the questions being checked plus any already-pulled
samples, with no copy of a question in its own training folds (one annotation per task per run; no pulled sample
of a pair being probed); below `min_learned` questions it would be noise, so it does not run and says so.

A leaky submitted annotation goes back to its author as a revision task (`external_id`
`check-<task>-a<annotation id>`): the same images and boxes, their version pre-filled, a note naming the
author and what the probes saw. Label Studio's Community edition cannot assign a task to one account, so the
note names the author, and only the author's annotation of it counts: `pull.fold_check_revisions` (used by pull,
check and status) moves it into the original task, where it replaces their earlier version (latest wins).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

from mmra.benchmark.leakage.blind import BlindSettings
from mmra.benchmark.records import parse_record
from mmra.benchmark.schema import LETTERS, Candidate, QAType, Sample, SchemaError

from .labeling import QAContent

CHECK_PREFIX = "check-"
MIN_LEARNED = 20  # questions the learned probe needs before its out-of-fold guesses mean something
LEAKY_DRAFT = "WARNING: a text-only model answers this draft without the images"


@dataclass
class Finding:
    leaky: bool = False
    reasons: list[str] = field(default_factory=list)  # why it is leaky (each one probe)
    advice: list[str] = field(default_factory=list)  # worth knowing, not leakage (answer-key skew)


@dataclass
class ProbeRun:
    findings: dict[str, Finding]  # by sample id
    checked: list[str]  # the probes that ran, in words
    skipped: list[str]  # the probes that could not run, and why


def _answer(sample: Sample, value: str | None) -> str:
    if value is None:
        return "(no answer)"
    if sample.qa_type == QAType.multiple_choice and value in LETTERS[: len(sample.options)]:
        return f"{value} ({sample.options[LETTERS.index(value)]})"
    return value


def probe_questions(items: Sequence[Sample], reference: Sequence[Sample] = (), *,
                    blind: BlindSettings | None = None, text_models: Mapping[str, Any] | None = None,
                    min_learned: int = MIN_LEARNED) -> ProbeRun:
    """Run the probes over `items` (with `reference`, e.g. pulled samples, as more training text for the
    learned probe). `text_models`: label -> ChatClient of text-only models for the question-only probe."""
    from mmra.benchmark.leakage.blind import offends, run_blind_probes
    from mmra.benchmark.leakage.panel import PanelSettings, decide_flags

    blind = blind or BlindSettings()
    findings = {s.id: Finding() for s in items}
    checked: list[str] = []
    skipped: list[str] = []
    ids = {s.id for s in items}
    pairs = {s.candidate_id for s in items if s.candidate_id}
    # a pulled sample of a pair being probed is the same question again: it would answer it out of fold
    pooled = list(items) + [r for r in reference if r.id not in ids and r.candidate_id not in pairs]
    if not items:
        return ProbeRun(findings, checked, skipped)
    if len(pooled) >= max(min_learned, 2):
        result = run_blind_probes(pooled, blind)
        checked.append(f"learned text-bias probe and answer prior ({len(pooled)} questions, "
                       f"{blind.folds}-fold)")
        flags = decide_flags(list(items), None, result, blind, PanelSettings(flag_on=("learned",)))
        for s in items:
            rec = result.per_sample[s.id]
            learned = rec.get("learned")
            if flags[s.id] and learned:
                findings[s.id].leaky = True
                findings[s.id].reasons.append(
                    f"the learned text-bias probe, fitted on the text of the other questions, picks the right "
                    f"answer {_answer(s, learned['predicted'])} without the images (probability "
                    f"{learned['bias_score']:.2f})")
            prior = rec.get("answer_prior") or {}
            row = result.subtasks.get(s.subtask, {})
            if prior.get("correct") and row and offends(row, "answer_prior", blind.max_gap, blind.alpha):
                share = prior.get("train_share")
                how = f" in {share:.0%} of the other questions" if share is not None else ""
                findings[s.id].advice.append(
                    f"the answer key of {s.subtask} is skewed: {_answer(s, prior['predicted'])} is right{how}; "
                    "put the right answer elsewhere")
    else:
        skipped.append(f"learned text-bias probe: {len(pooled)} question(s), it needs at least {min_learned} "
                       "(add already-pulled samples)")
    if text_models:
        from mmra.benchmark.leakage.run import LeakageSettings, run_leakage

        settings = LeakageSettings(probes=("circular",), flag_kinds=("circular",), choices_only=False, max_hits=0)
        leak = run_leakage(list(items), dict(text_models), settings)
        checked.append(f"question-only probe ({', '.join(text_models)}, every option order)")
        llm_flags = decide_flags(list(items), leak, None, blind, PanelSettings(flag_on=("llm",)))
        for s, verdict in zip(leak.samples, leak.verdicts, strict=True):
            if not llm_flags[s.id]:
                continue
            for label, hit in verdict["model_hits"].items():
                if hit:
                    answers = (s.leakage.answers.get(label) if s.leakage else None) or [None]
                    findings[s.id].leaky = True
                    findings[s.id].reasons.append(
                        f"a text-only model ({label}) answers it without the images: {_answer(s, answers[0])} "
                        "under every option order")
    else:
        skipped.append("question-only probe: no text-only model given")
    return ProbeRun(findings, checked, skipped)


# ---------------------------------------------------------------------------------------------- drafts


def draft_sample(candidate: Candidate, content: QAContent) -> Sample:
    return Sample(subtask=candidate.subtask, granularity=candidate.granularity, image1=candidate.image1,
                  image2=candidate.image2, qa_type=content.qa_type, question=content.question,
                  options=content.options if content.qa_type == QAType.multiple_choice.value else [],
                  answer=content.answer or "", candidate_id=candidate.id)


def draft_check_text(finding: Finding | None, run: ProbeRun) -> str:
    """What the task shows under "Draft check"."""
    if finding is None:
        return "Not checked: the draft is not a valid question."
    lines = []
    if finding.leaky:
        lines.append(f"{LEAKY_DRAFT}: " + "; ".join(finding.reasons) + ". Rewrite the question or the options so "
                     "that both images are needed (or reject the pair).")
    elif run.checked:
        lines.append("OK: no probe answered this draft without the images.")
    else:
        lines.append("Not checked: no probe could run.")
    lines += [f"Note: {a}." for a in finding.advice]
    if run.checked:
        lines.append("Checked with: " + "; ".join(run.checked) + ".")
    if run.skipped:
        lines.append("Not run: " + "; ".join(run.skipped) + ".")
    return "\n".join(lines)


def check_drafts(candidates: Sequence[Candidate], drafts: Mapping[str, Any], reference: Sequence[Sample] = (), *,
                 blind: BlindSettings | None = None, text_models: Mapping[str, Any] | None = None,
                 min_learned: int = MIN_LEARNED) -> ProbeRun:
    """Probe every draft (a push.Draft) and write the result into it (`check`, `check_result`), so the task
    shows it next to the pre-filled draft."""
    samples: dict[str, Sample] = {}
    for cand in candidates:
        draft = drafts.get(cand.id)
        if draft is None:
            continue
        try:
            samples[cand.id] = draft_sample(cand, draft.content)
        except (ValueError, SchemaError):
            draft.check = draft_check_text(None, ProbeRun({}, [], []))
    run = probe_questions(list(samples.values()), reference, blind=blind, text_models=text_models,
                          min_learned=min_learned)
    for cid, sample in samples.items():
        finding = run.findings[sample.id]
        drafts[cid].check = draft_check_text(finding, run)
        drafts[cid].check_result = {"leaky": finding.leaky, "reasons": finding.reasons, "advice": finding.advice,
                                    "checked": run.checked, "skipped": run.skipped}
    return run


# ---------------------------------------------------------------------------------------------- check before pull


@dataclass
class CheckReport:
    project: str
    probed: int = 0
    flagged: int = 0
    sent: int = 0  # new revision tasks
    waiting: int = 0  # revision tasks from earlier checks that their author has not submitted
    annotators: dict[str, dict[str, int]] = field(default_factory=dict)
    flagged_items: list[dict[str, Any]] = field(default_factory=list)
    checked: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def check_note(email: str, finding: Finding, item: Sample, link: str) -> str:
    lines = [f"FOR {email} ONLY (a check before pull; other annotators: skip this task). The blind probes answered "
             "your question without the images, so its wording or options give the answer away:"]
    lines += [f"- {r}" for r in finding.reasons]
    lines.append(f"Your question: {item.question}")
    for letter, option in zip(LETTERS, item.options, strict=False):
        lines.append(f"  {letter}. {option}")
    lines.append(f"Your answer: {item.answer}")
    lines.append(f"Rewrite it here so that it needs both images (or reject the pair); your new version replaces the "
                 f"one you submitted on {link}.")
    return "\n".join(lines)


def _revision_payload(task: dict[str, Any], ann_id: int, who: dict[str, Any], content: QAContent, note: str,
                      model_version: str) -> dict[str, Any]:
    data = dict(task.get("data") or {})
    ext = data.get("external_id")
    data.update({"external_id": f"{CHECK_PREFIX}{ext}-a{ann_id}", "kind": "revision", "revision_note": note,
                 "draft_check": "(your own question, sent back by `mmra annotate check`)",
                 "check_of": ext, "author": who.get("email"), "author_id": who.get("id"),
                 "revision_of_annotation": ann_id})
    data.pop("mmra_draft_check", None)
    boxes = [r for p in task.get("predictions") or [] if isinstance(p, dict)
             for r in p.get("result") or [] if r.get("type") == "rectanglelabels"]
    return {"data": data, "predictions": [{"model_version": model_version, "result": content.to_result() + boxes}]}


def _probe_by_rounds(items: list[tuple[dict[str, Any], Any, Sample]], reference: Sequence[Sample], **options
                     ) -> ProbeRun:
    """Probe the annotators' questions with at most one per task in each run, the other tasks' questions as
    training text: two annotators of one task mostly write the same question, and a copy in the training
    folds would give the other copy away."""
    by_task: dict[Any, list[Sample]] = defaultdict(list)
    for task, _, sample in items:
        by_task[task["id"]].append(sample)
    findings: dict[str, Finding] = {}
    checked: list[str] = []
    skipped: list[str] = []
    for k in range(max((len(group) for group in by_task.values()), default=0)):
        tasks = {tid for tid, group in by_task.items() if len(group) > k}
        others = [s for tid, group in by_task.items() if tid not in tasks for s in group]
        run = probe_questions([by_task[tid][k] for tid in tasks], [*reference, *others], **options)
        findings.update(run.findings)
        checked += [c for c in run.checked if not any(c.startswith(_probe_name(x)) for x in checked)]
        skipped += [x for x in run.skipped if x not in skipped]
    ran = {_probe_name(c) for c in checked}
    return ProbeRun(findings, checked, [x for x in skipped if _probe_name(x) not in ran])


def _probe_name(line: str) -> str:
    return next((name for name in ("learned text-bias probe", "question-only probe") if line.startswith(name)), line)


def check_project(conn, project_name: str, *, reference: Sequence[Sample] = (), blind: BlindSettings | None = None,
                  text_models: Mapping[str, Any] | None = None, min_learned: int = MIN_LEARNED,
                  reviewers: Sequence[str] = (), batch_size: int = 250, show_progress: bool = True,
                  send: bool = True) -> CheckReport:
    """Probe every submitted question (each annotator's latest version per task, from accounts the toolkit
    created) and send the leaky ones back to their authors as revision tasks (`send=False`: report only).
    Idempotent."""

    from .project import Project, project_call
    from .pull_samples import PullReport, Trust, _build_sample, _judgements, fold_check_revisions
    from .push_tasks import ENTITY_BOXES_MODEL, PushReport, sync_tasks
    from .users import AccountRegistry, whoami

    trust = Trust(AccountRegistry.of(conn), whoami(conn), frozenset(r.strip().lower() for r in reviewers))
    project = Project.open(conn, project_name)
    report = CheckReport(project=project_name)
    with project_call(project, f"checking {project_name!r}"):
        tasks, _ = fold_check_revisions(project.export())
        remote = project.tasks()
        existing = {str(t.data.get("external_id")) for t in remote}
        items: list[tuple[dict[str, Any], Any, Sample]] = []  # (task, judgement, sample)
        for task in sorted(tasks, key=lambda t: t["id"]):
            data = task.get("data") or {}
            try:
                cand = parse_record(Candidate, data.get("mmra_candidate") or {}, f"task {task['id']}")
            except SchemaError:
                continue
            scratch = PullReport(project=project_name, output="")
            for j in _judgements(task, trust, scratch, {"task": task["id"]}):
                if j.verdict != "keep":
                    continue
                try:
                    sample = _build_sample(cand, j.content, f"task {task['id']}", None)
                except SchemaError:
                    continue  # invalid annotations are pull's to report
                items.append((task, j, sample.model_copy(update={"id": f"ann-{j.annotation_id}"})))
        report.waiting = sum(1 for t in remote if t.data.get("check_of") and t.total_annotations == 0)
        run = _probe_by_rounds(items, reference, blind=blind, text_models=text_models, min_learned=min_learned)
        report.checked, report.skipped, report.probed = run.checked, run.skipped, len(items)
        version = project.client.projects.get(id=project.id).model_version or ENTITY_BOXES_MODEL
        payloads = []
        counts: dict[str, dict[str, int]] = defaultdict(lambda: {"probed": 0, "flagged": 0, "sent": 0})
        for task, j, sample in items:
            row = counts[j.annotator]
            row["probed"] += 1
            finding = run.findings[sample.id]
            if not finding.leaky:
                continue
            row["flagged"] += 1
            who = next((a.get("completed_by") for a in task.get("annotations") or []
                        if a.get("id") == j.annotation_id), None) or {}
            who = who if isinstance(who, dict) else {"id": who, "email": j.annotator}
            payload = _revision_payload(task, j.annotation_id, who, j.content,
                                        check_note(j.annotator, finding, sample, project.task_link(task["id"])),
                                        version)
            payloads.append(payload)
            report.flagged_items.append({"task": project.task_link(task["id"]), "annotator": j.annotator,
                                         "annotation_id": j.annotation_id, "question": sample.question,
                                         "reasons": finding.reasons, "revision_task": payload["data"]["external_id"]})
        push_report = PushReport(project_name, project.id, len(payloads))
        if send:
            sync_tasks(project, payloads, push_report, batch_size=batch_size, show_progress=show_progress)
        new = {p["data"]["external_id"] for p in payloads} - existing if send else set()
        for item in report.flagged_items:
            if item["revision_task"] in new:
                counts[item["annotator"]]["sent"] += 1
        report.flagged = len(payloads)
        report.sent = push_report.created
        report.annotators = dict(sorted(counts.items()))
    return report
