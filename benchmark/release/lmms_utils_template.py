"""lmms-eval task functions for an MMRA-style release (this file is exported as `lmms_eval/utils.py`).

In the exported file the block between the inline markers is replaced by the toolkit's own prompt and
answer-extraction code, so lmms-eval users score exactly as `mmra eval` does, without installing the toolkit.
"""

# No `from __future__ import annotations` here or in the inlined code: lmms-eval executes this file without
# registering it in sys.modules, and dataclasses cannot resolve string annotations of such a module.
import ast
import logging
from collections import defaultdict

# --- mmra-inline-start ---
from mmra.benchmark.answers import extract_answer
from mmra.benchmark.prompts import question_text
from mmra.benchmark.schema import LETTERS, QAType

# --- mmra-inline-end ---

log = logging.getLogger("lmms-eval")


def mmra_options(doc: dict) -> list[str]:
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
    """Both images, image1 first, as RGB."""
    return [doc["image1"].convert("RGB"), doc["image2"].convert("RGB")]


def mmra_doc_to_text(doc: dict, lmms_eval_specific_kwargs: dict | None = None) -> str:
    kwargs = lmms_eval_specific_kwargs or {}
    text = question_text(doc["question"], mmra_options(doc), mmra_qa_type(doc),
                         profile=kwargs.get("profile", "default"))
    return f"{kwargs.get('pre_prompt', '')}{text}{kwargs.get('post_prompt', '')}"


def mmra_doc_to_target(doc: dict) -> str:
    return doc["answer"]


def mmra_process_results(doc: dict, results: list[str]) -> dict:
    response = results[0] if results else ""
    extraction = extract_answer(response, mmra_qa_type(doc), mmra_options(doc))
    record = {
        "id": doc.get("id"),
        "Task": doc["Task"],
        "granularity": doc.get("granularity"),
        "answer": doc["answer"],
        "prediction": extraction.answer,
        "status": extraction.status,
        "method": extraction.method,
        "score": 1.0 if extraction.answer == doc["answer"] else 0.0,
    }
    return {"mmra_accuracy": record, "mmra_unparsed": record}


def mmra_scores(results: list[dict]) -> dict:
    """Micro accuracy overall, per granularity and per subtask (unparseable answers count as wrong)."""
    groups: dict[str, list[float]] = defaultdict(list)
    for r in results:
        groups["overall"].append(r["score"])
        groups[f"level/{r.get('granularity') or 'unknown'}"].append(r["score"])
        groups[f"task/{r['Task']}"].append(r["score"])
    return {k: sum(v) / len(v) for k, v in groups.items() if v}


def mmra_aggregate_accuracy(results: list[dict]) -> float:
    scores = mmra_scores(results)
    for key in sorted(scores):
        log.info("MMRA %-32s %.4f", key, scores[key])
    return scores.get("overall", 0.0)


def mmra_aggregate_unparsed(results: list[dict]) -> float:
    """Share of responses from which no answer could be read (refusals, empty, ambiguous)."""
    return sum(r["status"] != "ok" for r in results) / len(results) if results else 0.0
