"""lmms-eval task functions for an MMRA-style release (this file is exported as `lmms_eval/utils.py`).

In the exported file the block between the inline markers is replaced by the toolkit's own pixel convention,
prompt and answer-extraction code, and the release block by the release's subtasks and levels, so lmms-eval
users get exactly the requests `mmra eval` sends and score as it does, without installing the toolkit.

Chat models (lmms-eval's `models/chat/`, e.g. `huggingface`) call `mmra_doc_to_messages`: the same interleaved
content as `mmra eval` ("Image 1: ", image, "\\nImage 2: ", image, "\\n" + text for the default profile; both
images then the text for `paper`), with the decoded PIL images themselves (no re-encoding). Simple (legacy)
models get `doc_to_visual` + `doc_to_text`: both images first, then the text, without the "Image N:" labels.

Metrics: `mmra_accuracy` (overall), `mmra_unparsed`, and one accuracy per level (`mmra_level_<level>`) and per
subtask (`mmra_task_<Subtask>`), each a real lmms-eval metric with its own aggregation, so all print in
lmms-eval's results table.
"""

# No `from __future__ import annotations` here or in the inlined code: lmms-eval executes this file without
# registering it in sys.modules, and dataclasses cannot resolve string annotations of such a module.
import ast
import re
from collections import defaultdict

from PIL import Image, ImageOps  # noqa: F401  (used by the inlined to_rgb)

# --- mmra-inline-start ---
from mmra.benchmark.answers import extract_answer
from mmra.benchmark.images import to_rgb
from mmra.benchmark.prompts import question_text
from mmra.benchmark.schema import LETTERS, QAType

# --- mmra-inline-end ---

# --- mmra-release-start ---
MMRA_SUBTASKS = ()
MMRA_LEVELS = ("entity", "image")
# --- mmra-release-end ---


def mmra_options(doc: dict) -> list:
    """The options in letter order, from `options_list` or from MMRA's dict string."""
    if doc.get("options_list"):
        return [str(o) for o in doc["options_list"]]
    raw = doc.get("options")
    if not raw or str(raw).strip() in ("None", "null"):
        return []
    parsed = ast.literal_eval(raw) if isinstance(raw, str) else raw
    return [str(parsed[k]) for k in LETTERS if k in parsed]


def mmra_qa_type(doc: dict) -> QAType:
    return QAType.yes_no if str(doc["QA_type"]).strip().lower().startswith("true") else QAType.multiple_choice


def mmra_doc_to_visual(doc: dict) -> list:
    """Both images, image1 first, upright 8-bit RGB as `mmra eval` decodes them (`to_rgb`)."""
    return [to_rgb(doc["image1"]), to_rgb(doc["image2"])]


def mmra_doc_to_text(doc: dict, lmms_eval_specific_kwargs: dict = None) -> str:
    kwargs = lmms_eval_specific_kwargs or {}
    text = question_text(doc["question"], mmra_options(doc), mmra_qa_type(doc),
                         profile=kwargs.get("profile", "default"))
    return f"{kwargs.get('pre_prompt', '')}{text}{kwargs.get('post_prompt', '')}"


def mmra_doc_to_messages(doc: dict, lmms_eval_specific_kwargs: dict = None) -> list:
    """One user turn with the content `mmra eval` sends (eval/items.py `build_prompt`, IQ setting)."""
    kwargs = lmms_eval_specific_kwargs or {}
    image1, image2 = mmra_doc_to_visual(doc)
    text = mmra_doc_to_text(doc, kwargs)
    if kwargs.get("profile", "default") == "paper":
        content = [{"type": "image", "url": image1}, {"type": "image", "url": image2},
                   {"type": "text", "text": text}]
    else:
        content = [{"type": "text", "text": "Image 1: "}, {"type": "image", "url": image1},
                   {"type": "text", "text": "\nImage 2: "}, {"type": "image", "url": image2},
                   {"type": "text", "text": "\n" + text}]
    return [{"role": "user", "content": content}]


def mmra_doc_to_target(doc: dict) -> str:
    return doc["answer"]


def mmra_metric_name(kind: str, value: str) -> str:
    """`mmra_task_<Subtask>` / `mmra_level_<level>` (anything but letters, digits and _ becomes _)."""
    return f"mmra_{kind}_{re.sub(r'[^0-9A-Za-z_]', '_', str(value))}"


def mmra_metric_names() -> list:
    return (["mmra_accuracy", "mmra_unparsed"] + [mmra_metric_name("level", v) for v in MMRA_LEVELS]
            + [mmra_metric_name("task", t) for t in MMRA_SUBTASKS])


def mmra_process_results(doc: dict, results: list) -> dict:
    response = results[0] if results else ""
    extraction = extract_answer(response, mmra_qa_type(doc), mmra_options(doc))
    record = {
        "id": doc.get("id"),
        "Task": doc["Task"],
        "granularity": doc.get("granularity"),
        "answer": doc["answer"],
        "response": response,
        "prediction": extraction.answer,
        "status": extraction.status,
        "method": extraction.method,
        "score": 1.0 if extraction.answer == doc["answer"] else 0.0,
    }
    return {name: record for name in mmra_metric_names()}


def mmra_scores(results: list) -> dict:
    """Micro accuracy overall, per granularity and per subtask (unparseable answers count as wrong)."""
    groups = defaultdict(list)
    for r in results:
        groups["overall"].append(r["score"])
        groups[f"level/{r.get('granularity') or 'unknown'}"].append(r["score"])
        groups[f"task/{r['Task']}"].append(r["score"])
    return {k: sum(v) / len(v) for k, v in groups.items() if v}


def _accuracy(results: list) -> float:
    return sum(r["score"] for r in results) / len(results) if results else 0.0


def mmra_aggregate_accuracy(results: list) -> float:
    return _accuracy(results)


def mmra_aggregate_unparsed(results: list) -> float:
    """Share of responses from which no answer could be read (refusals, empty, ambiguous)."""
    return sum(r["status"] != "ok" for r in results) / len(results) if results else 0.0


def _group_aggregate(kind: str, field: str, value: str):
    def aggregate(results: list) -> float:
        return _accuracy([r for r in results if r.get(field) == value])

    aggregate.__name__ = aggregate.__qualname__ = mmra_aggregation_name(kind, value)
    return aggregate


def mmra_aggregation_name(kind: str, value: str) -> str:
    return "mmra_aggregate_" + mmra_metric_name(kind, value).removeprefix("mmra_")


# One module-level aggregation per level and subtask: the YAML names them `!function utils.<name>`.
for _level in MMRA_LEVELS:
    globals()[mmra_aggregation_name("level", _level)] = _group_aggregate("level", "granularity", _level)
for _task in MMRA_SUBTASKS:
    globals()[mmra_aggregation_name("task", _task)] = _group_aggregate("task", "Task", _task)
