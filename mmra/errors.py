"""Turning expected failures into one clear line and a non-zero exit, instead of a traceback."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

import typer

from .output import labelled, literal_console

_err = literal_console(stderr=True)


class MMRAError(Exception):
    """A failure the user can fix (bad input, unreachable service, ...). The message says what and why."""


def cli_errors(fn: Callable[..., Any]) -> Callable[..., Any]:
    """Decorator for CLI commands: expected errors print one line and exit with code 1 (2 for bad input).
    The message is printed literally (never as rich markup) and unwrapped."""
    # SchemaError (a bad record) is a ValueError; importing it here would load pydantic at CLI start

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except (ValueError, FileNotFoundError, IsADirectoryError, NotADirectoryError, PermissionError) as exc:
            _err.print(labelled("error:", "bold red", exc), highlight=False, soft_wrap=True)
            raise typer.Exit(2) from None
        except MMRAError as exc:
            _err.print(labelled("error:", "bold red", exc), highlight=False, soft_wrap=True)
            raise typer.Exit(1) from None

    return wrapper
