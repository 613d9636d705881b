"""The demo's embedded default: generated images + manifest, the hand-written relation list, the scripted
annotators. Fast (a couple of seconds): no servers."""

from __future__ import annotations

import hashlib
import itertools
import json
from pathlib import Path

import imagehash
import pytest
from PIL import Image

from mmra.benchmark.registry import all_subtasks
from mmra.benchmark.schema import Candidate, ImageRef, Provenance, Sample
from mmra.demo.annotators import ANNOTATORS, RELATIONS_FILE, load_relations, script_annotations
from mmra.demo.generate import SCENE_LIST, generate_corpus
from mmra.demo.scenes import HEIGHT, LICENCE, WIDTH


@pytest.fixture(scope="module")
def corpus(tmp_path_factory) -> Path:
    return generate_corpus(tmp_path_factory.mktemp("demo-corpus"))


def _records(manifest: Path) -> list[dict]:
    return [json.loads(line) for line in manifest.read_text().splitlines()]


def test_corpus_size_and_manifest_fields(corpus):
    records = _records(corpus)
    assert 40 <= len(records) <= 60 and len(records) == len(SCENE_LIST)
    for rec in records:
        image = Image.open(corpus.parent / rec["path"])
        assert image.size == (WIDTH, HEIGHT) == (rec["width"], rec["height"])
        assert rec["licence"] == LICENCE and rec["source"] == f"generated:mmra-demo:{rec['id']}"
        assert 2 <= len(rec["captions"]) <= 3 and all(c.endswith(".") for c in rec["captions"])
        assert rec["boxes"] and set(rec["entities"]) == {b["label"] for b in rec["boxes"]}
        for box in rec["boxes"]:
            x, y, w, h = box["bbox"]
            assert w > 0 and h > 0 and x >= -1 and y >= -1 and x + w <= WIDTH + 1 and y + h <= HEIGHT + 1, (rec["id"], box)


def test_generation_is_deterministic(corpus, tmp_path):
    again = generate_corpus(tmp_path, only=[SCENE_LIST[0][0], SCENE_LIST[-1][0]])
    for rec in _records(again):
        first = (corpus.parent / rec["path"]).read_bytes()
        second = (again.parent / rec["path"]).read_bytes()
        assert hashlib.sha256(first).digest() == hashlib.sha256(second).digest(), rec["path"]


def test_the_scenes_cover_every_subtask_signal(corpus):
    records = _records(corpus)
    views = {r["scene"]["view"] for r in records}
    assert views == {"eye level", "top-down", "close-up"}
    places = [r["scene"]["place"] for r in records if r["scene"]["place"]]
    assert all(places.count(p) >= 2 for p in ("kitchen", "dining room", "office", "park", "street", "beach"))
    moods = [m for r in records for m in r["scene"]["moods"]]
    assert moods.count("happy") >= 5 and moods.count("sad") >= 5
    events = [e for r in records for e in r["scene"]["events"]]
    for event in ("eating dinner", "cooking dinner", "cutting vegetables", "playing ball", "riding a bicycle"):
        assert events.count(event) >= 2, event
    labels = {b["label"] for r in records for b in r["boxes"]}
    assert {"person", "dog", "cat", "car", "bicycle", "tree", "bench", "cup", "bottle", "knife", "scissors", "chair",
            "table", "laptop", "book", "ball", "clock", "kite", "boat"} <= labels


def test_no_two_images_are_near_duplicates(corpus):
    """The curation stage drops near-duplicate pairs; every generated scene must survive that."""
    hashes = {p.stem: imagehash.phash(Image.open(p)) for p in sorted((corpus.parent / "images").glob("*.png"))}
    closest = min(hashes[a] - hashes[b] for a, b in itertools.combinations(hashes, 2))
    assert closest >= 10


def test_curation_reads_the_manifest(corpus):
    from mmra.curation.corpus import load_manifest

    loaded = load_manifest(corpus)
    assert not loaded.issues
    assert len(loaded.images) == len(SCENE_LIST)
    first = loaded.images[0]
    assert first.key.startswith("generated:mmra-demo:") and first.licence == LICENCE and first.captions
    assert any("person" in img.sentient_labels for img in loaded.images)


def test_relations_file_is_a_ckbc_tsv_about_the_demo_entities(corpus):
    rows = load_relations()
    assert 150 <= len(rows) <= 400
    lines = RELATIONS_FILE.read_text().splitlines()
    assert all(len(line.split("\t")) == 4 for line in lines)
    assert len(set(lines)) == len(lines)
    relations = {r for r, *_ in rows}
    for needed in ("UsedFor", "CapableOf", "MadeOf", "HasProperty", "AtLocation", "Desires", "CausesDesire",
                   "HasSubevent", "HasFirstSubevent", "HasLastSubevent", "IsA"):
        assert needed in relations
    heads = {h for _, h, _, _ in rows}
    labels = {b["label"] for r in _records(corpus) for b in r["boxes"]}
    assert labels <= heads, f"entities without any relation: {sorted(labels - heads)}"
    assert all(w > 0 for *_, w in rows)


