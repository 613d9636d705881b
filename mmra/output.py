"""How the toolkit prints to the terminal: everything it prints is data shown literally.

Messages name files, tasks, accounts and model outputs, any of which may hold text that rich would read as
markup (`[/x]` raises MarkupError, `[link=...]` hides the value, the toolkit's own `[llm]` vanishes) or as an
emoji code (`:cat:`). So the consoles parse neither, and styling is explicit:

    out = literal_console()
    err = literal_console(stderr=True)
    err.print(labelled("warning:", "yellow", message))   # style on the label, the message as written
    out.print(Text.assemble("serves at ", (url, "bold")))
"""

from __future__ import annotations

from rich.console import Console
from rich.text import Text


def literal_console(*, stderr: bool = False, **kwargs) -> Console:
    """A console that prints strings (and table cells and titles) exactly as given."""
    return Console(stderr=stderr, markup=False, emoji=False, **kwargs)


def labelled(label: str, style: str, message: object) -> Text:
    """`label` in `style`, a space, then `message` exactly as written."""
    return Text.assemble((label, style), " ", str(message))
