"""`mmra demo`: the whole pipeline end to end on the project's embedded, generated default data."""

from __future__ import annotations

import typer


def register(app: typer.Typer) -> None:
    from .cli import demo_cmd

    app.command("demo")(demo_cmd)