def _candidate(records: dict, subtask: str, a: str, b: str, **evidence) -> Candidate:
    def ref(name: str) -> ImageRef:
        rec = records[name]
        return ImageRef(path=rec["path"], source=rec["source"])

    return Candidate(subtask=subtask, image1=ref(a), image2=ref(b), evidence=Provenance(**evidence))


def test_scripted_annotations_follow_the_scene_graph(corpus):
    records = {r["id"]: r for r in _records(corpus)}
    cands = [
        _candidate(records, "UsageSimilarity", "t02-chopping-board", "t04-crafts", concepts=["cut"]),
        _candidate(records, "SimilarMaterial", "p02-walking-the-dog", "d01-family-dinner", concepts=["wood"]),
        _candidate(records, "Environment", "p01-playing-ball", "p05-dog-and-ball"),
        _candidate(records, "SubEvent", "k01-cooking-dinner", "k02-cutting-vegetables"),
        _candidate(records, "SubEvent", "k02-cutting-vegetables", "k01-cooking-dinner"),
        _candidate(records, "ObservationAngle", "t01-meal-from-above", "t07-dinner-for-two"),
        _candidate(records, "MentalitySimilarity", "c01-happy-face", "c03-happy-dog"),
        _candidate(records, "RelativePosition", "p01-playing-ball", "p05-dog-and-ball"),
        _candidate(records, "SimilarEvent", "p01-playing-ball", "b02-beach-ball"),
    ]
    items = {i.candidate_id: i for i in script_annotations(cands, corpus)}
    gold = {c.subtask + ("-rev" if c.image1.source.endswith("vegetables") else ""): items[c.id].written for c in cands}

    def answer_text(d):
        return d.options["ABCD".index(d.answer)] if d.qa_type == "multiple_choice" else d.answer

    assert answer_text(gold["UsageSimilarity"]) == "cut"
    assert not any("cut" in o for o in gold["UsageSimilarity"].options if o != "cut")
    assert answer_text(gold["SimilarMaterial"]) == "wood"
    assert answer_text(gold["Environment"]) == "park"
    # one wording for every SubEvent pair; the answer follows the image order (cooking <- cutting vegetables)
    assert gold["SubEvent"].question == gold["SubEvent-rev"].question
    assert gold["SubEvent"].answer == "Yes" and gold["SubEvent-rev"].answer == "No"
    assert answer_text(gold["ObservationAngle"]) == "top-down"
    mood = gold["MentalitySimilarity"]  # both happy: asked as yes/no (the faces only smile or frown)
    assert mood.qa_type == "yes_no"
    assert mood.answer == ("No" if "look sad" in mood.question else "Yes")
    assert answer_text(gold["RelativePosition"]) == "on the left"  # the dog, left in both
    assert answer_text(gold["SimilarEvent"]) == "playing ball"
    # the questions name no entity: the images must show what is shared
    for sub in ("UsageSimilarity", "SimilarMaterial"):
        assert not any(word in gold[sub].question for word in ("board", "knife", "scissors", "bench", "table"))


def test_scripted_annotators_disagree_and_reject_sometimes(corpus):
    """Across many pairs: valid Samples where kept, some answer disagreements, some rejects with reasons."""
    records = {r["id"]: r for r in _records(corpus)}
    names = sorted(records)
    cands = [_candidate(records, spec.name, a, b) for spec in all_subtasks()[:11]
             for a, b in itertools.islice(itertools.combinations(names, 2), 0, 400, 37)]
    items = script_annotations(cands, corpus)
    assert len(items) == len(cands)
    disagree = rejects = 0
    for item, cand in zip(items, cands, strict=True):
        first, second = (item.by_annotator[a] for a in ANNOTATORS)
        for draft in (first, second):
            if draft.verdict == "reject":
                assert draft.reject_reason.startswith("scripted:")
                continue
            sample = Sample(subtask=cand.subtask, image1=cand.image1, image2=cand.image2, qa_type=draft.qa_type,
                            question=draft.question, options=draft.options, answer=draft.answer)
            assert sample.qa_type.value in [q.value for q in next(s for s in all_subtasks()
                                                                  if s.name == cand.subtask).qa_types]
        disagree += first.verdict == second.verdict == "keep" and first.answer != second.answer
        rejects += second.verdict == "reject"
    assert disagree >= 2 and rejects >= 5
    # deterministic
    again = script_annotations(cands, corpus)
    assert [i.by_annotator for i in again] == [i.by_annotator for i in items]
