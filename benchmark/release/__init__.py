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

from typing import TYPE_CHECKING

from mmra.faces import lazy_exports

if TYPE_CHECKING:  # the static face: editors and type checkers see these names
    from ..mmra_format import MMRA_COLUMNS
    from .diff import ReleaseDiff, diff_indexes
    from .digest import FEATURES
    from .errors import ReleaseConflictError, ReleaseInputError, ReleaseNotFoundError
    from .load import load_release
    from .refs import LocalRelease, resolve_local
    from .semver import parse_version
    from .store import PublishResult, ReleaseStore, build_dataset, publish

_EXPORTS = {
    "ReleaseDiff": ".diff",
    "diff_indexes": ".diff",
    "ReleaseConflictError": ".errors",
    "ReleaseInputError": ".errors",
    "ReleaseNotFoundError": ".errors",
    "LocalRelease": ".refs",
    "load_release": ".load",
    "resolve_local": ".refs",
    "FEATURES": ".digest",
    "MMRA_COLUMNS": "..mmra_format",
    "parse_version": ".semver",
    "PublishResult": ".store",
    "ReleaseStore": ".store",
    "build_dataset": ".store",
    "publish": ".store",
}
__all__ = ["FEATURES", "LocalRelease", "MMRA_COLUMNS", "PublishResult", "ReleaseConflictError",
           "ReleaseDiff", "ReleaseInputError", "ReleaseNotFoundError", "ReleaseStore", "build_dataset",
           "diff_indexes", "load_release", "parse_version", "publish", "resolve_local"]
__getattr__ = lazy_exports(__name__, _EXPORTS)  # imported on first use: the CLI starts fast
