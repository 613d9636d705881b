"""`mmra eval`, `mmra score`, `mmra describe`."""

from __future__ import annotations

import json
from pathlib import Path

import typer

from mmra.errors import MMRAError, cli_errors
from mmra.output import literal_console

_console = literal_console()
_err = literal_console(stderr=True)


_BACKEND_OPTION_HELP = ("KEY=VALUE passed to the backend's constructor (VALUE read as JSON when it is JSON); "
                        "any backend, built in or a plug-in; repeat for more. Wins over the named flags.")


def _backend_options(backend: str, flags: dict, backend_option: list[str]) -> dict:
    """The flags the backend declares, `--backend-option` pairs, and the `[llm]` settings for a backend that
    takes them (read here, at the edge: the backend gets plain values)."""
    from .backends import backend_class, backend_options, parse_backend_option

    extra = dict(parse_backend_option(text) for text in backend_option)
    llm = cache_dir = None
    if backend_class(backend).takes_llm_settings:
        from mmra.config import cli_config

        cfg = cli_config()
        llm, cache_dir = cfg.llm, cfg.paths.cache
    return backend_options(backend, flags, extra, llm=llm, cache_dir=cache_dir)


_IMAGE_ROOT_HELP = ("A folder the dataset's image files may lie in (default: \\[paths].image_roots and the folders "
                    "recorded in a curation_report.json beside the dataset, else the dataset's own folder); "
                    "repeat for more. Images embedded in the dataset need none.")


def _image_roots(dataset: str, flags: list[Path]) -> tuple[Path, ...]:
    """The folders image files named by `dataset` may lie in: the rule curate, push, revise and publish use
    (`mmra.benchmark.images.allowed_roots`); a Hub dataset has no folder of its own."""
    from mmra.benchmark.images import allowed_roots
    from mmra.benchmark.release.refs import split_ref
    from mmra.config import cli_config

    local = Path(split_ref(dataset)[0]).expanduser()
    return allowed_roots(local if local.exists() else None, flags=flags,
                         configured=cli_config().paths.image_roots)


