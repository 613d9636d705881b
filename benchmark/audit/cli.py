"""`mmra audit SOURCE --out DIR`: audit any benchmark, in its own files, for what its text alone gives away."""

from __future__ import annotations

from pathlib import Path

import typer

from mmra.errors import MMRAError, cli_errors
from mmra.output import labelled, literal_console

_console = literal_console()
_err = literal_console(stderr=True)


def _list(text: str | None) -> tuple[str, ...]:
    return tuple(p.strip() for p in (text or "").split(",") if p.strip())


@cli_errors
def audit_cmd(
    source: str = typer.Argument(..., help="The benchmark: a VLMEvalKit TSV, a JSON/JSONL/CSV/TSV/parquet file with any columns, MMRA-format data or a release, a datasets.save_to_disk folder, a local Hub snapshot folder, or a Hub dataset id."),
    out: Path = typer.Option(..., "--out", "-o", help="Output folder: report.md, report.json, verdicts.jsonl, leakage.png and, with --prune-to-chance, blind_proof.<ext>."),
    split: str = typer.Option(None, "--split", help="Split of a saved DatasetDict, a Hub snapshot or a Hub id."),
    question_column: str = typer.Option(None, "--question-column", help="Column holding the question (default: detected)."),
    answer_column: str = typer.Option(None, "--answer-column", help="Column holding the answer: a letter, the option text, an option index or yes/no."),
    task_column: str = typer.Option(None, "--task-column", help="Column naming each item's task (default: detected; none: the whole file is one task)."),
    id_column: str = typer.Option(None, "--id-column", help="Column holding the item id (default: detected; none: the row number)."),
    options_column: str = typer.Option(None, "--options-column", help="One column holding all options: a list, a dict, or a list/dict written as a string."),
    option_columns: str = typer.Option(None, "--option-columns", help="One column per option, in letter order, comma-separated (e.g. A,B,C,D)."),
    hint_column: str = typer.Option(None, "--hint-column", help="Text the model is given with the question (VLMEvalKit's hint)."),
    answer_index_base: int = typer.Option(0, "--answer-index-base", min=0, max=1, help="When answers are option numbers: 0 if the first option is 0, 1 if it is 1."),
    model: list[str] = typer.Option([], "--model", "-m", help="Adds the question-only LLM probes: NAME@BASE_URL\\[#ENVVAR] of an OpenAI-compatible endpoint, or an embedded local model name. Repeatable."),
    probe: str = typer.Option("circular,choices-only", "--probe", help="LLM probe kinds: circular (every option rotation, up to 10 options; yes/no both orders), choices-only (the options without the question, evidence only)."),
    every_rotation: bool = typer.Option(False, "--every-rotation", help="Ask every rotation of every LLM probe kind. By default a kind's rotations stop once its hit is decided (the first wrong answer): the same verdicts from fewer requests, with per-probe accuracy over each item's first probe."),
    samples_per_probe: int = typer.Option(1, "--samples-per-probe", min=1, help="K tries per LLM probe at --temperature (MMMU-Pro's sampled mode); right when more than half are."),
    temperature: float = typer.Option(0.0, "--temperature", min=0.0, help="Sampling temperature of the LLM probes."),
    max_hits: int = typer.Option(None, "--max-hits", min=0, help="Flag an item when MORE than this many models hit it (default floor(models/4))."),
    max_tokens: int = typer.Option(16, "--max-tokens", min=1, help="Tokens per LLM answer."),
    flag_probes: str = typer.Option("llm,learned", "--flag-probes", help="Which probes flag an item: llm, learned, answer_prior (comma-separated)."),
    blind_probes: str = typer.Option(None, "--blind-probes", help="Registered model-free probes to run (default: answer_prior,learned; `mmra audit --list-probes`)."),
    list_probes: bool = typer.Option(False, "--list-probes", help="List the registered blind probes and exit."),
    prune_to_chance: float = typer.Option(None, "--prune-to-chance", min=0.0, help="Write OUT/blind_proof.<ext>: drop flagged items, then prune (refit, remove, repeat) until every task's probes are within chance + EPS points."),
    folds: int = typer.Option(5, "--folds", min=2, help="k of the k-fold probes."),
    seed: int = typer.Option(0, "--seed", help="Seed of the folds and the learned probe."),
    embedder: str = typer.Option("auto", "--embedder", help="Sentence embeddings for the learned probe: auto (packaged all-MiniLM-L6-v2, offline), a local folder, or none (hand features only)."),
    cache: Path = typer.Option(None, "--cache", help="SQLite LLM response cache (default <paths.cache>/llm.sqlite)."),
    no_cache: bool = typer.Option(False, "--no-cache", help="Do not read or write the LLM cache."),
    concurrency: int = typer.Option(None, "--concurrency", min=1, help="LLM requests in flight per model (default \\[llm].concurrency)."),
    timeout: float = typer.Option(None, "--timeout", min=0.1, help="Seconds per LLM request (default \\[llm].timeout_s)."),
    keep_servers: bool = typer.Option(False, "--keep-servers", help="Leave local model servers started by this run running."),
    send_openai_key: bool = typer.Option(False, "--send-openai-key", help="Also send $OPENAI_API_KEY to endpoints other than api.openai.com that name no key of their own."),
    allow_insecure_http: bool = typer.Option(False, "--allow-insecure-http", help="Allow plain http to a host that is not loopback."),
    vlm: str = typer.Option(None, "--vlm", help="A VLM for the image probes (IQ, IQ-image1, IQ-image2, IQ-blank), as in `mmra leakage`: a model id or path, tiny:qwen2-vl, or NAME@BASE_URL with --vlm-backend openai. MMRA-shaped data only (two images per item)."),
    vlm_backend: str = typer.Option("hf", "--vlm-backend", help="Eval backend of --vlm: hf | vllm | openai."),
    vlm_batch_size: int = typer.Option(8, "--vlm-batch-size", min=1, help="Prompts per generate() call of --vlm."),
    one_image_rule: str = typer.Option("as-well", "--one-image-rule", help="When the image probes flag 'answerable from one image': as-well | any | off."),
) -> None:
    """Audit a benchmark you already use: which of its questions the text alone answers, per task, and (with
    --prune-to-chance) a subset at chance in the benchmark's own format."""
    from mmra.benchmark.leakage.blind import BlindSettings
    from mmra.benchmark.leakage.panel import PanelSettings, parse_flag_probes
    from mmra.benchmark.leakage.probe_registry import BLIND_PROBES, DEFAULT_PROBES
    from mmra.benchmark.leakage.run import LeakageSettings
    from mmra.llm.endpoints import ClientOptions

    from .columns import ColumnError, ColumnFlags
    from .run import AuditError, AuditOptions, run_audit

    if list_probes:
        for name in BLIND_PROBES.names():
            try:
                _console.print(f"{name}: {BLIND_PROBES.get(name).description}", highlight=False, markup=False)
            except ValueError as exc:
                _err.print(labelled("warning:", "yellow", exc), highlight=False)
        return
    chosen = _list(blind_probes) or DEFAULT_PROBES
    for name in chosen:
        BLIND_PROBES.get(name)  # unknown or broken: one line naming the choices
    opts = AuditOptions(
        source=source, out=out, split=split,
        columns=ColumnFlags(question=question_column, answer=answer_column, task=task_column, id=id_column,
                            hint=hint_column, options=options_column, option_columns=_list(option_columns),
                            answer_index_base=answer_index_base),
        models=list(model),
        settings=LeakageSettings(probes=_list(probe), max_hits=max_hits, samples_per_probe=samples_per_probe,
                                 temperature=temperature, max_tokens=max_tokens, one_image_rule=one_image_rule,
                                 every_rotation=every_rotation),
        blind=BlindSettings(folds=folds, seed=seed, embedder=None if embedder.lower() == "none" else embedder,
                            probes=chosen),
        panel=PanelSettings(flag_on=parse_flag_probes(flag_probes), prune_eps=prune_to_chance),
        clients=ClientOptions(keep_servers=keep_servers, send_openai_key=send_openai_key,
                              allow_insecure_http=allow_insecure_http, concurrency=concurrency, timeout_s=timeout),
        vlm_backend=vlm_backend, vlm_batch_size=vlm_batch_size,
    )
    llm = servers = None
    if vlm or model:
        from mmra.config import cli_config

        cfg = cli_config()  # read here, at the edge: the library gets plain values
    if vlm:
        from mmra.benchmark.leakage.vlm import vlm_backend_options

        opts.vlm, opts.vlm_options = vlm_backend_options(vlm, vlm_backend, llm=cfg.llm, cache_dir=cfg.paths.cache)
    if model:
        from mmra.llm.server import LocalServers

        llm, servers = cfg.llm, LocalServers.from_config(cfg)
        opts.clients.cache_path = None if no_cache else (cache or Path(cfg.paths.cache) / "llm.sqlite")

    def say(line: str) -> None:
        _err.print(labelled("note:", "yellow", line), highlight=False, soft_wrap=True)

    try:
        result = run_audit(opts, llm=llm, servers=servers, say=say)
    except (AuditError, ColumnError) as exc:
        raise MMRAError(str(exc)) from None
    from mmra.benchmark.leakage.report import blind_table, report_table

    if model:
        _console.print(report_table(result.report))
    if "image_probes" in result.report:
        from mmra.benchmark.leakage.report import image_table

        _console.print(image_table(result.report["image_probes"]))
    _console.print(blind_table(result.report))
    totals = result.report["totals"]
    _console.print(f"{totals['flagged']} of {totals['n']} items flagged as answerable from text alone; "
                   f"outputs in {out} ({', '.join(p.name for p in result.paths.values())})", highlight=False,
                   markup=False)
    if result.subset is not None:
        sub = result.report["audit"]["subset"]
        _console.print(f"blind-proof subset: {sub['kept']} of {sub['of']} items in {result.subset}", highlight=False,
                       markup=False)


def register(app: typer.Typer) -> None:
    app.command("audit")(audit_cmd)
