"""Krippendorff's alpha (nominal) from the `krippendorff` package, checked against values worked out by hand
from the coincidence matrix, with missing judgements and a varying number of annotators."""

from __future__ import annotations

import pytest

from mmra.annotation.agreement import krippendorff_alpha, subtask_alphas

TWO_RATERS = [{"r1": "keep", "r2": "keep"}, {"r1": "keep", "r2": "reject"},
              {"r1": "reject", "r2": "reject"}, {"r1": "reject", "r2": "reject"}]


def test_two_raters_by_hand():
    # coincidences: o(k,k)=2, o(k,r)=o(r,k)=1, o(r,r)=4; n_k=3, n_r=5, n=8
    # D_o = 2/8, D_e = 2*3*5/(8*7) = 30/56, alpha = 1 - (2/8)/(30/56) = 8/15
    alpha, used = krippendorff_alpha(TWO_RATERS)
    assert alpha == pytest.approx(8 / 15) and used == 4


def test_missing_judgements_and_a_third_rater_by_hand():
    # a unit judged once pairs with nothing; the unit (k, k, r) adds o(k,k)+=1, o(k,r)+=1, o(r,k)+=1 (pairs
    # weighted 1/(m-1) = 1/2): n_k=5, n_r=6, n=11, D_o = 4/11, D_e = 2*5*6/(11*10) = 6/11, alpha = 1/3
    units = [*TWO_RATERS, {"r1": "keep"}, {"r1": "keep", "r2": "keep", "r3": "reject"}]
    alpha, used = krippendorff_alpha(units)
    assert alpha == pytest.approx(1 / 3) and used == 5


def test_undefined_cases():
    assert krippendorff_alpha([]) == (None, 0)
    assert krippendorff_alpha([{"a": "keep", "b": "keep"}] * 3) == (None, 3)  # one label: chance is total
    assert krippendorff_alpha([{"a": "keep", "b": "reject"}]) == (None, 1)  # one unit
    assert krippendorff_alpha([{"a": "x", "b": "x"}, {"a": "y", "c": "y"}]) == (1.0, 2)


def test_subtask_alphas_fields():
    answers = [{"r1": "('multiple_choice', (), 'A')", "r2": "('multiple_choice', (), 'A')"},
               {"r1": "('yes_no', (), 'Yes')", "r2": "('yes_no', (), 'No')"}, {"r1": "x"}]
    row = subtask_alphas(TWO_RATERS, answers)
    assert row["keep_reject_alpha"] == round(8 / 15, 4) and row["keep_reject_alpha_tasks"] == 4
    # 2 units: o(A,A)=2, o(Y,N)=o(N,Y)=1, n=4, n_A=2, n_Y=n_N=1: D_o=2/4, D_e=(2*2*1+2*2*1+2*1*1)/(4*3)=10/12
    assert row["answer_alpha"] == pytest.approx(round(1 - (2 / 4) / (10 / 12), 4)) and row["answer_alpha_tasks"] == 2
