"""The `mmra demo` command."""

from __future__ import annotations

from pathlib import Path

import typer

from mmra.errors import cli_errors


@cli_errors
def demo_cmd(
    workspace: Path = typer.Option(Path("mmra-workspace/demo"), "--workspace", "-w",
                                   help="Folder for everything the demo makes (created; reused on a re-run)."),
    model: str = typer.Option(None, "--model",
                              help="Also evaluate the IQ setting (images + question) with this Hugging Face VLM "
                                   "id or local path, on the hf backend."),
    fresh: bool = typer.Option(False, "--fresh", help="Delete an earlier demo workspace first and start over."),
    llm: str = typer.Option("qwen2.5-1.5b", "--llm",
                            help="Embedded local text model for the leakage filter and the QO/DQ evaluation "
                                 "(smollm2-135m, qwen2.5-0.5b, qwen2.5-1.5b)."),
    per_subtask: int = typer.Option(7, "--per-subtask", min=1, help="Candidates curated per subtask."),
    eval_limit: int = typer.Option(None, "--eval-limit", min=1, help="Evaluate only the first N samples."),
    keep_serving: bool = typer.Option(False, "--keep-serving",
                                      help="Leave Label Studio running at the end (to browse the tasks)."),
    port: int = typer.Option(None, "--port", help="Label Studio port on 127.0.0.1 (default: a free one if "
                                                  "label_studio.port is taken)."),
    batch_size: int = typer.Option(4, "--batch-size", min=1, help="Batch size of the --model (IQ) evaluation."),
) -> None:
    """Run every stage on the embedded demo data: curate, annotate (Label Studio, scripted annotators), leakage
    probe panel (local LLM + model-free probes), scripted revision of the flagged samples and a re-check, publish
    0.1.0 through the release gate, evaluate QO/DQ (and IQ with --model)."""
    from mmra.config import cli_config

    from .run import DemoOptions, run_demo

    run_demo(DemoOptions(workspace=workspace, model=model, fresh=fresh, llm=llm, per_subtask=per_subtask,
                         eval_limit=eval_limit, keep_serving=keep_serving, port=port, batch_size=batch_size,
                         config=cli_config()))
