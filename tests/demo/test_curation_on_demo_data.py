"""The demo's first two steps on the real curation stage: its generated corpus and relation list give
candidates for every subtask, and the scripted annotators turn them into valid Samples. Fast (seconds)."""

from __future__ import annotations

from collections import Counter, defaultdict

import pytest

from mmra.benchmark.registry import all_subtasks
from mmra.benchmark.schema import Sample
from mmra.demo.annotators import ANNOTATORS, RELATIONS_FILE, scene_name, script_annotations, scripted_revision
from mmra.demo.generate import generate_corpus


@pytest.fixture(scope="module")
def curated(tmp_path_factory):
    from mmra.curation.pipeline import curate

    root = tmp_path_factory.mktemp("demo-curation")
    manifest = generate_corpus(root / "corpus")
    result = curate(conceptnet=[RELATIONS_FILE], manifests=[manifest], out_dir=root / "curation", per_subtask=8,
                    seed=0, show_progress=False)
    return manifest, result


def test_every_subtask_gets_candidates_with_evidence(curated):
    _, result = curated
    per = Counter(c.subtask for c in result.candidates)
    builtin = [s.name for s in all_subtasks() if s.origin == "builtin"]
    assert {name: per[name] for name in builtin} == dict.fromkeys(builtin, 8)
    assert result.report["images"]["rejected"] == 0  # no generated image fails QC or is a near-duplicate
    for cand in result.candidates:
        assert cand.image1.licence == "CC0-1.0" and cand.image1.source.startswith("generated:mmra-demo:")
        assert scene_name(cand.image1) and scene_name(cand.image2)
        assert cand.evidence.concepts or cand.evidence.heuristic or cand.evidence.edges


def test_scripted_annotations_of_the_curated_candidates_are_valid_samples(curated):
    manifest, result = curated
    items = script_annotations(result.candidates, manifest)
    by_id = {c.id: c for c in result.candidates}
    kept = Counter()
    for item in items:
        cand = by_id[item.candidate_id]
        for who in ANNOTATORS:
            draft = item.by_annotator[who]
            if draft.verdict == "keep":
                Sample(subtask=cand.subtask, image1=cand.image1, image2=cand.image2, qa_type=draft.qa_type,
                       question=draft.question, options=draft.options, answer=draft.answer)
                kept[cand.subtask] += who == ANNOTATORS[0]
    # the templates write a question for most pairs of every subtask (the rest are rejected with a reason)
    assert all(kept[s] >= 3 for s in {c.subtask for c in result.candidates}), kept


def test_the_scripted_answer_key_is_balanced_and_names_no_entity(curated):
    """What a text-only model could exploit is not there: Yes/No near half, gold letters spread, no option
    text that is the answer of most of its subtask's questions, no entity named where the images must show it."""
    manifest, result = curated
    items = [i for i in script_annotations(result.candidates, manifest) if i.written.verdict == "keep"]
    yes_no = [i.written.answer for i in items if i.written.qa_type == "yes_no" and i.subtask != "SubEvent"]
    assert 0.3 <= yes_no.count("Yes") / len(yes_no) <= 0.7, Counter(yes_no)
    letters = Counter(i.written.answer for i in items if i.written.qa_type == "multiple_choice")
    assert max(letters.values()) / sum(letters.values()) <= 0.4, letters
    by_subtask = defaultdict(Counter)
    for i in items:
        d = i.written
        if d.qa_type == "multiple_choice":
            by_subtask[i.subtask][d.options["ABCD".index(d.answer)]] += 1
            assert len({len(o) // 8 for o in d.options}) <= 3, d.options  # similar lengths
    for sub, golds in by_subtask.items():
        assert max(golds.values()) <= max(2, 0.4 * sum(golds.values()) + 1), (sub, golds)
    entity_words = {"bench", "chair", "table", "cup", "plate", "knife", "scissors", "book", "kite", "car"}
    for i in items:
        if i.subtask in ("UsageSimilarity", "SimilarMaterial", "AppearanceSimilarity"):
            assert not set(i.written.question.lower().strip("?").split()) & entity_words, i.written.question


def test_the_scripted_revision_asks_the_pair_another_way(curated):
    manifest, result = curated
    items = [i for i in script_annotations(result.candidates, manifest) if i.written.verdict == "keep"]
    revised = [(i, scripted_revision(i, i.written)) for i in items]
    rewritten = [(i, r) for i, r in revised if r.verdict == "keep"]
    assert rewritten and all(r.question != i.written.question for i, r in rewritten)
    # yes/no rewrites keep their answer where the pair allows it (the subtask's balance holds)
    same = [r.answer == i.written.answer for i, r in rewritten if i.written.qa_type == r.qa_type == "yes_no"]
    assert same and sum(same) / len(same) >= 0.5
    assert all(r.reject_reason.startswith("scripted reviser:") for _, r in revised if r.verdict == "reject")
