"""Conversions between `Sample` and the published MMRA columns (m-a-p/MMRA on the Hugging Face Hub):

    Task      subtask name, e.g. "SubEvent"
    QA_type   'Choice QA' | 'True or false QA'   (the official script also meets the typo 'Chooice QA')
    question  str
    image1, image2   images (HF Image feature, or file paths in an MMRA-format JSONL)
    options   a Python-dict *string*, "{'A': '...', 'B': '...', 'C': '...'}"; None for yes/no
    answer    a letter for Choice QA, 'Yes'/'No' for True or false QA

Code written for m-a-p/MMRA parses `options` with `ast.literal_eval`; `options_to_mmra` writes exactly that.
"""

from __future__ import annotations

import hashlib
import io
from pathlib import Path
from typing import Any

from mmra.parsing import ParseError, load_literal

from .images import file_sha256
from .records import parse_record
from .schema import LETTERS, ImageRef, QAType, Sample, SchemaError
from .vocabulary import normalise_answer

MMRA_COLUMNS = ("Task", "QA_type", "question", "image1", "image2", "options", "answer")
IMAGE_COLUMNS = ("image1", "image2")
MMRA_REQUIRED = ("Task", "QA_type", "question", "answer")  # what a row needs to become a Sample (images apart)
QA_TYPE_TO_MMRA = {QAType.multiple_choice: "Choice QA", QAType.yes_no: "True or false QA"}
_MMRA_TO_QA_TYPE = {
    "choice qa": QAType.multiple_choice,
    "chooice qa": QAType.multiple_choice,  # typo accepted on input, never written
    "multiple choice": QAType.multiple_choice,
    "multiple_choice": QAType.multiple_choice,
    "true or false qa": QAType.yes_no,
    "yes_no": QAType.yes_no,
    "yes/no": QAType.yes_no,
}


def qa_type_from_mmra(value: Any, item: str = "row") -> QAType:
    key = str(value or "").strip().casefold()
    if key not in _MMRA_TO_QA_TYPE:
        raise SchemaError(
            f"{item}: QA_type: unknown value {value!r}; expected 'Choice QA' or 'True or false QA'"
        )
    return _MMRA_TO_QA_TYPE[key]


def options_to_mmra(options: list[str]) -> str | None:
    """Options in letter order -> MMRA's Python-dict string (None when there are no options)."""
    if not options:
        return None
    return repr({LETTERS[i]: text for i, text in enumerate(options)})


def options_from_mmra(value: Any, item: str = "row") -> list[str]:
    """MMRA's options (dict string, dict, list, or None) -> option texts in letter order."""
    if value is None or (isinstance(value, str) and value.strip() in ("", "None", "null")):
        return []
    parsed = value
    if isinstance(value, str):
        try:
            parsed = load_literal(value)
        except ParseError as exc:  # also a string nested too deeply for the parser
            raise SchemaError(f"{item}: options: not a Python dict string ({exc}): {value[:120]!r}") from None
    if isinstance(parsed, dict):
        keys = sorted(str(k).strip().upper() for k in parsed)
        expected = list(LETTERS[: len(keys)])
        if keys != expected:
            raise SchemaError(f"{item}: options: keys must be {expected}, got {sorted(parsed)}")
        by_key = {str(k).strip().upper(): str(v) for k, v in parsed.items()}
        return [by_key[k] for k in expected]
    if isinstance(parsed, list | tuple):
        return [str(v) for v in parsed]
    raise SchemaError(f"{item}: options: expected a dict string, got {type(parsed).__name__}")


def image_ref_from_value(value: Any, base_dir: str | Path | None, item: str, column: str) -> ImageRef:
    """An MMRA image cell -> ImageRef: a path (relative to base_dir), an HF Image dict, bytes or a PIL image."""
    if value is None or (isinstance(value, str) and not value.strip()):
        raise SchemaError(f"{item}: {column}: missing image")
    if isinstance(value, ImageRef):
        return value
    if isinstance(value, str | Path):
        path = Path(value)
        full = path if path.is_absolute() or base_dir is None else Path(base_dir) / path
        # a hostile row may name /dev/zero or a FIFO: read only what the image check would read
        return ImageRef(path=str(value), sha256=file_sha256(full))
    if isinstance(value, dict):
        data, path = value.get("bytes"), value.get("path")
        if data is not None:
            return ImageRef(bytes=data, path=path, sha256=hashlib.sha256(data).hexdigest())
        if path:
            return image_ref_from_value(path, base_dir, item, column)
        raise SchemaError(f"{item}: {column}: image dict has neither bytes nor path")
    if isinstance(value, bytes | bytearray):
        return ImageRef(bytes=bytes(value), sha256=hashlib.sha256(value).hexdigest())
    if hasattr(value, "save"):  # a PIL image
        buf = io.BytesIO()
        value.save(buf, format="PNG")
        data = buf.getvalue()
        return ImageRef(bytes=data, sha256=hashlib.sha256(data).hexdigest())
    raise SchemaError(f"{item}: {column}: unsupported image value of type {type(value).__name__}")


def sample_from_mmra(row: dict[str, Any], *, base_dir: str | Path | None = None, item: str = "row") -> Sample:
    """One MMRA row -> Sample. Extra columns written by our releases (id, descriptions, ...) are kept."""
    missing = [c for c in ("Task", "QA_type", "question", "answer") if c not in row]
    if missing:
        raise SchemaError(f"{item}: missing MMRA column(s) {', '.join(missing)}")
    qa_type = qa_type_from_mmra(row["QA_type"], item)
    options = options_from_mmra(row.get("options"), item)
    if qa_type == QAType.multiple_choice and isinstance(row.get("options_list"), list) and not options:
        options = [str(o) for o in row["options_list"]]
    data: dict[str, Any] = {
        "subtask": str(row["Task"]).strip(),
        "qa_type": qa_type,
        "question": row["question"] if row["question"] is not None else "",
        "options": options,
        "answer": normalise_answer(row["answer"], qa_type),
        "image1": image_ref_from_value(row.get("image1"), base_dir, item, "image1"),
        "image2": image_ref_from_value(row.get("image2"), base_dir, item, "image2"),
    }
    if row.get("id"):
        data["id"] = str(row["id"])
    for key in ("granularity", "version", "candidate_id"):
        if row.get(key):
            data[key] = row[key]
    descriptions = {k: row[f"description{k[-1]}"] for k in ("image1", "image2") if row.get(f"description{k[-1]}")}
    if descriptions:
        data["descriptions"] = descriptions
    return parse_record(Sample, data, item)


def sample_to_mmra(sample: Sample, *, image_value: str = "ref") -> dict[str, Any]:
    """Sample -> the seven MMRA columns: the one codec (releases, MMRA-format JSONL and the readers use it).
    `image_value`: "ref" keeps ImageRef dicts (path/bytes), "path" writes the path strings (MMRA-format
    JSONL), "none" leaves the image cells out (the caller embeds verified bytes)."""
    def img(ref: ImageRef) -> Any:
        if image_value == "path":
            return ref.path
        return {"bytes": ref.bytes_, "path": ref.path}

    row = {
        "Task": sample.subtask,
        "QA_type": QA_TYPE_TO_MMRA[sample.qa_type],
        "question": sample.question,
        "options": options_to_mmra(sample.options),
        "answer": sample.answer,
    }
    if image_value != "none":
        row.update(image1=img(sample.image1), image2=img(sample.image2))
    return {name: row[name] for name in MMRA_COLUMNS if name in row}
