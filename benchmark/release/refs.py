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

    def _listed(self, key: str) -> list[dict[str, str]]:
        """The manifest's file entries under `key`, each a path inside the version folder and a sha256."""
        entries = self.manifest.get(key, [])
        if not isinstance(entries, list) or not all(
                isinstance(f, dict) and isinstance(f.get("path"), str) and isinstance(f.get("sha256"), str)
                for f in entries):
            raise ReleaseInputError(f"{self.path / MANIFEST}: {key} is not a list of {{path, sha256}} entries; "
                                    "the release was tampered with")
        root = self.path.resolve()
        for f in entries:
            if not (self.path / f["path"]).resolve().is_relative_to(root):
                raise ReleaseInputError(f"{self.path / MANIFEST}: {key} names {f['path']!r}, outside the release "
                                        "folder; the release was tampered with")
        return entries

    def verify(self) -> None:
        """Check the release against its manifest (a release must not change in place): every data file (the
        default config's and the `flagged` one's) by its sha256, every image by the sha256 its row records,
        each row in the config its file stands for, and the manifest's fingerprint by recomputing it from
        the rows. Any mismatch is a ReleaseInputError naming the file: the release was tampered with."""
        default, flagged = self._listed("data_files"), self._listed("flagged_files")
        if not default and not flagged:
            raise ReleaseInputError(f"{self.path / MANIFEST}: lists no data files; the release was tampered with")
        for f in [*default, *flagged]:
            path = self.path / f["path"]
            if not path.is_file():
                raise ReleaseNotFoundError(f"{self.path}: data file {f['path']} is missing")
            h = hashlib.sha256()
            with path.open("rb") as fh:
                for block in iter(lambda: fh.read(1 << 20), b""):
                    h.update(block)
            if h.hexdigest() != f["sha256"]:
                raise ReleaseInputError(f"{path}: does not match its manifest sha256; the release was tampered "
                                        "with after publishing")
        rows = [*self._checked_rows(default, flagged=False), *self._checked_rows(flagged, flagged=True)]
        from .digest import fingerprint, sort_key  # the writer's own digest, so a reader agrees with publish

        rows.sort(key=sort_key)
        if fingerprint(rows) != self.manifest.get("fingerprint"):
            raise ReleaseInputError(f"{self.path / MANIFEST}: its fingerprint does not match the release's rows; "
                                    "the release was tampered with after publishing")

    def _checked_rows(self, files: list[dict[str, str]], *, flagged: bool) -> list[dict[str, Any]]:
        """The rows of `files` with the image bytes checked against their sha256 and then dropped (the
        fingerprint covers images by that sha256)."""
        import pyarrow.parquet as pq

        from .digest import FEATURES

        rows = []
        for f in files:
            path = self.path / f["path"]
            try:
                pf = pq.ParquetFile(path)
                if set(pf.schema_arrow.names) != set(FEATURES):
                    raise ValueError("its columns are not a release's")
                for batch in pf.iter_batches(batch_size=64):
                    for row in batch.to_pylist():
                        for col in ("image1", "image2"):
                            data = (row[col] or {}).get("bytes")
                            if data is None or hashlib.sha256(data).hexdigest() != row[f"{col}_sha256"]:
                                raise ValueError(f"{col} of sample {row['id']} does not match its {col}_sha256")
                            row[col] = None
                        if bool(row["leakage_flagged"]) != flagged:
                            raise ValueError(f"sample {row['id']} is in the wrong config for its leakage_flagged")
                        rows.append(row)
            except (OSError, ValueError, TypeError, KeyError) as exc:  # pyarrow's errors are among these
                cause = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
                raise ReleaseInputError(f"{path}: {cause}; the release was tampered with after publishing") from None
        return rows


def _read_manifest(folder: Path) -> dict[str, Any]:
    manifest = load_json_file(folder / MANIFEST)
    if not isinstance(manifest, dict) or not isinstance(manifest.get("version"), str):
        raise ReleaseInputError(f"{folder / MANIFEST}: not a release manifest (no version); the release was "
                                "tampered with")
    return manifest


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
        manifest = _read_manifest(folder)
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
    return LocalRelease(path, _read_manifest(path))


def hub_revision(revision: str | None) -> str | None:
    """A semver becomes its tag ('1.2.0' -> 'v1.2.0'); branches, tags and commit shas pass through."""
    if not revision or revision == "latest":
        return None
    return hub_tag(parse_version(revision)) if is_version(revision) else revision
