"""The leakage stage as one library entry point: `leakage_stage(LeakageOptions(...))` reads the samples, runs the
VLM image probes (if asked), the question-only LLM probes through `mmra.llm.endpoints` and the model-free probe
panel, writes the outputs and records the image folders for the next stage. `mmra leakage` is a thin face over
it, and the demo calls it too.

    result = leakage_stage(LeakageOptions(samples="samples.jsonl", out=Path("leakage"), models=["qwen2.5-1.5b"]),
                           llm=cfg.llm, servers=LocalServers.from_config(cfg))
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mmra.errors import MMRAError
from mmra.llm.endpoints import ClientOptions

from .blind import BlindSettings
from .panel import PanelResult, PanelSettings
from .run import LeakageResult, LeakageSettings


@dataclass
class LeakageOptions:
    samples: Path  # Samples or MMRA-format JSONL/parquet, a release folder, a saved or Hub dataset
    out: Path
    models: list[str] = field(default_factory=list)  # NAME@URL[#ENVVAR] or embedded model names
    local: list[str] = field(default_factory=list)  # embedded model names only
    settings: LeakageSettings = field(default_factory=LeakageSettings)
    blind: BlindSettings = field(default_factory=BlindSettings)
    panel: PanelSettings = field(default_factory=PanelSettings)
    vlm: str | None = None  # image probes through the eval backends
    vlm_backend: str = "hf"
    vlm_options: dict[str, Any] = field(default_factory=dict)
    vlm_batch_size: int = 8
    clients: ClientOptions = field(default_factory=ClientOptions)  # cache, timeouts, keys, servers
    image_roots: Sequence[str | Path] = ()  # [paths].image_roots, for the record beside the outputs


@dataclass
class LeakageStageResult:
    result: LeakageResult
    panel: PanelResult
    paths: dict[str, Path]
    with_models: bool  # False: the model-free probes alone


def leakage_stage(opts: LeakageOptions, *, llm: Any = None, servers: Any = None,
                  say: Callable[[str], None] = lambda line: None) -> LeakageStageResult:
    """`llm` / `servers`: the `[llm]` settings and local model servers (read at the CLI edge); needed only with
    models. Raises MMRAError when interrupted (what was received is cached)."""
    from .load import load_samples
    from .panel import run_panel
    from .run import write_outputs

    specs = [*opts.models, *opts.local]
    data = load_samples(opts.samples)
    run_ref = str(opts.out / "verdicts.jsonl")
    llm_result = None
    if specs or opts.vlm:
        from mmra.llm.endpoints import parse_model_specs

        endpoints = parse_model_specs(list(opts.models), list(opts.local))
        image_probes = None
        if opts.vlm:  # before the LLMs: a VLM that cannot load fails before any LLM work
            from .vlm import run_image_probes

            image_probes = run_image_probes(opts.samples, model=opts.vlm, out_dir=opts.out / "vlm",
                                            backend=opts.vlm_backend, backend_options=dict(opts.vlm_options),
                                            batch_size=opts.vlm_batch_size,
                                            max_new_tokens=opts.settings.max_tokens, rule=opts.settings.one_image_rule)
        llm_result = probe_with_models(data, endpoints, opts.settings, llm=llm, servers=servers, clients=opts.clients,
                                       out=opts.out, image_probes=image_probes, say=say)
    panel = run_panel(data, llm_result, opts.blind, opts.panel, run_ref=run_ref)
    paths = write_outputs(panel.result, opts.out)
    record_stage_roots(opts.samples, opts.out, opts.image_roots)
    return LeakageStageResult(result=panel.result, panel=panel, paths=paths, with_models=llm_result is not None)


def probe_with_models(items: list, endpoints: list, settings: LeakageSettings, *, llm: Any, servers: Any,
                      clients: ClientOptions, out: Path, image_probes: dict[str, Any] | None = None,
                      say: Callable[[str], None] = lambda line: None) -> LeakageResult:
    """The question-only LLM probes of `items` (Samples or ProbeItems) with the run's clients (none: the image
    probes' evidence alone), merged with the image probes; an interruption is one line (what came is cached)."""
    from mmra.llm.endpoints import model_clients

    from .run import plan_probes, run_leakage

    plan = plan_probes(items, settings)
    with model_clients(endpoints, llm=llm, servers=servers, chains=plan.chains, decided=plan.decided, options=clients,
                       say=say) as opened:
        try:
            return run_leakage(items, opened, settings, run_ref=str(out / "verdicts.jsonl"), image_probes=image_probes,
                               plan=plan)
        except KeyboardInterrupt:
            cache = clients.cache_path
            where = f"; the answers received so far are cached in {cache}, re-run to resume" if cache else ""
            raise MMRAError(f"interrupted, nothing written to {out}{where}") from None


def record_stage_roots(source: Path, out: Path, configured: Sequence[str | Path] = ()) -> None:
    """samples.jsonl and flagged.jsonl name the input's images where they lie: record beside them the folders
    those may lie in (the one rule, applied to the input), so publish and revise, run from any folder, allow
    exactly these (`mmra.benchmark.images.recorded_roots`)."""
    from mmra.benchmark.images import allowed_roots, record_roots

    source = Path(source)
    local = source if source.exists() else None  # a Hub dataset has no folder of its own
    roots = allowed_roots(local, configured=configured)
    record_roots([out / "samples.jsonl", out / "flagged.jsonl"], roots, written_by="mmra leakage",
                 source=str(source.resolve()) if local else str(source))
