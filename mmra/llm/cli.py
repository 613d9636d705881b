"""`mmra llm ...`: the embedded local LLM server ([llm].runtime: xllamacpp or llama-cpp-python) for the leakage
filter and the demo."""

from __future__ import annotations

import typer
from rich.table import Table
from rich.text import Text

from mmra.errors import cli_errors
from mmra.output import literal_console

llm_app = typer.Typer(help="Local text LLMs (GGUF models from PyPI) behind an OpenAI-compatible server.",
                      no_args_is_help=True)
_console = literal_console()


@llm_app.command("serve")
@cli_errors
def serve_cmd(
    model: str = typer.Option(None, "--model", "-m", help="Local model name (default: \\[llm].default_model)."),
    port: int = typer.Option(None, "--port", help="Port on 127.0.0.1 (default: \\[llm].port, or a free one)."),
    stop: bool = typer.Option(False, "--stop", help="Stop the server this toolkit started for the model."),
) -> None:
    """Start (or reuse) the local OpenAI-compatible server for a model, or stop it with --stop."""
    from mmra.config import cli_config

    from .server import LocalServers, ensure_server, stop_server_for

    cfg = cli_config()
    servers = LocalServers.from_config(cfg)
    name = model or cfg.llm.default_model
    if stop:
        was = stop_server_for(name, servers)
        _console.print(f"{name}: {'stopped' if was else 'was not running'}")
        return
    url = ensure_server(name, servers=servers, port=port)
    _console.print(Text.assemble(f"{name} serves at ", (url, "bold"), f" (OpenAI API; model name {name!r}); stop "
                                 f"with `mmra llm serve --model {name} --stop`"))


@llm_app.command("models")
@cli_errors
def models_cmd() -> None:
    """List the local models: packages installed, GGUF assembled, server running."""
    from mmra.config import cli_config

    from .models import describe_models
    from .server import LocalServers, running

    servers = LocalServers.from_config(cli_config())
    table = Table(title="local LLMs")
    for col in ("name", "description", "packages", "assembled", "server"):
        table.add_column(col)
    for row in describe_models(servers.models_dir):
        state = running(row["name"], servers)
        table.add_row(row["name"], row["description"], row["packages"], row["assembled"],
                      state.url if state else "-")
    _console.print(table)
    slots = f", {servers.slots} parallel slots" if servers.runtime == "xllamacpp" else ", one request at a time"
    _console.print(f"runtime: {servers.runtime}{slots} ([llm].runtime, [llm].concurrency)")


def register(app: typer.Typer) -> None:
    app.add_typer(llm_app, name="llm")
