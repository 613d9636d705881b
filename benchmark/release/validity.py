"""What publish does for validity before any row is built: samples whose leakage check is missing or failed
are refused (`refuse_unchecked`; `--publish-unchecked` publishes them, and the card says so), flagged samples
leave the default config, the answer key is balanced (`plan_release`), and the release gate (`apply_gate`) runs
the model-free blind probes on the default config.

The result is a JSON-able report (`ReleasePlan.report`) that the card, its validity plot and the manifest
show. A release the gate refuses raises `ReleaseGateError` before anything is written."""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mmra.errors import MMRAError

from ..schema import Sample
from .balance import balance_samples
from .errors import ReleaseInputError
from .inputs import SourceSample

FLAGGED_CONFIG = "flagged"


class ReleaseGateError(MMRAError):
    """The default config can be answered without the images beyond the allowed gap."""


class UncheckedSamplesError(MMRAError):
    """Samples whose leakage check is missing or failed, and no --publish-unchecked."""


@dataclass(frozen=True)
class ValidityOptions:
    balance: bool = True  # False: --keep-option-order (no option reshuffle, no yes/no swaps)
    gate: bool = True  # run the blind probes and the release gate, and refuse unchecked samples
    publish_unchecked: bool = False  # --publish-unchecked: publish samples with no or a failed leakage check
    allow_blind_gap: bool = False
    max_blind_gap: float = 5.0  # points above chance
    alpha: float = 0.05  # one-sided binomial test
    folds: int = 5
    seed: int = 0
    embedder: str | None = "auto"
    eval_runs: tuple[Path, ...] = ()  # eval run folders (scores.json) for MMStar's MG / ML


@dataclass
class ReleasePlan:
    sources: list[SourceSample]  # default config (balanced) + flagged samples (as written)
    report: dict[str, Any] = field(default_factory=dict)


def is_flagged(sample: Sample) -> bool:
    return bool(sample.leakage is not None and sample.leakage.leaked)


def unchecked_state(sample: Sample) -> str | None:
    """"missing" (no leakage verdict), "failed" (probe requests got no answer, so `leaked: false` says
    nothing), or None (checked). A sample flagged despite failed probes stays flagged: it is not published as
    clean."""
    if sample.leakage is None:
        return "missing"
    if not sample.leakage.checked and not sample.leakage.leaked:
        return "failed"
    return None


def unchecked_summary(sources: list[SourceSample]) -> dict[str, Any]:
    """The release's unchecked samples in short (for the card and manifest)."""
    states = [(src.sample.subtask, state) for src in sources if (state := unchecked_state(src.sample))]
    missing = sum(state == "missing" for _, state in states)
    return {"n": len(states), "missing": missing, "failed": len(states) - missing,
            "subtasks": dict(Counter(subtask for subtask, _ in states))}


def refuse_unchecked(sources: list[SourceSample]) -> None:
    """`UncheckedSamplesError` (one line naming the first samples) when any sample's check is missing or failed."""
    states = [(src, state) for src in sources if (state := unchecked_state(src.sample))]
    missing = sum(state == "missing" for _, state in states)
    failed = len(states) - missing
    if states:
        shown = ", ".join(f"{src.item} ({state}"
                          + (f": {src.sample.leakage.failed_probes} probe(s) without an answer" if state == "failed"
                             else "") + ")" for src, state in states[:5])
        more = f" and {len(states) - 5} more" if len(states) > 5 else ""
        raise UncheckedSamplesError(
            f"release refused: {len(states)} sample(s) have no leakage check ({missing}) or a failed one ({failed}), "
            f"so nothing says they need the images; nothing was written. Run `mmra leakage` on them (a failed "
            f"check: re-run it), or publish them anyway with --publish-unchecked (the card says so). "
            f"{shown}{more}")


def _flag_reasons(sample: Sample) -> list[str]:
    """Which probes made the verdict: the panel's `flagged_by` (an LLM hit names its models), else the LLM
    models that hit."""
    leak = sample.leakage
    llm = [f"llm:{m}" for m, hit in sorted(leak.model_hits.items()) if hit]
    flagged_by = (leak.probes or {}).get("flagged_by")
    if flagged_by:
        reasons = [r for p in flagged_by for r in ((llm or ["llm"]) if p == "llm" else [p])]
    else:
        reasons = llm or ([f"{leak.hits} model hit(s)"] if leak.hits else [])
    return reasons or ["leaked (no probe evidence recorded)"]


def flagged_summary(flagged: list[Sample]) -> dict[str, Any]:
    subtasks: Counter = Counter(s.subtask for s in flagged)
    probes: Counter = Counter()
    per_subtask_probes: dict[str, Counter] = {}
    for s in flagged:
        reasons = _flag_reasons(s)
        probes.update(reasons)
        per_subtask_probes.setdefault(s.subtask, Counter()).update(reasons)
    return {"n": len(flagged), "config": FLAGGED_CONFIG, "subtasks": dict(subtasks), "probes": dict(probes),
            "subtask_probes": {k: dict(v) for k, v in per_subtask_probes.items()}}


