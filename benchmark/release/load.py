"""Opening a release: a local version folder, a store folder plus a version ("@1.2.0", "@latest"), or a
Hugging Face dataset repo pinned by its version tag, as a `datasets.Dataset`. (Stages read samples through
`mmra.benchmark.sources`, which finds releases with `refs.resolve_local`.)"""

from __future__ import annotations

import datasets

from .errors import ReleaseInputError, ReleaseNotFoundError
from .refs import SPLIT, LocalRelease, hub_revision, resolve_local, split_ref

__all__ = ["LocalRelease", "hub_revision", "load_release", "load_split", "resolve_local", "split_ref"]


def load_release(path_or_repo: str, revision: str | None = None, *, verify: bool = True) -> datasets.Dataset:
    """The `test` split of a release as a `datasets.Dataset` (images decode to PIL; `options` is MMRA's
    dict string). `path_or_repo`: a local version folder, a store folder (+ '@X.Y.Z' or '@latest'), or a
    Hub dataset repo id ('org/name', optionally '@X.Y.Z'); `revision` picks the version (a semver maps to
    the Hub tag 'vX.Y.Z'; a branch or commit sha also works on the Hub)."""
    local = resolve_local(str(path_or_repo), revision)
    if local is not None:
        if verify:
            local.verify()
        files = [str(p) for p in local.data_files]
        return datasets.load_dataset("parquet", data_files={SPLIT: files}, split=SPLIT)
    repo, at = split_ref(str(path_or_repo))
    if revision and at and revision != at:
        raise ReleaseInputError(f"{path_or_repo!r} names version {at} but revision={revision!r} was given")
    if repo.count("/") != 1 or repo.startswith((".", "/")):
        raise ReleaseNotFoundError(f"{path_or_repo!r} is neither a local release folder nor a Hub repo id (org/name)")
    return load_split(repo, hub_revision(revision or at))


def load_split(path: str, revision: str | None = None) -> datasets.Dataset:
    """Our `test` split; for a dataset in m-a-p/MMRA's layout (only a `train` split, which holds its test
    data) that split instead, so the original MMRA loads too."""
    try:
        return datasets.load_dataset(path, revision=revision, split=SPLIT)
    except ValueError as exc:
        if f'Unknown split "{SPLIT}"' not in str(exc) or "'train'" not in str(exc):
            raise
    return datasets.load_dataset(path, revision=revision, split="train")
