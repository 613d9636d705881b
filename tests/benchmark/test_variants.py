"""Option variants (benchmark/variants.py): one rotation, one balance order, one swap; each maps what is shown
back to the original, and eval, the leakage probes and publish read answers through that map."""

from __future__ import annotations

import pytest

from mmra.benchmark.leakage.items import ProbeItem
from mmra.benchmark.leakage.method import probes_for, score
from mmra.benchmark.release.balance import reorder_options
from mmra.benchmark.schema import QAType, Sample
from mmra.benchmark.variants import OptionOrder, balanced_order, rotated_sample, rotation
from mmra.benchmark.vocabulary import CHOICE_LETTERS, normalise_answer
from mmra.eval.items import expand_items

IMG = {"path": "x.png"}


def _mc(options: list[str], answer: str) -> Sample:
    return Sample(subtask="UsageSimilarity", granularity="entity", qa_type=QAType.multiple_choice,
                  question="Which use do they share?", options=options, answer=answer,
                  image1=IMG, image2={"path": "y.png"})


def test_rotation_maps_shown_letters_back():
    order = rotation(["a", "b", "c", "d"], 1)
    assert order.shown == ("b", "c", "d", "a")
    assert order.original_letters == ("B", "C", "D", "A")
    assert order.shown_letter("A") == "D" and order.original_letter("D") == "A"
    assert rotation(["a", "b", "c"], 0).identity and not order.identity
    with pytest.raises(ValueError, match="each of the 3 positions once"):
        OptionOrder.of(["a", "b", "c"], [0, 0, 2])


def test_eval_rotations_and_leakage_probes_use_the_same_orders():
    s = _mc(["cutting", "eating", "flying", "sitting"], "C")
    circ = {it.variant: it.sample for it in expand_items([s], circular=True)}
    probes = [p for p in probes_for(s, kinds=["circular"]) if p.kind == "circular"]
    for k, probe in enumerate(probes):
        shown = circ["orig"] if k == 0 else circ[f"circ{k}"]
        assert list(probe.shown) == shown.options
        # the eval item's gold letter, read back through the probe's map, is the sample's gold
        assert probe.to_original[CHOICE_LETTERS.index(shown.answer)] == s.answer
        assert score(probe, shown.answer, None).correct
    assert rotated_sample(s, 2).options == ["flying", "sitting", "cutting", "eating"]
    assert rotated_sample(s, 2).answer == "A"


@pytest.mark.parametrize("n", [2, 5, 10])
def test_probes_of_any_benchmark_rotate_2_to_10_options(n):
    options = [f"opt {i}" for i in range(n)]
    item = ProbeItem(id="r1", subtask="t", qa_type=QAType.multiple_choice, question="Q?", options=options,
                     answer=CHOICE_LETTERS[n - 1])
    probes = probes_for(item, kinds=["circular"])
    assert len(probes) == n
    for probe in probes:
        gold_shown = CHOICE_LETTERS[probe.shown.index(f"opt {n - 1}")]
        assert score(probe, gold_shown, None).correct
        assert sum(score(probe, letter, None).correct for letter in CHOICE_LETTERS[:n]) == 1


def test_yes_no_probes_pose_both_orders():
    item = ProbeItem(id="r2", subtask="t", qa_type=QAType.yes_no, question="Same place?", answer="No")
    probes = probes_for(item, kinds=["circular"])
    assert [p.shown for p in probes] == [("Yes", "No"), ("No", "Yes")]
    assert [score(p, "B", None).correct for p in probes] == [True, False]


def test_balance_records_the_shown_to_original_map():
    s = _mc(["cutting", "eating", "flying"], "A")
    for gold_index in range(3):
        moved = reorder_options(s, gold_index)
        order = balanced_order(s, gold_index)
        assert moved.answer == CHOICE_LETTERS[gold_index] and moved.options[gold_index] == "cutting"
        if order.identity:
            assert moved is s
        else:
            assert moved.provenance.extra["balance"]["options_from"] == list(order.original_letters)
            assert [s.options[CHOICE_LETTERS.index(x)] for x in order.original_letters] == moved.options


def test_one_answer_normaliser():
    assert normalise_answer(" (b). ", QAType.multiple_choice) == "B"
    assert normalise_answer("b", "multiple_choice") == "B"
    assert normalise_answer(" yes ", QAType.yes_no) == "Yes" and normalise_answer("NO", None) == "No"
    assert normalise_answer(None, QAType.yes_no) == ""
    # the schema reads the answer through it too
    assert _mc(["a", "b", "c"], " c ").answer == "C"
