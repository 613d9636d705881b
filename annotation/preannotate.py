"""LLM-drafted questions (pre-annotations): the annotator edits a draft instead of typing from scratch.

Any OpenAI-compatible endpoint through the shared `mmra.llm.client.ChatClient` (cached, retried, bounded
concurrency, a key only for its own endpoint). The model sees the subtask's definition and guidance and the
pair's evidence (edges, entities, captions) as text; a vision model also gets both images (base64 `image_url`
parts of verified, downscaled copies), so it can ask what only the images answer. An endpoint that refuses
images (HTTP 4xx on the image request) gets the text request instead, with one line saying so. A draft that
does not parse into a valid question is left out and reported, since a draft is only a convenience.
"""

from __future__ import annotations

import base64
import io
import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from mmra.benchmark.registry import get_subtask
from mmra.benchmark.schema import LETTERS, Candidate, QAType
from mmra.parsing import ParseError, load_json

from .labeling import QAContent, evidence_text
from .media import ImageRejected, VerifiedImage, check_pair
from .push_tasks import Draft

SYSTEM = ("You write questions for a benchmark of multi-image relational reasoning. A question must need BOTH "
          "images to be answered and must not give its answer away in its wording or options. "
          "Reply with one JSON object and nothing else.")


DISTRACTORS = ("The wrong options must be hard: the same kind of thing as the right answer (other materials for a "
               "material, other places for a place, other positions for a position), each plausible for one of "
               "the images alone, none named or hinted at in the question, and about as long as the answer.")
MAX_IMAGE_SIDE = 768  # pixels: what a vision model needs to see the entities, at a fraction of the bytes


def image_part(image: VerifiedImage, max_side: int = MAX_IMAGE_SIDE) -> dict[str, Any]:
    """One OpenAI `image_url` content part: the verified image, upright RGB, downscaled, as base64 JPEG."""
    rgb = image.rgb(draft_to=(max_side, max_side))
    rgb.thumbnail((max_side, max_side))
    buf = io.BytesIO()
    rgb.save(buf, format="JPEG", quality=88)
    return {"type": "image_url",
            "image_url": {"url": "data:image/jpeg;base64," + base64.b64encode(buf.getvalue()).decode("ascii")}}


def draft_messages(candidate: Candidate, images: Sequence[VerifiedImage] | None = None) -> list[dict[str, Any]]:
    """The chat messages of one draft request; with `images` (both of the pair) a vision request."""
    spec = get_subtask(candidate.subtask)
    qa_types = [q.value for q in spec.qa_types]
    schema = ('{"qa_type": "multiple_choice", "question": "...", "options": ["...", "...", "...", "..."], '
              '"answer": "A"}')
    if QAType.yes_no.value in qa_types:
        schema += ' or {"qa_type": "yes_no", "question": "...", "options": [], "answer": "Yes"}'
    seen = ("You can see Image 1 and Image 2 above. Ask about something that only looking at BOTH images "
            "answers; do not name the answer. " if images else "")
    user = (f"Subtask: {spec.name}. {spec.definition}\nGuidance: {spec.guidance}\n"
            f"Example question: {spec.example_question}\n"
            f"What we know about Image 1 and Image 2:\n{evidence_text(candidate)}\n"
            + (f"Suggested question: {candidate.suggested_question}\n" if candidate.suggested_question else "")
            + seen
            + f"Write one question about Image 1 and Image 2 with 3 or 4 options (letters A-D) and the correct "
              f"answer's letter. {DISTRACTORS} Allowed qa_type values: {', '.join(qa_types)}. "
              f"JSON format: {schema}")
    if not images:
        return [{"role": "system", "content": SYSTEM}, {"role": "user", "content": user}]
    first, second = images
    parts = [{"type": "text", "text": "Image 1:"}, image_part(first), {"type": "text", "text": "Image 2:"},
             image_part(second), {"type": "text", "text": user}]
    return [{"role": "system", "content": SYSTEM}, {"role": "user", "content": parts}]


def draft_images(candidates: Sequence[Candidate], *, base_dir: Path | None, roots: Sequence[Path] | None
                 ) -> tuple[dict[str, tuple[VerifiedImage, VerifiedImage]], list[tuple[str, str]]]:
    """Both images of every candidate through the one image check (what a vision draft may send); a refused
    candidate gets no vision draft (push refuses it too, with the same reason)."""
    out: dict[str, tuple[VerifiedImage, VerifiedImage]] = {}
    refused: list[tuple[str, str]] = []
    for cand in candidates:
        try:
            first, second = check_pair((cand.image1, cand.image2), base_dir=base_dir, roots=roots)
        except ImageRejected as exc:
            refused.append((cand.id, str(exc)))
            continue
        out[cand.id] = (first, second)
    return out, refused


def _refused_images(error: str | None) -> bool:
    """A client error on an image request: the endpoint (or its model) does not take images."""
    return bool(error) and error.startswith("HTTP 4") and not error.startswith(("HTTP 401", "HTTP 403", "HTTP 429"))


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


def draft_questions(candidates: Sequence[Candidate], client, *, max_tokens: int = 200, json_mode: bool = True,
                    images: Mapping[str, tuple[VerifiedImage, VerifiedImage]] | None = None,
                    notes: list[str] | None = None) -> tuple[dict[str, Draft], list[tuple[str, str]]]:
    """Drafts keyed by candidate id, and (candidate id, reason) for every candidate left without one.

    `client` is an `mmra.llm.client.ChatClient` (or anything with the same `run`). `images` (candidate id ->
    both verified images) makes vision requests for those candidates; when the endpoint refuses them, the
    text request is sent instead and one line goes to `notes`."""
    from mmra.llm.client import ChatRequest  # the shared client; imported only when drafting

    # JSON mode (OpenAI's `response_format`; llama.cpp turns it into a grammar) keeps small models parseable
    extra = {"response_format": {"type": "json_object"}} if json_mode else {}

    def request(cand: Candidate, with_images: bool) -> ChatRequest:
        pair = images.get(cand.id) if (images and with_images) else None
        return ChatRequest(messages=draft_messages(cand, pair), max_tokens=max_tokens, temperature=0.0, extra=extra)

    vision = {c.id for c in candidates if images and c.id in images}
    results = dict(zip([c.id for c in candidates],
                       client.run([request(c, True) for c in candidates], description="drafting questions"),
                       strict=True))
    refused = [c for c in candidates if c.id in vision and _refused_images(results[c.id].error)]
    if refused:
        first = results[refused[0].id].error
        if notes is not None:
            notes.append(f"draft model {client.model} refused the images ({first}); {len(refused)} text-only "
                         "draft(s) instead")
        again = client.run([request(c, False) for c in refused], description="drafting questions (text only)")
        for cand, result in zip(refused, again, strict=True):
            results[cand.id] = result
            vision.discard(cand.id)
    drafts: dict[str, Draft] = {}
    failed: list[tuple[str, str]] = []
    model = f"draft:{client.model}"
    for cand in candidates:
        result = results[cand.id]
        if result.error:
            failed.append((cand.id, f"LLM request failed: {result.error}"))
            continue
        try:
            drafts[cand.id] = Draft(parse_draft(result.text, cand), model, vision=cand.id in vision)
        except ValueError as exc:
            failed.append((cand.id, f"unusable draft: {exc}"))
    return drafts, failed
