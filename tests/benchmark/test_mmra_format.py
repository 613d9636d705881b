import ast

import pytest

from mmra.benchmark.mmra_format import (
    options_from_mmra,
    options_to_mmra,
    sample_from_mmra,
    sample_to_mmra,
)
from mmra.benchmark.schema import QAType, SchemaError


def _row(**over):
    row = {
        "Task": "UsageSimilarity",
        "QA_type": "Choice QA",
        "question": "What can both be used for?",
        "image1": "imgs/a.png",
        "image2": "imgs/b.png",
        "options": "{'A': 'cutting', 'B': \"it's for eating\", 'C': 'sleeping', 'D': 'flying'}",
        "answer": "A",
    }
    row.update(over)
    return row


def test_round_trip_choice(tmp_path, make_image):
    (tmp_path / "imgs").mkdir()
    make_image("imgs/a.png")
    make_image("imgs/b.png", color=(0, 0, 255))
    s = sample_from_mmra(_row(), base_dir=tmp_path)
    assert s.options == ["cutting", "it's for eating", "sleeping", "flying"]
    assert s.image1.sha256 and s.image1.sha256 != s.image2.sha256
    back = sample_to_mmra(s, image_value="path")
    assert back["QA_type"] == "Choice QA"
    assert ast.literal_eval(back["options"]) == ast.literal_eval(_row()["options"])
    again = sample_from_mmra(back, base_dir=tmp_path)
    assert again == s


def test_typo_qa_type_accepted_but_never_written():
    s = sample_from_mmra(_row(QA_type="Chooice QA"))
    assert s.qa_type == QAType.multiple_choice
    assert sample_to_mmra(s)["QA_type"] == "Choice QA"


def test_true_or_false_round_trip():
    s = sample_from_mmra(_row(Task="SubEvent", QA_type="True or false QA", options=None, answer="no"))
    assert s.qa_type == QAType.yes_no and s.answer == "No" and s.options == []
    row = sample_to_mmra(s)
    assert row["options"] is None and row["QA_type"] == "True or false QA" and row["answer"] == "No"


def test_options_string_is_literal_evaluable():
    text = options_to_mmra(["a 'quoted' one", 'a "double" one', "plain"])
    assert ast.literal_eval(text) == {"A": "a 'quoted' one", "B": 'a "double" one', "C": "plain"}
    assert options_from_mmra(text) == ["a 'quoted' one", 'a "double" one', "plain"]


@pytest.mark.parametrize(
    "over, needle",
    [
        ({"QA_type": "Essay"}, "QA_type"),
        ({"options": "{'A': 'x', 'C': 'y', 'D': 'z'}"}, "keys must be"),
        ({"options": "not a dict {"}, "not a Python dict"),
        ({"image1": None}, "image1: missing image"),
        ({"Task": "Nope"}, "unknown subtask"),
    ],
)
def test_bad_rows_are_named(over, needle):
    with pytest.raises(SchemaError, match=needle) as exc:
        sample_from_mmra(_row(**over), item="mmra.jsonl:3")
    assert "mmra.jsonl:3" in str(exc.value)
