"""One small registry for everything a package can add: built-ins named by "module:attr" (imported only when
used, so the CLI starts without torch or scikit-learn), plug-ins through an entry-point group, and each broken
plug-in reported as one line instead of a traceback.

    PROBES = Registry("blind probe", "mmra.blind_probes", {"learned": "mmra.benchmark.leakage.probes:LearnedProbe"})
    PROBES.names()          # built-ins first, then installed plug-ins
    PROBES.get("learned")   # the loaded object; KeyError-free: unknown names raise PluginError with the choices
"""

from __future__ import annotations

from collections.abc import Callable
from functools import cached_property
from importlib import import_module
from importlib.metadata import EntryPoint, entry_points
from typing import Any


class PluginError(ValueError):
    """An unknown name or a plug-in that cannot load; the message is one line naming both."""


def load_reference(reference: str) -> Any:
    """The object a "module:attr" reference names."""
    module, _, attr = reference.partition(":")
    obj: Any = import_module(module)
    for part in attr.split(".") if attr else ():
        obj = getattr(obj, part)
    return obj


class Registry:
    """Named objects of one kind. `check(obj)` returns an error text for an object of the wrong kind (or None)."""

    def __init__(self, kind: str, group: str, builtins: dict[str, Any],
                 check: Callable[[Any], str | None] | None = None) -> None:
        """`builtins`: name -> "module:attr" (imported on first use) or the object itself."""
        self.kind, self.group, self.builtins, self._check = kind, group, dict(builtins), check
        self._loaded: dict[str, Any] = {}
        self.load_errors: list[str] = []

    @cached_property
    def _plugins(self) -> dict[str, EntryPoint]:
        return {ep.name: ep for ep in entry_points(group=self.group) if ep.name not in self.builtins}

    def names(self) -> list[str]:
        """Built-ins in their own order, then those installed packages registered, sorted."""
        return [*self.builtins, *sorted(self._plugins)]

    def get(self, name: str) -> Any:
        if name in self._loaded:
            return self._loaded[name]
        if name in self.builtins:
            ref = self.builtins[name]
            obj, where = (load_reference(ref), ref) if isinstance(ref, str) else (ref, "built in")
        elif name in self._plugins:
            ep = self._plugins[name]
            where = f"entry point {ep.value}"
            try:
                obj = ep.load()
            except Exception as exc:  # a broken plug-in: one line, not a traceback
                message = f"{self.kind} {name!r} ({where}) cannot be loaded: {' '.join(str(exc).split()) or type(exc).__name__}"
                self.load_errors.append(message)
                raise PluginError(message) from None
        else:
            raise PluginError(f"unknown {self.kind} {name!r}; choose one of {', '.join(self.names())}")
        problem = self._check(obj) if self._check else None
        if problem:
            message = f"{self.kind} {name!r} ({where}) {problem}"
            self.load_errors.append(message)
            raise PluginError(message)
        self._loaded[name] = obj
        return obj

    def plugins(self) -> list[tuple[str, str, Any]]:
        """(entry-point name, its reference, the loaded object) of every plug-in that loads, built-ins excluded;
        for registries whose objects carry their own names (subtasks). The others are in `load_errors`."""
        out = []
        for name, ep in sorted(self._plugins.items()):
            try:
                out.append((name, ep.value, ep.load()))
            except Exception as exc:  # a broken plug-in must not take the toolkit down
                self.load_errors.append(f"entry point {name!r} ({ep.value}) of group {self.group}: {exc}")
        return out

    def load_all(self) -> dict[str, Any]:
        """Every object that loads; the others are in `load_errors`."""
        out = {}
        for name in self.names():
            try:
                out[name] = self.get(name)
            except PluginError:
                continue
        return out
