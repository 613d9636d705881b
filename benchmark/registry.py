"""The subtask registry. The 11 MMRA subtasks are built in (`subtasks.py`); a researcher adds one by
registering a `Subtask` object from their own installed package through the entry-point group
`mmra.subtasks` (the entry point names a `Subtask`, a list of them, or a function returning either):

    [project.entry-points."mmra.subtasks"]
    color_match = "my_pkg.subtasks:COLOR_MATCH"
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from mmra.plugins import Registry

from .subtask_spec import Subtask, SwapRule
from .subtasks import BUILTIN_SUBTASKS
from .vocabulary import Granularity

__all__ = ["ENTRY_POINT_GROUP", "REGISTRY", "Subtask", "SwapRule", "all_subtasks", "get_subtask", "load_errors",
           "register_subtask", "subtask", "subtask_names"]

ENTRY_POINT_GROUP = "mmra.subtasks"

class _Registry:
    def __init__(self) -> None:
        self._items: dict[str, Subtask] = {}
        self._entry_points_loaded = False
        self.builtins_loaded = False
        self.load_errors: list[str] = []

    def register(self, spec: Subtask, *, replace: bool = False) -> Subtask:
        if not isinstance(spec, Subtask):
            raise TypeError(f"register_subtask expects a Subtask, got {type(spec).__name__}")
        for other in self._items.values():
            if other.name == spec.name and not replace:
                raise ValueError(f"subtask {spec.name!r} is already registered (from {other.origin})")
            if other.abbreviation == spec.abbreviation and other.name != spec.name:
                raise ValueError(
                    f"abbreviation {spec.abbreviation!r} of subtask {spec.name!r} is already used by {other.name!r}"
                )
        self._items[spec.name] = spec
        return spec

    def _load_entry_points(self) -> None:
        if self._entry_points_loaded:
            return
        self._entry_points_loaded = True
        plugins = Registry("subtask", ENTRY_POINT_GROUP, {})  # the one plug-in loader (mmra.plugins)
        for name, value, obj in plugins.plugins():
            try:
                if callable(obj) and not isinstance(obj, Subtask):
                    obj = obj()
                specs = [obj] if isinstance(obj, Subtask) else list(obj)
                for spec in specs:
                    if spec.origin == "builtin":
                        spec = spec.model_copy(update={"origin": f"entry point {name} ({value})"})
                    if spec.name in self._items and self._items[spec.name].origin == spec.origin:
                        continue
                    self.register(spec)
            except Exception as exc:  # one broken plugin must not take the toolkit down
                self.load_errors.append(f"entry point {name!r} ({value}) of group {ENTRY_POINT_GROUP}: {exc}")
        self.load_errors.extend(plugins.load_errors)

    def all(self) -> list[Subtask]:
        self._load_entry_points()
        return list(self._items.values())

    def get(self, name: str) -> Subtask:
        self._load_entry_points()
        if name in self._items:
            return self._items[name]
        for spec in self._items.values():  # accept abbreviations and case differences
            if name.casefold() in (spec.name.casefold(), spec.abbreviation.casefold()):
                return spec
        known = ", ".join(self._items)
        raise KeyError(f"unknown subtask {name!r}; known subtasks: {known}")


REGISTRY = _Registry()


def register_subtask(spec: Subtask, *, replace: bool = False) -> Subtask:
    return REGISTRY.register(spec, replace=replace)


def subtask(**fields: Any) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Decorator: register a subtask together with its candidate miner.

    @subtask(name="ColorMatch", abbreviation="CM", granularity="entity", definition="...")
    def mine_color_match(context, quota, rng): ...
    """

    def wrap(fn: Callable[..., Any]) -> Callable[..., Any]:
        register_subtask(Subtask(miner=fn, **fields))
        return fn

    return wrap


def get_subtask(name: str) -> Subtask:
    _ensure_builtins()
    return REGISTRY.get(name)


def all_subtasks(granularity: Granularity | str | None = None) -> list[Subtask]:
    _ensure_builtins()
    items = REGISTRY.all()
    if granularity is not None:
        items = [s for s in items if s.granularity == Granularity(granularity)]
    return items


def subtask_names() -> list[str]:
    return [s.name for s in all_subtasks()]


def load_errors() -> Iterable[str]:
    return list(REGISTRY.load_errors)


def _ensure_builtins() -> None:
    if not REGISTRY.builtins_loaded:
        REGISTRY.builtins_loaded = True
        for spec in BUILTIN_SUBTASKS:  # the 11 MMRA subtasks, before any plug-in
            REGISTRY.register(spec, replace=True)
