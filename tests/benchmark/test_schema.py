import json

import pytest

from mmra.benchmark.records import anchor_image_paths, parse_record, read_jsonl, write_jsonl
from mmra.benchmark.schema import Candidate, ImageRef, QAType, Sample, SchemaError


def _mc(**over):
    data = dict(
        subtask="SimilarMaterial",
        qa_type="multiple_choice",
        question="Which material are both objects made of?",
        options=["wood", "glass", "steel"],
        answer="A",
        image1={"path": "a.png", "sha256": "1" * 64},
        image2={"path": "b.png", "sha256": "2" * 64},
    )
    data.update(over)
    return data


def test_valid_sample_fills_id_and_granularity():
    s = parse_record(Sample, _mc(), "t")
    assert s.id.startswith("s-") and len(s.id) == 18
    assert s.granularity.value == "entity"
    assert s.answer_text == "wood"
    assert s.letters == ("A", "B", "C")


def test_id_is_stable_and_content_derived():
    a = parse_record(Sample, _mc(), "t")
    b = parse_record(Sample, _mc(options=["wood", "glass", "iron"]), "t")
    assert a.id == b.id  # same pair and question
    assert a.content_hash != b.content_hash  # but different content
    c = parse_record(Sample, _mc(question="Another question?"), "t")
    assert c.id != a.id


@pytest.mark.parametrize(
    "over, field, needle",
    [
        ({"options": ["a", "b", "c", "d", "e"]}, "options", "3 or 4 options"),
        ({"options": ["a", "b"]}, "options", "got 2"),
        ({"answer": "D"}, "answer", "'D'"),
        ({"subtask": "Telepathy"}, "Telepathy", "unknown subtask"),
        ({"question": "   "}, "question", "must not be empty"),
        ({"options": ["wood", "Wood", "x"]}, "options", "distinct"),
        ({"qa_type": "yes_no", "options": [], "answer": "Maybe"}, "answer", "'Maybe'"),
        ({"granularity": "image"}, "granularity", "does not match"),
    ],
)
def test_schema_violations_name_field_and_value(over, field, needle):
    with pytest.raises(SchemaError) as exc:
        parse_record(Sample, _mc(**over), "samples.jsonl:7")
    msg = str(exc.value)
    assert "samples.jsonl:7" in msg and field in msg and needle in msg


def test_yes_no_normalises_answer():
    s = parse_record(Sample, _mc(subtask="SubEvent", qa_type="yes_no", options=[], answer="yes"), "t")
    assert s.answer == "Yes" and s.qa_type == QAType.yes_no


def test_image_ref_needs_location_and_round_trips_bytes():
    with pytest.raises(SchemaError, match="path' or 'bytes"):
        parse_record(Sample, _mc(image1={"sha256": "x"}), "t")
    ref = ImageRef(bytes=b"\x89PNG..")
    again = ImageRef.model_validate_json(ref.model_dump_json(by_alias=True))
    assert again.bytes_ == b"\x89PNG.."


def test_jsonl_round_trip_and_bad_lines_are_collected(tmp_path):
    samples = [parse_record(Sample, _mc(), "t"), parse_record(Sample, _mc(question="Q2?"), "t")]
    path = write_jsonl(tmp_path / "s.jsonl", samples)
    # read back the same, but with relative image paths anchored to the file's folder (ids unchanged)
    assert read_jsonl(path, Sample) == [anchor_image_paths(s, path.resolve().parent) for s in samples]
    assert [s.id for s in read_jsonl(path, Sample)] == [s.id for s in samples]
    with path.open("a") as fh:
        fh.write("{not json\n")
        fh.write(json.dumps(_mc(answer="Z")) + "\n")
    errors: list[str] = []
    kept = read_jsonl(path, Sample, errors=errors)
    assert len(kept) == 2 and len(errors) == 2
    assert "s.jsonl:3" in errors[0] and "not valid JSON" in errors[0]
    assert "s.jsonl:4" in errors[1] and "'Z'" in errors[1]


def test_candidate_id_depends_on_images():
    # made from outside data: the registry fills the level (records.parse_record), the model stays a leaf
    a = parse_record(Candidate, {"subtask": "Layout", "image1": {"path": "x.png"}, "image2": {"path": "y.png"}}, "t")
    b = parse_record(Candidate, {"subtask": "Layout", "image1": {"path": "x.png"}, "image2": {"path": "z.png"}}, "t")
    assert a.id.startswith("c-") and a.id != b.id
    assert a.granularity.value == "image"


def test_the_schema_is_a_leaf():
    """The contract imports nothing else of the benchmark package but its shared vocabulary."""
    import ast
    from pathlib import Path

    import mmra.benchmark.schema as schema

    tree = ast.parse(Path(schema.__file__).read_text(encoding="utf-8"))
    local = [n.module for n in ast.walk(tree) if isinstance(n, ast.ImportFrom) and (n.level or 0) > 0]
    absolute = [a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names]
    absolute += [n.module for n in ast.walk(tree) if isinstance(n, ast.ImportFrom) and not n.level]
    assert local == ["vocabulary"], local
    assert not [m for m in absolute if m and m.startswith("mmra")], absolute
