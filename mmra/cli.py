"""The `mmra` command line. Each stage adds its commands from its own `cli.py` (`register(app)`)."""

from __future__ import annotations

import importlib
import json
import sys

import typer
from rich.table import Table

from . import __version__
from .output import labelled, literal_console

app = typer.Typer(
    name="mmra",
    help="Build, annotate, leakage-filter, publish and evaluate multi-image relational-association benchmarks.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_show_locals=False,  # locals may hold tokens
)
console = literal_console()
err_console = literal_console(stderr=True)

# Stage command modules, in pipeline order. Each defines `register(app: typer.Typer)`.
STAGE_CLI_MODULES = (
    "mmra.curation.cli",
    "mmra.annotation.cli",
    "mmra.llm.cli",
    "mmra.benchmark.leakage.cli",
    "mmra.benchmark.audit.cli",
    "mmra.benchmark.release.cli",
    "mmra.eval.cli",
    "mmra.demo",
)


def _version_callback(value: bool) -> None:
    if value:
        console.print(f"mmra {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: bool = typer.Option(False, "--version", callback=_version_callback, is_eager=True,
                                 help="Show the version and exit."),
    config: str = typer.Option(None, "--config", envvar="MMRA_CONFIG", metavar="FILE",
                               help="mmra.toml to use for every command (default: $MMRA_CONFIG, else ./mmra.toml)."),
) -> None:
    """MMRA toolkit."""
    from .config import begin_command

    begin_command(config)  # read lazily by `cli_config()`: a command that needs no config never parses it


@app.command("subtasks")
def subtasks_cmd(as_json: bool = typer.Option(False, "--json", help="Print a JSON list instead of a table.")) -> None:
    """List the registered subtasks (built in and from installed packages)."""
    from mmra.benchmark.registry import all_subtasks, load_errors

    specs = all_subtasks()
    if as_json:
        sys.stdout.write(json.dumps([s.public_dict() for s in specs], indent=2) + "\n")
    else:
        table = Table(title=f"{len(specs)} subtasks")
        for col in ("name", "abbr", "level", "mined from", "QA types", "order-sensitive", "origin"):
            table.add_column(col)
        for s in specs:
            table.add_row(
                s.name, s.abbreviation, s.granularity.value,
                ", ".join(s.relations) or s.signal,
                ", ".join(q.value for q in s.qa_types),
                "yes" if s.order_sensitive else "no",
                s.origin,
            )
        console.print(table)
    for problem in load_errors():
        err_console.print(labelled("warning:", "yellow", problem))


def _register_stages() -> None:
    for module_name in STAGE_CLI_MODULES:
        try:
            module = importlib.import_module(module_name)
        except ModuleNotFoundError as exc:
            # a stage that is not part of this checkout; any other missing import is a real error
            if exc.name and module_name.startswith(exc.name):
                continue
            raise
        module.register(app)


_register_stages()


def main() -> None:
    app()


if __name__ == "__main__":
    main()
