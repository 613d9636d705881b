"""The probe panel: merge the zero-shot LLM verdicts (run.py) with the model-free blind probes (blind.py) into
one verdict per sample, under a policy that says which probes may flag a sample.

Policy (`flag_on`, default `llm,learned`):
- `llm`: the LLM filter's own verdict (more than `max_hits` models hit the sample), unchanged;
- `learned`: the learned text-bias probe answers the sample right out of fold with a bias score (its probability
  of the gold answer) at least halfway between chance and certainty (0.625 with 4 options, 0.667 with 3, 0.75
  for yes/no), in a subtask where that probe beats chance significantly (one-sided binomial p < alpha; the whole
  set's p for a subtask too small to judge). A confident right answer in a subtask where the probe is at chance
  is noise, not a shortcut;
- `answer_prior` (off by default: answer-key skew is a property of the set that balancing fixes): the constant
  answer of its subtask is right and that subtask fails the gate (`blind.gate`'s rule).
With `prune_eps`, iterative bias pruning runs over the samples no probe flagged and flags what it drops, so
what stays is within chance + eps points in every subtask.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from mmra.benchmark.schema import LeakageVerdict, QAType, Sample

from .blind import BlindResult, BlindSettings, PruneResult, offends, sample_chance
from .run import LeakageResult

FLAG_SOURCES = ("llm", "learned", "answer_prior")
DEFAULT_FLAG_ON = ("llm", "learned")


def parse_flag_probes(text: str) -> tuple[str, ...]:
    names = tuple(dict.fromkeys(p.strip() for p in text.split(",") if p.strip()))
    unknown = [n for n in names if n not in FLAG_SOURCES]
    if unknown or not names:
        raise ValueError(f"--flag-probes {text!r}: expected a comma-separated list of {', '.join(FLAG_SOURCES)}")
    return names


@dataclass
class PanelSettings:
    flag_on: tuple[str, ...] = DEFAULT_FLAG_ON
    prune_eps: float | None = None  # points above chance; None: no pruning

    def rule(self, blind: BlindSettings, *, models: bool = True) -> str:
        parts = []
        if "llm" in self.flag_on and models:
            parts.append("the LLM filter flags it")
        if "learned" in self.flag_on:
            parts.append("the learned text-bias probe gets it right out of fold with a gold probability at least "
                         f"halfway between chance and 1, in a subtask where the probe beats chance (p < {blind.alpha:g})")
        if "answer_prior" in self.flag_on:
            parts.append(f"its subtask's constant answer is right and the subtask is more than {blind.max_gap:g} "
                         f"points above chance (p < {blind.alpha:g})")
        if self.prune_eps is not None:
            parts.append(f"bias pruning drops it to bring every subtask within chance + {self.prune_eps:g} points")
        return "flagged when " + "; or ".join(parts)


def learned_threshold(sample: Sample) -> float:
    chance = sample_chance(sample)
    return chance + (1 - chance) / 2


def learned_flags(samples: list[Sample], blind: BlindResult, alpha: float) -> dict[str, bool]:
    overall_p = blind.overall["probes"]["learned"]["p_value"]
    out = {}
    for s in samples:
        rec = blind.per_sample[s.id].get("learned")
        row = blind.subtasks[s.subtask]
        p = overall_p if row["too_small"] else row["probes"]["learned"]["p_value"]
        out[s.id] = bool(rec and rec["correct"] and rec["bias_score"] >= learned_threshold(s)
                         and p is not None and p < alpha)
    return out


def answer_prior_flags(samples: list[Sample], blind: BlindResult, max_gap: float, alpha: float) -> dict[str, bool]:
    skewed = {name for name, row in blind.subtasks.items() if offends(row, "answer_prior", max_gap, alpha)}
    return {s.id: bool(s.subtask in skewed and blind.per_sample[s.id].get("answer_prior", {}).get("correct"))
            for s in samples}


def decide_flags(samples: list, llm: LeakageResult | None, blind: BlindResult | None, blind_settings: BlindSettings,
                 panel: PanelSettings) -> dict[str, list[str]]:
    """The policy, in one place: per sample, the probes of `panel.flag_on` that flag it (empty: not flagged).
    `mmra leakage`, `mmra audit` and `mmra annotate check` all decide through here. `llm`: the question-only
    LLM verdicts (their own `leaked`, by the hit rule); `blind`: the model-free probes (None: not run)."""
    flags: dict[str, list[str]] = {s.id: [] for s in samples}
    if llm is not None and "llm" in panel.flag_on:
        for v in llm.verdicts:
            if v["leaked"] and v["id"] in flags:
                flags[v["id"]].append("llm")
    if blind is not None and "learned" in panel.flag_on:
        for sid, hit in learned_flags(samples, blind, blind_settings.alpha).items():
            if hit:
                flags[sid].append("learned")
    if blind is not None and "answer_prior" in panel.flag_on:
        for sid, hit in answer_prior_flags(samples, blind, blind_settings.max_gap, blind_settings.alpha).items():
            if hit:
                flags[sid].append("answer_prior")
    return flags


@dataclass
class PanelResult:
    result: LeakageResult
    blind: BlindResult
    prune: PruneResult | None


def run_panel(samples: list[Sample], llm: LeakageResult | None, blind_settings: BlindSettings,
              panel: PanelSettings, *, run_ref: str | None = None) -> PanelResult:
    """Blind probes (and pruning) over `samples`, merged with the LLM result when there is one."""
    from .blind import load_embeddings, prune_with, run_with

    warnings: list[str] = []
    emb = load_embeddings(blind_settings.embedder, warnings)  # one model and string cache for probes and pruning
    blind = run_with(samples, blind_settings, emb, warnings)
    flags = decide_flags(samples, llm, blind, blind_settings, panel)
    prune = None
    if panel.prune_eps is not None:
        rest = [s for s in samples if not flags[s.id]]
        if rest:
            prune = prune_with(rest, panel.prune_eps, blind_settings, emb, warnings)
            for sid in prune.dropped:
                flags[sid].append("prune")
    result = _merge(samples, llm, blind, prune, flags, blind_settings, panel, run_ref)
    return PanelResult(result=result, blind=blind, prune=prune)


def _evidence(blind: BlindResult, sample: Sample, prune: PruneResult | None) -> dict[str, Any]:
    rec = blind.per_sample[sample.id]
    out: dict[str, Any] = {"answer_prior": rec.get("answer_prior"), "learned": None}
    if "learned" in rec:
        out["learned"] = {**rec["learned"], "threshold": round(learned_threshold(sample), 4)}
    if prune is not None:
        out["prune"] = prune.dropped.get(sample.id)
    return out


def _compact(evidence: dict[str, Any], flagged_by: list[str]) -> dict[str, Any]:
    """What a Sample carries (the full evidence lives in verdicts.jsonl)."""
    keep = {"answer_prior": ("rule", "predicted", "correct"), "learned": ("bias_score", "predicted", "correct")}
    out: dict[str, Any] = {name: {k: rec[k] for k in keys if k in rec}
                           for name, keys in keep.items() if (rec := evidence.get(name))}
    if evidence.get("prune"):
        out["prune"] = evidence["prune"]
    out["flagged_by"] = flagged_by
    return out


def _merge(samples, llm, blind, prune, flags, blind_settings, panel, run_ref) -> LeakageResult:
    llm_verdicts = {v["id"]: v for v in llm.verdicts} if llm else {}
    llm_samples = {s.id: s for s in llm.samples} if llm else {}
    verdicts, updated = [], []
    for s in samples:
        evidence = _evidence(blind, s, prune)
        leaked = bool(flags[s.id])
        if s.id in llm_verdicts:
            base = dict(llm_verdicts[s.id])
            base["llm_leaked"] = base["leaked"]
            old = llm_samples[s.id].leakage
            verdict = old.model_copy(update={"leaked": leaked, "probes": _compact(evidence, flags[s.id])})
        else:
            base = {"id": s.id, "subtask": s.subtask, "qa_type": s.qa_type.value, "gold": s.answer, "hits": 0,
                    "models": {}}
            verdict = LeakageVerdict(leaked=leaked, run=run_ref, probes=_compact(evidence, flags[s.id]))
        verdicts.append({**base, "leaked": leaked, "flagged_by": flags[s.id], "probes": evidence})
        updated.append(s.model_copy(update={"leakage": verdict}))
    report = _report(samples, llm, blind, prune, verdicts, blind_settings, panel)
    return LeakageResult(verdicts=verdicts, samples=updated, report=report,
                         model_stats=llm.model_stats if llm else {})


def _report(samples, llm, blind, prune, verdicts, blind_settings, panel) -> dict[str, Any]:
    by_id = {v["id"]: v for v in verdicts}
    if llm is not None:
        report = dict(llm.report)
        report["settings"] = {**report["settings"], "llm_rule": report["settings"]["rule"]}
    else:
        report = {"settings": {"models": []}, "totals": {}, "subtasks": {}, "models": {}}
    report["settings"]["rule"] = panel.rule(blind_settings, models=llm is not None)
    report["settings"]["flag_on"] = list(panel.flag_on)

    def row(group: list[Sample], base: dict[str, Any] | None, blind_row: dict[str, Any]) -> dict[str, Any]:
        flagged = sum(by_id[s.id]["leaked"] for s in group)
        out = dict(base) if base else {
            "n": len(group), "multiple_choice": sum(s.qa_type == QAType.multiple_choice for s in group),
            "yes_no": sum(s.qa_type == QAType.yes_no for s in group),
            "chance_accuracy": blind_row["chance"], "models": {},
        }
        out.update({"flagged": flagged, "flag_rate": round(flagged / len(group), 4),
                    "flagged_by": {src: sum(src in by_id[s.id]["flagged_by"] for s in group)
                                   for src in (*panel.flag_on, *(("prune",) if prune else ()))},
                    "chance": blind_row["chance"], "too_small": blind_row["too_small"],
                    "too_small_reason": blind_row["too_small_reason"], "probes": blind_row["probes"]})
        return out

    groups: dict[str, list[Sample]] = {}
    for s in samples:
        groups.setdefault(s.subtask, []).append(s)
    report["subtasks"] = {name: row(group, report["subtasks"].get(name), blind.subtasks[name])
                          for name, group in sorted(groups.items())}
    totals = row(samples, report["totals"] or None, blind.overall)
    totals.setdefault("incomplete", 0)
    report["totals"] = totals
    report["blind"] = {
        "settings": blind.settings, "embedder": blind.embedder, "warnings": blind.warnings,
        "learned_flag_rule": "right out of fold, gold probability >= chance + (1 - chance) / 2, subtask p < alpha",
    }
    if prune is not None:
        report["blind"]["prune"] = {
            "eps": prune.eps, "converged": prune.converged, "dropped": len(prune.dropped), "rounds": prune.rounds,
            "kept_subtasks": {name: {"n": r["n"], "chance": r["chance"],
                                     **{p: r["probes"][p]["accuracy"] for p in r["probes"]}}
                              for name, r in prune.final.subtasks.items()},
            "warnings": [w for w in prune.final.warnings if w.startswith("bias pruning")],
        }
    return report
