"""The question-only leakage test: probes per sample, how answers are scored, and the hit / flag rules.

Probe kinds (each model answers every probe, text only, no images):
- `circular`, multiple choice: the question with its options under every circular shift (ABCD, BCDA, CDAB,
  DABC). A position-biased guesser ("always A") is right under exactly one shift, so it never hits;
  yes/no: the question posed with the answers as two options in both orders ("A. Yes B. No" and
  "A. No B. Yes"), i.e. both polarities of the letter. A model that always says "Yes" (or always "A") is
  right once, never twice;
- `eval-default`, `eval-paper`: the exact request `mmra eval --setting QO` sends under that prompt profile
  (built by the eval's own prompt code, original option order, no system prompt), scored as eval scores it.
  So the filter's probe of an item is the evaluator's question, and shares its cache entry;
- `choices-only` (multiple choice): the options without the question, under the same shifts. It is
  reported as evidence (`choices_only_hits`), it does not flag a sample by itself.

Sampled mode (MMMU-Pro): every probe is asked `samples_per_probe` = K times at a temperature; the tries differ
by a `seed` in the request (so each has its own cache entry). A probe counts as right when more than half of its
K tries are right; with K = 1 it is the single (greedy) answer.

A model *hits* a sample under a kind when it is right under all of that kind's probes (`hit_rule="all"`,
CircularEval) or under more than half of them (`"majority"`); it hits the sample when it hits under any of the
`flag_kinds` (default: `circular` only). The eval probes are one request in one option order, so a model that
always answers "No" or "C" hits every item whose gold is "No" or "C": that is the subtask's answer prior (fixed
by balancing the answer key, and measured per subtask), not knowledge of the item, so by default they are
evidence and per-subtask blind accuracy (equal to what `mmra eval --setting QO` scores) and flag only when
named in `flag_kinds`. Garbage, empty, refusals and failed requests count as wrong answers (and are counted
separately). A sample is *flagged* when more than `max_hits` models hit it.

`max_hits` default (MMStar: at most 2 of 8 inspectors may hit, i.e. a quarter): floor(K / 4) for K models.
Rounding down keeps the rule strict with few models: with 1-3 models, a single hit flags the sample.

Image probes (a VLM, through the eval backends): IQ (both images), IQ-image1 / IQ-image2 (one image alone) and
IQ-blank (grey images). `one_image_rule` decides when a sample is "answerable from one image".
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from mmra.benchmark.answers import extract_answer
from mmra.benchmark.prompts import question_text
from mmra.benchmark.schema import QAType, Sample
from mmra.benchmark.variants import rotation
from mmra.benchmark.vocabulary import CHOICE_LETTERS, YES_NO

HitRule = Literal["all", "majority"]
PROBE_KINDS = ("circular", "eval-default", "eval-paper", "choices-only")
FLAGGING_KINDS = ("circular", "eval-default", "eval-paper")  # kinds that may flag; choices-only never does
DEFAULT_FLAG_KINDS = ("circular",)  # only the order-debiased probe flags unless told otherwise (see below)
ONE_IMAGE_RULES = ("as-well", "any", "off")
IMAGE_SETTINGS = ("IQ", "IQ-image1", "IQ-image2", "IQ-blank")
SYSTEM_PROMPT = (
    "You answer multiple-choice questions. Some questions refer to images you cannot see: "
    "answer with your best guess anyway, giving only the letter of one option."
)


def default_max_hits(n_models: int) -> int:
    return n_models // 4


@dataclass(frozen=True)
class Probe:
    sample_id: str
    kind: str  # one of PROBE_KINDS
    variant: int  # the circular shift (multiple choice) or the answer order (yes/no); 0 for eval probes
    shown: tuple[str, ...]  # option texts as shown, in letter order
    to_original: tuple[str, ...]  # shown letter index -> the sample's answer value (letter or Yes/No)
    gold: str  # in the sample's answer space
    prompt: str
    messages: tuple[dict, ...]  # the chat messages sent
    answer_type: QAType = QAType.multiple_choice  # how the response is read (eval probes: the sample's type)


def _filter_messages(prompt: str) -> tuple[dict, ...]:
    return ({"role": "system", "content": SYSTEM_PROMPT}, {"role": "user", "content": prompt})


def check_kinds(kinds: list[str] | tuple[str, ...]) -> tuple[str, ...]:
    unknown = [k for k in kinds if k not in PROBE_KINDS]
    if unknown or not kinds:
        raise ValueError(f"--probe: unknown probe kind(s) {', '.join(map(repr, unknown)) or '(none given)'}; "
                         f"choose from {', '.join(PROBE_KINDS)}")
    return tuple(dict.fromkeys(kinds))


def _circular(sample: Sample, kind: str, profile: str) -> list[Probe]:
    """Every rotation of the options (of the answers Yes/No, posed as two options, for a yes/no item); a shown
    letter is read back through the rotation's shown-to-original map."""
    if sample.qa_type != QAType.multiple_choice:
        if kind == "choices-only":
            return []
        choices, to_original = YES_NO, YES_NO  # a shown option is itself the answer value
    else:
        choices, to_original = tuple(sample.options), CHOICE_LETTERS
    probes: list[Probe] = []
    for shift in range(len(choices)):
        order = rotation(choices, shift)
        prompt = question_text(sample.question, list(order.shown), QAType.multiple_choice, profile=profile,
                               with_question=kind != "choices-only")
        probes.append(Probe(sample.id, kind, shift, order.shown, order.map_to(to_original), sample.answer, prompt,
                            _filter_messages(prompt)))
    return probes


