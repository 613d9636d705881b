"""The one image check: every stage that takes an image from outside (curate, annotate push/revise, publish,
eval) reads it through `verify_image`, so the same rules hold everywhere:

- only a regular file is read (no device, FIFO, socket or /proc, /sys, /dev entry), opened without following
  a final symlink after the path was resolved, and checked again on the open descriptor;
- symlinks are resolved first and the real target must lie inside an allowed root when roots are given
  (the corpus folders the candidates came from, or folders named in config / flags);
- the bytes must decode completely as an image, within size limits (no 1x1 pixel, no decompression bomb);
- one pixel convention (`to_rgb`): EXIF orientation applied once, 16-bit and palette / alpha modes converted
  correctly, so hashes, models and annotators see the same upright picture.

A refusal raises `ImageRejected` (a `ValueError`) whose message, "<label> <cause>", names the image and the
cause in one line.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import os
import stat
import warnings
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from PIL import Image, ImageOps

# Pseudo-filesystems whose "files" are kernel state (environment, memory maps, devices), never images.
FORBIDDEN_TREES = (Path("/proc"), Path("/sys"), Path("/dev"))
EXTENSIONS = {"JPEG": ".jpg", "PNG": ".png", "WEBP": ".webp", "GIF": ".gif", "BMP": ".bmp", "TIFF": ".tiff"}


class ImageRejected(ValueError):
    """An image that may not be used. `reason` is a short code (for reports), the message one readable line."""

    def __init__(self, message: str, reason: str):
        super().__init__(message)
        self.reason = reason


@dataclass(frozen=True)
class ImageLimits:
    min_side: int = 64  # pixels; smaller images are rejected as too small
    max_pixels: int = 50_000_000  # width x height above this is rejected before decoding (decompression bomb)
    max_bytes: int = 200 * 1024**2  # a file larger than this is not read at all


DEFAULT_LIMITS = ImageLimits()


@dataclass(frozen=True)
class VerifiedImage:
    data: bytes  # the file's bytes, unchanged (what releases embed and what sha256 covers)
    sha256: str
    format: str  # PIL's format name, e.g. "JPEG"
    width: int  # as displayed: after EXIF orientation
    height: int
    path: Path | None  # the real (resolved) path, None for inline bytes

    @property
    def extension(self) -> str:
        return EXTENSIONS.get(self.format, "." + self.format.lower())

    def rgb(self, *, draft_to: tuple[int, int] | None = None) -> Image.Image:
        """Decode into the one pixel convention (see `to_rgb`). `draft_to`: a JPEG may decode at a reduced DCT
        scale that still keeps at least this size (cheap thumbnails for hashing and large model inputs)."""
        with Image.open(io.BytesIO(self.data)) as img:
            if draft_to is not None and img.format == "JPEG":
                img.draft("RGB", draft_to)
            img.load()
            return to_rgb(img)


def to_rgb(img: Image.Image) -> Image.Image:
    """8-bit RGB, upright. EXIF orientation is applied here and only here. 16-bit images are scaled (not
    clipped: PIL's own convert clips 16-bit values to 255, which turns most photos white); transparency
    (RGBA, LA, palette with a transparent index) is composited over white, the colour a browser shows
    behind a transparent image in Label Studio."""
    img = ImageOps.exif_transpose(img)
    mode = img.mode
    if mode in ("I;16", "I;16B", "I;16L", "I;16N", "I"):
        import numpy as np

        arr = np.asarray(img)
        if mode == "I":  # 32-bit ints: PNG stores 16-bit grey this way in older Pillow versions
            top = 65535 if arr.max(initial=0) > 255 else 255
        else:
            top = 65535
        arr8 = (np.clip(arr.astype(np.float64), 0, top) * (255.0 / top) + 0.5).astype(np.uint8)
        return Image.fromarray(arr8, mode="L").convert("RGB")
    if mode == "F":
        import numpy as np

        arr = np.asarray(img, dtype=np.float64)
        top = 1.0 if arr.max(initial=0) <= 1.0 else 255.0
        arr8 = (np.clip(arr, 0, top) * (255.0 / top) + 0.5).astype(np.uint8)
        return Image.fromarray(arr8, mode="L").convert("RGB")
    if mode == "P":
        img = img.convert("RGBA") if "transparency" in img.info else img.convert("RGB")
        mode = img.mode
    if mode in ("RGBA", "LA", "PA", "RGBa", "La"):
        rgba = img.convert("RGBA")
        background = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        return Image.alpha_composite(background, rgba).convert("RGB")
    if mode == "L" and "transparency" in img.info:
        return to_rgb(img.convert("LA"))
    return img if mode == "RGB" else img.convert("RGB")


def _inside(path: Path, root: Path) -> bool:
    try:
        path.relative_to(root)
        return True
    except ValueError:
        return False


def resolve_roots(roots: Iterable[str | Path]) -> tuple[Path, ...]:
    """Real paths of the allowed roots (a root that does not exist allows nothing)."""
    out = []
    for root in roots:
        try:
            out.append(Path(root).resolve(strict=True))
        except OSError:
            continue
    return tuple(dict.fromkeys(out))


REPORT_NAME = "curation_report.json"  # `mmra curate` records the corpus folders it allowed here (`image_roots`)
# Every later stage that writes a file for the next one (leakage, annotate pull) records here, per file it
# wrote, the folders it itself allowed: {"files": {"samples.jsonl": {"image_roots": [...], "written_by":
# "mmra leakage", "input": "..."}}}. Keyed by file, so two stages writing into one folder keep their own.
ROOTS_RECORD = "image_roots.json"


def _listed_roots(value) -> list[str]:
    return [r for r in value if isinstance(r, str)] if isinstance(value, list) else []


def _read_object(path: Path) -> dict:
    """A JSON object from `path`; {} when there is none or it cannot be read (a record that cannot be read
    is ignored: it widens nothing and stops nothing)."""
    from mmra.parsing import load_json_file

    if not path.is_file():
        return {}
    try:
        data = load_json_file(path)
    except (OSError, ValueError):  # ParseError is a ValueError
        return {}
    return data if isinstance(data, dict) else {}


def recorded_roots(source: str | Path) -> list[str]:
    """The allowed folders recorded beside `source` (a file, or a dataset folder): those `mmra curate`
    recorded in the report in its folder, and those the stage that wrote `source` recorded for it in
    `image_roots.json`. A record is trusted as the file beside it is: whoever can write it can already
    write the samples it governs; a hostile or unreadable one widens nothing that could not be widened
    already."""
    path = Path(source)
    folder, name = (path, None) if path.is_dir() else (path.parent, path.name)
    found = _listed_roots(_read_object(folder / REPORT_NAME).get("image_roots"))
    if name is not None:
        files = _read_object(folder / ROOTS_RECORD).get("files")
        entry = files.get(name) if isinstance(files, dict) else None
        if isinstance(entry, dict):
            found += _listed_roots(entry.get("image_roots"))
    return found


def record_roots(outputs: Iterable[str | Path], roots: Iterable[Path], *, written_by: str,
                 source: str | None) -> None:
    """Record beside each of `outputs` (files a stage wrote for the next one) the allowed folders the stage
    applied to the images they name (`roots`, as `allowed_roots` gave them), so the next stage, run from
    any folder, applies the same folders and no others (`recorded_roots`). Written atomically; entries of
    other files in the folder are kept. `source`: what the stage read (shown to people, never used)."""
    from mmra.fileio import write_json

    entry = {"image_roots": [str(r) for r in roots], "written_by": written_by, "input": source}
    by_folder: dict[Path, list[str]] = {}
    for output in outputs:
        output = Path(output).absolute()
        by_folder.setdefault(output.parent, []).append(output.name)
    for folder, names in by_folder.items():
        record = folder / ROOTS_RECORD
        files = _read_object(record).get("files")
        files = {k: v for k, v in files.items() if isinstance(k, str)} if isinstance(files, dict) else {}
        files.update({name: entry for name in names})
        write_json(record, {"files": dict(sorted(files.items()))})


def allowed_roots(source: str | Path | None, *, flags: Iterable[str | Path] = (),
                  configured: Iterable[str | Path] = ()) -> tuple[Path, ...]:
    """The one rule for the folders a stage may read the images named in `source` (a candidates, samples or
    dataset file, or a dataset folder) from, as real paths: the folders given on the command line (`flags`,
    `--image-root`) and in `[paths].image_roots` (`configured`), plus those recorded beside `source` (by
    `mmra curate`, or by the stage that wrote it: `recorded_roots`); only when none of these names a folder,
    the source's own folder (None, e.g. a Hub dataset: no folder at all, so only inline images are used)."""
    folder = path = None
    if source is not None:
        path = Path(source).resolve()
        folder = path if path.is_dir() else path.parent
    given = [*flags, *configured, *(recorded_roots(path) if path is not None else [])]
    return resolve_roots(given or ([folder] if folder is not None else []))


def _resolved(path: Path, label: str, roots: Sequence[Path] | None) -> Path:
    """The real path of `path`, refused when it is missing, a system file, or outside `roots`."""
    try:
        real = path.resolve(strict=True)
    except FileNotFoundError:
        target = os.readlink(path) if path.is_symlink() else None
        cause = f"is a symlink to {target!r}, which does not exist" if target else "does not exist"
        raise ImageRejected(f"{label} {cause}", "missing_file") from None
    except (OSError, RuntimeError) as exc:  # a symlink loop, a permission error on a parent folder
        raise ImageRejected(f"{label} cannot be resolved ({exc})", "unreadable") from None
    if any(_inside(real, tree) for tree in FORBIDDEN_TREES):
        raise ImageRejected(f"{label} resolves to {real}, a system file, not an image", "not_allowed")
    if roots is not None and not any(_inside(real, root) for root in roots):
        shown = ", ".join(str(r) for r in roots) or "(none given)"
        via = f" (via a symlink to {real})" if real != path.absolute() else ""
        raise ImageRejected(f"{label} lies outside the allowed image folders{via}; allowed: {shown}",
                            "outside_roots")
    return real


LOCATION_REASONS = ("not_allowed", "outside_roots")  # refusals that depend on where a file is, not what it holds


def check_location(ref, *, base_dir: str | Path | None, label: str, roots: Sequence[Path] | None) -> None:
    """Refuse an `ImageRef` whose file lies outside `roots` (symlinks resolved) or in a system tree, without
    reading it: a stage checks every location before it writes anything. Inline bytes have no location; a
    file that is missing or unreadable is left to the read that would use it (`verify_ref`, `load_rgb`), which
    applies the same check again."""
    if ref.bytes_ is not None or not ref.path:
        return
    try:
        _resolved(Path(ref.resolve(base_dir)), label, roots)
    except ImageRejected as exc:
        if exc.reason in LOCATION_REASONS:
            raise


def _read_regular_file(path: Path, label: str, roots: Sequence[Path] | None, limits: ImageLimits) -> tuple[bytes, Path]:
    real = _resolved(path, label, roots)
    try:
        # O_NOFOLLOW: the resolved path must not have become a symlink meanwhile; O_NONBLOCK: a FIFO that
        # slipped in cannot hang the open. The descriptor is checked again below.
        fd = os.open(real, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0))
    except OSError as exc:
        raise ImageRejected(f"{label} cannot be opened ({exc.strerror or exc})", "unreadable") from None
    info = os.fstat(fd)
    if not stat.S_ISREG(info.st_mode):
        os.close(fd)
        kind = "a folder" if stat.S_ISDIR(info.st_mode) else "a device, FIFO or socket"
        raise ImageRejected(f"{label} is not a regular file ({kind})", "not_a_file")
    with os.fdopen(fd, "rb") as fh:
        if info.st_size > limits.max_bytes:
            raise ImageRejected(f"{label} is {info.st_size:,} bytes, over the {limits.max_bytes:,}-byte limit",
                                "too_large")
        data = fh.read(limits.max_bytes + 1)
    if len(data) > limits.max_bytes:
        raise ImageRejected(f"{label} is over the {limits.max_bytes:,}-byte limit", "too_large")
    return data, real


