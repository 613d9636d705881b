"""The one typed contract that every stage reads and writes: `Candidate` (a proposed image pair) and
`Sample` (an annotated question about a pair). JSONL of these models is the hand-off between stages.

A leaf: it imports only the shared vocabulary. Whether a record's subtask exists is the registry's business,
checked where records come in from outside (`records.parse_record`, `records.read_jsonl`), not in the model.

Ids are content-derived so the same pair or question always gets the same id, on any machine:
- `Candidate.id` hashes the subtask and the two images' identities;
- `Sample.id` hashes the subtask, the two images and the question text as first written (`id_seed`),
  so a later rewrite of the question (revision loop) keeps the id; `Sample.content_hash` changes instead.
"""

from __future__ import annotations

import base64
import hashlib
from pathlib import Path
from typing import Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_serializer,
    field_validator,
    model_validator,
)

from .vocabulary import LETTERS, YES_NO, Granularity, QAType, SchemaError, normalise_answer, stable_hash

__all__ = ["LETTERS", "YES_NO", "AnnotationRecord", "Box", "Candidate", "Edge", "Granularity", "ImageRef",
           "LeakageVerdict", "Provenance", "QAType", "Sample", "SchemaError", "candidate_id", "describe_validation_error",
           "sample_id", "stable_hash"]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", validate_assignment=True)


class ImageRef(_Model):
    """Where an image is and what it is: a path (relative paths resolve against the JSONL's folder) or the
    bytes themselves, plus hashes, source and licence carried through to the release."""

    path: str | None = None
    bytes_: bytes | None = Field(default=None, alias="bytes")
    sha256: str | None = None
    phash: str | None = None
    dhash: str | None = None
    width: int | None = None
    height: int | None = None
    source: str | None = None  # e.g. "coco:val2017:000000000139", "skimage:astronaut", "generated"
    source_url: str | None = None
    licence: str | None = None  # SPDX-like id or a URL, e.g. "CC-BY-4.0"
    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    @model_validator(mode="after")
    def _has_location(self) -> ImageRef:
        if not self.path and self.bytes_ is None:
            raise ValueError("an image needs a 'path' or 'bytes'")
        return self

    @field_validator("bytes_", mode="before")
    @classmethod
    def _decode_b64(cls, value: Any) -> Any:
        if isinstance(value, str):
            return base64.b64decode(value)
        return value

    @field_serializer("bytes_")
    def _encode_b64(self, value: bytes | None) -> str | None:
        return None if value is None else base64.b64encode(value).decode("ascii")

    @property
    def key(self) -> str:
        """The image's identity for ids: its sha256 when known, else its path or a hash of its bytes."""
        if self.sha256:
            return self.sha256
        if self.bytes_ is not None:
            return hashlib.sha256(self.bytes_).hexdigest()
        return str(self.path)

    def resolve(self, base_dir: str | Path | None) -> Path | None:
        """Absolute path of a path-based image (relative paths are relative to `base_dir`)."""
        if not self.path:
            return None
        p = Path(self.path)
        return p if p.is_absolute() or base_dir is None else Path(base_dir) / p

    def read_bytes(self, base_dir: str | Path | None = None) -> bytes:
        if self.bytes_ is not None:
            return self.bytes_
        path = self.resolve(base_dir)
        try:
            return path.read_bytes()  # type: ignore[union-attr]
        except OSError as exc:
            raise FileNotFoundError(f"image {self.path!r} cannot be read: {exc.strerror or exc}") from exc


class Edge(_Model):
    """One ConceptNet edge (or an edge-like fact) that motivated a pair."""

    relation: str
    head: str
    tail: str
    weight: float = 1.0
    source: str = "conceptnet"


class Box(_Model):
    """An entity box in absolute pixels (COCO convention: x, y, width, height)."""

    label: str
    bbox: tuple[float, float, float, float]
    image: int = Field(1, ge=1, le=2, description="which image of the pair (1 or 2)")


class Provenance(_Model):
    """Evidence a person can check: why these two images were paired for this subtask."""

    edges: list[Edge] = Field(default_factory=list)
    entities: dict[str, list[str]] = Field(default_factory=dict)  # {"image1": [...], "image2": [...]}
    boxes: list[Box] = Field(default_factory=list)
    captions: dict[str, list[str]] = Field(default_factory=dict)
    concepts: list[str] = Field(default_factory=list)  # shared concept(s) the pair is about
    heuristic: str | None = None  # plain words when the signal is a heuristic, not a ConceptNet fact
    miner: str | None = None
    score: float | None = None
    extra: dict[str, Any] = Field(default_factory=dict)


class AnnotationRecord(_Model):
    annotators: list[str] = Field(default_factory=list)
    answers: dict[str, str] = Field(default_factory=dict)  # annotator -> the answer they gave
    agreement: float | None = None  # share of annotators agreeing with the adjudicated answer
    kappa: float | None = None  # subtask-level keep/reject kappa at the time of the pull
    # subtask-level Krippendorff's alpha at the time of the pull: {"answers": ..., "keep_reject": ...}
    alpha: dict[str, float | None] = Field(default_factory=dict)
    adjudication: str | None = None  # "unanimous" | "majority" | "review"
    source: str | None = None  # e.g. a Label Studio task URL
    history: list[dict[str, Any]] = Field(default_factory=list)  # earlier versions (revision loop)


