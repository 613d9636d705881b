"""The question-only leakage test: probes per sample, how answers are scored, and the hit / flag rules.

Probes (each model answers every probe, text only, no images):
- multiple choice: the question with its options under every circular shift (ABCD, BCDA, CDAB, DABC). A
  position-biased guesser ("always A") is right under exactly one shift, so it never hits;
- yes/no: the question posed with the answers as two options in both orders ("A. Yes B. No" and
  "A. No B. Yes"), i.e. both polarities of the letter. A model that always says "Yes" (or always "A") is
  right once, never twice;
- choices-only (multiple choice, optional): the options without the question, under the same shifts. It is
  reported as evidence (`choices_only_hits`), it does not flag a sample by itself.

A model *hits* a sample when it is right under all probes (`hit_rule="all"`, CircularEval) or under more
than half of them (`"majority"`). Garbage, empty, refusals and failed requests count as wrong answers
(and are counted separately). A sample is *flagged* when more than `max_hits` models hit it.

`max_hits` default (MMStar: at most 2 of 8 inspectors may hit, i.e. a quarter): floor(K / 4) for K models.
Rounding down keeps the rule strict with few models: with 1-3 models, a single hit flags the sample.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from mmra.benchmark.answers import extract_answer
from mmra.benchmark.prompts import question_text
from mmra.benchmark.schema import LETTERS, QAType, Sample

HitRule = Literal["all", "majority"]
YES_NO_ORDERS = (("Yes", "No"), ("No", "Yes"))
SYSTEM_PROMPT = (
    "You answer multiple-choice questions. Some questions refer to images you cannot see: "
    "answer with your best guess anyway, giving only the letter of one option."
)


def default_max_hits(n_models: int) -> int:
    return n_models // 4


@dataclass(frozen=True)
class Probe:
    sample_id: str
    kind: Literal["qo", "choices_only"]
    variant: int  # the circular shift (multiple choice) or the answer order (yes/no)
    shown: tuple[str, ...]  # option texts as shown, in letter order
    to_original: tuple[str, ...]  # shown letter index -> the sample's answer value (letter or Yes/No)
    gold: str  # in the sample's answer space
    prompt: str

    @property
    def messages(self) -> list[dict[str, str]]:
        return [{"role": "system", "content": SYSTEM_PROMPT}, {"role": "user", "content": self.prompt}]


def probes_for(sample: Sample, *, choices_only: bool = True, profile: str = "default") -> list[Probe]:
    probes: list[Probe] = []
    if sample.qa_type == QAType.multiple_choice:
        n = len(sample.options)
        kinds = [("qo", True)] + ([("choices_only", False)] if choices_only else [])
        for kind, with_question in kinds:
            for shift in range(n):
                order = [(shift + j) % n for j in range(n)]
                shown = tuple(sample.options[i] for i in order)
                prompt = question_text(sample.question, list(shown), QAType.multiple_choice, profile=profile,
                                       with_question=with_question)
                probes.append(Probe(sample.id, kind, shift, shown, tuple(LETTERS[i] for i in order),
                                    sample.answer, prompt))
    else:
        for variant, shown in enumerate(YES_NO_ORDERS):
            prompt = question_text(sample.question, list(shown), QAType.multiple_choice, profile=profile)
            probes.append(Probe(sample.id, "qo", variant, shown, shown, sample.answer, prompt))
    return probes


@dataclass(frozen=True)
class ProbeAnswer:
    raw: str | None
    error: str | None
    status: str  # extract_answer status, or "error" when the request failed
    shown_letter: str | None
    answer: str | None  # in the sample's answer space
    correct: bool


def score(probe: Probe, text: str | None, error: str | None) -> ProbeAnswer:
    if error is not None:
        return ProbeAnswer(None, error, "error", None, None, False)
    extraction = extract_answer(text, QAType.multiple_choice, list(probe.shown))
    if not extraction.ok or extraction.answer is None:
        return ProbeAnswer(text, None, extraction.status, None, None, False)
    answer = probe.to_original[LETTERS.index(extraction.answer)]
    return ProbeAnswer(text, None, "ok", extraction.answer, answer, answer == probe.gold)


def is_hit(correct: list[bool], rule: HitRule) -> bool:
    if not correct:
        return False
    if rule == "all":
        return all(correct)
    return sum(correct) * 2 > len(correct)


def chance_accuracy(sample: Sample) -> float:
    """Expected per-probe accuracy of a uniform random guesser."""
    return 1.0 / (len(sample.options) if sample.qa_type == QAType.multiple_choice else 2)
