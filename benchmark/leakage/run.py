"""Run the leakage test over samples with one or more chat endpoints and build the verdicts and report.

    with model_clients(parse_model_specs(["qwen2.5-1.5b"]), ...) as clients:   # mmra.llm.endpoints
            result = run_leakage(samples, clients, LeakageSettings())
    write_outputs(result, out_dir)
"""

from __future__ import annotations

import os
import time
from collections import Counter, defaultdict
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from mmra.benchmark.records import write_jsonl
from mmra.benchmark.schema import LeakageVerdict, QAType, Sample
from mmra.llm.client import ChatClient, ChatRequest, ChatResult, Decided

from .method import (
    DEFAULT_FLAG_KINDS,
    ONE_IMAGE_RULES,
    PROBE_KINDS,
    HitRule,
    Probe,
    ProbeAnswer,
    chance_accuracy,
    check_kinds,
    default_max_hits,
    hit_decided,
    is_hit,
    knows,
    probes_for,
    score,
    wilson,
)
from .vlm import image_probe_report


@dataclass
class LeakageSettings:
    hit_rule: HitRule = "all"
    max_hits: int | None = None  # None: default_max_hits(number of models)
    choices_only: bool = True  # False drops the choices-only kind
    max_tokens: int = 16
    profile: str = "default"  # prompt profile of the circular and choices-only probes
    probes: tuple[str, ...] = PROBE_KINDS
    samples_per_probe: int = 1  # K tries per probe (MMMU-Pro: 10); > 1 needs a temperature
    temperature: float = 0.0
    one_image_rule: str = "as-well"  # when the VLM image probes flag a sample (see method.answerable_from_one_image)
    flag_kinds: tuple[str, ...] = DEFAULT_FLAG_KINDS  # the probe kinds whose hits flag (see method)
    # False: a kind's rotations are asked one after another and stop once its hit is decided (the first wrong
    # answer under hit rule "all"): the same verdicts from fewer requests. True: every rotation is asked (the
    # per-rotation accuracy is then the mean over all rotations, not over the first one)
    every_rotation: bool = False

    def __post_init__(self) -> None:
        self.probes = check_kinds(tuple(self.probes))
        self.flag_kinds = check_kinds(tuple(self.flag_kinds))
        if "choices-only" in self.flag_kinds:
            raise ValueError("--flag-on: choices-only is evidence only, it cannot flag a sample")
        if self.samples_per_probe < 1:
            raise ValueError(f"--samples-per-probe must be at least 1, got {self.samples_per_probe}")
        if self.samples_per_probe > 1 and self.temperature <= 0:
            raise ValueError(f"--samples-per-probe {self.samples_per_probe} needs --temperature above 0 "
                             "(greedy tries would all give the same answer)")
        if self.one_image_rule not in ONE_IMAGE_RULES:
            raise ValueError(f"--one-image-rule must be one of {', '.join(ONE_IMAGE_RULES)}, "
                             f"got {self.one_image_rule!r}")

    @property
    def kinds(self) -> tuple[str, ...]:
        return tuple(k for k in self.probes if k != "choices-only" or self.choices_only)

    def resolved_max_hits(self, n_models: int) -> int:
        return default_max_hits(n_models) if self.max_hits is None else self.max_hits


@dataclass
class LeakageResult:
    verdicts: list[dict[str, Any]]
    samples: list[Sample]  # every sample with `leakage` filled
    report: dict[str, Any]
    model_stats: dict[str, dict[str, Any]] = field(default_factory=dict)

    @property
    def flagged(self) -> list[Sample]:
        return [s for s in self.samples if s.leakage and s.leakage.leaked]


def _probe_record(probe: Probe, tries: list[ProbeAnswer] | None) -> dict[str, Any]:
    if tries is None:  # left unasked: the kind's outcome was decided by the probes before it
        return {"kind": probe.kind, "variant": probe.variant, "options_shown": list(probe.shown), "asked": False,
                "response": None, "error": None, "status": "not asked", "parsed_letter": None, "answer": None,
                "correct": None}
    first = tries[0]
    record = {"kind": probe.kind, "variant": probe.variant, "options_shown": list(probe.shown),
              "response": first.raw, "error": first.error, "status": first.status,
              "parsed_letter": first.shown_letter, "answer": first.answer,
              "correct": knows([a.correct for a in tries])}
    if len(tries) > 1:  # sampled mode: every try, in seed order
        record["tries"] = [{"response": a.raw, "error": a.error, "status": a.status, "answer": a.answer,
                            "correct": a.correct} for a in tries]
    return record