@cli_errors
def eval_cmd(
    dataset: str = typer.Option(..., "--dataset", help="Release folder, parquet/JSONL file, or Hub repo REPO\\[@REV]."),
    model: str = typer.Option(..., "--model", help="Model id or path; tiny:qwen2-vl / tiny:smolvlm build a tiny "
                                                   "random VLM offline."),
    out: Path = typer.Option(..., "--out", help="Run folder: predictions.jsonl, run.json, scores.json, scores.png."),
    backend: str = typer.Option("hf", "--backend", help="hf | vllm | openai, or a backend a package registers (entry points mmra.backends)."),
    setting: str = typer.Option("IQ", "--setting", help="IQ (images+question), DQ (descriptions+question), "
                                                        "IDQ (both), QO (question only); image probes: IQ-blank "
                                                        "(grey images), IQ-image1 / IQ-image2 (one image alone)."),
    batch_size: int = typer.Option(8, "--batch-size", min=1, help="Prompts per generate() call."),
    swap_images: bool = typer.Option(False, "--swap-images", help="Also ask order-sensitive subtasks with the "
                                                                  "images swapped (gold flipped per the registry)."),
    circular: bool = typer.Option(False, "--circular", help="CircularEval: ask every rotation of the options."),
    max_new_tokens: int = typer.Option(16, "--max-new-tokens", min=1),
    limit: int | None = typer.Option(None, "--limit", min=1, help="Only the first N samples."),
    profile: str = typer.Option("default", "--profile", help="Prompt profile: default | paper (the official "
                                                             "script's prompts)."),
    descriptions: Path | None = typer.Option(None, "--descriptions", help="Descriptions JSONL from `mmra "
                                                                          "describe` (DQ/IDQ)."),
    blank_images: bool = typer.Option(False, "--blank-images", help="Grey images instead of the real ones "
                                                                    "(MMStar's S_wv run; setting IQ-blank)."),
    revision: str | None = typer.Option(None, "--revision", help="Dataset revision (Hub tag/sha or release "
                                                                 "version)."),
    device: str | None = typer.Option(None, "--device", help="hf: cpu | cuda | cuda:N (default: cuda if present)."),
    dtype: str | None = typer.Option(None, "--dtype", help="bfloat16 | float16 | float32 (default: bf16 on GPU, "
                                                           "fp32 on CPU)."),
    device_map: str | None = typer.Option(None, "--device-map", help="hf: e.g. 'auto' to spread a large model "
                                                                     "over the visible GPUs."),
    data_parallel: int = typer.Option(1, "--data-parallel", min=1, help="Worker processes, one per GPU (or per "
                                                                        "--tensor-parallel group)."),
    tensor_parallel: int = typer.Option(1, "--tensor-parallel", min=1, help="vllm: GPUs per model replica."),
    choice_decoding: bool = typer.Option(False, "--choice-decoding", help="vllm: constrain the answer to the "
                                                                          "valid letters / Yes / No."),
    max_model_len: int | None = typer.Option(None, "--max-model-len", help="vllm: context length."),
    base_url: str | None = typer.Option(None, "--base-url", help="openai: the API base URL (default: the "
                                                                 "configured local server)."),
    api_key_env: str | None = typer.Option(None, "--api-key-env", help="openai: environment variable holding "
                                                                      "this endpoint's key (default: "
                                                                      "$OPENAI_API_KEY for api.openai.com only)."),
    concurrency: int | None = typer.Option(None, "--concurrency", help="openai: requests in flight."),
    trust_remote_code: bool = typer.Option(False, "--trust-remote-code", help="hf/vllm: allow model code from "
                                                                              "the checkpoint."),
    image_root: list[Path] = typer.Option([], "--image-root", help=_IMAGE_ROOT_HELP),
    backend_option: list[str] = typer.Option([], "--backend-option", help=_BACKEND_OPTION_HELP),
) -> None:
    """Run a VLM over a dataset (batched, resumable), then score it."""
    from .backends import backend_names
    from .items import check_setting
    from .report import print_tables
    from .runner import EvalOptions, evaluate

    if backend not in backend_names():  # before any data is read
        raise MMRAError(f"unknown backend {backend!r}; choose one of {', '.join(backend_names())}")
    options = _backend_options(backend, {
        "device": device, "dtype": dtype, "device_map": device_map, "tensor_parallel": tensor_parallel,
        "base_url": base_url, "api_key_env": api_key_env, "concurrency": concurrency,
        "choice_decoding": choice_decoding, "max_model_len": max_model_len,
        "trust_remote_code": trust_remote_code or None}, backend_option)
    result = evaluate(EvalOptions(
        dataset, model=model, out=out, backend=backend, setting=check_setting(setting), batch_size=batch_size,
        swap_images=swap_images, circular=circular, max_new_tokens=max_new_tokens, limit=limit, profile=profile,
        descriptions=descriptions, blank_images=blank_images, backend_options=options,
        data_parallel=data_parallel, gpus_per_worker=tensor_parallel if backend == "vllm" else 1,
        revision=revision, image_roots=_image_roots(dataset, image_root),
    ))
    if result.scores is not None:
        print_tables(result.scores)
    failed = f", {len(result.errors)} failed rows counted wrong (see {out / 'problems.txt'})" if result.errors else ""
    skipped = f", {len(result.problems)} unreadable dataset rows skipped" if result.problems else ""
    _err.print(f"{result.n_items} items ({result.n_new} new){failed}{skipped}. Predictions: {result.predictions}; "
               f"scores: {out / 'scores.json'}; plot: {out / 'scores.png'}", highlight=False)