def read_eval_runs(folders: tuple[Path, ...]) -> dict[str, Any] | None:
    """Runs from eval folders' scores.json, with MMStar's MG / ML computed by eval's own `mmstar_metrics`."""
    if not folders:
        return None
    from mmra.eval.scoring import mmstar_metrics

    runs: list[dict[str, Any]] = []
    for folder in folders:
        path = Path(folder)
        path = path if path.is_file() else path / "scores.json"
        if not path.is_file():
            raise ReleaseInputError(f"--eval-run {folder}: no scores.json there (give an `mmra eval` run folder)")
        try:
            runs += json.loads(path.read_text(encoding="utf-8"))["runs"]
        except (ValueError, KeyError, TypeError) as exc:
            raise ReleaseInputError(f"--eval-run {path}: not an `mmra score` scores.json ({exc})") from None
    return {
        "runs": [{"label": r.get("label"), "model": r.get("model"), "setting": r.get("setting"),
                  "overall": r.get("overall"), "n": r.get("n")} for r in runs],
        "mmstar": mmstar_metrics(runs),
    }


def blind_report(samples: list[Sample], opts: ValidityOptions) -> tuple[dict[str, Any], list[str]]:
    """The model-free blind probes on `samples` and the gate's offending lines."""
    from ..leakage.blind import BlindSettings, gate, run_blind_probes

    settings = BlindSettings(folds=opts.folds, seed=opts.seed, embedder=opts.embedder,
                             max_gap=opts.max_blind_gap, alpha=opts.alpha)
    result = run_blind_probes(sorted(samples, key=lambda s: s.id), settings)  # input order must not matter
    lines = gate(result, opts.max_blind_gap, opts.alpha)
    report = {"subtasks": result.subtasks, "overall": result.overall, "warnings": list(result.warnings)}
    return json.loads(json.dumps(report, default=_jsonable)), lines


def _jsonable(value: Any) -> Any:
    if hasattr(value, "item"):  # numpy scalars
        return value.item()
    if hasattr(value, "tolist"):
        return value.tolist()
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")


def plan_release(sources: list[SourceSample], opts: ValidityOptions) -> ReleasePlan:
    """Split off flagged samples and balance the default config (cheap; the gate is `apply_gate`)."""
    evaluation = read_eval_runs(tuple(opts.eval_runs))  # a bad folder fails before any work
    unchecked = unchecked_summary(sources) if opts.gate else None
    default = [src for src in sources if not is_flagged(src.sample)]
    flagged = [src for src in sources if is_flagged(src.sample)]
    report: dict[str, Any] = {"flagged": flagged_summary([s.sample for s in flagged]),
                              "balance": {"applied": opts.balance, "subtasks": {}}, "eval": evaluation,
                              "unchecked": unchecked}
    if opts.balance and default:
        balanced, per_subtask = balance_samples([s.sample for s in default])
        default = [SourceSample(b, src.item, src.base_dir) for b, src in zip(balanced, default, strict=True)]
        report["balance"]["subtasks"] = {k: v.to_json() for k, v in per_subtask.items()}
    return ReleasePlan(default + flagged, report)


def apply_gate(plan: ReleasePlan, opts: ValidityOptions) -> None:
    """The release gate on the plan's default config: the blind probes go into the report; raises
    `ReleaseGateError` (before anything is written) when a subtask is answerable blind and
    `allow_blind_gap` is off. Before that, samples with no or a failed leakage check are refused
    (`UncheckedSamplesError`) unless `publish_unchecked`: cheap, but after the rows are built, so bad input
    (images above all) is reported first."""
    if opts.gate and not opts.publish_unchecked:
        refuse_unchecked(plan.sources)
    default = [src.sample for src in plan.sources if not is_flagged(src.sample)]
    if not opts.gate or not default:
        return
    blind, lines = blind_report(default, opts)
    plan.report["blind"] = blind
    plan.report["gate"] = {"max_gap": opts.max_blind_gap, "alpha": opts.alpha, "offending": lines,
                           "allowed": bool(lines) and opts.allow_blind_gap}
    if lines and not opts.allow_blind_gap:
        raise ReleaseGateError(
            f"release refused: {len(lines)} subtask(s) of the default config can be answered without the "
            f"images (more than {opts.max_blind_gap:g} points above chance, p < {opts.alpha:g}); nothing was "
            "written. Fix the samples (mmra leakage, mmra annotate revise) or publish anyway with "
            "--allow-blind-gap:\n  " + "\n  ".join(lines))
