"""From a benchmark's own columns to probe items: which column is the question, the answer, the options, the
task, the id and the hint, detected from the names benchmarks use (VLMEvalKit TSV, MMRA, HF datasets, plain
files) or named by flags; then each row read into a `ProbeItem`, or one line saying why it is left out.

Answers may be a letter ("B", "(b)", "B."), the option text, an option index (0-based by default), or yes/no in
any spelling (yes, No, True, false). Options may be one column (a list, a dict, or a list/dict written as a string)
or one column per option (A..J, option_a.., choice1..). Images are never read.
"""

from __future__ import annotations

import ast
import json
import math
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from mmra.benchmark.leakage.items import MAX_OPTIONS, ProbeItem
from mmra.benchmark.vocabulary import CHOICE_LETTERS, QAType

# Names benchmarks give these columns, most specific first (compared case-insensitively).
QUESTION_NAMES = ("question", "query", "question_text", "prompt", "instruction", "text")  # text: POPE, LLaVA
ANSWER_NAMES = ("answer", "gt_answer", "correct_answer", "correct answer", "answer_label", "gold", "label", "answer_idx",
                "answer_index", "correct_choice_idx", "correct_option", "target")
TASK_NAMES = ("task", "subtask", "category", "task_name", "subject", "subfield", "question_type", "type")
ID_NAMES = ("index", "id", "question_id", "qid", "sample_id", "uid", "idx")
HINT_NAMES = ("hint",)
OPTIONS_NAMES = ("options", "choices", "candidates", "answer_choices", "option_list", "choice_list")
_OPTION_COLUMN = re.compile(r"^(?:(?:option|choice|opt|answer)[ _-]?(?P<tag>[a-j]|\d{1,2})|(?P<letter>[A-J]))$",
                            re.IGNORECASE)
_YES = {"yes", "true", "y"}
_NO = {"no", "false", "n"}
_LETTER_ANSWER = re.compile(r"^\(?\s*([A-Ja-j])\s*\)?\s*[.:)]?$")
_MAX_CELL = 200_000  # characters of a list/dict written as a string we agree to parse


class ColumnError(ValueError):
    """The file's columns cannot be mapped; the message lists the columns found and the flags to use."""


@dataclass(frozen=True)
class ColumnMap:
    question: str
    answer: str
    task: str | None = None
    id: str | None = None
    hint: str | None = None
    options: str | None = None  # one column holding every option
    option_columns: tuple[str, ...] = ()  # or one column per option, in letter order
    answer_index_base: int = 0
    paths: tuple[str, ...] = ()  # columns named as a path into a nested record ("metadata.category")

    @property
    def needed(self) -> list[str]:
        cols = [self.question, self.answer, self.task, self.id, self.hint, self.options, *self.option_columns]
        return list(dict.fromkeys(c.split(".")[0] if c in self.paths else c for c in cols if c))

    def describe(self) -> dict[str, Any]:
        return {"question": self.question, "answer": self.answer, "task": self.task, "id": self.id,
                "hint": self.hint, "options": self.options or list(self.option_columns) or None}


@dataclass
class ColumnFlags:
    """What the user named (None: detect)."""

    question: str | None = None
    answer: str | None = None
    task: str | None = None
    id: str | None = None
    hint: str | None = None
    options: str | None = None
    option_columns: tuple[str, ...] = ()
    answer_index_base: int = 0


_FLAG_HELP = ("--question-column, --answer-column, --task-column, --id-column, --options-column or "
              "--option-columns A,B,..., --hint-column")


def _pick(columns: list[str], names: Iterable[str]) -> str | None:
    folded = {c.casefold(): c for c in reversed(columns)}  # first spelling wins
    for name in names:
        if name in folded:
            return folded[name]
    return None


def _option_columns(columns: list[str]) -> tuple[str, ...]:
    """Per-option columns of one naming family (A..J, option_a.., choice1..), in letter order."""
    families: dict[str, list[tuple[int, str]]] = {}
    for c in columns:
        m = _OPTION_COLUMN.match(c.strip())
        if not m:
            continue
        if m.group("letter"):
            if c.strip() != m.group("letter"):
                continue  # only capital single letters are VLMEvalKit's option columns
            families.setdefault("letter", []).append((CHOICE_LETTERS.index(c.strip()), c))
            continue
        tag = m.group("tag").casefold()
        prefix = c[: m.start("tag")].casefold()
        rank = int(tag) if tag.isdigit() else "abcdefghij".index(tag)
        families.setdefault(prefix + ("#" if tag.isdigit() else "a"), []).append((rank, c))
    best = max(families.values(), key=len, default=[])
    if len(best) < 2:
        return ()
    return tuple(c for _, c in sorted(best))


