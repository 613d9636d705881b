"""`mmra annotate status -p PROJECT`: how far a project is, per annotator and per subtask.

Per annotator (accounts the toolkit created, and the admin): tasks done, median seconds per task (Label
Studio's `lead_time`, the time the task was open), agreement with the adjudicated outcome (pull's rule: the
same type, options and answer as the adjudicated sample, or a reject where the pair was rejected; over their
tasks that are settled), the share of their questions that `annotate check` flagged, and rejects. Per subtask:
annotations done against the target (tasks x annotators per task), tasks complete, the Yes share of yes/no
answers and how the multiple-choice answers spread over the letters so far.
"""

from __future__ import annotations

import statistics
from collections import Counter, defaultdict
from collections.abc import Sequence
from typing import Any

from mmra.benchmark.schema import LETTERS, QAType

from .labeling import QAContent


def _lead_times(task: dict[str, Any]) -> dict[Any, float]:
    return {a.get("id"): float(a["lead_time"]) for a in task.get("annotations") or []
            if isinstance(a.get("lead_time"), int | float)}


def project_status(conn, project_name: str, *, reviewers: Sequence[str] = (),
                   min_annotations: int | None = None) -> dict[str, Any]:

    from .project import Project, project_call
    from .pull_samples import (
        PullReport,
        Trust,
        _adjudicate,
        _judgements,
        _restore_image_paths,
        fold_check_revisions,
    )
    from .users import AccountRegistry, whoami

    trust = Trust(AccountRegistry.of(conn), whoami(conn), frozenset(r.strip().lower() for r in reviewers))
    project = Project.open(conn, project_name)
    with project_call(project, f"reading the status of {project_name!r}"):
        per_task = int(project.client.projects.get(id=project.id).maximum_annotations or 1)
        raw = project.export()
        tasks, _ = fold_check_revisions(raw)
        _restore_image_paths(tasks, conn)  # adjudication checks the images still exist, as pull does
        flagged_by_author = Counter(str((t.get("data") or {}).get("author") or "").lower() for t in raw
                                    if (t.get("data") or {}).get("check_of"))
        people: dict[str, dict[str, Any]] = defaultdict(lambda: {
            "tasks_done": 0, "questions": 0, "lead_times": [], "settled": 0, "agreed": 0, "rejects": 0})
        subtasks: dict[str, dict[str, Any]] = defaultdict(lambda: {
            "tasks": 0, "annotations": 0, "complete": 0, "yes": 0, "yes_no": 0, "letters": Counter()})
        scratch = PullReport(project=project_name, output="")
        need = min_annotations or per_task
        for task in sorted(tasks, key=lambda t: t["id"]):
            data = task.get("data") or {}
            subtask = str(data.get("subtask") or "?")
            judgements = _judgements(task, trust, scratch, {"task": task["id"]})
            outcome = _adjudicate(task, project, scratch, need, trust)
            chosen = None
            if outcome.status == "sample" and outcome.sample is not None:
                s = outcome.sample
                chosen = QAContent(s.qa_type.value, s.question, list(s.options), s.answer).key()
            times = _lead_times(task)
            row = subtasks[subtask]
            row["tasks"] += 1
            row["annotations"] += len(judgements)
            row["complete"] += len(judgements) >= per_task
            for j in judgements:
                person = people[j.annotator]
                person["tasks_done"] += 1
                if j.annotation_id in times:
                    person["lead_times"].append(times[j.annotation_id])
                if j.verdict == "reject":
                    person["rejects"] += 1
                elif j.verdict == "keep":
                    person["questions"] += 1
                    if j.content.qa_type == QAType.yes_no.value and j.content.answer in ("Yes", "No"):
                        row["yes_no"] += 1
                        row["yes"] += j.content.answer == "Yes"
                    elif j.content.qa_type == QAType.multiple_choice.value and (j.content.answer or "").upper() in LETTERS:
                        row["letters"][(j.content.answer or "").upper()] += 1
                if outcome.status in ("sample", "rejected"):
                    person["settled"] += 1
                    person["agreed"] += (j.verdict == "reject" if outcome.status == "rejected"
                                         else j.verdict == "keep" and j.content.key() == chosen)

    annotators = {}
    for email, p in sorted(people.items()):
        flagged = flagged_by_author.get(email.lower(), 0)
        annotators[email] = {
            "tasks_done": p["tasks_done"],
            "median_seconds": round(statistics.median(p["lead_times"]), 2) if p["lead_times"] else None,
            "settled": p["settled"],
            "agreement": round(p["agreed"] / p["settled"], 4) if p["settled"] else None,
            "questions": p["questions"], "flagged": flagged,
            "flagged_share": round(flagged / p["questions"], 4) if p["questions"] else None,
            "rejects": p["rejects"],
        }
    by_subtask = {}
    for name, r in sorted(subtasks.items()):
        by_subtask[name] = {
            "tasks": r["tasks"], "annotations": r["annotations"], "target": r["tasks"] * per_task,
            "complete": r["complete"], "yes_share": round(r["yes"] / r["yes_no"], 4) if r["yes_no"] else None,
            "yes_no_answers": r["yes_no"], "letters": {letter: r["letters"].get(letter, 0) for letter in LETTERS},
        }
    return {"project": project_name, "project_id": project.id, "annotators_per_task": per_task,
            "annotators": annotators, "subtasks": by_subtask}


def summary_lines(figures: dict[str, Any]) -> list[str]:
    """One line per annotator and per subtask, for callers without a table (the demo's notes)."""
    lines = []
    for email, row in figures["annotators"].items():
        agree = "-" if row["agreement"] is None else f"{row['agreement']:.0%} of {row['settled']} settled"
        median = "-" if row["median_seconds"] is None else f"{row['median_seconds']:.0f} s"
        lines.append(f"{email}: {row['tasks_done']} tasks, median {median} per task, agreement {agree}, "
                     f"{row['flagged']} of {row['questions']} questions flagged by the probes, {row['rejects']} rejects")
    for name, row in figures["subtasks"].items():
        yes = "" if row["yes_share"] is None else f", Yes {row['yes_share']:.0%}"
        letters = "/".join(str(v) for v in row["letters"].values())
        lines.append(f"{name}: {row['annotations']}/{row['target']} annotations{yes}, letters A/B/C/D {letters}")
    return lines
