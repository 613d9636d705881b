"""Run the leakage test over samples with one or more chat endpoints and build the verdicts and report.

    endpoints = [parse_model_spec("gpt-4o-mini@https://api.openai.com/v1"), parse_model_spec("qwen2.5-1.5b")]
    result = run_leakage(samples, {"qwen2.5-1.5b": client, ...}, LeakageSettings())
    write_outputs(result, out_dir)
"""

from __future__ import annotations

import os
import time
from collections import Counter, defaultdict
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from mmra.benchmark.schema import LeakageVerdict, QAType, Sample, write_jsonl
from mmra.llm.client import ChatClient, ChatRequest

from .method import HitRule, Probe, ProbeAnswer, chance_accuracy, default_max_hits, is_hit, probes_for, score


@dataclass(frozen=True)
class Endpoint:
    model: str  # the model name sent to the API
    base_url: str | None  # None: an embedded local model, started on demand

    @property
    def local(self) -> bool:
        return self.base_url is None


def parse_model_spec(spec: str) -> Endpoint:
    """`NAME@BASE_URL` for any OpenAI-compatible endpoint; a bare NAME must be an embedded local model."""
    from mmra.llm.models import MODELS

    spec = spec.strip()
    name, sep, url = spec.partition("@http")
    if sep:
        url = "http" + url
        if not name:
            raise ValueError(f"--model {spec!r}: the model name before '@' is empty")
        return Endpoint(name, url.rstrip("/"))
    if "@" in spec:
        raise ValueError(f"--model {spec!r}: expected NAME@BASE_URL with an http(s) URL, e.g. gpt-4o-mini@https://api.openai.com/v1")
    if spec not in MODELS:
        raise ValueError(f"--model {spec!r}: no @BASE_URL given and not an embedded local model "
                         f"({', '.join(MODELS)}); use NAME@BASE_URL for other endpoints")
    return Endpoint(spec, None)


@dataclass
class LeakageSettings:
    hit_rule: HitRule = "all"
    max_hits: int | None = None  # None: default_max_hits(number of models)
    choices_only: bool = True
    max_tokens: int = 16
    profile: str = "default"

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


def _probe_record(probe: Probe, ans: ProbeAnswer) -> dict[str, Any]:
    return {"kind": probe.kind, "variant": probe.variant, "options_shown": list(probe.shown),
            "response": ans.raw, "error": ans.error, "status": ans.status,
            "parsed_letter": ans.shown_letter, "answer": ans.answer, "correct": ans.correct}


def build_requests(samples: list[Sample], settings: LeakageSettings):
    """Probes per sample id, the flat probe list, and one chat request per probe (same order)."""
    probes = {s.id: probes_for(s, choices_only=settings.choices_only, profile=settings.profile) for s in samples}
    flat = [p for s in samples for p in probes[s.id]]
    requests = [ChatRequest(messages=p.messages, max_tokens=settings.max_tokens, temperature=0.0) for p in flat]
    return probes, flat, requests