def map_columns(columns: list[str], flags: ColumnFlags, source_name: str) -> ColumnMap:
    """The column map for a file with these columns; named flags win over detection. Raises ColumnError."""
    present = set(columns)
    paths: list[str] = []
    for flag, value in (("--question-column", flags.question), ("--answer-column", flags.answer),
                        ("--task-column", flags.task), ("--id-column", flags.id), ("--hint-column", flags.hint),
                        ("--options-column", flags.options), *(("--option-columns", c) for c in flags.option_columns)):
        if value and value not in present:
            if "." in value and value.split(".")[0] in present:  # a field inside a nested record
                paths.append(value)
                continue
            raise ColumnError(f"{source_name}: {flag} {value!r} is not a column; columns found: "
                              f"{', '.join(map(repr, columns)) or '(none)'} (a field inside one: COLUMN.FIELD)")
    question = flags.question or _pick(columns, QUESTION_NAMES)
    answer = flags.answer or _pick(columns, ANSWER_NAMES)
    option_columns = tuple(flags.option_columns)
    options = flags.options
    if not options and not option_columns:
        options = _pick(columns, OPTIONS_NAMES)
        if not options:
            option_columns = _option_columns([c for c in columns if c not in (question, answer)])
    missing = [what for what, col in (("question", question), ("answer", answer)) if not col]
    if missing:
        raise ColumnError(f"{source_name}: no {' or '.join(missing)} column found among the columns "
                          f"{', '.join(map(repr, columns)) or '(none)'}; name them with {_FLAG_HELP}")
    task = flags.task or _pick([c for c in columns if c not in (question, answer)], TASK_NAMES)
    return ColumnMap(question=question, answer=answer, task=task, id=flags.id or _pick(columns, ID_NAMES),
                     hint=flags.hint or _pick(columns, HINT_NAMES), options=options, option_columns=option_columns,
                     answer_index_base=flags.answer_index_base, paths=tuple(paths))


# ---------------------------------------------------------------------------------------------- values


def _missing(value: Any) -> bool:
    if value is None:
        return True
    if isinstance(value, float) and math.isnan(value):
        return True
    return isinstance(value, str) and (not value.strip() or value.strip().casefold() in ("nan", "none", "null"))


def _text(value: Any) -> str:
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return " ".join(str(value).split())


def _parse_container(text: str) -> Any:
    """A list or dict written as a string (JSON or a Python literal); None when it is neither."""
    s = text.strip()
    if not s or s[0] not in "[{(" or len(s) > _MAX_CELL:
        return None
    try:
        return json.loads(s)
    except (ValueError, RecursionError):
        pass
    try:
        return ast.literal_eval(s)
    except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
        return None


def _options_from_value(value: Any) -> list[Any] | None:
    if hasattr(value, "tolist") and not isinstance(value, (str, bytes)):
        value = value.tolist()  # numpy / pyarrow arrays
    if isinstance(value, str):
        parsed = _parse_container(value)
        if parsed is None:
            return _lettered_options(value)
        value = parsed
    if isinstance(value, dict):
        keys = list(value)
        if all(isinstance(k, str) and k.strip().upper() in CHOICE_LETTERS for k in keys):
            keys.sort(key=lambda k: k.strip().upper())
        return [value[k] for k in keys]
    if isinstance(value, (list, tuple)):
        return list(value)
    return None


_PAREN_MARK = re.compile(r"(?:^|(?<=\s))\(([A-Ja-j])\)\s*")
_DOT_MARK = re.compile(r"(?:^|(?<=\s))([A-J])[.)]\s+")


