"""Versioned releases of a benchmark: immutable local store, Hub publishing, data cards, diffs, lmms-eval export.

Public API:
    publish(samples, version, store, *, name="mmra", repo_id=None, cards_dir=None, ...) -> PublishResult
    load_release(path_or_repo, revision=None) -> datasets.Dataset
    build_dataset(samples, version="0.0.0-dev") -> datasets.Dataset   (in memory, nothing written)
    resolve_local(ref, revision=None) -> LocalRelease | None
    ReleaseStore(root).names() / .versions(name) / .manifest(name, version) / .latest(name)
    diff_indexes(...), index_of(ref) for `mmra diff`
    push_release(version_dir, repo_id, private=False)
"""

from .diff import ReleaseDiff, diff_indexes
from .errors import ReleaseConflictError, ReleaseInputError, ReleaseNotFoundError
from .load import LocalRelease, load_release, resolve_local
from .rows import FEATURES, MMRA_COLUMNS
from .semver import parse_version
from .store import PublishResult, ReleaseStore, build_dataset, publish

__all__ = [
    "FEATURES",
    "MMRA_COLUMNS",
    "LocalRelease",
    "PublishResult",
    "ReleaseConflictError",
    "ReleaseDiff",
    "ReleaseInputError",
    "ReleaseNotFoundError",
    "ReleaseStore",
    "build_dataset",
    "diff_indexes",
    "load_release",
    "parse_version",
    "publish",
    "resolve_local",
]