def run_leakage(samples: list[Sample], clients: dict[str, ChatClient], settings: LeakageSettings,
                *, run_ref: str | None = None) -> LeakageResult:
    """Ask every model every probe (cached, retried), then score. `clients`: label -> client."""
    if not samples:
        raise ValueError("no samples to test")
    if not clients:
        raise ValueError("no models given; pass at least one --model")
    started = time.time()
    probes, flat, requests = build_requests(samples, settings)

    answers: dict[str, list[ProbeAnswer]] = {}
    model_stats: dict[str, dict[str, Any]] = {}
    for label, client in clients.items():
        results = client.run(requests, description="leakage")
        answers[label] = [score(p, r.text, r.error) for p, r in zip(flat, results, strict=True)]
        usage_all = Counter()
        for r in results:
            usage_all.update({k: v for k, v in r.usage.items() if k in ("prompt_tokens", "completion_tokens")})
        statuses = Counter(a.status for a in answers[label])
        model_stats[label] = {
            "model": client.model, "base_url": client.base_url, **client.last_stats.as_dict(),
            "usage_this_run": {"prompt_tokens": client.last_stats.prompt_tokens,
                               "completion_tokens": client.last_stats.completion_tokens},
            "usage_all_responses": dict(usage_all),
            "answer_status": dict(statuses),
            "parse_failures": sum(n for s, n in statuses.items() if s not in ("ok", "error")),
        }

    n_models = len(clients)
    max_hits = settings.resolved_max_hits(n_models)
    offsets, pos = {}, 0
    for s in samples:
        offsets[s.id] = pos
        pos += len(probes[s.id])

    verdicts, updated = [], []
    for s in samples:
        start, count = offsets[s.id], len(probes[s.id])
        sample_probes = probes[s.id]
        per_model: dict[str, Any] = {}
        model_hits, co_hits, parsed = {}, {}, {}
        complete = True
        for label in clients:
            got = answers[label][start:start + count]
            qo = [a for p, a in zip(sample_probes, got, strict=True) if p.kind == "qo"]
            co = [a for p, a in zip(sample_probes, got, strict=True) if p.kind == "choices_only"]
            model_hits[label] = is_hit([a.correct for a in qo], settings.hit_rule)
            if co:
                co_hits[label] = is_hit([a.correct for a in co], settings.hit_rule)
            parsed[label] = [a.answer for a in qo]
            errors = sum(a.status == "error" for a in got)
            complete = complete and errors == 0
            per_model[label] = {
                "hit": model_hits[label], "choices_only_hit": co_hits.get(label),
                "qo_correct": sum(a.correct for a in qo), "qo_probes": len(qo),
                "parse_failures": sum(a.status not in ("ok", "error") for a in got), "errors": errors,
                "probes": [_probe_record(p, a) for p, a in zip(sample_probes, got, strict=True)],
            }
        hits = sum(model_hits.values())
        leaked = hits > max_hits
        verdict = LeakageVerdict(
            leaked=leaked, hits=hits, models=list(clients), model_hits=model_hits,
            choices_only_hits=sum(co_hits.values()) if co_hits else None, answers=parsed, run=run_ref,
        )
        updated.append(s.model_copy(update={"leakage": verdict}))
        verdicts.append({
            "id": s.id, "subtask": s.subtask, "qa_type": s.qa_type.value, "gold": s.answer,
            "leaked": leaked, "hits": hits, "max_hits": max_hits, "hit_rule": settings.hit_rule,
            "model_hits": model_hits, "choices_only_hits": verdict.choices_only_hits,
            "complete": complete, "models": per_model,
        })

    report = build_report(samples, verdicts, probes, answers, model_stats, settings, max_hits)
    report["run"] = {"started": started, "elapsed_s": round(time.time() - started, 3), "ref": run_ref}
    return LeakageResult(verdicts=verdicts, samples=updated, report=report, model_stats=model_stats)


def build_report(samples, verdicts, probes, answers, model_stats, settings: LeakageSettings,
                 max_hits: int) -> dict[str, Any]:
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
            correct = total = hits = co_hits = co_n = 0
            for s in group:
                m = by_id[s.id]["models"][label]
                correct += m["qo_correct"]
                total += m["qo_probes"]
                hits += m["hit"]
                if m["choices_only_hit"] is not None:
                    co_n += 1
                    co_hits += m["choices_only_hit"]
            out["models"][label] = {
                "qo_accuracy": round(correct / total, 4) if total else None,
                "hit_rate": round(hits / len(group), 4),
                "choices_only_hit_rate": round(co_hits / co_n, 4) if co_n else None,
            }
        out["flag_rate"] = round(out["flagged"] / len(group), 4)
        return out

    n_models = len(labels)
    abnormal = sum(v["hits"] * 4 >= 3 * n_models for v in verdicts)  # MMStar: hit by >= 6 of 8
    return {
        "settings": {**asdict(settings), "max_hits": max_hits, "models": labels,
                     "rule": f"flagged when more than {max_hits} of {n_models} model(s) hit; a model hits when it is "
                             f"right under {'every' if settings.hit_rule == 'all' else 'a majority of'} probe(s)"},
        "totals": {**summarise(samples), "abnormal_hit_rate": round(abnormal / len(samples), 4),
                   "incomplete": sum(not v["complete"] for v in verdicts)},
        "subtasks": {name: summarise(group) for name, group in sorted(groups.items())},
        "models": model_stats,
    }


def _plot_key(report: dict[str, Any]) -> str:
    """Hash of everything the plot shows."""
    from mmra.benchmark.schema import stable_hash

    shown = {name: {"n": row["n"], "flagged": row["flagged"], "chance": row["chance_accuracy"],
                    "acc": {m: v["qo_accuracy"] for m, v in row["models"].items()}}
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


def write_outputs(result: LeakageResult, out_dir: Path, *, plot: bool = True) -> dict[str, Path]:
    """Write every output to a temporary name first, then rename them all: a failure leaves nothing half
    written (and a previous complete run in `out_dir` untouched)."""
    import json

    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    suffix = f".tmp-{os.getpid()}"
    final = {
        "verdicts": out_dir / "verdicts.jsonl",
        "report": out_dir / "report.json",
        "flagged": out_dir / "flagged.jsonl",
        "samples": out_dir / "samples.jsonl",
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
