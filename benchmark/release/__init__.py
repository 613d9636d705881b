"""Versioned releases of a benchmark: immutable local store, Hub publishing, data cards, diffs, lmms-eval export.

Public API:
    publish(samples, version, store, *, name="mmra", repo_id=None, cards_dir=None, ...) -> PublishResult
    load_release(path_or_repo, revision=None) -> datasets.Dataset
    build_dataset(samples, version="0.0.0-dev") -> datasets.Dataset   (in memory, nothing written)
    resolve_local(ref, revision=None) -> LocalRelease | None
    ReleaseStore(root).names() / .versions(name) / .manifest(name, version) / .latest(name)
    diff_indexes(...), index_of(ref) for `mmra diff`
    push_release(version_dir, repo_id, private=False)

Names are imported on first use (`datasets` is heavy), so the `mmra` CLI starts fast.
"""

from __future__ import annotations

import importlib
from typing import Any

_EXPORTS = {
    "ReleaseDiff": "diff", "diff_indexes": "diff",
    "ReleaseConflictError": "errors", "ReleaseInputError": "errors", "ReleaseNotFoundError": "errors",
    "LocalRelease": "load", "load_release": "load", "resolve_local": "load",
    "FEATURES": "rows", "MMRA_COLUMNS": "rows",
    "parse_version": "semver",
    "PublishResult": "store", "ReleaseStore": "store", "build_dataset": "store", "publish": "store",
}
__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        return getattr(importlib.import_module(f".{_EXPORTS[name]}", __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
