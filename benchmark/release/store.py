"""The local release store: STORE/<name>/<version>/ (one immutable folder per version).

- Atomic: a release is built in a hidden `.tmp-*` folder beside the versions and renamed into place, so a
  crash leaves earlier versions intact and no half version visible; stale temp folders are removed by the
  next publish.
- Immutable: publishing an existing version is a no-op when the content fingerprint is the same and refused
  otherwise (with what differs).
- One publisher at a time per name (an exclusive lock file)."""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import os
import shutil
import uuid
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from .build import BuildOptions, prepare_rows, write_release
from .card import order_of
from .diff import diff_indexes, index_release, index_rows
from .digest import fingerprint
from .errors import ReleaseConflictError, ReleaseInputError, ReleaseNotFoundError
from .inputs import SourceSample, read_source
from .refs import MANIFEST
from .rows import check_content_duplicates, to_dataset
from .semver import is_version, latest, parse_version, version_key
from .validity import ValidityOptions, apply_gate, is_flagged, plan_release

_NAME_OK = set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_.")
MAX_NAME_CHARS = 96  # the Hub's limit for a repo name; far below a file name's 255 bytes


def check_name(name: str) -> str:
    if len(name) > MAX_NAME_CHARS:
        raise ReleaseInputError(f"release name {name[:40]!r}... is {len(name)} characters; use at most "
                                f"{MAX_NAME_CHARS}")
    if not name or name.startswith(".") or not set(name) <= _NAME_OK:
        raise ReleaseInputError(f"release name {name!r}: use letters, digits, '-', '_' or '.' (not leading)")
    return name


