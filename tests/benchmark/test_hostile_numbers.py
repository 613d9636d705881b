"""Hostile numbers in input lines: a 5,000-digit integer, NaN, Infinity and 1e999 each give one line naming the
file, the line and (for NaN/Infinity) the field, at read time; nothing of them is accepted and written back as
null."""

from __future__ import annotations

import json
import math

import pytest
from typer.testing import CliRunner

from mmra.benchmark.jsonl import iter_json_lines
from mmra.benchmark.records import parse_record, read_jsonl
from mmra.benchmark.schema import Candidate, Sample, SchemaError
from mmra.benchmark.sources import load_samples
from mmra.cli import app
from mmra.parsing import ParseError, load_json, non_finite_field

HUGE = "9" * 5000


def _sample(i: int, image_dir) -> dict:
    return {"subtask": "UsageSimilarity", "qa_type": "multiple_choice", "question": f"What are both used for? {i}",
            "options": ["cutting", "eating", "flying"], "answer": "A",
            "image1": {"path": str(image_dir / "a.png")}, "image2": {"path": str(image_dir / "b.png")},
            "annotation": {"agreement": 1.0}}


def _candidate(i: int, image_dir) -> dict:
    return {"subtask": "UsageSimilarity", "image1": {"path": str(image_dir / f"{i}a.png")},
            "image2": {"path": str(image_dir / f"{i}b.png")},
            "evidence": {"boxes": [{"label": "knife", "bbox": [1.0, 2.0, 30.0, 40.0], "image": 1}]}}


def _jsonl(path, records: list, raw: dict[int, str] | None = None):
    """records as lines; raw[i] replaces line i (1-based) with hand-written text."""
    lines = [json.dumps(r) for r in records]
    for lineno, text in (raw or {}).items():
        lines[lineno - 1] = text
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def test_parser_names_the_cause_and_the_field():
    with pytest.raises(ParseError, match="a number with more than 4,300 digits"):
        load_json('{"a": ' + HUGE + "}")
    for literal in ("NaN", "Infinity", "-Infinity", "1e999"):
        with pytest.raises(ParseError, match=rf"annotation\.alpha\.answers: {literal} is not a JSON number"):
            load_json('{"annotation": {"alpha": {"answers": ' + literal + "}}}", finite=True)
    assert math.isnan(load_json('{"a": NaN}')["a"])  # only where asked: other JSON (LLM answers) is unchanged
    assert non_finite_field({"evidence": {"boxes": [{"bbox": [1.0, math.inf]}]}}) == ("evidence.boxes.0.bbox.1", "inf")
    assert non_finite_field({"a": [1, 2.5, "NaN"]}) is None


@pytest.mark.parametrize("literal", ["NaN", "Infinity", "-Infinity", "1e999"])
def test_non_finite_sample_field_is_refused_at_read_time(tmp_path, literal):
    good = _sample(1, tmp_path)
    bad = json.dumps(_sample(2, tmp_path)).replace('"agreement": 1.0', f'"agreement": {literal}')
    path = _jsonl(tmp_path / "samples.jsonl", [good, good], raw={2: bad})
    errors: list[str] = []
    samples = read_jsonl(path, Sample, errors=errors)
    assert len(samples) == 1
    assert errors == [f"samples.jsonl:2: not valid JSON: annotation.agreement: {literal} is not a JSON number "
                      "(NaN and Infinity are refused; a number must be finite)"]
    loaded = load_samples(path, on_error="collect")  # the shared reader of publish, eval and leakage
    assert len(loaded.samples) == 1 and loaded.problems[0].startswith("samples.jsonl:2: not valid JSON: "
                                                                      "annotation.agreement:")


def test_nan_in_a_candidate_box_names_line_and_field(tmp_path):
    bad = json.dumps(_candidate(2, tmp_path)).replace("30.0", "NaN")
    path = _jsonl(tmp_path / "candidates.jsonl", [_candidate(1, tmp_path), {}], raw={2: bad})
    errors: list[str] = []
    assert len(read_jsonl(path, Candidate, errors=errors)) == 1
    assert errors == ["candidates.jsonl:2: not valid JSON: evidence.boxes.0.bbox.2: NaN is not a JSON number "
                      "(NaN and Infinity are refused; a number must be finite)"]


def test_huge_integer_names_file_and_line(tmp_path):
    bad = json.dumps(_sample(2, tmp_path)).replace('"agreement": 1.0', f'"agreement": {HUGE}')
    path = _jsonl(tmp_path / "samples.jsonl", [_sample(1, tmp_path), {}], raw={2: bad})
    (rec1, rec2) = list(iter_json_lines(path))
    assert rec1.record is not None and rec2.record is None
    assert rec2.item == "samples.jsonl:2" and "a number with more than 4,300 digits" in rec2.error
    with pytest.raises(SchemaError, match=r"^samples\.jsonl:2: not valid JSON: a number with more than 4,300"):
        read_jsonl(path, Sample)


def test_table_row_with_nan_is_refused_naming_the_field(tmp_path):
    row = _sample(1, tmp_path)
    row["annotation"]["agreement"] = float("nan")  # what a parquet float cell holds; no JSON parser saw it
    with pytest.raises(SchemaError, match=r"^row 7: annotation\.agreement: nan is not a finite number"):
        parse_record(Sample, row, "row 7")


@pytest.mark.parametrize("kind", ["huge", "nan"])
def test_publish_cli_says_one_line_per_bad_line(tmp_path, kind):
    value = HUGE if kind == "huge" else "NaN"
    bad = json.dumps(_sample(2, tmp_path)).replace('"agreement": 1.0', f'"agreement": {value}')
    path = _jsonl(tmp_path / "samples.jsonl", [_sample(1, tmp_path), {}], raw={2: bad})
    result = CliRunner().invoke(app, ["publish", "--samples", str(path), "--version", "1.0.0",
                                      "--to", str(tmp_path / "store")])
    text = " ".join(result.output.split())
    assert result.exit_code == 2, text
    cause = "a number with more than 4,300 digits" if kind == "huge" else "annotation.agreement: NaN is not a JSON number"
    assert f"samples.jsonl:2: not valid JSON: {cause}" in text
    assert "Traceback" not in result.output and HUGE not in result.output
    assert not (tmp_path / "store").exists()
