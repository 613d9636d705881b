"""Image probes with a VLM, through the eval runner and its backends (hf, openai, vllm): every sample is asked
under IQ (both images), IQ-image1 and IQ-image2 (one image alone, labelled) and IQ-blank (grey images, MMStar's
S_wv). A sample the VLM answers from one image as well as from both does not test association between the two
images: it is flagged "answerable from one image" (the rule is `method.answerable_from_one_image`).

Each setting is an ordinary eval run folder under `OUT/vlm/<setting>/` (predictions.jsonl, run.json), so a
killed run resumes and `mmra score` reads them like any other run. The evidence is read from the answers as
`evaluate` scored them from its typed items; no prediction file is parsed again.
"""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mmra.benchmark.schema import Sample

from .method import IMAGE_SETTINGS, answerable_from_one_image, chance_accuracy, wilson

if TYPE_CHECKING:  # the eval package is imported only when image probes run
    from mmra.eval.scoring import ScoredItem


def vlm_backend_options(vlm: str, backend: str, *, llm: Any = None, cache_dir: Any = None) -> tuple[str, dict[str, Any]]:
    """`--vlm` as (model, backend options): `NAME@BASE_URL` gives the openai backend its endpoint, other backends
    take the model as is; the options come through the backends' own path (`eval.backends.backend_options`),
    with the `[llm]` settings for a backend that takes them (read at the CLI edge, passed as values)."""
    from mmra.eval.backends import backend_options

    name, sep, url = vlm.partition("@http")
    flags = {"base_url": "http" + url} if backend == "openai" and sep else {}
    return (name if flags else vlm), backend_options(backend, flags, llm=llm, cache_dir=cache_dir)


def run_image_probes(dataset: str | Path, *, model: str, out_dir: str | Path, backend: Any = "hf",
                     backend_options: dict[str, Any] | None = None, batch_size: int = 8, max_new_tokens: int = 16,
                     profile: str = "default", rule: str = "as-well", show_progress: bool = True) -> dict[str, Any]:
    """Run the four image settings over `dataset` (one backend, loaded once) and return the evidence."""
    from mmra.eval.backends import Backend, make_backend
    from mmra.eval.runner import evaluate

    engine = backend if isinstance(backend, Backend) else make_backend(backend, model, **(backend_options or {}))
    answers: dict[str, list[ScoredItem]] = {}
    for setting in IMAGE_SETTINGS:
        result = evaluate(dataset, model=model, backend=engine, setting=setting, out=Path(out_dir) / setting,
                          batch_size=batch_size, max_new_tokens=max_new_tokens, profile=profile, score_after=False,
                          show_progress=show_progress)
        answers[setting] = result.run.items if result.run is not None else []
    return image_probe_evidence(answers, rule=rule, model=engine.model_id or model, backend=engine.name)


def image_probe_evidence(answers: dict[str, list[ScoredItem]], *, rule: str, model: str,
                         backend: str | None = None) -> dict[str, Any]:
    """Per sample: right or not under each image setting (None: no usable answer, e.g. a missing image),
    what the VLM answered, and the one-image flag. `answers`: setting -> the eval run's scored answers."""
    answerable_from_one_image({}, rule)  # an unknown rule fails before any work
    per_sample: dict[str, dict[str, Any]] = defaultdict(lambda: {"correct": {}, "answers": {}})
    for setting, scored_items in answers.items():
        for scored in scored_items:
            if scored.variant != "orig":
                continue
            entry = per_sample[scored.sample_id]
            usable = scored.status != "error"
            entry["correct"][setting] = scored.correct if usable else None
            entry["answers"][setting] = scored.extracted
    samples = {}
    for sid, entry in per_sample.items():
        correct = {s: entry["correct"].get(s) for s in IMAGE_SETTINGS}
        samples[sid] = {"correct": correct, "answers": entry["answers"], "rule": rule,
                        "missing": [s for s, c in correct.items() if c is None],
                        "one_image": answerable_from_one_image(correct, rule)}
    return {"model": model, "backend": backend, "rule": rule, "settings": list(IMAGE_SETTINGS), "samples": samples}


def image_probe_report(samples: list[Sample], image_probes: dict[str, Any], rule: str) -> dict[str, Any]:
    """Per subtask: n, chance, the VLM's accuracy under each image setting (95 % Wilson interval), the
    multi-modal gain MG = S(IQ) - S(IQ-blank), and how many samples one image answers."""
    evidence = image_probes["samples"]
    groups: dict[str, list[Sample]] = defaultdict(list)
    for s in samples:
        groups[s.subtask].append(s)

    def summarise(group: list[Sample]) -> dict[str, Any]:
        rows = [evidence.get(s.id) for s in group]
        out: dict[str, Any] = {"n": len(group),
                               "chance_accuracy": round(sum(chance_accuracy(s) for s in group) / len(group), 4)}
        accuracy = {}
        for setting in image_probes["settings"]:
            right = sum(bool(r and r["correct"].get(setting)) for r in rows)
            accuracy[setting] = {"accuracy": round(right / len(group), 4), "ci95": wilson(right, len(group)),
                                 "missing": sum(not r or r["correct"].get(setting) is None for r in rows)}
        out["settings"] = accuracy
        if "IQ" in accuracy and "IQ-blank" in accuracy:
            out["multimodal_gain"] = round(accuracy["IQ"]["accuracy"] - accuracy["IQ-blank"]["accuracy"], 4)
        flagged = sum(bool(r and r["one_image"]) for r in rows)
        out["one_image"] = flagged
        out["one_image_rate"] = round(flagged / len(group), 4)
        return out

    return {"model": image_probes["model"], "backend": image_probes.get("backend"), "rule": rule,
            "totals": summarise(samples), "subtasks": {name: summarise(g) for name, g in sorted(groups.items())}}
