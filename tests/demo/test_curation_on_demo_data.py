"""The demo's first two steps on the real curation stage: its generated corpus and relation list give
candidates for every subtask, and the scripted annotators turn them into valid Samples. Fast (seconds)."""

from __future__ import annotations

from collections import Counter

import pytest

from mmra.benchmark.registry import all_subtasks
from mmra.benchmark.schema import Sample
from mmra.demo.annotators import ANNOTATORS, RELATIONS_FILE, scene_name, script_annotations
from mmra.demo.generate import generate_corpus


@pytest.fixture(scope="module")
def curated(tmp_path_factory):
    from mmra.curation.pipeline import curate

    root = tmp_path_factory.mktemp("demo-curation")
    manifest = generate_corpus(root / "corpus")
    result = curate(conceptnet=[RELATIONS_FILE], manifests=[manifest], out_dir=root / "curation", per_subtask=5,
                    seed=0, show_progress=False)
    return manifest, result


def test_every_subtask_gets_candidates_with_evidence(curated):
    _, result = curated
    per = Counter(c.subtask for c in result.candidates)
    builtin = [s.name for s in all_subtasks() if s.origin == "builtin"]
    assert {name: per[name] for name in builtin} == dict.fromkeys(builtin, 5)
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