@contextlib.contextmanager
def _opened(data: bytes, label: str, limits: ImageLimits) -> Iterator[Image.Image]:
    """The image opened with its size checked before any pixel is decoded; every decoding error in the
    block (a truncated file, a bomb, not an image at all) becomes one `ImageRejected`."""
    if not data:
        raise ImageRejected(f"{label} is an empty file (0 bytes)", "corrupt")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data)) as img:
                width, height = img.size
                if width * height > limits.max_pixels:
                    raise ImageRejected(f"{label} is {width}x{height} = {width * height:,} pixels, over the "
                                        f"{limits.max_pixels:,}-pixel limit (decompression-bomb guard); not decoded",
                                        "too_large")
                if min(width, height) < limits.min_side:
                    raise ImageRejected(f"{label} is {width}x{height}, smaller than {limits.min_side} pixels on a "
                                        "side", "too_small")
                yield img
    except ImageRejected:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise ImageRejected(f"{label} trips the decompression-bomb guard: {exc}", "too_large") from None
    except Image.UnidentifiedImageError:
        raise ImageRejected(f"{label} is not a readable image (unknown or corrupt format)", "corrupt") from None
    except Exception as exc:  # PIL raises many types for broken data
        text = str(exc)
        reason = "truncated" if "truncated" in text.lower() or "premature end" in text.lower() else "corrupt"
        raise ImageRejected(f"{label} is not a readable image ({type(exc).__name__}: {text})", reason) from None


