"""Prompt text for a sample, shared by the eval runner (all settings) and the leakage filter (question only).

Profiles:
- "default": a clean prompt: question, lettered options one per line, a one-line answer instruction.
- "paper": the official MMRA script's (evaluate/evaluate_demo.py) wording, kept as published (typos and
  whitespace runs included) so scores are comparable; see notes §8.

A profile is a function `(question, options, qa_type, *, with_question) -> str`. Profiles register the way
subtasks and backends do: the built-in ones here, more from installed packages through the entry-point group
`mmra.prompt_profiles` (`my_profile = "my_pkg.prompts:my_profile"`).
"""

from __future__ import annotations

from collections.abc import Callable

from mmra.plugins import Registry

from .vocabulary import CHOICE_LETTERS, QAType

PROFILE_ENTRY_POINT_GROUP = "mmra.prompt_profiles"
PROFILES = ("default", "paper")  # the built-in ones


def render_options(options: list[str]) -> str:
    return "\n".join(f"{CHOICE_LETTERS[i]}. {text}" for i, text in enumerate(options))


def answer_instruction(qa_type: QAType, n_options: int) -> str:
    if QAType(qa_type) == QAType.yes_no:
        return "Answer with Yes or No only."
    letters = ", ".join(CHOICE_LETTERS[:n_options])
    return f"Answer with the letter of the correct option ({letters}) only."


def question_text(
    question: str,
    options: list[str],
    qa_type: QAType | str,
    *,
    profile: str = "default",
    descriptions: dict[str, str] | None = None,
    with_question: bool = True,
) -> str:
    """The text part of a prompt. `descriptions` adds image descriptions (DQ/IDQ settings);
    `with_question=False` gives the choices-only probe (options without the question)."""
    qa_type = QAType(qa_type)
    render = prompt_profile(profile)
    parts: list[str] = []
    if descriptions:
        for key in ("image1", "image2"):
            if descriptions.get(key):
                parts.append(f"Description of Image {key[-1]}: {descriptions[key]}")
    return "\n".join(parts + [render(question, options, qa_type, with_question=with_question)])


def _default_prompt(question: str, options: list[str], qa_type: QAType, *, with_question: bool = True) -> str:
    parts = [f"Question: {question}"] if with_question else []
    if qa_type == QAType.multiple_choice:
        parts.append("Options:\n" + render_options(options))
    parts.append(answer_instruction(qa_type, len(options)))
    return "\n".join(parts)


def _is_profile(obj: object) -> str | None:
    return None if callable(obj) else "is not a function (question, options, qa_type, *, with_question) -> str"


def profile_names() -> list[str]:
    """Built-in profiles, then those installed packages registered."""
    return PROMPT_PROFILES.names()


def prompt_profile(name: str) -> Callable[..., str]:
    """The profile's function; an unknown or broken one is a ValueError naming the choices or the cause."""
    return PROMPT_PROFILES.get(name)


# The official evaluate_demo.py builds its prompts from string literals continued with a backslash inside the
# literal, so each continuation keeps the next line's indentation (20 spaces for choice, 18 for yes/no).
# Reproduced as published, typos included ("giving", "questions:", "four answers" for 3 options), so scores
# under the `paper` profile are comparable with the paper's.
_PAPER_MC_GAP = " " * 20
_PAPER_YN_GAP = " " * 18


def _paper_prompt(question: str, options: list[str], qa_type: QAType, *, with_question: bool = True) -> str:
    # the official script has no choices-only variant: the question is always part of its template
    if qa_type == QAType.yes_no:
        return (
            'You will be giving one question and two images. Please answer the question using "Yes" or "No". '
            + _PAPER_YN_GAP + "Please only answer the question with Yes or No."
            + _PAPER_YN_GAP + f"questions: {question} "
            + _PAPER_YN_GAP + "Your answer is "
        )
    letters = "A, B, C or D" if len(options) == 4 else ", ".join(CHOICE_LETTERS[: len(options)])
    rendered = "  ".join(f"{CHOICE_LETTERS[i]}: {t}" for i, t in enumerate(options))
    return (
        "You will be giving one question, two images,  and four answers, one of them is correct. "
        "Please choose one of the four answers."
        + _PAPER_MC_GAP + f"please only answer the question with {letters}."
        + _PAPER_MC_GAP + f"questions: {question} "
        + _PAPER_MC_GAP + f"answer:  {rendered}"
        + _PAPER_MC_GAP + "Your answer is "
    )


# the one registry helper (mmra.plugins), as for subtasks, backends and blind probes
PROMPT_PROFILES = Registry("prompt profile", PROFILE_ENTRY_POINT_GROUP,
                           {"default": _default_prompt, "paper": _paper_prompt}, check=_is_profile)
