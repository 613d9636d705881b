"""`mmra audit` on the shapes real public benchmarks are published in, found by auditing them in their own files
(see benches/real_benchmarks.md). Every file here is generated: the same SHAPE as the real one, none of its data.

- POPE (RUCAIBox/POPE output/coco/*.json): a .json file of one object per line, the question in `text`, the answer
  in `label` as lowercase yes/no.
- HallusionBench (tianyi-lab/HallusionBench HallusionBench.json): a JSON array, yes/no written as "1"/"0" in
  `gt_answer` with no options, `question_id` repeated across figures.
- MathVista (lupantech/MathVista data/testmini.json) and ScienceQA (problems.json): one JSON object of records keyed
  by id; `choices` a list (null for free-form items), the answer as option text (MathVista) or a 0-based index
  (ScienceQA), the task nested in `metadata` (MathVista).
"""

from __future__ import annotations

import json
import random
import subprocess
import sys
from pathlib import Path

import pytest

from mmra.benchmark.audit.columns import ColumnFlags, ItemErrors, map_columns, read_items
from mmra.benchmark.audit.formats import FormatError, JsonObjectSource, open_source

MMRA = [sys.executable, "-m", "mmra.cli"]
OBJECTS = ["person", "car", "chair", "cup", "dog", "bench", "clock", "kite", "bowl", "vase", "boat", "lamp"]


