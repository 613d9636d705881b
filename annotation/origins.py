"""Where pushed images came from, kept on the operator's side instead of in the task data.

Task data is readable by every account on the server, so it carries images only as their media names
(`images/<sha256>.<ext>`, relative to the document root). The original paths, and the folders push allowed
images from, are kept in a private file (0600) beside the server's data, keyed by sha256. `pull` puts the
original paths back; `revise` reuses the allowed folders. When the file is not there (pull on another machine),
the media copies, which are verified images, stand in for the originals.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable
from pathlib import Path
from typing import Any

ORIGINS_FILE = ".mmra-image-origins.json"
MEDIA_PREFIX = "images/"


def origins_path(data_dir: Path | None, document_root: Path | None) -> Path | None:
    base = data_dir or (document_root.parent if document_root else None)
    return Path(base) / ORIGINS_FILE if base else None


def load_origins(path: Path | None) -> dict[str, Any]:
    if path is None or not path.is_file():
        return {"roots": [], "images": {}}
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError, RecursionError):
        return {"roots": [], "images": {}}
    if not isinstance(data, dict):
        return {"roots": [], "images": {}}
    roots = [r for r in data.get("roots", []) if isinstance(r, str)]
    images = {k: v for k, v in (data.get("images") or {}).items() if isinstance(k, str) and isinstance(v, str)}
    return {"roots": roots, "images": images}


def record_origins(path: Path | None, images: dict[str, str], roots: Iterable[Path]) -> None:
    """Merge sha256 -> original path entries and allowed roots into the private file (atomic, 0600)."""
    if path is None or (not images and not roots):
        return
    data = load_origins(path)
    data["images"].update(images)
    data["roots"] = sorted(set(data["roots"]) | {str(r) for r in roots})
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        json.dump(data, fh, sort_keys=True)
    os.chmod(tmp, 0o600)
    tmp.replace(path)


def restore_paths(ref_dict: dict[str, Any], origins: dict[str, Any], document_root: Path | None) -> dict[str, Any]:
    """An image record from task data with its original path back (or the media copy's absolute path)."""
    path = ref_dict.get("path")
    if not isinstance(path, str) or not path.startswith(MEDIA_PREFIX):
        return ref_dict
    original = origins["images"].get(ref_dict.get("sha256") or "")
    if original:
        return {**ref_dict, "path": original}
    if document_root is not None:
        return {**ref_dict, "path": str(Path(document_root) / path)}
    return ref_dict