def _eval_qo(sample: Sample, profile: str) -> Probe:
    """The request `mmra eval --setting QO --profile PROFILE` sends, built by the eval's own code."""
    from mmra.eval.backends.openai import to_openai_messages
    from mmra.eval.items import question_only_prompt

    prompt = question_only_prompt(sample, profile)
    shown = tuple(sample.options) if sample.qa_type == QAType.multiple_choice else ()
    letters = tuple(CHOICE_LETTERS[: len(shown)])
    return Probe(sample.id, f"eval-{profile}", 0, shown, letters, sample.answer, prompt.text,
                 tuple(to_openai_messages(prompt)), sample.qa_type)


def probes_for(sample: Sample, *, kinds: tuple[str, ...] | list[str] = PROBE_KINDS, choices_only: bool = True,
               profile: str = "default") -> list[Probe]:
    """Every probe of the sample, kind by kind in `kinds` order. `profile` is the prompt profile of the
    circular and choices-only probes (the eval probes name their own); `choices_only=False` drops that kind."""
    probes: list[Probe] = []
    for kind in check_kinds(kinds):
        if kind == "choices-only" and not choices_only:
            continue
        if kind in ("eval-default", "eval-paper"):
            probes.append(_eval_qo(sample, kind.removeprefix("eval-")))
        else:
            probes.extend(_circular(sample, kind, profile))
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
    extraction = extract_answer(text, probe.answer_type, list(probe.shown))
    if not extraction.ok or extraction.answer is None:
        return ProbeAnswer(text, None, extraction.status, None, None, False)
    if probe.answer_type == QAType.yes_no:  # an eval probe of a yes/no item: read as eval reads it
        return ProbeAnswer(text, None, "ok", None, extraction.answer,
                           extraction.answer.casefold() == probe.gold.casefold())
    answer = probe.to_original[CHOICE_LETTERS.index(extraction.answer)]
    return ProbeAnswer(text, None, "ok", extraction.answer, answer, answer == probe.gold)


def knows(tries: list[bool]) -> bool:
    """MMMU-Pro's rule for K sampled tries: right in more than half of them (K = 1: the one answer)."""
    return sum(tries) * 2 > len(tries)


def is_hit(correct: list[bool], rule: HitRule, total: int | None = None) -> bool:
    """`correct`: the answers to the probes of one kind that were asked, in order; `total`: how many probes the
    kind has (default: all were asked). Probes left unasked once the outcome was decided (`hit_decided`)
    cannot change it."""
    total = len(correct) if total is None else total
    if not correct:
        return False
    if rule == "all":
        return len(correct) == total and all(correct)
    return sum(correct) * 2 > total


def hit_decided(correct: list[bool], rule: HitRule, total: int) -> bool:
    """Whether the answers so far fix `is_hit` whatever the remaining probes of the kind answer: under "all"
    the first wrong answer decides (CircularEval needs every rotation right), under "majority" more than half
    right, or too many wrong for a majority. The leakage run stops asking a kind's rotations there."""
    right = sum(correct)
    if rule == "all":
        return right < len(correct) or len(correct) == total
    remaining = total - len(correct)
    return right * 2 > total or (right + remaining) * 2 <= total


def chance_accuracy(sample: Sample) -> float:
    """Expected per-probe accuracy of a uniform random guesser."""
    return 1.0 / (len(sample.options) if sample.qa_type == QAType.multiple_choice else 2)


def answerable_from_one_image(correct: dict[str, bool | None], rule: str = "as-well") -> bool:
    """`correct`: image setting -> whether the VLM was right (None: no usable answer, counted wrong).
    "as-well": right from both images AND from one image alone (the pair adds nothing the VLM needed);
    "any": right from one image alone, whatever it did with both; "off": never flags."""
    if rule not in ONE_IMAGE_RULES:
        raise ValueError(f"one-image rule must be one of {', '.join(ONE_IMAGE_RULES)}, got {rule!r}")
    alone = bool(correct.get("IQ-image1")) or bool(correct.get("IQ-image2"))
    if rule == "off":
        return False
    if rule == "any":
        return alone
    return bool(correct.get("IQ")) and alone


def wilson(successes: int, n: int) -> list[float] | None:
    """95 % Wilson score interval of a proportion (sound at small n and at 0 or n successes)."""
    if n == 0:
        return None
    from scipy.stats import binomtest

    ci = binomtest(successes, n).proportion_ci(confidence_level=0.95, method="wilson")
    return [round(float(ci.low), 4), round(float(ci.high), 4)]
