"""The one way a package shows its public names: `TYPE_CHECKING` imports (what editors and type checkers see)
plus `lazy_exports`, which imports the module that holds a name on first use, so `mmra --help` does not load
pydantic, openai, torch or datasets.

    if TYPE_CHECKING:
        from .store import publish
    _EXPORTS = {"publish": ".store"}
    __all__ = sorted(_EXPORTS)
    __getattr__ = lazy_exports(__name__, _EXPORTS)
"""

from __future__ import annotations

from collections.abc import Callable
from importlib import import_module
from typing import Any


def lazy_exports(package: str, exports: dict[str, str]) -> Callable[[str], Any]:
    """A module `__getattr__` for `package`: name -> the (relative) module that defines it, or
    "module:attribute" when the public name differs from the one in the module."""

    def __getattr__(name: str) -> Any:
        if name in exports:
            module, _, attr = exports[name].partition(":")
            return getattr(import_module(module, package), attr or name)
        raise AttributeError(f"module {package!r} has no attribute {name!r}")

    return __getattr__
