"""Release references: what names a release and where it is — the manifest and split names, "where@version"
refs, a local version folder or store (`resolve_local`), a Hub revision. Reading a release needs only this
(and `load.py` for `datasets`); the writer (`build.py`) is not loaded."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mmra.parsing import load_json_file

from .errors import ReleaseInputError, ReleaseNotFoundError
from .semver import hub_tag, is_version, latest, parse_version, version_key

MANIFEST = "manifest.json"
FORMAT = "mmra-release/1"
SPLIT = "test"
ALIAS_SPLITS = ("train",)  # m-a-p/MMRA compatibility, see card.SPLIT_NOTE


def split_ref(spec: str) -> tuple[str, str | None]:
    """'where@1.2.0' -> ('where', '1.2.0'); a path that exists as written is never split."""
    if "@" in spec and not Path(spec).expanduser().exists():
        base, _, at = spec.rpartition("@")
        return base, at or None
    return spec, None


@dataclass(frozen=True)
class LocalRelease:
    path: Path  # the version folder
    manifest: dict[str, Any]

    @property
    def version(self) -> str:
        return self.manifest["version"]

    @property
    def data_files(self) -> list[Path]:
        return [self.path / f["path"] for f in self.manifest["data_files"]]

    def verify(self) -> None:
        """Check every data file (the default config's and the `flagged` one's) against the manifest's sha256
        (a release must not change in place)."""
        for f in [*self.manifest["data_files"], *self.manifest.get("flagged_files", [])]:
            path = self.path / f["path"]
            if not path.is_file():
                raise ReleaseNotFoundError(f"{self.path}: data file {f['path']} is missing")
            h = hashlib.sha256()
            with path.open("rb") as fh:
                for block in iter(lambda: fh.read(1 << 20), b""):
                    h.update(block)
            if h.hexdigest() != f["sha256"]:
                raise ReleaseInputError(
                    f"{self.path}: {f['path']} does not match its manifest sha256; the release was modified after publishing"
                )


def _versions_in(folder: Path) -> list[str]:
    return sorted((p.name for p in folder.iterdir() if p.is_dir() and is_version(p.name) and (p / MANIFEST).is_file()),
                  key=version_key)


def resolve_local(ref: str, revision: str | None = None) -> LocalRelease | None:
    """The local release `ref` names, or None when `ref` is not a local path."""
    base, at = split_ref(ref)
    if revision and at and revision != at:
        raise ReleaseInputError(f"{ref!r} names version {at} but revision={revision!r} was given")
    wanted = revision or at
    folder = Path(base)
    if not folder.exists():
        return None
    if (folder / MANIFEST).is_file():
        manifest = load_json_file(folder / MANIFEST)
        if wanted and wanted != "latest" and parse_version(wanted) != manifest["version"]:
            raise ReleaseInputError(f"{folder} is version {manifest['version']}, not {wanted}")
        return LocalRelease(folder, manifest)
    versions = _versions_in(folder)
    if not versions:
        names = [p for p in folder.iterdir() if p.is_dir() and not p.name.startswith(".") and _versions_in(p)]
        if len(names) == 1:  # a store root holding one release name
            folder, versions = names[0], _versions_in(names[0])
        elif names:
            raise ReleaseInputError(
                f"{folder} holds several releases ({', '.join(p.name for p in names)}); add the name, e.g. {folder / names[0].name}"
            )
        else:
            raise ReleaseNotFoundError(f"{folder} holds no release (no */{MANIFEST})")
    version = latest(versions) if not wanted or wanted == "latest" else parse_version(wanted)
    if version not in versions:
        raise ReleaseNotFoundError(f"{folder} has no version {version}; it has {', '.join(versions)}")
    path = folder / version
    return LocalRelease(path, load_json_file(path / MANIFEST))


def hub_revision(revision: str | None) -> str | None:
    """A semver becomes its tag ('1.2.0' -> 'v1.2.0'); branches, tags and commit shas pass through."""
    if not revision or revision == "latest":
        return None
    return hub_tag(parse_version(revision)) if is_version(revision) else revision