def _mmra(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([*MMRA, *args], capture_output=True, text=True, timeout=600)


def _items(path: Path, flags: ColumnFlags | None = None):
    source = open_source(path)
    cmap = map_columns(source.columns(), flags or ColumnFlags(), path.name)
    errors = ItemErrors()
    return cmap, read_items(source.rows(cmap.needed), cmap, path.stem, errors), errors


def test_pope_shape_text_and_label_are_detected(tmp_path):
    path = tmp_path / "coco_pope_random.json"
    with path.open("w") as fh:
        for i in range(40):
            fh.write(json.dumps({"question_id": i + 1, "image": f"COCO_val2014_{i // 6:012d}.jpg",
                                 "text": f"Is there a {OBJECTS[i % len(OBJECTS)]} in the image?",
                                 "label": "yes" if i % 2 else "no"}) + "\n")
    cmap, items, errors = _items(path)
    assert (cmap.question, cmap.answer, cmap.id) == ("text", "label", "question_id")
    assert len(items) == 40 and not errors.lines
    assert {i.answer for i in items} == {"Yes", "No"} and items[0].id == "1"


def _hallusion_rows(n_sets: int = 30) -> list[dict]:
    """Each question asked about an original and an edited figure with opposite answers; question_id restarts
    per figure, as in HallusionBench."""
    rows = []
    for s in range(n_sets):
        for figure in range(2):
            for q in range(2):
                rows.append({"category": "VS" if s % 2 else "VD", "subcategory": "chart", "visual_input": "1",
                             "set_id": str(s), "figure_id": str(figure), "question_id": str(q),
                             "question": f"Is the {OBJECTS[s % len(OBJECTS)]} bar the tallest in chart {q}?",
                             "gt_answer_details": "", "gt_answer": str((figure + q) % 2),
                             "filename": f"./VS/chart/{s}_{figure}.png"})
    return rows


def test_hallusionbench_shape_zero_one_answers_are_yes_no_and_repeated_ids_are_summed_up(tmp_path):
    path = tmp_path / "HallusionBench.json"
    path.write_text(json.dumps(_hallusion_rows(), indent=1))
    cmap, items, errors = _items(path)
    assert (cmap.answer, cmap.task, cmap.id) == ("gt_answer", "category", "question_id")
    assert len(items) == 120 and not errors.rows
    by_row = {i.row: i for i in items}
    assert by_row[0].answer == "No" and by_row[1].answer == "Yes" and by_row[2].answer == "Yes"
    assert [i.row for i in items] == sorted(i.row for i in items)
    assert len({i.id for i in items}) == 120  # repeated question_ids made unique by row
    notes = errors.lines
    assert any("read as yes/no (1 = Yes, 0 = No)" in line for line in notes)
    repeats = [line for line in notes if "repeats an earlier row" in line]
    assert len(repeats) == 20 and repeats[0].startswith("HallusionBench.json item 2: id '0'")
    assert notes[-1].startswith("... and 98 more row(s) repeat an earlier id (column 'question_id')")


def test_zero_one_answers_stay_free_form_when_other_rows_answer_otherwise(tmp_path):
    # a free-form numeric benchmark (MathVista's free_form items) whose answer is sometimes 1 is not yes/no
    path = tmp_path / "counts.jsonl"
    path.write_text("".join(json.dumps({"question": f"How many {o}s?", "answer": a}) + "\n"
                            for o, a in zip(OBJECTS[:6], ["1", "0", "3", 1, "12", "yes"], strict=True)))
    _, items, errors = _items(path)
    assert [i.answer for i in items] == ["Yes"]  # only the real yes/no row
    assert sorted(errors.rows) == [0, 1, 2, 3, 4]
    assert "counts.jsonl line 1: answer '1' is not yes/no and the item has no options; left out" in errors.lines


def _mathvista_like(n: int = 120, seed: int = 0) -> dict:
    rng = random.Random(seed)
    data = {}
    for i in range(1, n + 1):
        if i % 4 == 0:
            record = {"question": f"How many {rng.choice(OBJECTS)}s are left?", "image": f"images/{i}.jpg",
                      "choices": None, "answer": str(rng.randrange(10)), "question_type": "free_form",
                      "pid": str(i), "metadata": {"category": "math-targeted-vqa", "source": "CLEVR-Math"}}
        else:
            choices = rng.sample(OBJECTS, rng.choice([2, 4, 5]))
            source = "planted" if i % 2 else "clean"
            gold = rng.randrange(len(choices))
            if source == "planted":
                choices[gold] = f"the {choices[gold]} next to the window"
            record = {"question": f"Which object is on the {rng.choice(['left', 'right'])}?",
                      "image": f"images/{i}.jpg", "choices": choices, "answer": choices[gold],
                      "question_type": "multi_choice", "pid": str(i),
                      "metadata": {"category": "general-vqa", "source": source}}
        data[str(i)] = record
    return data


def test_object_keyed_by_id_reads_as_rows_with_the_key_as_id(tmp_path):
    path = tmp_path / "testmini.json"
    path.write_text(json.dumps(_mathvista_like(), indent=4))
    source = open_source(path)
    assert isinstance(source, JsonObjectSource) and source.columns()[0] == "id"
    cmap, items, errors = _items(path)
    assert (cmap.question, cmap.answer, cmap.options, cmap.id) == ("question", "answer", "choices", "id")
    assert len(items) == 90 and len(errors.rows) == 30  # free-form items: one line each, left out
    assert sorted(line.split("'")[1] for line in errors.lines) == sorted(str(i) for i in range(4, 121, 4))
    assert all(line.endswith("is not yes/no and the item has no options; left out") for line in errors.lines)
    assert items[0].id == "1" and items[0].row == 0
    # a record that is not an object is one line naming its key; the rest is read
    broken = tmp_path / "broken.json"
    broken.write_text('{\n "a": {"question": "Is it red?", "answer": "yes"},\n "b": "oops",\n'
                      ' "c": {"question": "Is it blue?", "answer": "no"}\n}\n')
    _, items, errors = _items(broken)
    assert [i.id for i in items] == ["a", "c"]
    assert errors.lines == ["broken.json key 'b': expected a JSON object, got a string"]


def test_object_keyed_by_id_scienceqa_shape_index_answers_and_records_with_their_own_id(tmp_path):
    data = {str(i): {"question": f"Which is a {o}?", "choices": [o, "rock", "cloud"], "answer": 0,
                     "hint": "", "image": None, "task": "closed choice", "subject": "natural science",
                     "id": f"own-{i}"} for i, o in enumerate(OBJECTS)}
    path = tmp_path / "problems.json"
    path.write_text(json.dumps(data))  # one line: every value an object, so records keyed by id
    source = open_source(path)
    assert isinstance(source, JsonObjectSource) and source.key_column == "key"
    cmap, items, errors = _items(path)
    assert cmap.id == "id" and [i.id for i in items[:2]] == ["own-0", "own-1"]
    assert all(i.answer == "A" for i in items) and not errors.lines
    # one JSON object per line is still JSONL, even when a record's values are objects
    lines = tmp_path / "lines.json"
    lines.write_text('{"meta": {"a": 1}}\n{"meta": {"a": 2}}\n')
    assert open_source(lines).kind == "json" and not isinstance(open_source(lines), JsonObjectSource)


@pytest.mark.parametrize(("content", "message"), [
    ('{\n "1": {"question": "q"},\n "2": {"question": "unterminated\n', r"key '2': not valid JSON"),
    # cut short inside a key, as a truncated copy of ScienceQA's problems.json is
    ('{\n "1": {"question": "q"},\n "17', r"member 1 \(line 3\): not valid JSON: Unterminated string starting at "
                                         r"line 3 column 2$"),
    ('{\n "1": {"question": "q"}\n "2": {}\n}', r"key '1': expected ',' or '\}' after its value \(line 3\)"),
    ('{\n "q": "a single object",\n "answer": "yes"\n}\n', r"this is one object with keys 'q', 'answer', not records"),
    ('{\n "1": {"question": "q"}\n}\n{"x": 1}\n', r"extra data after the JSON object \(line 4\)"),
])
def test_bad_keyed_objects_are_one_line(tmp_path, content, message):
    path = tmp_path / "bad.json"
    path.write_text(content)
    with pytest.raises(FormatError, match=message) as info:
        open_source(path)
    assert "\n" not in str(info.value)


def test_audit_of_an_object_keyed_by_id_writes_the_subset_as_the_same_kind_of_object(tmp_path):
    path = tmp_path / "testmini.json"
    data = _mathvista_like(240)
    path.write_text(json.dumps(data, indent=4))
    out = tmp_path / "out"
    run = _mmra("audit", str(path), "--out", str(out), "--embedder", "none", "--prune-to-chance", "5")
    assert run.returncode == 0, run.stderr
    verdicts = [json.loads(line) for line in (out / "verdicts.jsonl").read_text().splitlines()]
    assert len(verdicts) == 180 and verdicts[0]["id"] == "1"
    subset = out / "blind_proof.json"
    kept = json.loads(subset.read_text())
    assert isinstance(kept, dict) and 0 < len(kept) < 180
    assert all(kept[k] == data[k] for k in kept)  # values untouched, keys kept
    flagged = {v["id"] for v in verdicts if v["leaked"]}
    assert not flagged & set(kept)
    reread = open_source(subset)
    assert isinstance(reread, JsonObjectSource)
    assert [r.values["id"] for r in reread.rows(["id"])] == list(kept)


def test_a_field_inside_a_nested_record_names_the_task(tmp_path):
    # MathVista keeps the task in metadata.source / metadata.category
    path = tmp_path / "testmini.json"
    path.write_text(json.dumps(_mathvista_like(), indent=4))
    cmap, items, _ = _items(path, ColumnFlags(task="metadata.source"))
    assert cmap.task == "metadata.source" and "metadata" in cmap.needed and "metadata.source" not in cmap.needed
    assert {i.subtask for i in items} == {"planted", "clean"}
    from mmra.benchmark.audit.columns import ColumnError

    with pytest.raises(ColumnError, match=r"--task-column 'meta.source' is not a column; .*COLUMN.FIELD"):
        map_columns(open_source(path).columns(), ColumnFlags(task="meta.source"), path.name)
    # a missing field reads as no task (the file's own name), never an error
    data = _mathvista_like(8)
    del data["1"]["metadata"]
    path.write_text(json.dumps(data))
    _, items, errors = _items(path, ColumnFlags(task="metadata.source"))
    assert items[0].id == "1" and items[0].subtask == "testmini"


def test_options_written_inline_with_their_letters(tmp_path):
    # MMVP's CSV: Index, Question, Options "(a) Open (b) Closed", Correct Answer "(a)"; others write "A. red B. blue"
    path = tmp_path / "Questions.csv"
    rows = ["Index,Question,Options,Correct Answer"]
    for i in range(40):
        opts = "(a) Open (b) Closed" if i % 2 else "(a) Facing left (b) Facing right"
        rows.append(f'{i + 1},"Is the door open or closed in image {i}?","{opts}",({"ab"[i % 3 % 2]})')
    path.write_text("\n".join(rows) + "\n")
    cmap, items, errors = _items(path, ColumnFlags())
    assert cmap.options == "Options" and cmap.answer == "Correct Answer" and cmap.id == "Index"
    assert not errors.lines and len(items) == 40
    assert items[1].options == ["Open", "Closed"] and items[0].options == ["Facing left", "Facing right"]
    assert [i.answer for i in items[:3]] == ["A", "B", "A"]
    from mmra.benchmark.audit.columns import _lettered_options

    assert _lettered_options("A. red B. blue C. green") == ["red", "blue", "green"]
    assert _lettered_options("Red, or (b) blue") is None and _lettered_options("(a) only one") is None


def test_records_wrapped_under_one_key(tmp_path):
    # SEED-Bench.json: {"question_type": {...}, "questions": [{question, choice_a..choice_d, answer, ...}]}
    rng = random.Random(5)
    questions = []
    for i in range(30):
        opts = rng.sample(["red", "blue", "green", "white", "black"], 4)
        questions.append({"question_id": f"q{i}", "question": f"What colour is thing {i}?",
                          **{f"choice_{c}": o for c, o in zip("abcd", opts, strict=True)}, "answer": "ABCD"[i % 4],
                          "question_type_id": 1 + i % 2})
    data = {"question_type": {"Scene Understanding": 1, "Instance Identity": 2}, "questions": questions}
    path = tmp_path / "SEED-Bench.json"
    path.write_text(json.dumps(data, indent=1))
    cmap, items, errors = _items(path, ColumnFlags(task="question_type_id"))
    assert cmap.option_columns == ("choice_a", "choice_b", "choice_c", "choice_d") and cmap.id == "question_id"
    assert len(items) == 30 and not errors.lines and {i.subtask for i in items} == {"1", "2"}
    source = open_source(path)
    out = source.write_subset({0, 3, 7}, tmp_path / "out")
    kept = json.loads(out.read_text())
    assert kept["question_type"] == data["question_type"]  # the wrapper kept as written
    assert kept["questions"] == [questions[0], questions[3], questions[7]]
    assert [r.values["question_id"] for r in open_source(out).rows(["question_id"])] == ["q0", "q3", "q7"]
    # two arrays of records: which one is meant cannot be known, one line
    path.write_text(json.dumps({"questions": questions, "more": questions}, indent=1))
    with pytest.raises(FormatError, match="not records"):
        open_source(path).columns()
    # the same wrapper written on one line is read the same way
    path.write_text(json.dumps(data))
    assert len(_items(path, ColumnFlags(task="question_type_id"))[1]) == 30
