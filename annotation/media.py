"""Putting candidate images where Label Studio may serve them.

Label Studio serves local files only below LOCAL_FILES_DOCUMENT_ROOT and only inside a registered storage
folder. Rather than exposing the folders the images came from (or `/`), every image first passes the one
image check (`mmra.benchmark.images`: a regular image file inside the allowed roots, fully decodable, within
size limits), and then the VERIFIED BYTES are written to `<document_root>/images/<sha256>.<ext>` (mode 0640).
No link to the original is made: a hard link would let a later change of the original (or of its mode) reach
the server, and a symlink could point anywhere. Content-addressed, so re-pushing is free and two candidates
sharing an image share one file; the folder holds nothing but checked images.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

from mmra.benchmark.images import DEFAULT_LIMITS, ImageLimits, ImageRejected, VerifiedImage, verify_ref
from mmra.benchmark.schema import ImageRef

MEDIA_FILE_MODE = 0o640  # the server process (same user) reads them; other users of the host do not
MEDIA_DIR_MODE = 0o750


def image_label(ref: ImageRef, which: str | None = None) -> str:
    shown = repr(ref.path) if ref.path else "(inline bytes)"
    return f"{which} {shown}" if which else f"image {shown}"


def check_pair(refs: Sequence[ImageRef], *, base_dir: Path | None, roots: Sequence[Path] | None,
               limits: ImageLimits = DEFAULT_LIMITS) -> list[VerifiedImage]:
    """Verify every image of one item before any is written, so an item is never half pushed."""
    return [verify_ref(ref, base_dir=base_dir, label=image_label(ref), roots=roots, limits=limits) for ref in refs]


def store_image(image: VerifiedImage, media_dir: Path) -> str:
    """Write one verified image into the media folder; returns its file name."""
    name = f"{image.sha256}{image.extension}"
    target = media_dir / name
    if target.is_file() and not target.is_symlink():
        return name
    media_dir.mkdir(parents=True, exist_ok=True, mode=MEDIA_DIR_MODE)
    tmp = media_dir / f".{name}.{os.getpid()}.tmp"
    try:
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW, MEDIA_FILE_MODE)
        with os.fdopen(fd, "wb") as fh:
            fh.write(image.data)
        os.chmod(tmp, MEDIA_FILE_MODE)  # whatever the umask was
        tmp.replace(target)
    finally:
        tmp.unlink(missing_ok=True)
    return name


def stage_pair(refs: Sequence[ImageRef], media_dir: Path, *, base_dir: Path | None,
               roots: Sequence[Path] | None, origins: dict[str, str] | None = None
               ) -> tuple[list[VerifiedImage], list[str]]:
    """Check every image of one item (`check_pair`, so nothing is written when one is refused), then store
    them; `origins` (sha256 -> original path, for the private origins file) is filled as they are stored."""
    images = check_pair(refs, base_dir=base_dir, roots=roots)
    names = [store_image(image, media_dir) for image in images]
    if origins is not None:
        for image in images:
            if image.path is not None:
                origins.setdefault(image.sha256, str(image.path))
    return images, names


def link_image(ref: ImageRef, media_dir: Path, base_dir: Path | None = None, *,
               roots: Sequence[Path] | None = None, limits: ImageLimits = DEFAULT_LIMITS) -> tuple[str, str]:
    """Check one image and place it in `media_dir`; returns (file name, sha256). Raises `ImageRejected`
    (a ValueError) naming the image and the cause."""
    image = verify_ref(ref, base_dir=base_dir, label=image_label(ref), roots=roots, limits=limits)
    return store_image(image, media_dir), image.sha256


__all__ = ["ImageRejected", "VerifiedImage", "check_pair", "image_label", "link_image", "stage_pair",
           "store_image"]