def probe_request(probe: Probe, try_index: int, settings: LeakageSettings) -> ChatRequest:
    """One try of a probe. With K > 1 the try index goes into the request as its `seed`, so the K tries are
    distinct requests (and distinct cache entries); with K = 1 the request is exactly eval's (no seed)."""
    extra = {"seed": try_index} if settings.samples_per_probe > 1 else {}
    return ChatRequest(messages=[dict(m) for m in probe.messages], max_tokens=settings.max_tokens,
                       temperature=settings.temperature, extra=extra)


@dataclass
class ProbePlan:
    """What the LLM probes ask: the probes per sample id, the flat probe list, and one chain per sample and
    probe kind (its flat indexes, in rotation order; K requests per probe, try by try). `decided` tells
    `ChatClient.run_chains` when a chain's remaining probes cannot change the kind's hit (None with
    `every_rotation`)."""

    probes: dict[str, list[Probe]]
    flat: list[Probe]
    indexes: list[list[int]]
    chains: list[list[ChatRequest]]
    settings: LeakageSettings

    def _tries(self, c: int, results: list[ChatResult]) -> list[tuple[int, list[ProbeAnswer]]]:
        """Chain `c`'s answered probes: (flat index, its K scored tries), a probe still short of K left out."""
        k = self.settings.samples_per_probe
        return [(i, [score(self.flat[i], r.text, r.error) for r in results[j * k:(j + 1) * k]])
                for j, i in enumerate(self.indexes[c][: len(results) // k])]

    def right_so_far(self, c: int, results: list[ChatResult]) -> list[bool]:
        return [knows([a.correct for a in tries]) for _, tries in self._tries(c, results)]

    @property
    def decided(self) -> Decided | None:
        if self.settings.every_rotation:
            return None
        k, rule = self.settings.samples_per_probe, self.settings.hit_rule
        return lambda c, results: (len(results) % k == 0
                                   and hit_decided(self.right_so_far(c, results), rule, len(self.indexes[c])))

    def scored(self, answered: list[list[ChatResult]]) -> list[list[ProbeAnswer] | None]:
        """Per flat probe its K scored tries, or None where the chain stopped before it."""
        out: list[list[ProbeAnswer] | None] = [None] * len(self.flat)
        for c, results in enumerate(answered):
            for i, tries in self._tries(c, results):
                out[i] = tries
        return out


def plan_probes(samples: list[Sample], settings: LeakageSettings) -> ProbePlan:
    probes = {s.id: probes_for(s, kinds=settings.kinds, profile=settings.profile) for s in samples}
    flat = [p for s in samples for p in probes[s.id]]
    indexes: list[list[int]] = []
    for i, probe in enumerate(flat):
        if i and flat[i - 1].sample_id == probe.sample_id and flat[i - 1].kind == probe.kind:
            indexes[-1].append(i)
        else:
            indexes.append([i])
    k = settings.samples_per_probe
    chains = [[probe_request(flat[i], t, settings) for i in chain for t in range(k)] for chain in indexes]
    return ProbePlan(probes, flat, indexes, chains, settings)


def _kind_evidence(kind_tries: list[list[ProbeAnswer] | None], rule: HitRule) -> dict[str, Any]:
    """One kind's probes of one sample (None: not asked). `first_correct`: the first probe (the options in the
    sample's own order), which is always asked."""
    asked = [tries for tries in kind_tries if tries is not None]
    right = [knows([a.correct for a in tries]) for tries in asked]
    flat = [a for tries in asked for a in tries]
    first = asked[0] if asked else []
    return {"hit": is_hit(right, rule, len(kind_tries)), "correct": sum(right), "probes": len(asked),
            "not_asked": len(kind_tries) - len(asked), "first_correct": int(bool(right and right[0])),
            "tries_correct": sum(a.correct for a in flat), "tries": len(flat),
            "first_tries_correct": sum(a.correct for a in first), "first_tries": len(first)}


def run_leakage(samples: list[Sample], clients: dict[str, ChatClient], settings: LeakageSettings,
                *, run_ref: str | None = None, image_probes: dict[str, Any] | None = None,
                plan: ProbePlan | None = None) -> LeakageResult:
    """Ask every model every probe (cached, retried), then score. `clients`: label -> client (none: only the
    image probes, if given, decide). `image_probes`: the output of `image_probe_evidence` (VLM probes). `plan`:
    `plan_probes(samples, settings)` when the caller already made it."""
    if not samples:
        raise ValueError("no samples to test")
    started = time.time()
    plan = plan or plan_probes(samples, settings)  # the caller's, when it planned them to start its servers
    probes = plan.probes

    answers: dict[str, list[list[ProbeAnswer] | None]] = {}  # label -> per flat probe, its K tries (None: not asked)
    model_stats: dict[str, dict[str, Any]] = {}
    for label, client in clients.items():
        answers[label] = plan.scored(client.run_chains(plan.chains, decided=plan.decided, description="leakage"))
        scored = [a for tries in answers[label] if tries is not None for a in tries]
        statuses = Counter(a.status for a in scored)
        model_stats[label] = {
            "model": client.model, "base_url": client.base_url, **client.last_stats.as_dict(),
            "usage_this_run": {"prompt_tokens": client.last_stats.prompt_tokens,
                               "completion_tokens": client.last_stats.completion_tokens},
            "answer_status": dict(statuses),
            "parse_failures": sum(n for s, n in statuses.items() if s not in ("ok", "error")),
        }

    n_models = len(clients)
    max_hits = settings.resolved_max_hits(n_models)
    offsets, pos = {}, 0
    for s in samples:
        offsets[s.id] = pos
        pos += len(probes[s.id])
    images = (image_probes or {}).get("samples", {})

    verdicts, updated = [], []
    for s in samples:
        start, count = offsets[s.id], len(probes[s.id])
        sample_probes = probes[s.id]
        per_model: dict[str, Any] = {}
        model_hits, co_hits, parsed = {}, {}, {}
        failed = 0  # probe tries without an answer (request failed): the sample is then not checked
        for label in clients:
            got = answers[label][start:start + count]
            kinds = {}
            for kind in settings.kinds:
                pairs = [(p, t) for p, t in zip(sample_probes, got, strict=True) if p.kind == kind]
                if pairs:
                    kinds[kind] = _kind_evidence([t for _, t in pairs], settings.hit_rule)
            model_hits[label] = any(ev["hit"] for kind, ev in kinds.items() if kind in settings.flag_kinds)
            if "choices-only" in kinds:
                co_hits[label] = kinds["choices-only"]["hit"]
            answer_kind = next((kd for kd in ("circular", "eval-default", "eval-paper") if kd in kinds), None)
            parsed[label] = [t[0].answer if t else None for p, t in zip(sample_probes, got, strict=True)
                             if p.kind == answer_kind]
            tries = [a for t in got if t is not None for a in t]
            errors = sum(a.status == "error" for a in tries)
            failed += errors
            circular = kinds.get("circular", {"tries_correct": 0, "tries": 0})
            per_model[label] = {
                "hit": model_hits[label], "choices_only_hit": co_hits.get(label),
                "qo_correct": circular["tries_correct"], "qo_probes": circular["tries"],  # the circular kind
                "kinds": kinds,
                "parse_failures": sum(a.status not in ("ok", "error") for a in tries), "errors": errors,
                "probes": [_probe_record(p, t) for p, t in zip(sample_probes, got, strict=True)],
            }
        hits = sum(model_hits.values())
        image = images.get(s.id)
        one_image = bool(image and image["one_image"])
        reasons = []
        if hits > max_hits:
            reasons.append(f"text-only: {hits} of {n_models} model(s) answer it without the images "
                           f"(more than {max_hits} allowed)")
        if one_image:
            reasons.append(f"answerable from one image ({image['rule']}): the VLM is right from "
                           + " and ".join(w for w in ("IQ-image1", "IQ-image2") if image["correct"].get(w))
                           + " alone")
        leaked = bool(reasons)
        failed += len(image["missing"]) if image else 0
        verdict = LeakageVerdict(
            leaked=leaked, hits=hits, models=list(clients), model_hits=model_hits,
            choices_only_hits=sum(co_hits.values()) if co_hits else None, answers=parsed, run=run_ref,
            status="failed" if failed else "checked", failed_probes=failed,
        )
        updated.append(s.model_copy(update={"leakage": verdict}))
        line = {
            "id": s.id, "subtask": s.subtask, "qa_type": s.qa_type.value, "gold": s.answer,
            "leaked": leaked, "reasons": reasons, "hits": hits, "max_hits": max_hits, "hit_rule": settings.hit_rule,
            "model_hits": model_hits, "choices_only_hits": verdict.choices_only_hits,
            "complete": not failed, "status": verdict.status, "failed_probes": failed, "models": per_model,
        }
        if image_probes is not None:
            line["image_probes"] = image
        verdicts.append(line)

    report = build_report(samples, verdicts, model_stats, settings, max_hits)
    if image_probes is not None:
        report["image_probes"] = image_probe_report(samples, image_probes, settings.one_image_rule)
    report["run"] = {"started": started, "elapsed_s": round(time.time() - started, 3), "ref": run_ref}
    return LeakageResult(verdicts=verdicts, samples=updated, report=report, model_stats=model_stats)


# per-sample kind evidence summed over a group of samples
_COUNTED = ("correct", "probes", "not_asked", "first_correct", "tries_correct", "tries", "first_tries_correct",
            "first_tries")


def build_report(samples, verdicts, model_stats, settings: LeakageSettings, max_hits: int) -> dict[str, Any]:
    labels = list(model_stats)
    by_id = {v["id"]: v for v in verdicts}
    groups: dict[str, list[Sample]] = defaultdict(list)
    for s in samples:
        groups[s.subtask].append(s)

    def summarise(group: list[Sample]) -> dict[str, Any]:
        out: dict[str, Any] = {
            "n": len(group),
            "multiple_choice": sum(s.qa_type == QAType.multiple_choice for s in group),
            "yes_no": sum(s.qa_type == QAType.yes_no for s in group),
            "flagged": sum(by_id[s.id]["leaked"] for s in group),
            "chance_accuracy": round(sum(chance_accuracy(s) for s in group) / len(group), 4),
            "models": {},
        }
        for label in labels:
            hits = co_hits = co_n = 0
            per_kind: dict[str, dict[str, int]] = {}
            for s in group:
                m = by_id[s.id]["models"][label]
                hits += m["hit"]
                if m["choices_only_hit"] is not None:
                    co_n += 1
                    co_hits += m["choices_only_hit"]
                for kind, ev in m["kinds"].items():
                    acc = per_kind.setdefault(kind, dict.fromkeys(_COUNTED + ("hits", "samples"), 0))
                    for key in _COUNTED:
                        acc[key] += ev[key]
                    acc["hits"] += ev["hit"]
                    acc["samples"] += 1
            for acc in per_kind.values():
                # every rotation asked: the mean over all of them; else over each sample's first probe (its own
                # option order), the one probe every sample is asked whatever its outcome
                right, asked, tries_right, tries = (
                    (acc["correct"], acc["probes"], acc["tries_correct"], acc["tries"]) if settings.every_rotation
                    else (acc["first_correct"], acc["samples"], acc["first_tries_correct"], acc["first_tries"]))
                acc["accuracy"] = round(right / asked, 4) if asked else None
                acc["try_accuracy"] = round(tries_right / tries, 4) if tries else None
            circular = per_kind.get("circular")
            out["models"][label] = {
                "qo_accuracy": circular["accuracy"] if circular else None,
                "hit_rate": round(hits / len(group), 4),
                "choices_only_hit_rate": round(co_hits / co_n, 4) if co_n else None,
                # per probe kind: accuracy per probe (a probe is right when > half its K tries are), per try,
                # and the share of samples the model knows (hits) with its 95 % interval
                "probes": {kind: {
                    "n": acc["samples"],
                    "accuracy": acc["accuracy"],
                    "try_accuracy": acc["try_accuracy"],
                    "asked": acc["probes"], "not_asked": acc["not_asked"],
                    "hit_rate": round(acc["hits"] / acc["samples"], 4) if acc["samples"] else None,
                    "hit_rate_ci95": wilson(acc["hits"], acc["samples"]),
                } for kind, acc in per_kind.items()},
            }
        out["flag_rate"] = round(out["flagged"] / len(group), 4)
        return out

    n_models = len(labels)
    abnormal = sum(v["hits"] * 4 >= 3 * n_models for v in verdicts) if n_models else 0  # MMStar: hit by >= 6 of 8
    tries = f", each asked {settings.samples_per_probe} times at temperature {settings.temperature:g} (right when " \
            "more than half are)" if settings.samples_per_probe > 1 else ""
    return {
        "settings": {**asdict(settings), "kinds": list(settings.kinds), "max_hits": max_hits, "models": labels,
                     "rule": f"flagged when more than {max_hits} of {n_models} model(s) hit; a model hits when it is "
                             f"right under {'every' if settings.hit_rule == 'all' else 'a majority of'} probe(s) of "
                             f"any of {', '.join(k for k in settings.kinds if k in settings.flag_kinds) or 'no kind'}"
                             f"{tries}",
                     "accuracy_over": "every probe" if settings.every_rotation else
                     "each sample's first probe of a kind (its own option order); later rotations stop once the "
                     "hit is decided"},
        "totals": {**summarise(samples), "abnormal_hit_rate": round(abnormal / len(samples), 4),
                   "incomplete": sum(not v["complete"] for v in verdicts),
                   "failed_probes": sum(v["failed_probes"] for v in verdicts)},
        "subtasks": {name: summarise(group) for name, group in sorted(groups.items())},
        "models": model_stats,
    }


def _plot_key(report: dict[str, Any]) -> str:
    """Hash of everything the plot shows."""
    from mmra.benchmark.schema import stable_hash

    shown = {name: {"n": row["n"], "flagged": row["flagged"], "chance": row["chance_accuracy"],
                    "acc": {m: v["qo_accuracy"] for m, v in row["models"].items()},
                    "blind": {p: v["ci"] + [v["accuracy"]] for p, v in row.get("probes", {}).items()}}
             for name, row in report["subtasks"].items()}
    return stable_hash(report["settings"]["models"], shown, length=24)


def _plot_or_reuse(report: dict[str, Any], old_report: Path, old_plot: Path, target: Path) -> None:
    """Draw the plot, or keep the existing one when it shows exactly the same numbers (a cached re-run
    then does not pay for importing matplotlib)."""
    import json
    import shutil

    from .report import plot_report

    try:
        same = json.loads(old_report.read_text()).get("plot_key") == report["plot_key"] and old_plot.is_file()
    except (OSError, ValueError):
        same = False
    if same:
        shutil.copyfile(old_plot, target)
    else:
        plot_report(report, target)


def write_outputs(result: LeakageResult, out_dir: Path, *, plot: bool = True, records: bool = True) -> dict[str, Path]:
    """Write every output to a temporary name first, then rename them all: a failure leaves nothing half
    written (and a previous complete run in `out_dir` untouched). `records=False` (`mmra audit`, whose items
    are not Samples) writes no samples.jsonl / flagged.jsonl."""
    import json

    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    suffix = f".tmp-{os.getpid()}"
    final = {
        "verdicts": out_dir / "verdicts.jsonl",
        "report": out_dir / "report.json",
        **({"flagged": out_dir / "flagged.jsonl", "samples": out_dir / "samples.jsonl"} if records else {}),
    }
    if plot:
        final["plot"] = out_dir / "leakage.png"
    tmp = {k: p.with_name(p.name + suffix) for k, p in final.items()}
    try:
        with tmp["verdicts"].open("w", encoding="utf-8") as fh:
            for v in result.verdicts:
                fh.write(json.dumps(v, ensure_ascii=False) + "\n")
        result.report["plot_key"] = _plot_key(result.report)
        tmp["report"].write_text(json.dumps(result.report, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
        if records:
            write_jsonl(tmp["flagged"], result.flagged)
            write_jsonl(tmp["samples"], result.samples)
        if plot:
            _plot_or_reuse(result.report, final["report"], final["plot"], tmp["plot"])
        for key, path in tmp.items():
            path.replace(final[key])
    finally:
        for path in tmp.values():
            path.unlink(missing_ok=True)
    return final
