"""Prompt text for a sample, shared by the eval runner (all settings) and the leakage filter (question only).

Profiles:
- "default": a clean prompt: question, lettered options one per line, a one-line answer instruction.
- "paper": the official MMRA script's wording (typos fixed only where they change meaning is *not* done:
  it is kept as published so scores are comparable), see notes §8.
"""

from __future__ import annotations

from .schema import LETTERS, QAType

PROFILES = ("default", "paper")


def render_options(options: list[str]) -> str:
    return "\n".join(f"{LETTERS[i]}. {text}" for i, text in enumerate(options))


def answer_instruction(qa_type: QAType, n_options: int) -> str:
    if QAType(qa_type) == QAType.yes_no:
        return "Answer with Yes or No only."
    letters = ", ".join(LETTERS[:n_options])
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
    if profile not in PROFILES:
        raise ValueError(f"unknown prompt profile {profile!r}; choose one of {', '.join(PROFILES)}")
    parts: list[str] = []
    if descriptions:
        for key in ("image1", "image2"):
            if descriptions.get(key):
                parts.append(f"Description of Image {key[-1]}: {descriptions[key]}")
    if profile == "paper":
        return "\n".join(parts + [_paper_prompt(question, options, qa_type)])
    if with_question:
        parts.append(f"Question: {question}")
    if qa_type == QAType.multiple_choice:
        parts.append("Options:\n" + render_options(options))
    parts.append(answer_instruction(qa_type, len(options)))
    return "\n".join(parts)


def _paper_prompt(question: str, options: list[str], qa_type: QAType) -> str:
    # The official evaluate_demo.py prompt (whitespace runs collapsed; wording and typos as published).
    if qa_type == QAType.yes_no:
        return (
            "Please answer the following questions: " + question +
            " Based on the content of the images, please answer Yes or No."
        )
    opts = "  ".join(f"{LETTERS[i]}: {t}" for i, t in enumerate(options))
    return (
        "Please answer the following questions: " + question + " answer:  " + opts +
        " Based on the content of the images, giving four answers, please choose one of the four answers "
        "and output the capital letter of the correct option."
    )