def _lettered_options(text: str) -> list[str] | None:
    """Options written inline with their letters, as some benchmarks keep them in one cell (MMVP's
    "(a) Open (b) Closed", "A. red B. blue"): the texts between consecutive markers from A; None otherwise."""
    for pattern in (_PAREN_MARK, _DOT_MARK):
        marks = list(pattern.finditer(text))
        letters = [m.group(1).upper() for m in marks]
        if len(marks) >= 2 and letters == list(CHOICE_LETTERS[: len(marks)]) and not text[: marks[0].start()].strip():
            ends = [m.start() for m in marks[1:]] + [len(text)]
            return [text[m.end():end].strip() for m, end in zip(marks, ends, strict=True)]
    return None


def _yes_no(value: Any) -> str | None:
    if isinstance(value, bool):
        return "Yes" if value else "No"
    if isinstance(value, str):
        word = value.strip().strip(".").casefold()
        if word in _YES:
            return "Yes"
        if word in _NO:
            return "No"
    return None


def _answer_letter(value: Any, options: list[str], base: int) -> str | None:
    n = len(options)
    if isinstance(value, (list, tuple)) and len(value) == 1:
        value = value[0]
    if isinstance(value, bool):
        value = "Yes" if value else "No"
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, int):
        i = value - base
        return CHOICE_LETTERS[i] if 0 <= i < n else None
    text = _text(value)
    folded = [_text(o).casefold() for o in options]
    if text.casefold() in folded:  # the option text (checked first: an option may itself be "A" or "1")
        return CHOICE_LETTERS[folded.index(text.casefold())]
    m = _LETTER_ANSWER.match(text)
    if m and (m.group(1).isupper() or len(text) <= 3):
        letter = m.group(1).upper()
        return letter if letter in CHOICE_LETTERS[:n] else None
    if text.isdigit():
        i = int(text) - base
        return CHOICE_LETTERS[i] if 0 <= i < n else None
    yn = _yes_no(text)
    if yn and yn.casefold() in folded:
        return CHOICE_LETTERS[folded.index(yn.casefold())]
    return None


@dataclass
class ItemErrors:
    lines: list[str] = field(default_factory=list)
    rows: set[int] = field(default_factory=set)

    def add(self, row: int, line: str) -> None:
        self.rows.add(row)
        self.lines.append(line)


def item_from_row(number: int, where: str, values: dict[str, Any], cmap: ColumnMap, default_task: str) -> ProbeItem:
    """One row as a ProbeItem; ValueError with the cause (the caller names the row)."""
    if cmap.paths:
        values = {**values, **{path: _nested(values, path) for path in cmap.paths}}
    question = values.get(cmap.question)
    if _missing(question):
        raise ValueError(f"no question in column {cmap.question!r}")
    question_text = str(question).strip()
    if cmap.hint and not _missing(values.get(cmap.hint)):
        question_text = f"Hint: {str(values[cmap.hint]).strip()}\n{question_text}"
    answer = values.get(cmap.answer)
    if _missing(answer):
        raise ValueError(f"no answer in column {cmap.answer!r}")
    raw_options: list[Any] | None
    if cmap.options:
        cell = values.get(cmap.options)
        raw_options = [] if _missing(cell) else _options_from_value(cell)
        if raw_options is None:
            raise ValueError(f"options column {cmap.options!r} holds {_short(cell)}, not a list or dict of options")
    else:
        raw_options = [values.get(c) for c in cmap.option_columns]
    options = [_text(o) for o in raw_options if not _missing(o)]
    task = default_task if not cmap.task or _missing(values.get(cmap.task)) else _text(values[cmap.task])
    item_id = str(number) if not cmap.id or _missing(values.get(cmap.id)) else _text(values[cmap.id])
    yn = _yes_no(answer) if not isinstance(answer, (int, float)) or isinstance(answer, bool) else None
    if not options or (len(options) == 2 and {o.casefold() for o in options} == {"yes", "no"} and yn):
        if yn is None:
            message = f"answer {_short(answer)} is not yes/no and the item has no options"
            binary = _binary(answer)
            if binary is None:
                raise _NotYesNo(message)
            raise _ZeroOneAnswer(message, ProbeItem(id=item_id, subtask=task, qa_type=QAType.yes_no,
                                                    question=question_text, options=[], answer=binary, row=number))
        return ProbeItem(id=item_id, subtask=task, qa_type=QAType.yes_no, question=question_text, options=[],
                         answer=yn, row=number)
    if len(options) < 2:
        raise ValueError(f"only {len(options)} option; a question needs 2 to {MAX_OPTIONS}")
    if len(options) > MAX_OPTIONS:
        raise ValueError(f"{len(options)} options; at most {MAX_OPTIONS} (A-{CHOICE_LETTERS[-1]}) are supported")
    letter = _answer_letter(answer, options, cmap.answer_index_base)
    if letter is None:
        raise ValueError(f"answer {_short(answer)} is not one of its {len(options)} options "
                         f"({', '.join(CHOICE_LETTERS[:len(options)])} or their texts)")
    return ProbeItem(id=item_id, subtask=task, qa_type=QAType.multiple_choice, question=question_text,
                     options=options, answer=letter, row=number)