def _decode_checked(data: bytes, label: str, limits: ImageLimits) -> tuple[str, int, int]:
    with _opened(data, label, limits) as img:
        fmt, (width, height) = img.format or "PNG", img.size
        orientation = img.getexif().get(0x0112, 1)
        img.load()  # every pixel: a truncated or corrupt file fails here, not later in a model
    if orientation in (5, 6, 7, 8):  # rotated by 90 degrees: displayed width and height swap
        width, height = height, width
    return fmt, width, height


def _image_bytes(path: str | Path | None, data: bytes | None, label: str, roots: Sequence[Path] | None,
                 limits: ImageLimits) -> tuple[bytes, Path | None]:
    """The image's bytes: the inline `data` (within the byte limit), else the file at `path` read by the
    rules above. Returns (bytes, real path or None)."""
    if data is not None:
        if len(data) > limits.max_bytes:
            raise ImageRejected(f"{label} is over the {limits.max_bytes:,}-byte limit", "too_large")
        return data, None
    if path is None:
        raise ImageRejected(f"{label} has neither a path nor bytes", "missing_file")
    return _read_regular_file(Path(path), label, roots, limits)


def verify_image(*, path: str | Path | None = None, data: bytes | None = None, label: str,
                 roots: Sequence[Path] | None = None, limits: ImageLimits = DEFAULT_LIMITS,
                 expect_sha256: str | None = None) -> VerifiedImage:
    """Read (from `path`, or the inline `data`) and fully check one image. `roots`: real folders the file
    must lie in (None: no folder restriction, the system trees stay forbidden). `label` names the image in
    every message. Raises `ImageRejected`."""
    data, real = _image_bytes(path, data, label, roots, limits)
    fmt, width, height = _decode_checked(data, label, limits)
    sha = hashlib.sha256(data).hexdigest()
    if expect_sha256 and expect_sha256 != sha:
        raise ImageRejected(f"{label} changed since it was curated (sha256 {sha[:12]}..., the record says "
                            f"{expect_sha256[:12]}...)", "changed")
    return VerifiedImage(data=data, sha256=sha, format=fmt, width=width, height=height, path=real)