class ReleaseStore:
    def __init__(self, root: str | Path):
        self.root = Path(root)

    def names(self) -> list[str]:
        if not self.root.is_dir():
            return []
        return sorted(p.name for p in self.root.iterdir() if p.is_dir() and not p.name.startswith(".") and self.versions(p.name))

    def versions(self, name: str) -> list[str]:
        base = self.root / name
        if not base.is_dir():
            return []
        found = [p.name for p in base.iterdir()
                 if p.is_dir() and is_version(p.name) and (p / MANIFEST).is_file()]
        return sorted(found, key=version_key)

    def version_dir(self, name: str, version: str) -> Path:
        return self.root / name / version

    def manifest(self, name: str, version: str) -> dict[str, Any]:
        path = self.version_dir(name, version) / MANIFEST
        if not path.is_file():
            raise ReleaseNotFoundError(f"no release {name} {version} in {self.root}")
        return json.loads(path.read_text(encoding="utf-8"))

    def latest(self, name: str) -> str | None:
        return latest(self.versions(name))

    def previous(self, name: str, version: str) -> str | None:
        older = [v for v in self.versions(name) if version_key(v) < version_key(version)]
        return older[-1] if older else None

    @contextlib.contextmanager
    def lock(self, name: str) -> Iterator[None]:
        base = self.root / name
        base.mkdir(parents=True, exist_ok=True)
        with (base / ".publish.lock").open("w") as fh:
            fcntl.flock(fh, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(fh, fcntl.LOCK_UN)

    def clean_stale(self, name: str) -> list[str]:
        """Temp folders of publishes that crashed (only called while holding the lock)."""
        removed = []
        for p in (self.root / name).glob(".tmp-*"):
            shutil.rmtree(p, ignore_errors=True)
            removed.append(p.name)
        return removed


@dataclass
class PublishResult:
    name: str
    version: str
    path: Path
    fingerprint: str
    status: str  # "published" | "unchanged"
    num_samples: int
    manifest: dict[str, Any]
    card_path: Path | None = None
    warnings: list[str] = field(default_factory=list)
    hub_url: str | None = None
    validity: dict[str, Any] | None = None  # the full validity report (flagged, balance, blind probes, gate)


def _file_sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def publish(
    samples: str | Path,
    version: str,
    store: str | Path,
    *,
    name: str = "mmra",
    repo_id: str | None = None,
    cards_dir: str | Path | None = None,
    text_licence: str = "cc-by-4.0",
    max_shard_bytes: int | None = None,
    show_progress: bool = True,
    validity: ValidityOptions | None = None,
    roots: Sequence[Path] | None = None,
) -> PublishResult:
    """Publish `samples` (Samples or MMRA-format JSONL) as STORE/<name>/<version>. Everything is
    validated before anything is written; see the module docstring for the guarantees. `roots`: the real
    folders image files may lie in (`mmra.benchmark.images.allowed_roots`, as `mmra publish` computes them;
    None: anywhere but the system trees); an image outside them refuses the release."""
    version = parse_version(version)
    name = check_name(name)
    samples = Path(samples)
    sources, fmt = read_source(samples)
    validity = validity or ValidityOptions()
    plan = plan_release(sources, validity)  # flagged samples to their own config, answer-key balance
    rows = prepare_rows(_within(plan.sources, roots), version, show_progress=show_progress)
    fp = fingerprint(rows)
    warnings = check_content_duplicates(rows)
    st = ReleaseStore(store)
    if not (version in st.versions(name) and st.manifest(name, version)["fingerprint"] == fp):
        apply_gate(plan, validity)  # the release gate (not for a no-op republish); refuses before any write
    with st.lock(name):
        st.clean_stale(name)
        final = st.version_dir(name, version)
        if version in st.versions(name):
            existing = st.manifest(name, version)
            if existing["fingerprint"] == fp:
                result = PublishResult(name, version, final, fp, "unchanged", len(rows), existing, warnings=warnings,
                                       validity=plan.report)
                result.card_path = _copy_card(final, cards_dir, name, version)
                return result
            old = index_release(final, [f["path"] for f in existing["data_files"]])
            d = diff_indexes(old, index_rows(rows), f"{name} {version} (published)", "these samples")
            raise ReleaseConflictError(
                f"{name} {version} is already published in {st.root} with other content "
                f"({existing['fingerprint'][:19]}..., these samples give {fp[:19]}...: {d.total('added')} added, "
                f"{d.total('removed')} removed, {d.total('changed')} changed, {d.total('metadata_changed')} "
                "metadata-only); releases are immutable, publish these samples as a new version"
            )
        prev = st.previous(name, version)
        changelog = None
        if prev:
            pm = st.manifest(name, prev)
            old = index_release(st.version_dir(name, prev), [f["path"] for f in pm["data_files"]])
            changelog = diff_indexes(old, index_rows(rows), prev, version, order=order_of(rows))
        history = tuple((v, st.manifest(name, v)["fingerprint"]) for v in st.versions(name)
                        if version_key(v) < version_key(version))
        opts = BuildOptions(
            name=name, version=version, fingerprint=fp,
            source={"file": samples.name, "format": fmt, "sha256": _file_sha256(samples)},
            repo_id=repo_id, dataset_path=f"path/to/{name}/{version}", changelog=changelog,
            previous_versions=history, text_licence=text_licence,
            max_shard_bytes=max_shard_bytes or BuildOptions.max_shard_bytes, show_progress=show_progress,
            validity=plan.report,
        )
        tmp = final.parent / f".tmp-{version}-{uuid.uuid4().hex[:8]}"
        try:
            manifest = write_release(tmp, rows, opts)
            os.rename(tmp, final)  # the commit point: the version appears complete or not at all
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise
        _fsync_dir(final.parent)
        result = PublishResult(name, version, final, fp, "published", len(rows), manifest, warnings=warnings,
                               validity=plan.report)
        # under the lock too: two publishers of one name never interleave their card copies
        result.card_path = _copy_card(final, cards_dir, name, version)
    return result


def _within(sources: list[SourceSample], roots: Sequence[Path] | None) -> list[SourceSample]:
    """The samples whose images are read with `roots` (set here, just before the read, so no step of the
    plan can lose them)."""
    return sources if roots is None else [replace(s, roots=tuple(roots)) for s in sources]


def build_dataset(samples: str | Path, version: str = "0.0.0-dev", *, show_progress: bool = False,
                  keep_option_order: bool = False, roots: Sequence[Path] | None = None):
    """The default config's rows of `samples` as an in-memory `datasets.Dataset` (same columns, order,
    balance and checks as a published release; no release gate), without writing anything."""
    version = parse_version(version)
    sources, _ = read_source(samples)
    plan = plan_release(sources, ValidityOptions(balance=not keep_option_order, gate=False))
    default = [s for s in plan.sources if not is_flagged(s.sample)]
    return to_dataset(prepare_rows(_within(default, roots), version, show_progress=show_progress))


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _copy_card(version_dir: Path, cards_dir: str | Path | None, name: str, version: str) -> Path | None:
    """data_cards/<name>/<version>/README.md (+ plots), replaced atomically. Call it holding the publish lock."""
    if cards_dir is None:
        return None
    target = Path(cards_dir) / name / version
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.parent / f".tmp-{version}-{uuid.uuid4().hex[:8]}"
    old = target.parent / f".old-{version}-{uuid.uuid4().hex[:8]}"
    try:
        tmp.mkdir()
        shutil.copy2(version_dir / "README.md", tmp / "README.md")
        shutil.copytree(version_dir / "plots", tmp / "plots")
        if target.exists():
            os.rename(target, old)  # the old card stays whole until the new one is in place
        try:
            os.rename(tmp, target)
        except BaseException:
            if old.exists() and not target.exists():
                os.rename(old, target)
            raise
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
        shutil.rmtree(old, ignore_errors=True)
    return target / "README.md"
