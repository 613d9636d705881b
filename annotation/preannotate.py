"""LLM-drafted questions (pre-annotations): the annotator edits a draft instead of typing from scratch.

Any OpenAI-compatible endpoint through the shared `mmra.llm.client.ChatClient` (cached, retried, bounded
concurrency). The model sees the subtask's definition and guidance and the pair's evidence (edges,
entities, captions) as text; a draft that does not parse into a valid question is left out and reported,
since a draft is only a convenience.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from mmra.benchmark.registry import get_subtask
from mmra.benchmark.schema import LETTERS, Candidate, QAType
from mmra.parsing import ParseError, load_json

from .labeling import QAContent, evidence_text
from .push import Draft

SYSTEM = ("You write questions for a benchmark of multi-image relational reasoning. A question must need BOTH "
          "images to be answered and must not give its answer away in its wording or options. "
          "Reply with one JSON object and nothing else.")


def draft_messages(candidate: Candidate) -> list[dict[str, Any]]:
    spec = get_subtask(candidate.subtask)
    qa_types = [q.value for q in spec.qa_types]
    schema = ('{"qa_type": "multiple_choice", "question": "...", "options": ["...", "...", "...", "..."], '
              '"answer": "A"}')
    if QAType.yes_no.value in qa_types:
        schema += ' or {"qa_type": "yes_no", "question": "...", "options": [], "answer": "Yes"}'
    user = (f"Subtask: {spec.name}. {spec.definition}\nGuidance: {spec.guidance}\n"
            f"Example question: {spec.example_question}\n"
            f"What we know about Image 1 and Image 2:\n{evidence_text(candidate)}\n"
            + (f"Suggested question: {candidate.suggested_question}\n" if candidate.suggested_question else "")
            + f"Write one question about Image 1 and Image 2 with 3 or 4 options (letters A-D) and the correct "
              f"answer's letter. Allowed qa_type values: {', '.join(qa_types)}. JSON format: {schema}")
    return [{"role": "system", "content": SYSTEM}, {"role": "user", "content": user}]


def parse_draft(text: str | None, candidate: Candidate) -> QAContent:
    """The draft in a model's reply; ValueError says what is wrong with it."""
    if not text or not text.strip():
        raise ValueError("empty reply")
    match = re.search(r"\{.*\}", text, re.DOTALL)
    if not match:
        raise ValueError(f"no JSON object in the reply: {text[:80]!r}")
    try:
        obj = load_json(match.group(0))
    except ParseError as exc:
        raise ValueError(f"reply is {exc}") from None
    if not isinstance(obj, dict):
        raise ValueError("reply JSON is not an object")
    allowed = [q.value for q in get_subtask(candidate.subtask).qa_types]
    qa_type = str(obj.get("qa_type") or allowed[0]).strip()
    if qa_type not in allowed:
        raise ValueError(f"qa_type {qa_type!r} is not allowed for {candidate.subtask} ({', '.join(allowed)})")
    question = str(obj.get("question") or "").strip()
    if not question:
        raise ValueError("empty question")
    options = [str(o).strip() for o in (obj.get("options") or []) if str(o).strip()]
    answer = str(obj.get("answer") or "").strip()
    if qa_type == QAType.multiple_choice.value:
        if not 3 <= len(options) <= 4 or len({o.casefold() for o in options}) != len(options):
            raise ValueError(f"needs 3-4 distinct options, got {options!r}")
        letter = answer[:1].upper()
        if letter not in LETTERS[: len(options)]:
            # some models answer with the option text instead of its letter
            folded = [o.casefold() for o in options]
            if answer.casefold() not in folded:
                raise ValueError(f"answer {answer!r} is not one of the options")
            letter = LETTERS[folded.index(answer.casefold())]
        return QAContent(qa_type=qa_type, question=question, options=options, answer=letter, verdict="keep")
    norm = answer.capitalize()
    if norm not in ("Yes", "No"):
        raise ValueError(f"yes/no answer must be Yes or No, got {answer!r}")
    return QAContent(qa_type=qa_type, question=question, options=[], answer=norm, verdict="keep")


def draft_questions(candidates: Sequence[Candidate], client, *, max_tokens: int = 200, json_mode: bool = True
                    ) -> tuple[dict[str, Draft], list[tuple[str, str]]]:
    """Drafts keyed by candidate id, and (candidate id, reason) for every candidate left without one.

    `client` is an `mmra.llm.client.ChatClient` (or anything with the same `run`)."""
    from mmra.llm.client import ChatRequest  # the shared client; imported only when drafting

    # JSON mode (OpenAI's `response_format`; llama.cpp turns it into a grammar) keeps small models parseable
    extra = {"response_format": {"type": "json_object"}} if json_mode else {}
    requests = [ChatRequest(messages=draft_messages(c), max_tokens=max_tokens, temperature=0.0, extra=extra)
                for c in candidates]
    results = client.run(requests, description="drafting questions")
    drafts: dict[str, Draft] = {}
    failed: list[tuple[str, str]] = []
    model = f"draft:{client.model}"
    for cand, result in zip(candidates, results, strict=True):
        if result.error:
            failed.append((cand.id, f"LLM request failed: {result.error}"))
            continue
        try:
            drafts[cand.id] = Draft(parse_draft(result.text, cand), model)
        except ValueError as exc:
            failed.append((cand.id, f"unusable draft: {exc}"))
    return drafts, failed
