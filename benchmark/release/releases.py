"""Indexing any release reference for `mmra diff`: a local release (read from parquet without images) or a
Hub repo (loaded with `load_release`, image columns dropped before decoding)."""

from __future__ import annotations

from .diff import Entry, index_release, index_rows
from .load import load_release
from .refs import resolve_local, split_ref


def index_of(ref: str) -> tuple[str, dict[str, Entry]]:
    local = resolve_local(ref)
    if local is not None:
        local.verify()  # a tampered release is reported as such, never diffed
        label = f"{local.manifest.get('name', local.path.parent.name)} {local.version}"
        return label, index_release(local.path, [f["path"] for f in local.manifest["data_files"]])
    ds = load_release(ref)
    ds = ds.remove_columns([c for c in ("image1", "image2") if c in ds.column_names])
    repo, at = split_ref(ref)
    return f"{repo} {at or 'main'}", index_rows(ds.to_list())
