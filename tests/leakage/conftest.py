"""Samples for the leakage tests: a few text-answerable questions, image-dependent ones and yes/no items."""

from __future__ import annotations

import pytest

from mmra.benchmark.records import write_jsonl
from mmra.benchmark.schema import ImageRef, Sample
from tests.llm.servers import local_llm  # noqa: F401

# (subtask, qa_type, question, options, answer)
TEXT_ANSWERABLE = [
    ("UsageSimilarity", "multiple_choice", "Which of these is a fruit?", ["hammer", "banana", "brick"], "B"),
    ("AppearanceSimilarity", "multiple_choice", "Which of these can fly?", ["stone", "chair", "spoon", "bird"], "D"),
]
IMAGE_DEPENDENT = [
    ("Environment", "multiple_choice", "Where were both photos most likely taken?",
     ["a kitchen", "a beach", "an office", "a forest"], "A"),
    ("SimilarMaterial", "multiple_choice", "What material do the main objects in the two images share?",
     ["wood", "glass", "metal"], "C"),
    ("NearSameEntity", "yes_no", "Do the two images show the same kind of object?", [], "Yes"),
    ("Layout", "yes_no", "Is the object in image 1 further left than the one in image 2?", [], "No"),
]
KNOWLEDGE = {"fruit": "banana", "can fly": "bird"}


def build_samples(make_image, rows, tag: str = "") -> list[Sample]:
    samples = []
    for i, (subtask, qa_type, question, options, answer) in enumerate(rows):
        img1 = make_image(f"{tag}{i}a.png", shape_seed=2 * i)
        img2 = make_image(f"{tag}{i}b.png", shape_seed=2 * i + 1, color=(30, 30, 200))
        samples.append(Sample(subtask=subtask, qa_type=qa_type, question=question, options=options, answer=answer,
                              image1=ImageRef(path=str(img1)), image2=ImageRef(path=str(img2))))
    return samples


@pytest.fixture()
def samples_file(tmp_path, make_image):
    samples = build_samples(make_image, TEXT_ANSWERABLE + IMAGE_DEPENDENT)
    return write_jsonl(tmp_path / "samples.jsonl", samples), samples


@pytest.fixture()
def many_samples_file(tmp_path, make_image):
    """30 samples (each row of the base set with 5 question variants) for resume tests."""
    rows = []
    for k in range(5):
        for subtask, qa_type, question, options, answer in TEXT_ANSWERABLE + IMAGE_DEPENDENT:
            rows.append((subtask, qa_type, f"{question[:-1]} (variant {k})?", options, answer))
    samples = build_samples(make_image, rows, tag="m")
    return write_jsonl(tmp_path / "many.jsonl", samples), samples
