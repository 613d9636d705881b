"""Leakage-flagged samples go back to annotators and come back rewritten, with the old version in history."""

from __future__ import annotations

import pytest

from mmra.annotation import QAContent, annotate, pull, push, revise
from mmra.annotation.project import Project
from mmra.benchmark.records import read_jsonl, write_jsonl
from mmra.benchmark.schema import LeakageVerdict, Sample

pytestmark = pytest.mark.labelstudio


def test_revision_round_trip(ls, annotators, project_name, make_candidate, tmp_path):
    leaky, fine = make_candidate("UsageSimilarity"), make_candidate("SimilarMaterial")
    push(ls, [leaky, fine], project_name, show_progress=False)
    first = QAContent("multiple_choice", "What are knives and scissors both used for?", ["cutting", "eating", "flying"], "A")
    second = QAContent("multiple_choice", "What material are both made of?", ["wood", "glass", "steel"], "C")
    for ann in annotators:
        annotate(ann, project_name, leaky.id, first)
        annotate(ann, project_name, fine.id, second)
    out = tmp_path / "samples.jsonl"
    pull(ls, project_name, out)
    samples = {s.candidate_id: s for s in read_jsonl(out, Sample)}
    old = samples[leaky.id]

    flagged = old.model_copy(update={"leakage": LeakageVerdict(
        leaked=True, hits=2, models=["qwen2.5-1.5b", "smollm2-135m"],
        answers={"qwen2.5-1.5b": ["A", "A"], "smollm2-135m": ["A", None]})})
    not_flagged = samples[fine.id].model_copy(update={"leakage": LeakageVerdict(leaked=False)})
    flagged_file = write_jsonl(tmp_path / "flagged.jsonl", [flagged, not_flagged])

    report = revise(ls, read_jsonl(flagged_file, Sample), project_name, show_progress=False)
    assert report.sent == 1 and report.push.created == 1
    assert report.skipped == [(not_flagged.id, "not flagged by the leakage filter (leakage.leaked is not true)")]
    assert revise(ls, [flagged], project_name, show_progress=False).push.created == 0  # idempotent

    project = Project.open(ls, project_name)
    rev_id = f"rev-{old.id}-r1"
    task = project.tasks_by_external_id()[rev_id][0]
    assert "qwen2.5-1.5b answered: A, A" in task.data["revision_note"]
    assert "smollm2-135m answered: A, (no answer)" in task.data["revision_note"]
    assert old.question in task.data["revision_note"]
    preds = list(project.client.predictions.list(task=task.id))  # the current version, ready to edit
    assert QAContent.from_result(preds[0].result).question == old.question
    project.close()

    # before the revision is annotated, pull still gives the current version
    pull(ls, project_name, out)
    assert {s.id: s.question for s in read_jsonl(out, Sample)}[old.id] == old.question

    rewritten = QAContent("multiple_choice", "Which action could the object in Image 1 and the one in Image 2 share?",
                          ["cutting", "eating", "flying"], "A")
    for ann in annotators:
        annotate(ann, project_name, rev_id, rewritten)
    report = pull(ls, project_name, out)
    revised = {s.id: s for s in read_jsonl(out, Sample)}
    assert len(revised) == 2
    new = revised[old.id]  # same id, new text
    assert new.question == rewritten.question and new.content_hash != old.content_hash
    assert new.leakage is None  # the rewrite must pass the filter again
    assert len(new.annotation.history) == 1
    entry = new.annotation.history[0]
    assert entry["question"] == old.question and entry["content_hash"] == old.content_hash
    assert entry["leakage"]["answers"]["qwen2.5-1.5b"] == ["A", "A"]
    assert entry["annotation"]["adjudication"] == "unanimous"
    assert new.annotation.source != old.annotation.source
    assert [r["sample_id"] for r in report.revised] == [old.id]
