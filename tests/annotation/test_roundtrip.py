"""Push -> annotate as two real users -> pull, against a real Label Studio server."""

from __future__ import annotations

import json

import httpx
import pytest

from mmra.annotation import QAContent, annotate, annotate_many, pull, push
from mmra.annotation.project import Project
from mmra.annotation.pull_samples import report_path
from mmra.benchmark.records import read_jsonl
from mmra.benchmark.schema import Sample

pytestmark = pytest.mark.labelstudio

MC = "multiple_choice"


def _both(annotators, project, ext_id, content, other=None):
    annotate(annotators[0], project, ext_id, content)
    annotate(annotators[1], project, ext_id, other or content)


def test_push_annotate_pull_with_agreement(ls, annotators, project_name, make_candidate, tmp_path):
    agreed = make_candidate("UsageSimilarity")
    yes_no = make_candidate("MentalitySimilarity")
    rejected = make_candidate("SimilarMaterial")
    disputed = make_candidate("AppearanceSimilarity")
    cands = [agreed, yes_no, rejected, disputed]

    first = push(ls, cands, project_name, annotators_per_task=2, show_progress=False)
    assert (first.created, first.unchanged, first.skipped) == (4, 0, [])
    again = push(ls, cands, project_name, annotators_per_task=2, show_progress=False)
    assert (again.created, again.updated, again.unchanged, again.duplicates_removed) == (0, 0, 4, 0)

    # the images are served to a signed-in client through the registered local-files storage
    project = Project.open(ls, project_name)
    task = project.tasks_by_external_id()[agreed.id][0]
    resp = httpx.get(ls.url + task.data["image1"], headers={"Authorization": f"Token {annotators[0].token}"})
    assert resp.status_code == 200 and resp.content == open(agreed.image1.path, "rb").read()
    assert httpx.get(ls.url + task.data["image1"]).status_code in (401, 403)  # not without signing in

    mc = QAContent(MC, "What can an object in Image 1 and one in Image 2 both be used for?",
                   ["cutting", "eating", "flying", "singing"], "A")
    _both(annotators, project_name, agreed.id, mc)
    _both(annotators, project_name, yes_no.id, QAContent("yes_no", "Do the people in both images look happy?", [], "Yes"))
    _both(annotators, project_name, rejected.id, QAContent(verdict="reject", reject_reason="images unrelated"),
          QAContent(verdict="reject", reject_reason="blurry"))
    _both(annotators, project_name, disputed.id, QAContent(MC, "Which shape do they share?", ["round", "square", "flat"], "A"),
          QAContent(MC, "Which shape do they share?", ["round", "square", "flat"], "B"))

    out = tmp_path / "samples.jsonl"
    report = pull(ls, project_name, out, min_annotations=2)
    samples = {s.candidate_id: s for s in read_jsonl(out, Sample)}
    assert set(samples) == {agreed.id, yes_no.id}
    s = samples[agreed.id]
    assert (s.question, s.options, s.answer) == (mc.question, mc.options, "A")
    assert s.image1.path == agreed.image1.path and s.image2.path == agreed.image2.path
    assert s.image1.sha256 and s.image1.licence == "CC0-1.0"
    assert s.provenance == agreed.evidence
    rec = s.annotation
    assert sorted(rec.annotators) == ["annotator1@mmra.test", "annotator2@mmra.test"]
    assert rec.answers == {"annotator1@mmra.test": "A", "annotator2@mmra.test": "A"}
    assert (rec.agreement, rec.adjudication) == (1.0, "unanimous")
    assert rec.source.startswith(f"{ls.url}/projects/{project.id}/data")
    assert samples[yes_no.id].answer == "Yes" and samples[yes_no.id].qa_type.value == "yes_no"

    assert [r["candidate_id"] for r in report.rejected] == [rejected.id]
    assert set(report.rejected[0]["reasons"].values()) == {"images unrelated", "blurry"}
    assert [r["external_id"] for r in report.needs_review] == [disputed.id]
    assert report.needs_review[0]["answers"] == {"annotator1@mmra.test": "A", "annotator2@mmra.test": "B"}
    assert report.invalid == [] and report.pending == []
    agreement = report.agreement
    assert agreement["UsageSimilarity"]["answer_agreement"] == 1.0
    assert agreement["AppearanceSimilarity"]["answer_agreement"] == 0.5
    assert agreement["SimilarMaterial"]["rejected"] == 1
    written = json.loads(report_path(out).read_text())
    assert written["needs_review"][0]["task"].startswith(ls.url)

    # a reviewer settles the dispute with a ground-truth annotation: the task becomes a sample
    annotate(ls, project_name, disputed.id, QAContent(MC, "Which shape do they share?", ["round", "square", "flat"], "A"),
             ground_truth=True)
    report = pull(ls, project_name, out, min_annotations=2)
    samples = {s.candidate_id: s for s in read_jsonl(out, Sample)}
    assert samples[disputed.id].annotation.adjudication == "review"
    assert samples[disputed.id].answer == "A" and report.needs_review == []
    project.close()


