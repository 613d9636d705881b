"""Answer extraction shared by the leakage filter and the eval runner.

Fixes the official MMRA script's bugs: the article "A" is not an answer ("A man is..." has no letter), a
letter beyond the options (D for a 3-option item) is ignored, contradictory letters are not resolved by
picking the last one, Yes/No is matched in any case, and refusals / unparseable output are reported as
their own status instead of silently scoring like a wrong letter.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

from mmra.parsing import ParseError, load_json

from .vocabulary import CHOICE_LETTERS, QAType

Status = Literal["ok", "refusal", "unparseable", "empty"]


@dataclass(frozen=True)
class Extraction:
    answer: str | None  # a letter (multiple choice) or "Yes"/"No"; None when not parsed
    status: Status
    method: str  # which rule matched, for auditing

    @property
    def ok(self) -> bool:
        return self.status == "ok"


_REFUSAL = re.compile(
    r"\b(i\s*(?:can(?:not|'t|’t)|am\s+(?:unable|not\s+able)|'m\s+(?:unable|not\s+able)|do(?:n't|\s+not)\s+have)|"
    r"unable\s+to|cannot\s+(?:see|view|determine|answer|tell)|no\s+images?\s+(?:is|are|was|were)?\s*(?:provided|attached|given)|"
    r"without\s+(?:seeing|the\s+images?)|as\s+an\s+ai|not\s+possible\s+to\s+(?:determine|tell)|sorry)\b",
    re.IGNORECASE,
)
# A lower-case letter counts only when it stands alone ("answer: (d)", "answer is b."), so "the answer is a dog"
# is left to the option-text rule.
_LETTER = r"[\(\[\"'*]*\s*(?:([A-J])|([a-j])(?=\s*(?:$|[\.\):,;\]\"'*])))\s*[\)\]\"'*]*(?![A-Za-z])"
# "the (correct) answer is B" outranks a mere mention such as "option A is wrong"
_ANSWER_STATEMENT = re.compile(
    r"(?i:answer\s*(?:is\s*:?|would\s+be|should\s+be|:|=|-)?\s*(?:option\s*|choice\s*)?)" + _LETTER
)
_EXPLICIT = re.compile(r"(?i:(?:answer|option|choice)\s*(?:is|would\s+be|:|=|-)?\s*(?:option\s*)?)" + _LETTER)
_LEADING = re.compile(r"^\W{0,3}([A-J])(?:\s*$|\s*[\.\):,\]]|\s+(?:is|-)\b)")
_PAREN = re.compile(r"[\(\[]([A-J])[\)\]]")
_BARE = re.compile(r"(?<![A-Za-z'’])([A-J])(?![A-Za-z'’])")
_YES = {"yes", "true", "correct", "yeah", "yep"}
_NO = {"no", "false", "incorrect", "nope"}


def _letter(match: re.Match) -> str:
    return (match.group(1) or match.group(2)).upper()


def _valid(letter: str, n_options: int) -> bool:
    return letter in CHOICE_LETTERS[:n_options]


def _from_json(text: str) -> str | None:
    match = re.search(r"\{.*?\}", text, re.DOTALL)
    if not match:
        return None
    try:
        obj = load_json(match.group(0))
    except ParseError:  # a model's reply is untrusted text too
        return None
    if isinstance(obj, dict):
        for key in ("answer", "Answer", "choice", "option"):
            if isinstance(obj.get(key), str):
                return obj[key].strip()
    return None


def _option_text_match(text: str, options: list[str]) -> str | None:
    low = " ".join(text.casefold().split())
    hits = []
    for i, opt in enumerate(options):
        o = " ".join(opt.casefold().split()).strip(" .")
        if o and re.search(r"(?<!\w)" + re.escape(o) + r"(?!\w)", low):
            hits.append((i, o))
    # an option contained in a longer matched option ("red" in "red and blue") does not count on its own
    hits = [(i, o) for i, o in hits if not any(o != p and o in p for _, p in hits)]
    if len({i for i, _ in hits}) == 1:
        return CHOICE_LETTERS[hits[0][0]]
    return None


def _bare_letters(text: str, n_options: int) -> set[str]:
    found = set()
    for m in _BARE.finditer(text):
        letter = m.group(1)
        if not _valid(letter, n_options):
            continue
        after = text[m.end():m.end() + 2]
        # "A man ...", "I think ...": an uppercase A or I followed by a lowercase word is a word, not an option
        if letter in ("A", "I") and re.match(r"\s[a-z]", after):
            continue
        found.add(letter)
    return found


def extract_choice(response: str | None, options: list[str]) -> Extraction:
    n = len(options) or 4
    text = (response or "").strip()
    if not text:
        return Extraction(None, "empty", "empty")
    js = _from_json(text)
    if js and js.strip("() .").upper() in CHOICE_LETTERS[:n] and len(js.strip("() .")) == 1:
        return Extraction(js.strip("() .").upper(), "ok", "json")
    stated = [_letter(m) for m in _ANSWER_STATEMENT.finditer(text) if _valid(_letter(m), n)]
    if stated:  # "Option A is wrong; the answer is B" -> B (the first statement if there are several)
        return Extraction(stated[0], "ok", "answer-statement" if len(set(stated)) == 1 else "answer-statement-first")
    explicit = [_letter(m) for m in _EXPLICIT.finditer(text) if _valid(_letter(m), n)]
    if explicit and len(set(explicit)) == 1:
        return Extraction(explicit[0], "ok", "explicit")
    if explicit:  # "the answer is B, not C" -> the first explicit statement
        return Extraction(explicit[0], "ok", "explicit-first")
    lead = _LEADING.match(text)
    if lead and _valid(lead.group(1), n):
        return Extraction(lead.group(1), "ok", "leading-letter")
    paren = {m.group(1) for m in _PAREN.finditer(text) if _valid(m.group(1), n)}
    if len(paren) == 1:
        return Extraction(paren.pop(), "ok", "parenthesised")
    bare = _bare_letters(text, n)
    if len(bare) == 1:
        return Extraction(bare.pop(), "ok", "single-letter")
    by_text = _option_text_match(text, options) if options else None
    if by_text:
        return Extraction(by_text, "ok", "option-text")
    if _REFUSAL.search(text):
        return Extraction(None, "refusal", "refusal")
    return Extraction(None, "unparseable", "ambiguous" if bare or paren else "no-answer")


def extract_yes_no(response: str | None) -> Extraction:
    text = (response or "").strip()
    if not text:
        return Extraction(None, "empty", "empty")
    js = _from_json(text)
    if js and js.casefold() in _YES | _NO:
        return Extraction("Yes" if js.casefold() in _YES else "No", "ok", "json")
    words = re.findall(r"[a-z]+", text.casefold())
    explicit = re.search(r"answer\s*(?:is|:)?\s*[\"']?(yes|no|true|false)\b", text, re.IGNORECASE)
    if explicit:
        return Extraction("Yes" if explicit.group(1).casefold() in _YES else "No", "ok", "explicit")
    if words and words[0] in _YES | _NO:
        return Extraction("Yes" if words[0] in _YES else "No", "ok", "leading-word")
    has_yes = any(w in ("yes", "true") for w in words)
    has_no = any(w in ("no", "false") for w in words)
    if has_yes != has_no:
        return Extraction("Yes" if has_yes else "No", "ok", "single-polarity")
    if _REFUSAL.search(text):
        return Extraction(None, "refusal", "refusal")
    return Extraction(None, "unparseable", "ambiguous" if has_yes else "no-answer")


def extract_answer(response: str | None, qa_type: QAType | str, options: list[str] | None = None) -> Extraction:
    """Parse a model response into an answer for the sample's QA type."""
    if QAType(qa_type) == QAType.yes_no:
        return extract_yes_no(response)
    return extract_choice(response, list(options or []))