@cli_errors
def score_cmd(
    predictions: list[Path] = typer.Argument(..., help="Predictions JSONL file(s): lines with id, Task, QA_type, "
                                                       "options, answer, response."),
    out: Path | None = typer.Option(None, "--out", help="Write scores.json, scored.jsonl, scores.png here."),
    text_base: str | None = typer.Option(None, "--text-base", help="Run label or model of the text-only LLM base "
                                                                   "for MMStar's ML (default: the same model's QO "
                                                                   "run)."),
    bootstrap: int = typer.Option(1000, "--bootstrap", min=0, help="Bootstrap resamples for the 95% CIs."),
    as_json: bool = typer.Option(False, "--json", help="Print scores.json to stdout instead of tables."),
) -> None:
    """Re-score saved predictions (ours or converted from another harness)."""
    from .report import print_tables, write_report
    from .scoring import score_runs

    result, runs = score_runs(predictions, text_base=text_base, bootstrap=bootstrap)
    if out is not None:
        write_report(result, runs, out)
    if as_json:
        _console.print_json(json.dumps(result))
    else:
        print_tables(result)
    if out is not None:
        _err.print(f"scores: {out / 'scores.json'}; plot: {out / 'scores.png'}", highlight=False)


@cli_errors
def describe_cmd(
    dataset: str = typer.Option(..., "--dataset", help="Release folder, parquet/JSONL file, or Hub repo REPO\\[@REV]."),
    model: str = typer.Option(..., "--model", help="Captioning model (any backend)."),
    out: Path = typer.Option(..., "--out", help="Descriptions JSONL to write (id, description1, description2)."),
    backend: str = typer.Option("hf", "--backend", help="hf | vllm | openai, or a backend a package registers (entry points mmra.backends)."),
    batch_size: int = typer.Option(8, "--batch-size", min=1),
    max_new_tokens: int = typer.Option(64, "--max-new-tokens", min=1),
    limit: int | None = typer.Option(None, "--limit", min=1),
    device: str | None = typer.Option(None, "--device"),
    dtype: str | None = typer.Option(None, "--dtype"),
    base_url: str | None = typer.Option(None, "--base-url"),
    api_key_env: str | None = typer.Option(None, "--api-key-env"),
    image_root: list[Path] = typer.Option([], "--image-root", help=_IMAGE_ROOT_HELP),
    backend_option: list[str] = typer.Option([], "--backend-option", help=_BACKEND_OPTION_HELP),
) -> None:
    """Caption every image (for the DQ / IDQ settings); resumable."""
    from .captions import describe

    options = _backend_options(backend, {
        "device": device, "dtype": dtype, "device_map": None, "tensor_parallel": 1, "base_url": base_url,
        "api_key_env": api_key_env, "concurrency": None, "choice_decoding": False, "max_model_len": None,
        "trust_remote_code": None}, backend_option)
    result = describe(dataset, model=model, out=out, backend=backend, batch_size=batch_size,
                      max_new_tokens=max_new_tokens, limit=limit, backend_options=options,
                      roots=_image_roots(dataset, image_root))
    _err.print(f"described {result.n_described} of {result.n_samples} samples -> {result.path}"
               + (f" ({len(result.errors)} not described)" if result.errors else ""), highlight=False)


@cli_errors
def tiny_model_cmd(
    arch: str = typer.Argument(..., help="qwen2-vl | smolvlm | idefics3 | llava"),
    out: Path = typer.Option(..., "--out", help="Folder to write the model into (config, weights, processor, "
                                                "chat template)."),
) -> None:
    """Write a tiny random VLM as a normal model folder (for wiring tests of lmms-eval, VLMEvalKit, ...)."""
    from .tiny import save_tiny

    files = save_tiny(arch, out)
    _err.print(f"tiny:{arch} -> {out} ({', '.join(files)})", highlight=False)


def register(app: typer.Typer) -> None:
    app.command("eval")(eval_cmd)
    app.command("score")(score_cmd)
    app.command("describe")(describe_cmd)
    app.command("tiny-model")(tiny_model_cmd)