def test_keep_reject_kappa_over_a_subtask(ls, annotators, project_name, make_candidate, tmp_path):
    cands = [make_candidate("Environment") for _ in range(4)]
    push(ls, cands, project_name, show_progress=False)
    good = QAContent(MC, "Where were both photos taken?", ["indoors", "beach", "forest"], "A")
    reject = QAContent(verdict="reject", reject_reason="no shared environment")
    votes = [(good, good), (good, reject), (reject, reject), (good, good)]
    annotate_many(annotators[0], project_name, [(c.id, a) for c, (a, _) in zip(cands, votes, strict=True)])
    annotate_many(annotators[1], project_name, [(c.id, b) for c, (_, b) in zip(cands, votes, strict=True)])
    report = pull(ls, project_name, tmp_path / "s.jsonl")
    row = report.agreement["Environment"]
    # 2 raters, 4 items: observed 3/4, chance (3/4*2/4 + 1/4*2/4) = 1/2 -> kappa 0.5
    assert row["kappa_method"] == "cohen" and row["keep_reject_kappa"] == pytest.approx(0.5)
    assert all(s.annotation.kappa == pytest.approx(0.5) for s in read_jsonl(tmp_path / "s.jsonl", Sample))
    assert len(report.needs_review) == 1  # the keep/reject split


def test_bad_annotations_are_listed_with_task_link(ls, annotators, project_name, make_candidate, tmp_path):
    valid = make_candidate("UsageSimilarity")
    bad_answer = make_candidate("UsageSimilarity")
    two_options = make_candidate("SimilarMaterial")
    empty_question = make_candidate("Environment")
    images_deleted = make_candidate("SimilarEvent")
    cands = [valid, bad_answer, two_options, empty_question, images_deleted]
    push(ls, cands, project_name, show_progress=False)

    ok = QAContent(MC, "Which use do they share?", ["cutting", "eating", "flying"], "A")
    _both(annotators, project_name, valid.id, ok)
    _both(annotators, project_name, bad_answer.id, QAContent(MC, "Which?", ["cutting", "eating", "flying"], "D"))
    _both(annotators, project_name, two_options.id, QAContent(MC, "Which material?", ["wood", "metal"], "A"))
    _both(annotators, project_name, empty_question.id, QAContent(MC, "   ", ["indoors", "beach", "forest"], "B"))
    _both(annotators, project_name, images_deleted.id, ok)
    images_deleted.image1.resolve(None).unlink()  # the original is gone; the sample would point at nothing

    out = tmp_path / "samples.jsonl"
    report = pull(ls, project_name, out)
    assert [s.candidate_id for s in read_jsonl(out, Sample)] == [valid.id]  # nothing valid lost
    by_task: dict[str, list[str]] = {}
    for item in report.invalid:
        assert item["task"].startswith(f"{ls.url}/projects/") and "task=" in item["task"]
        by_task.setdefault(item["external_id"], []).append(item["reason"])
    assert set(by_task) == {bad_answer.id, two_options.id, empty_question.id, images_deleted.id}
    assert all(len(reasons) == 2 for reasons in by_task.values())  # each annotator's annotation is listed
    assert "not one of the option letters" in by_task[bad_answer.id][0]
    assert "3 or 4 options" in by_task[two_options.id][0]
    assert "question" in by_task[empty_question.id][0] and "empty" in by_task[empty_question.id][0]
    assert "no longer exists" in by_task[images_deleted.id][0]
    assert json.loads(report_path(out).read_text())["invalid"] == report.invalid


def test_push_skips_candidates_whose_images_are_missing(ls, project_name, make_candidate):
    good, gone = make_candidate(), make_candidate()
    gone.image2.resolve(None).unlink()
    report = push(ls, [good, gone], project_name, show_progress=False)
    assert report.created == 1
    assert report.skipped == [(gone.id, f"image {gone.image2.path!r} does not exist")]


def test_drafts_become_predictions(ls, project_name, make_candidate):
    from mmra.annotation import Draft

    cand = make_candidate("UsageSimilarity")
    draft = Draft(QAContent(MC, "What are both for?", ["cutting", "eating", "flying"], "A"), "draft:test-model", 0.7)
    push(ls, [cand], project_name, drafts={cand.id: draft}, show_progress=False)
    project = Project.open(ls, project_name)
    task = project.tasks_by_external_id()[cand.id][0]
    preds = list(project.client.predictions.list(task=task.id))
    assert len(preds) == 1 and preds[0].model_version == "draft:test-model"
    assert QAContent.from_result(preds[0].result) == draft.content
    assert project.client.projects.get(id=project.id).model_version == "draft:test-model"
    # a later push with drafts does not add a second prediction
    assert push(ls, [cand], project_name, drafts={cand.id: draft}, show_progress=False).predictions_added == 0
    assert len(list(project.client.predictions.list(task=task.id))) == 1
    project.close()


def test_remote_server_by_url_and_token(ls, project_name, make_candidate, monkeypatch):
    """A server the toolkit did not start: URL from config, token from the environment, shared media folder."""
    from mmra.annotation import connection
    from mmra.config import Config, LabelStudioConfig
    from mmra.errors import MMRAError

    cfg = Config(label_studio=LabelStudioConfig(url=ls.url + "/", document_root=ls.document_root))
    monkeypatch.delenv("LABEL_STUDIO_API_KEY", raising=False)
    with pytest.raises(MMRAError, match="LABEL_STUDIO_API_KEY"):
        connection(cfg)
    monkeypatch.setenv("LABEL_STUDIO_API_KEY", ls.token)
    remote = connection(cfg)
    assert remote.url == ls.url and remote.media_dir == ls.media_dir
    assert push(remote, [make_candidate()], project_name, show_progress=False).created == 1
    monkeypatch.setenv("LABEL_STUDIO_API_KEY", "wrong-token")
    with pytest.raises(MMRAError, match="refused the API token"):
        push(connection(cfg), [make_candidate()], project_name, show_progress=False)
