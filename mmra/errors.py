"""Turning expected failures into one clear line and a non-zero exit, instead of a traceback."""

from __future__ import annotations

import errno
import functools
from collections.abc import Callable
from typing import Any

import typer

from .output import labelled, literal_console

_err = literal_console(stderr=True)


class MMRAError(Exception):
    """A failure the user can fix (bad input, unreachable service, ...). The message says what and why."""


def path_problem(exc: OSError) -> str | None:
    """One line for a path the file system refuses as given (a name over 255 bytes, a symlink loop), shown
    shortened; None for other OS errors."""
    causes = {errno.ENAMETOOLONG: "a name in it is longer than the file system allows (255 bytes)",
              errno.ELOOP: "it runs into a loop of symbolic links"}
    if exc.errno not in causes:
        return None
    name = None if exc.filename is None else str(exc.filename)
    if name is None:
        return f"a path given cannot be used: {causes[exc.errno]}"
    shown = repr(name) if len(name) <= 100 else f"{name[:60]!r}...{name[-20:]!r} ({len(name)} characters)"
    return f"path {shown} cannot be used: {causes[exc.errno]}"


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
        except OSError as exc:  # a 300-character name or a symlink loop given as a path: bad input, one line
            problem = path_problem(exc)
            if problem is None:
                raise
            _err.print(labelled("error:", "bold red", problem), highlight=False, soft_wrap=True)
            raise typer.Exit(2) from None

    return wrapper
