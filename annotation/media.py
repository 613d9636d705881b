"""Putting candidate images where Label Studio may serve them.

Label Studio serves local files only below LOCAL_FILES_DOCUMENT_ROOT and only inside a registered storage
folder. Rather than exposing the folders the images came from (or `/`), each image is hard-linked (copied
when the link crosses filesystems) into `<document_root>/images/<sha256>.<ext>`: content-addressed, so
re-pushing is free, two candidates sharing an image share one file, and nothing else on disk is reachable.
"""

from __future__ import annotations

import hashlib
import os
import shutil
from pathlib import Path

from mmra.benchmark.schema import ImageRef

_KNOWN_EXT = {".png", ".jpg", ".jpeg", ".gif", ".webp", ".bmp", ".tif", ".tiff"}


def _extension(ref: ImageRef, data: bytes | None) -> str:
    if ref.path:
        ext = Path(ref.path).suffix.lower()
        if ext in _KNOWN_EXT:
            return ext
    head = data[:12] if data else b""
    if head.startswith(b"\x89PNG"):
        return ".png"
    if head.startswith(b"\xff\xd8"):
        return ".jpg"
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return ".webp"
    return ".img"


def link_image(ref: ImageRef, media_dir: Path, base_dir: Path | None = None) -> tuple[str, str]:
    """Place one image in `media_dir`; returns (file name, sha256). Raises FileNotFoundError naming the image."""
    source = ref.resolve(base_dir)
    if ref.bytes_ is not None:
        data = ref.bytes_
    else:
        if source is None or not source.is_file():
            raise FileNotFoundError(f"image {ref.path!r} does not exist")
        data = source.read_bytes()
    sha = hashlib.sha256(data).hexdigest()
    if ref.sha256 and ref.sha256 != sha:
        raise ValueError(f"image {ref.path or '(bytes)'}: sha256 is {sha[:12]}..., the candidate says "
                         f"{ref.sha256[:12]}... (the file changed after curation)")
    name = f"{sha}{_extension(ref, data)}"
    target = media_dir / name
    if target.exists():
        return name, sha
    media_dir.mkdir(parents=True, exist_ok=True)
    tmp = media_dir / f".{name}.{os.getpid()}.tmp"
    try:
        if ref.bytes_ is None and source is not None:
            try:
                os.link(source, tmp)
            except OSError:  # another filesystem, or links not allowed
                shutil.copyfile(source, tmp)
        else:
            tmp.write_bytes(data)
        tmp.replace(target)
    finally:
        tmp.unlink(missing_ok=True)
    return name, sha