def verify_ref(ref, *, base_dir: str | Path | None, label: str, roots: Sequence[Path] | None = None,
               limits: ImageLimits = DEFAULT_LIMITS) -> VerifiedImage:
    """`verify_image` for an `ImageRef` (inline bytes, or a path relative to `base_dir`), checked against
    the sha256 it records."""
    if ref.bytes_ is not None:
        return verify_image(data=ref.bytes_, label=label, limits=limits, expect_sha256=ref.sha256)
    return verify_image(path=ref.resolve(base_dir), label=label, roots=roots, limits=limits,
                        expect_sha256=ref.sha256)


def load_rgb(ref, *, base_dir: str | Path | None, label: str, roots: Sequence[Path] | None = None,
             limits: ImageLimits = DEFAULT_LIMITS,
             draft_scale: Callable[[int, int], float] | None = None) -> Image.Image:
    """Read one `ImageRef` through the same checks as `verify_ref` and decode it ONCE into the pixel
    convention (`to_rgb`): what model inputs use. `draft_scale(width, height)`: the fraction the consumer will
    shrink the image to; at <= 0.25 a JPEG decodes at a reduced DCT scale keeping at least twice that size."""
    path = None if ref.bytes_ is not None else ref.resolve(base_dir)
    data, _ = _image_bytes(path, ref.bytes_, label, roots, limits)
    with _opened(data, label, limits) as img:
        width, height = img.size
        scale = draft_scale(width, height) if draft_scale is not None and img.format == "JPEG" else 1.0
        if scale <= 0.25:
            img.draft("RGB", (int(2 * scale * width) + 1, int(2 * scale * height) + 1))
        img.load()
        return to_rgb(img)


def file_sha256(path: str | Path, limits: ImageLimits = DEFAULT_LIMITS) -> str | None:
    """The sha256 of a file a record names, read by the same rules as an image (a regular file, no system
    tree, within the byte limit); None when it may not be read. A reader records it; the image check that
    later decodes the file says why it is refused."""
    try:
        data, _ = _read_regular_file(Path(path), f"image {str(path)!r}", None, limits)
    except ImageRejected:
        return None
    return hashlib.sha256(data).hexdigest()
