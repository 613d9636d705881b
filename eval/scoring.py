"""Scoring saved predictions: accuracy per subtask, per level (micro and macro), overall micro (the paper's
"Overall" is micro over all samples), parse-failure / refusal / error rates, bootstrap confidence intervals,
CircularEval, original-vs-swapped image order, and MMStar's multi-modal gain / leakage across runs.

Answers are read with `mmra.benchmark.answers.extract_answer` (shared with the leakage filter). A row is
correct only when the extraction succeeded and equals the gold answer; refusals, unparseable output and rows
that failed (broken image, backend error) all count wrong and are reported as separate rates.

Inside one process (`evaluate`, the demo, the leakage filter's image probes) an answer is scored from the typed
item it answers (`score_response`, `summarise_runs`); only `mmra score` of prediction files parses their lines
(`score_record`, `score_runs`).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

from mmra.benchmark.answers import extract_answer
from mmra.benchmark.mmra_format import options_from_mmra, qa_type_from_mmra
from mmra.benchmark.registry import get_subtask
from mmra.benchmark.schema import Granularity, QAType, SchemaError
from mmra.benchmark.subtasks import PAPER_ORDER
from mmra.benchmark.vocabulary import normalise_answer

from .items import BLANK_SETTING, EvalItem
from .predictions import load_predictions


@dataclass
class ScoredItem:
    id: str
    sample_id: str
    variant: str
    subtask: str  # abbreviation when the subtask is registered, else the Task value
    level: str | None  # "entity" | "image" | None (unregistered subtask)
    qa_type: str
    gold: str
    extracted: str | None
    status: str  # ok | refusal | unparseable | empty | error
    method: str
    correct: bool


def subtask_key(task: str, level: str | None = None) -> tuple[str, str | None]:
    """(the subtask's abbreviation, its level) from the registry; an unregistered subtask keeps its name and the
    `level` its prediction line carries (a plug-in's subtask scored where the plug-in is not installed)."""
    try:
        spec = get_subtask(task)
    except KeyError:
        return task, level
    return spec.abbreviation, spec.granularity.value


def score_response(item_id: str, sample_id: str, variant: str, task: str, level: str | None, qa_type: QAType,
                   options: list[str], gold: str, response: str | None, error: str | None) -> ScoredItem:
    """One answer scored against its item: the one scoring rule, for typed items and for parsed lines alike."""
    subtask, level = subtask_key(task, level)
    if error and response is None:
        return ScoredItem(item_id, sample_id, variant, subtask, level, qa_type.value, gold, None, "error", "error",
                          False)
    got = extract_answer(response, qa_type, options)
    correct = got.ok and got.answer is not None and got.answer.casefold() == gold.casefold()
    return ScoredItem(item_id, sample_id, variant, subtask, level, qa_type.value, gold, got.answer, got.status,
                      got.method, correct)


def sample_level(sample: Any) -> str | None:
    """The level a sample scores under (the registry's; else its own), as prediction lines carry it."""
    return subtask_key(sample.subtask, sample.granularity.value if sample.granularity else None)[1]


def score_item(item: EvalItem, response: str | None, error: str | None) -> ScoredItem:
    """An answer to an eval item scored from the typed item: its type, options and gold as presented."""
    s = item.sample
    return score_response(item.key, item.sample_id, item.variant, s.subtask, sample_level(s), s.qa_type,
                          list(s.options), s.answer, response, error)


def _level_of(record: dict[str, Any], item: str) -> str | None:
    level = record.get("level")
    if level is None:  # lines written before prediction lines carried the level, or by other harnesses
        return None
    if level not in tuple(g.value for g in Granularity):  # a tuple: a hostile list or dict is just not in it
        raise SchemaError(f"{item}: level: expected one of {', '.join(g.value for g in Granularity)} or null, "
                          f"got {str(level)[:60]!r}")
    return level


def score_record(record: dict[str, Any], item: str = "record") -> ScoredItem:
    """A prediction line from a file (MMRA strings) parsed and scored."""
    qa_type = qa_type_from_mmra(record["QA_type"], item)
    options = options_from_mmra(record.get("options"), item)
    return score_response(str(record["id"]), str(record.get("sample_id") or record["id"]),
                          str(record.get("variant") or "orig"), str(record["Task"]), _level_of(record, item), qa_type,
                          options, normalise_answer(record["answer"], qa_type), record.get("response"),
                          record.get("error"))


def bootstrap_ci(correct: np.ndarray, *, reps: int = 1000, seed: int = 0, level: float = 0.95) -> list[float] | None:
    """Percentile bootstrap over items (fixed seed: the same predictions always give the same interval)."""
    n = len(correct)
    if n == 0 or reps <= 0:
        return None
    rng = np.random.default_rng(seed)
    means = correct[rng.integers(0, n, size=(reps, n))].mean(axis=1)
    alpha = (1 - level) / 2
    return [float(np.quantile(means, alpha)), float(np.quantile(means, 1 - alpha))]


def _rate(items: list[ScoredItem], statuses: tuple[str, ...]) -> float:
    return sum(i.status in statuses for i in items) / len(items) if items else 0.0


def _acc(items: list[ScoredItem]) -> float | None:
    return sum(i.correct for i in items) / len(items) if items else None


def subtask_order(keys) -> list[str]:
    known = [k for k in PAPER_ORDER if k in keys]
    return known + sorted(k for k in keys if k not in PAPER_ORDER)


def run_metrics(items: list[ScoredItem], *, bootstrap: int = 1000, seed: int = 0) -> dict[str, Any]:
    """All metrics for one run (one model under one setting)."""
    orig = [i for i in items if i.variant == "orig"]
    by_subtask: dict[str, list[ScoredItem]] = defaultdict(list)
    for i in orig:
        by_subtask[i.subtask].append(i)
    subtasks = {}
    for key in subtask_order(by_subtask):
        group = by_subtask[key]
        subtasks[key] = {
            "level": group[0].level,
            "n": len(group),
            "correct": sum(i.correct for i in group),
            "accuracy": _acc(group),
            "ci95": bootstrap_ci(np.array([i.correct for i in group], dtype=float), reps=bootstrap, seed=seed),
            "parse_failure_rate": _rate(group, ("unparseable", "empty")),
            "refusal_rate": _rate(group, ("refusal",)),
            "error_rate": _rate(group, ("error",)),
        }
    levels = {}
    for level in ("entity", "image"):
        group = [i for i in orig if i.level == level]
        accs = [v["accuracy"] for v in subtasks.values() if v["level"] == level]
        if group:
            levels[level] = {"n": len(group), "micro": _acc(group), "macro": float(np.mean(accs))}
    status_counts: dict[str, int] = defaultdict(int)
    for i in orig:
        status_counts[i.status] += 1
    return {
        "n": len(orig),
        "correct": sum(i.correct for i in orig),
        "overall": _acc(orig),
        "ci95": bootstrap_ci(np.array([i.correct for i in orig], dtype=float), reps=bootstrap, seed=seed),
        "macro": float(np.mean([v["accuracy"] for v in subtasks.values()])) if subtasks else None,
        "subtasks": subtasks,
        "levels": levels,
        "parse_failure_rate": _rate(orig, ("unparseable", "empty")),
        "refusal_rate": _rate(orig, ("refusal",)),
        "error_rate": _rate(orig, ("error",)),
        "status_counts": dict(status_counts),
        "circular": circular_metrics(items),
        "swap": swap_metrics(items),
    }


def circular_metrics(items: list[ScoredItem]) -> dict[str, Any] | None:
    """MMBench CircularEval: a multiple-choice sample counts only if every rotation of its options is
    answered correctly. Samples missing a rotation are left out (and counted in `incomplete`)."""
    groups: dict[str, dict[str, ScoredItem]] = defaultdict(dict)
    for i in items:
        if i.qa_type == QAType.multiple_choice.value and (i.variant == "orig" or i.variant.startswith("circ")):
            groups[i.sample_id][i.variant] = i
    groups = {k: v for k, v in groups.items() if any(x.startswith("circ") for x in v)}
    if not groups:
        return None
    complete, incomplete = {}, 0
    for sid, variants in groups.items():
        n_options = max(int(v[4:]) for v in variants if v.startswith("circ")) + 1
        if "orig" in variants and len(variants) == n_options:
            complete[sid] = variants
        else:
            incomplete += 1
    per_subtask: dict[str, list[bool]] = defaultdict(list)
    vanilla: list[bool] = []
    for variants in complete.values():
        ok = all(v.correct for v in variants.values())
        per_subtask[variants["orig"].subtask].append(ok)
        vanilla.append(variants["orig"].correct)
    all_ok = [x for v in per_subtask.values() for x in v]
    return {
        "n": len(all_ok),
        "accuracy": sum(all_ok) / len(all_ok) if all_ok else None,
        "vanilla_accuracy": sum(vanilla) / len(vanilla) if vanilla else None,
        "incomplete": incomplete,
        "subtasks": {k: sum(v) / len(v) for k, v in ((k, per_subtask[k]) for k in subtask_order(per_subtask))},
    }


def swap_metrics(items: list[ScoredItem]) -> dict[str, Any] | None:
    """Original vs swapped image order on the samples that have a swapped variant (order-sensitive subtasks)."""
    orig = {i.sample_id: i for i in items if i.variant == "orig"}
    pairs = [(orig[i.sample_id], i) for i in items if i.variant == "swap" and i.sample_id in orig]
    if not pairs:
        return None

    def summary(group):
        return {
            "n": len(group),
            "original": sum(o.correct for o, _ in group) / len(group),
            "swapped": sum(s.correct for _, s in group) / len(group),
            "both": sum(o.correct and s.correct for o, s in group) / len(group),
        }

    by_subtask: dict[str, list] = defaultdict(list)
    for o, s in pairs:
        by_subtask[o.subtask].append((o, s))
    return {**summary(pairs), "subtasks": {k: summary(by_subtask[k]) for k in subtask_order(by_subtask)}}


# ---------------------------------------------------------------------------------------------- runs


@dataclass
class Run:
    label: str
    model: str | None
    setting: str | None
    sources: list[str]
    items: list[ScoredItem]


def runs_from_records(records: list[dict[str, Any]], source: str) -> list[Run]:
    """Split one file's records into runs by (model, setting); files from other harnesses have neither."""
    grouped: dict[tuple[str | None, str | None], list[ScoredItem]] = defaultdict(list)
    problems = []
    for n, record in enumerate(records, 1):
        key = (record.get("model"), record.get("setting"))
        try:
            grouped[key].append(score_record(record, f"{Path(source).name} record {n} (id {record.get('id')})"))
        except SchemaError as exc:
            problems.append(str(exc))
    if problems:
        raise SchemaError(f"{source}: {len(problems)} record(s) cannot be scored:\n  " + "\n  ".join(problems[:10]))
    return [Run(run_label(model, setting, source), model, setting, [source], items)
            for (model, setting), items in grouped.items()]


def run_label(model: str | None, setting: str | None, source: str) -> str:
    """A run's name in tables: the model (else the file's stem), with its setting unless IQ."""
    label = model or Path(source).stem
    return f"{label} [{setting}]" if setting and setting != "IQ" else label


def mmstar_metrics(runs: list[dict[str, Any]], text_base: str | None = None) -> dict[str, Any]:
    """MMStar (arXiv 2403.20330): MG = S_v - S_wv (IQ minus blank-image), ML = max(0, S_wv - S_t) where S_t is
    the text-only (QO) score of the model's LLM base (`text_base`: a run label or model; default the same
    model's QO run)."""
    by_key = {(r["model"], r["setting"]): r for r in runs if r.get("model")}
    by_label = {r["label"]: r for r in runs}
    out = {}
    for (model, setting), run in by_key.items():
        if setting != "IQ" or (model, BLANK_SETTING) not in by_key:
            continue
        s_v, s_wv = run["overall"], by_key[(model, BLANK_SETTING)]["overall"]
        base = None
        if text_base:
            base = by_label.get(text_base) or by_key.get((text_base, "QO"))
        base = base or by_key.get((model, "QO"))
        s_t = base["overall"] if base else None
        out[model] = {
            "S_v": s_v, "S_wv": s_wv, "S_t": s_t, "MG": s_v - s_wv,
            "ML": max(0.0, s_wv - s_t) if s_t is not None else None,
            "text_base": base["label"] if base else None,
        }
    return out


def score_runs(predictions: list[str | Path | tuple[str, list[dict]]] | str | Path, *, text_base: str | None = None,
               bootstrap: int = 1000, seed: int = 0) -> tuple[dict[str, Any], list[Run]]:
    """Score one or more predictions files in process: the scores dict and the typed, scored runs (what
    `report.write_report` turns into files). An entry may also be `(source_name, records)` for predictions
    already in memory. Nothing is written here."""
    paths = [predictions] if isinstance(predictions, str | Path) else list(predictions)
    if not paths:
        raise ValueError("give at least one predictions file")
    runs: list[Run] = []
    for p in paths:
        if isinstance(p, tuple):
            runs.extend(runs_from_records(p[1], p[0]))
        else:
            runs.extend(runs_from_records(load_predictions(p), str(p)))
    return summarise_runs(runs, text_base=text_base, bootstrap=bootstrap, seed=seed)


def summarise_runs(runs: list[Run], *, text_base: str | None = None, bootstrap: int = 1000, seed: int = 0
                   ) -> tuple[dict[str, Any], list[Run]]:
    """The scores dict of runs already scored (typed items: `evaluate` and the demo score this way, nothing is
    parsed) and the runs, labels made unique. Nothing is written here."""
    if not runs:
        raise SchemaError("no predictions to score")
    labels = [r.label for r in runs]
    stems = [Path(r.sources[0]).stem for r in runs]
    for r in runs:  # the same label from two files: tell them apart by file (or by run folder, the usual case)
        if labels.count(r.label) > 1:
            src = Path(r.sources[0])
            r.label = f"{r.label} ({src.stem if stems.count(src.stem) == 1 else src.parent.name or src.stem})"
    run_dicts = []
    for r in runs:
        metrics = run_metrics(r.items, bootstrap=bootstrap, seed=seed)
        run_dicts.append({"label": r.label, "model": r.model, "setting": r.setting, "sources": r.sources, **metrics})
    primary = run_dicts[0]
    result = {
        "overall": primary["overall"],
        "subtasks": primary["subtasks"],
        "levels": primary["levels"],
        "runs": run_dicts,
        "mmstar": mmstar_metrics(run_dicts, text_base),
        "columns": list(PAPER_ORDER),
        "accuracy_unit": "fraction (0-1)",
    }
    return result, runs


def score(predictions: list[str | Path | tuple[str, list[dict]]] | str | Path, *, text_base: str | None = None,
          bootstrap: int = 1000, seed: int = 0) -> dict[str, Any]:
    """The scores dict of `score_runs` (accuracy per subtask, level and overall, rates, CIs, MMStar)."""
    return score_runs(predictions, text_base=text_base, bootstrap=bootstrap, seed=seed)[0]


def scored_lines(runs: list[Run]) -> list[dict[str, Any]]:
    return [{"run": r.label, **asdict(i)} for r in runs for i in r.items]
