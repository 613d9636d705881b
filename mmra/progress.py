"""One look for long work: a rich progress bar (to stderr, so stdout stays machine-readable)."""

from __future__ import annotations

from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    SpinnerColumn,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)

from .output import literal_console

stderr_console = literal_console(stderr=True)


def progress_bar(*, transient: bool = False, disable: bool = False) -> Progress:
    """Usage: `with progress_bar() as p: task = p.add_task("mining", total=n); p.advance(task)`."""
    return Progress(
        SpinnerColumn(),
        TextColumn("{task.description}", style="bold", markup=False),  # descriptions name models and files
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
        console=stderr_console,
        transient=transient,
        disable=disable,
    )
