"""Input nested deeply enough to exhaust the parsers' stack (issue 12): JSON lines, MMRA `options` strings and
model replies become one line naming the item and the cause, never a RecursionError traceback."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from mmra.benchmark.answers import extract_choice
from mmra.benchmark.mmra_format import options_from_mmra
from mmra.benchmark.schema import SchemaError
from mmra.benchmark.sources import load_samples
from mmra.parsing import ParseError, load_json, load_literal

DEEP_OPTIONS = [
    "{'A': " * 100_000,            # the parser's nesting limit
    "{'A': " + "-" * 100_000 + "1}",  # CPython's parser stack (MemoryError)
    "{'A': 1" + " + 1" * 100_000 + "}",  # the AST builder's recursion limit
]


@pytest.mark.parametrize("text", DEEP_OPTIONS)
def test_deep_options_string_is_one_schema_error(text):
    with pytest.raises(SchemaError) as info:
        options_from_mmra(text, item="rows.jsonl:7")
    message = str(info.value)
    assert message.startswith("rows.jsonl:7: options: not a Python dict string") and "\n" not in message


def test_parsing_helpers_name_the_cause():
    for bad in ("[" * 100_000, '{"a": ' * 100_000):
        with pytest.raises(ParseError, match="^not valid JSON: nested too deeply$"):
            load_json(bad)
    with pytest.raises(ParseError, match="not UTF-8"):
        load_json(b'{"a": "\xff"}')
    with pytest.raises(ParseError, match="^not valid JSON: Expecting"):
        load_json("{")
    assert load_json("[" * 500 + "]" * 500)  # deep but within reason still parses
    with pytest.raises(ParseError, match="nested too deeply"):
        load_literal("-" * 100_000 + "1")
    with pytest.raises(ParseError, match="characters"):
        load_literal("'" + "x" * 2_000_000 + "'")
    assert load_literal("{'A': 'cat', 'B': 'dog'}") == {"A": "cat", "B": "dog"}


def test_a_deep_model_reply_is_a_parse_failure_not_a_crash():
    got = extract_choice('{"answer": ' + "[" * 100_000 + "}", ["cat", "dog"])
    assert not got.ok


def _mmra_row(options: str, question: str = "Which one is an animal?") -> str:
    return json.dumps({"Task": "UsageSimilarity", "QA_type": "Choice QA", "question": question,
                       "options": options, "answer": "A", "image1": "a.png", "image2": "b.png"})


def test_reader_names_each_bad_line_and_keeps_the_good_ones(tmp_path, make_image):
    make_image("a.png")
    make_image("b.png")
    path = tmp_path / "rows.jsonl"
    path.write_text("\n".join([
        _mmra_row("{'A': 'cat', 'B': 'stone', 'C': 'cup'}"),
        "[" * 100_000,
        _mmra_row(DEEP_OPTIONS[0], question="Deep?"),
        _mmra_row("{'A': 'dog', 'B': 'brick', 'C': 'pen'}", question="Which one barks?"),
    ]) + "\n", encoding="utf-8")
    loaded = load_samples(path, on_error="collect")
    assert [s.question for s in loaded.samples] == ["Which one is an animal?", "Which one barks?"]
    assert len(loaded.problems) == 2
    assert loaded.problems[0] == "rows.jsonl:2: not valid JSON: nested too deeply"
    assert loaded.problems[1].startswith("rows.jsonl:3: options: not a Python dict string")


def test_leakage_cli_says_one_line_per_bad_item(tmp_path):
    from mmra.cli import app

    path = tmp_path / "rows.jsonl"
    path.write_text("[" * 100_000 + "\n" + _mmra_row(DEEP_OPTIONS[1]) + "\n", encoding="utf-8")
    result = CliRunner().invoke(app, ["leakage", "--samples", str(path), "--model", "m@http://127.0.0.1:9/v1",
                                      "--out", str(tmp_path / "out")], env={"COLUMNS": "400"})
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output and "RecursionError" not in result.output
    assert "rows.jsonl:1: not valid JSON: nested too deeply" in result.output
    assert "rows.jsonl:2: options: not a Python dict string" in result.output
    assert len(result.output) < 2000  # the item and the cause, not the input echoed back
