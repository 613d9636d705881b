"""`mmra score` on hand-written predictions: tricky responses scored as a careful person would, CircularEval,
swap, MMStar MG/ML, levels, CIs, and bad response files."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from mmra.benchmark.schema import SchemaError
from mmra.cli import app
from mmra.eval import score, score_runs, write_report

OPTS4 = "{'A': 'a red bus', 'B': 'a dog', 'C': 'a cat', 'D': 'a tree'}"
OPTS3 = "{'A': 'wood', 'B': 'metal', 'C': 'glass'}"

# (response, options, gold, QA_type, expected correct, expected status) — what a careful reader concludes
TRICKY = [
    ("B", OPTS4, "B", "Choice QA", True, "ok"),
    ("(B) a dog", OPTS4, "B", "Choice QA", True, "ok"),
    ("A man is walking a dog, so the answer is B.", OPTS4, "B", "Choice QA", True, "ok"),  # article "A"
    ("Option A is wrong; the correct answer is B.", OPTS4, "B", "Choice QA", True, "ok"),
    ("The answer is B, not C.", OPTS4, "B", "Choice QA", True, "ok"),  # the official script said C
    ("**B**", OPTS4, "B", "Choice QA", True, "ok"),
    ("The answer is a dog", OPTS4, "B", "Choice QA", True, "ok"),  # option text, not the article "a"
    ("Your answer is B", OPTS4, "B", "Choice QA", True, "ok"),  # the paper prompt's own completion
    ("answer: (b)", OPTS4, "B", "Choice QA", True, "ok"),
    ('{"answer": "B"}', OPTS4, "B", "Choice QA", True, "ok"),
    ("A", OPTS4, "B", "Choice QA", False, "ok"),
    ("B or C", OPTS4, "B", "Choice QA", False, "unparseable"),
    ("D", OPTS3, "B", "Choice QA", False, "unparseable"),  # no option D on a 3-option item
    ("metal", OPTS3, "B", "Chooice QA", True, "ok"),  # the typo QA_type the official scorer dropped
    ("I cannot see any images, sorry.", OPTS4, "B", "Choice QA", False, "refusal"),
    ("", OPTS4, "B", "Choice QA", False, "empty"),
    ("Yes", None, "Yes", "True or false QA", True, "ok"),
    ("YES, both show it.", None, "Yes", "True or false QA", True, "ok"),
    ("yes.", None, "yes", "True or false QA", True, "ok"),  # lower-case gold
    ("No, it is not; although one might say yes", None, "Yes", "True or false QA", False, "ok"),
    ("True", None, "Yes", "True or false QA", True, "ok"),
    ("Maybe.", None, "No", "True or false QA", False, "unparseable"),
    ("As an AI I cannot determine that.", None, "No", "True or false QA", False, "refusal"),
]


def _line(i: int, response, options, gold, qa, task="UsageSimilarity", **extra) -> dict:
    return {"id": f"q{i}", "Task": task, "QA_type": qa, "options": options, "answer": gold, "response": response,
            **extra}


def _write(path: Path, lines: list[dict]) -> Path:
    path.write_text("".join(json.dumps(x) + "\n" for x in lines), encoding="utf-8")
    return path


def test_tricky_responses_are_scored_like_a_careful_reader(tmp_path):
    lines = [_line(i, r, o, g, q) for i, (r, o, g, q, _, _) in enumerate(TRICKY)]
    result, runs = score_runs(_write(tmp_path / "p.jsonl", lines), bootstrap=200)
    write_report(result, runs, tmp_path / "out")
    scored = [json.loads(x) for x in (tmp_path / "out" / "scored.jsonl").read_text().splitlines()]
    by_id = {s["id"]: s for s in scored}
    for i, (response, _, _, _, correct, status) in enumerate(TRICKY):
        got = by_id[f"q{i}"]
        assert (got["correct"], got["status"]) == (correct, status), f"{response!r}: {got}"
    n_correct = sum(t[4] for t in TRICKY)
    assert result["overall"] == pytest.approx(n_correct / len(TRICKY))
    run = result["runs"][0]
    assert run["refusal_rate"] == pytest.approx(2 / len(TRICKY))
    assert run["parse_failure_rate"] == pytest.approx(4 / len(TRICKY))  # 3 unparseable + 1 empty
    assert (tmp_path / "out" / "scores.png").stat().st_size > 1000
    assert "US" in result["subtasks"]


def test_levels_micro_macro_and_overall_micro(tmp_path):
    # entity: RP 2/2, US 0/1 -> micro 2/3, macro 0.5; image: SubE 1/4 -> micro = macro = 0.25
    lines = [
        _line(0, "A", OPTS3, "A", "Choice QA", task="RelativePosition"),
        _line(1, "B", OPTS3, "B", "Choice QA", task="RP"),  # abbreviations are accepted as Task
        _line(2, "C", OPTS3, "A", "Choice QA", task="UsageSimilarity"),
        *[_line(3 + i, "Yes", None, g, "True or false QA", task="SubEvent") for i, g in
          enumerate(["Yes", "No", "No", "No"])],
    ]
    result = score(_write(tmp_path / "p.jsonl", lines), bootstrap=100)
    assert result["overall"] == pytest.approx(3 / 7)  # micro over samples, like the paper's Overall
    levels = result["levels"]
    assert levels["entity"]["micro"] == pytest.approx(2 / 3)
    assert levels["entity"]["macro"] == pytest.approx(0.5)
    assert levels["image"]["micro"] == pytest.approx(0.25)
    assert list(result["subtasks"]) == ["RP", "US", "SubE"]  # the paper's column order
    lo, hi = result["runs"][0]["ci95"]
    assert 0.0 <= lo <= 3 / 7 <= hi <= 1.0
    again = score(_write(tmp_path / "p2.jsonl", lines), bootstrap=100)
    assert again["runs"][0]["ci95"] == result["runs"][0]["ci95"]  # seeded: reproducible intervals


def test_circular_eval_needs_every_rotation_right(tmp_path):
    def rot(options: list[str], k: int) -> str:
        return repr({"ABCD"[i]: options[(i + k) % len(options)] for i in range(len(options))})

    opts = ["wood", "metal", "glass"]
    lines = []
    # sample s1: gold "metal" (B at k=0, A at k=1, C at k=2) -> all right
    for k, letter in enumerate(["B", "A", "C"]):
        lines.append({**_line(len(lines), letter, rot(opts, k), letter, "Choice QA", task="SM"),
                      "sample_id": "s1", "variant": "orig" if k == 0 else f"circ{k}"})
    # sample s2: a model that always says "A": right only where the gold lands on A
    for k, gold in enumerate(["B", "A", "C"]):
        lines.append({**_line(len(lines), "A", rot(opts, k), gold, "Choice QA", task="SM"),
                      "sample_id": "s2", "variant": "orig" if k == 0 else f"circ{k}"})
    run = score(_write(tmp_path / "p.jsonl", lines), bootstrap=0)["runs"][0]
    assert run["overall"] == pytest.approx(0.5)  # vanilla: s1 right, s2 wrong on the original order
    assert run["circular"]["accuracy"] == pytest.approx(0.5)
    assert run["circular"]["n"] == 2
    assert run["circular"]["subtasks"] == {"SM": pytest.approx(0.5)}


def test_swap_reports_original_vs_swapped(tmp_path):
    lines = [
        {**_line(0, "Yes", None, "Yes", "True or false QA", task="SubEvent"), "sample_id": "a", "variant": "orig"},
        {**_line(1, "Yes", None, "No", "True or false QA", task="SubEvent"), "sample_id": "a", "variant": "swap"},
        {**_line(2, "No", None, "No", "True or false QA", task="SubEvent"), "sample_id": "b", "variant": "orig"},
        {**_line(3, "Yes", None, "Yes", "True or false QA", task="SubEvent"), "sample_id": "b", "variant": "swap"},
    ]
    run = score(_write(tmp_path / "p.jsonl", lines), bootstrap=0)["runs"][0]
    assert run["n"] == 2  # swapped rows are not extra samples
    assert run["swap"]["original"] == 1.0
    assert run["swap"]["swapped"] == 0.5
    assert run["swap"]["both"] == 0.5


def test_mmstar_gain_and_leakage_from_three_runs(tmp_path):
    golds = ["A", "B", "C", "A"]

    def run_file(name, setting, model, answers):
        lines = [_line(i, a, OPTS3, g, "Choice QA", task="Env", setting=setting, model=model)
                 for i, (a, g) in enumerate(zip(answers, golds, strict=True))]
        return _write(tmp_path / name, lines)

    iq = run_file("iq.jsonl", "IQ", "vlm", ["A", "B", "C", "B"])  # 3/4
    blank = run_file("blank.jsonl", "IQ-blank", "vlm", ["A", "B", "A", "B"])  # 2/4
    qo = run_file("qo.jsonl", "QO", "base-llm", ["A", "A", "A", "B"])  # 1/4
    result = score([iq, blank, qo], text_base="base-llm", bootstrap=0)
    m = result["mmstar"]["vlm"]
    assert m["MG"] == pytest.approx(0.25)
    assert m["ML"] == pytest.approx(0.25)
    assert [r["label"] for r in result["runs"]] == ["vlm", "vlm [IQ-blank]", "base-llm [QO]"]


def test_missing_fields_are_named_with_file_and_line(tmp_path):
    path = tmp_path / "bad.jsonl"
    path.write_text(
        json.dumps(_line(0, "A", OPTS3, "A", "Choice QA")) + "\n"
        + json.dumps({"id": "q1", "Task": "SM", "QA_type": "Choice QA", "answer": "A"}) + "\n"
        + "{not json\n",
        encoding="utf-8",
    )
    with pytest.raises(SchemaError) as info:
        score(path)
    message = str(info.value)
    assert "bad.jsonl:2 (id q1): missing field(s) options, response" in message
    assert "bad.jsonl:3: not valid JSON" in message


def test_unknown_qa_type_is_a_clear_error(tmp_path):
    path = _write(tmp_path / "p.jsonl", [_line(0, "A", OPTS3, "A", "Essay")])
    with pytest.raises(SchemaError, match="QA_type: unknown value 'Essay'"):
        score(path)


def test_cli_score_writes_scores_table_and_plot(tmp_path):
    path = _write(tmp_path / "p.jsonl", [_line(i, r, o, g, q) for i, (r, o, g, q, _, _) in enumerate(TRICKY)])
    res = CliRunner().invoke(app, ["score", str(path), "--out", str(tmp_path / "o"), "--bootstrap", "50"])
    assert res.exit_code == 0, res.output
    assert "Overall" in res.output and "US" in res.output
    data = json.loads((tmp_path / "o" / "scores.json").read_text())
    assert set(data) >= {"overall", "subtasks", "runs", "levels"}
    assert (tmp_path / "o" / "scores.png").exists()
    bad = tmp_path / "bad.jsonl"
    bad.write_text(json.dumps({"id": "x"}) + "\n")
    res = CliRunner().invoke(app, ["score", str(bad)])
    assert res.exit_code == 2
    assert "missing field(s)" in res.output and "Traceback" not in res.output