class LeakageVerdict(_Model):
    leaked: bool
    hits: int = 0
    models: list[str] = Field(default_factory=list)
    model_hits: dict[str, bool] = Field(default_factory=dict)
    choices_only_hits: int | None = None
    # what the text-only models answered, shown to annotators in the revision loop: {model: [answers...]}
    answers: dict[str, list[str | None]] = Field(default_factory=dict)
    run: str | None = None  # where the full evidence lives (verdicts.jsonl)
    # the probe panel's evidence in short: {"answer_prior": {...}, "learned": {...}, "flagged_by": [...]}
    probes: dict[str, Any] = Field(default_factory=dict)
    # "failed": `failed_probes` probe requests (or image probes) got no answer, so `leaked: false` is not a
    # clean bill; publish refuses such samples unless told to publish unchecked ones. Verdicts written before
    # this field existed read as "checked".
    status: Literal["checked", "failed"] = "checked"
    failed_probes: int = Field(default=0, ge=0)

    @property
    def checked(self) -> bool:
        return self.status == "checked"


def _check_options(qa_type: QAType, options: list[str], answer: str) -> str:
    if qa_type == QAType.multiple_choice:
        if not 3 <= len(options) <= 4:
            raise ValueError(f"options: multiple choice needs 3 or 4 options (A-D), got {len(options)}: {options!r}")
        cleaned = [o.strip() for o in options]
        if any(not o for o in cleaned):
            raise ValueError(f"options: every option must be non-empty, got {options!r}")
        if len({o.casefold() for o in cleaned}) != len(cleaned):
            raise ValueError(f"options: options must be distinct, got {options!r}")
        letters = LETTERS[: len(options)]
        letter = normalise_answer(answer, qa_type)
        if letter not in letters:
            raise ValueError(f"answer: {answer!r} is not one of the option letters {', '.join(letters)}")
        return letter
    if options:
        raise ValueError(f"options: a yes/no question has no options, got {options!r}")
    norm = normalise_answer(answer, qa_type)
    if norm not in YES_NO:
        raise ValueError(f"answer: a yes/no answer must be 'Yes' or 'No', got {answer!r}")
    return norm


class _PairRecord(_Model):
    subtask: str
    granularity: Granularity | None = None
    image1: ImageRef
    image2: ImageRef


class Candidate(_PairRecord):
    """A proposed image pair for one subtask, before annotation."""

    id: str = ""
    score: float = 0.0
    evidence: Provenance = Field(default_factory=Provenance)
    suggested_question: str | None = None

    @model_validator(mode="after")
    def _fill_id(self) -> Candidate:
        if not self.id:
            object.__setattr__(self, "id", candidate_id(self.subtask, self.image1, self.image2))
        return self


class Sample(_PairRecord):
    """One benchmark item: a question about an image pair."""

    id: str = ""
    qa_type: QAType
    question: str
    options: list[str] = Field(default_factory=list)  # option texts in letter order A, B, C[, D]
    answer: str  # a letter for multiple choice, "Yes"/"No" for yes/no
    provenance: Provenance = Field(default_factory=Provenance)
    annotation: AnnotationRecord = Field(default_factory=AnnotationRecord)
    leakage: LeakageVerdict | None = None
    descriptions: dict[str, str] = Field(default_factory=dict)  # {"image1": "...", "image2": "..."}
    candidate_id: str | None = None
    version: str | None = None

    @field_validator("question")
    @classmethod
    def _question_text(cls, value: str) -> str:
        if not value or not value.strip():
            raise ValueError("question: must not be empty")
        return value.strip()

    @model_validator(mode="after")
    def _check(self) -> Sample:
        answer = _check_options(self.qa_type, self.options, self.answer)
        object.__setattr__(self, "answer", answer)
        object.__setattr__(self, "options", [o.strip() for o in self.options])
        if not self.id:
            object.__setattr__(self, "id", sample_id(self.subtask, self.image1, self.image2, self.question))
        return self

    @property
    def letters(self) -> tuple[str, ...]:
        return LETTERS[: len(self.options)]

    @property
    def answer_text(self) -> str:
        """The gold answer as text (the option text for multiple choice)."""
        if self.qa_type == QAType.multiple_choice:
            return self.options[LETTERS.index(self.answer)]
        return self.answer

    @property
    def content_hash(self) -> str:
        """Hash of everything a benchmark user sees; `mmra diff` compares these."""
        return stable_hash(
            self.subtask, self.qa_type.value, self.question, self.options, self.answer,
            self.image1.key, self.image2.key, length=24,
        )


def candidate_id(subtask: str, image1: ImageRef, image2: ImageRef) -> str:
    return "c-" + stable_hash("candidate", subtask, image1.key, image2.key)


def sample_id(subtask: str, image1: ImageRef, image2: ImageRef, question: str) -> str:
    return "s-" + stable_hash("sample", subtask, image1.key, image2.key, " ".join(question.split()).casefold())


def describe_validation_error(exc: ValidationError, item: str) -> str:
    """One readable line per problem: the item, the field path and what was wrong (with the value)."""
    lines = []
    for err in exc.errors():
        loc = ".".join(str(p) for p in err["loc"]) or "record"
        msg = err["msg"].removeprefix("Value error, ")
        value = err.get("input")
        shown = "" if isinstance(value, dict) else f" (value: {value!r})"
        lines.append(f"{item}: {loc}: {msg}{shown}")
    return "\n".join(lines)