def _nested(values: dict[str, Any], path: str) -> Any:
    """The field at `path` ("metadata.category", "choices.0") of a nested record; None when it is not there."""
    root, *parts = path.split(".")
    value = values.get(root)
    for part in parts:
        if isinstance(value, dict):
            value = value.get(part)
        elif isinstance(value, (list, tuple)) and part.isdigit() and int(part) < len(value):
            value = value[int(part)]
        else:
            return None
    return value


def _short(value: Any, limit: int = 60) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 1] + "…"


class _NotYesNo(ValueError):
    """No options and an answer that is not yes/no (a free-form item)."""


class _ZeroOneAnswer(ValueError):
    """No options and an answer of 0 or 1: yes/no written as a number (HallusionBench's gt_answer) when the whole
    file answers that way, a free-form number otherwise; `read_items` decides once it has seen every row."""

    def __init__(self, message: str, item: ProbeItem):
        super().__init__(message)
        self.item = item


def _binary(value: Any) -> str | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float)) or (isinstance(value, str) and value.strip() in ("0", "1")):
        number = float(value)
        return {1.0: "Yes", 0.0: "No"}.get(number)
    return None


REPEATED_ID_LINES = 20  # repeated ids named one by one; the rest are counted in one line


def read_items(rows: Iterator[Any], cmap: ColumnMap, default_task: str, errors: ItemErrors) -> list[ProbeItem]:
    """Every row that reads as an item; the others become one line each in `errors` (the rest is audited).
    Answers of 0/1 on rows without options are read as no/yes only when no such row has any other answer (a
    free-form benchmark whose answer happens to be 1 stays free-form). Ids repeated in the file are made unique by
    their row number (and said so)."""
    read: list[ProbeItem] = []
    where_of: dict[int, str] = {}  # row number -> how messages name it
    zero_one: list[tuple[str, _ZeroOneAnswer]] = []
    free_form = 0
    for row in rows:
        if not hasattr(row, "values"):  # a RowError from the reader: the record itself is bad
            errors.add(row.number, f"{row.where}: {row.message}")
            continue
        where_of[row.number] = row.where
        try:
            read.append(item_from_row(row.number, row.where, row.values, cmap, default_task))
        except _ZeroOneAnswer as exc:
            zero_one.append((row.where, exc))
        except ValueError as exc:
            free_form += isinstance(exc, _NotYesNo)
            errors.add(row.number, f"{row.where}: {exc}; left out")
    if zero_one and not free_form:
        read.extend(exc.item for _, exc in zero_one)
        read.sort(key=lambda item: item.row)
        errors.lines.append(f"column {cmap.answer!r}: {len(zero_one)} row(s) without options answer 0 or 1 and "
                            "none answers otherwise: read as yes/no (1 = Yes, 0 = No)")
    else:
        for where, exc in zero_one:
            errors.add(exc.item.row, f"{where}: {exc}; left out")
    items: list[ProbeItem] = []
    seen: set[str] = set()
    repeats: list[str] = []
    for item in read:
        if item.id in seen:
            unique = f"{item.id}@row{item.row}"
            repeats.append(f"{where_of[item.row]}: id {item.id!r} repeats an earlier row; audited as {unique!r}")
            item = item.model_copy(update={"id": unique})
        seen.add(item.id)
        items.append(item)
    errors.lines.extend(repeats[:REPEATED_ID_LINES])
    if len(repeats) > REPEATED_ID_LINES:
        errors.lines.append(f"... and {len(repeats) - REPEATED_ID_LINES} more row(s) repeat an earlier id "
                            f"(column {cmap.id!r}); each is audited as <id>@row<row number>")
    return items
