"""Image QC: every image is opened for real; missing, empty, corrupt, truncated, tiny and oversized
(decompression-bomb) images are rejected with the reason. Survivors get sha256, pHash and dHash (imagehash).
Then exact and near-duplicate images are found with the sub-quadratic index in `neardup` and all but one of
each group are rejected (naming the image they duplicate), so no candidate can pair two near-duplicates.
Images already in an earlier release (by sha256 or perceptual hash) can be excluded against contamination.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import imagehash

from mmra.benchmark.images import ImageLimits, ImageRejected, resolve_roots, verify_image
from mmra.parsing import ParseError, load_json

from .corpus import ImageRecord, Issue
from .neardup import cross_pairs, near_duplicate_pairs, parse_hex


@dataclass
class QCConfig:
    min_side: int = 64  # pixels; smaller images are rejected as too small
    max_pixels: int = 50_000_000  # width x height above this is rejected before decoding (decompression bomb)
    phash_distance: int = 8  # near-duplicate when pHash differs in at most this many bits ...
    dhash_distance: int = 8  # ... or dHash does
    workers: int = 1  # processes for decoding and hashing
    # folders every image must lie in (symlinks resolved); None: no restriction beyond the system trees
    roots: tuple[Path, ...] | None = None


@dataclass
class ImageCheck:
    ok: bool
    reason: str = ""
    detail: str = ""
    sha256: str | None = None
    phash: str | None = None
    dhash: str | None = None
    width: int | None = None
    height: int | None = None


def check_image(path: str | Path, min_side: int = 64, max_pixels: int = 50_000_000,
                roots: Sequence[str] | None = None) -> ImageCheck:
    """The one image check (`mmra.benchmark.images`: a regular file inside `roots`, fully decoded within the
    size limits), then pHash and dHash of the upright RGB picture. Never raises for a bad image."""
    limits = ImageLimits(min_side=min_side, max_pixels=max_pixels)
    real_roots = None if roots is None else resolve_roots(roots)
    try:
        image = verify_image(path=path, label=f"image file {Path(path).name}", roots=real_roots, limits=limits)
        rgb = image.rgb(draft_to=(max(256, min_side), max(256, min_side)))  # JPEG: decode at reduced scale
    except ImageRejected as exc:
        return ImageCheck(False, exc.reason, str(exc))
    return ImageCheck(True, sha256=image.sha256, phash=str(imagehash.phash(rgb)), dhash=str(imagehash.dhash(rgb)),
                      width=image.width, height=image.height)


def _check_args(args: tuple[str, int, int, Sequence[str] | None]) -> ImageCheck:
    return check_image(*args)


def check_images(records: Sequence[ImageRecord], config: QCConfig,
                 on_progress: Callable[[int], None] | None = None) -> tuple[list[ImageRecord], list[Issue]]:
    """Decode and hash every image; return the good records (hash fields filled) and reject issues."""
    good: list[ImageRecord] = []
    issues: list[Issue] = []
    roots = None if config.roots is None else tuple(map(str, config.roots))
    args = [(str(r.path), config.min_side, config.max_pixels, roots) for r in records]
    if config.workers > 1 and len(records) > 64:
        with ProcessPoolExecutor(config.workers) as pool:
            results = pool.map(_check_args, args, chunksize=16)
            checks = []
            for check in results:
                checks.append(check)
                if on_progress:
                    on_progress(1)
    else:
        checks = []
        for a in args:
            checks.append(_check_args(a))
            if on_progress:
                on_progress(1)
    for record, check in zip(records, checks, strict=True):
        if not check.ok:
            issues.append(Issue(record.key, check.reason, check.detail, stage="qc", reject=True))
            continue
        record.sha256, record.phash, record.dhash = check.sha256, check.phash, check.dhash
        if record.width and record.height and (record.width, record.height) != (check.width, check.height):
            issues.append(Issue(record.key, "size_mismatch", f"annotations say {record.width}x{record.height}, "
                                f"the file is {check.width}x{check.height}; boxes rescaled to the file", stage="qc"))
            sx, sy = check.width / record.width, check.height / record.height  # type: ignore[operator]
            for box in record.boxes:
                x, y, w, h = box.bbox
                box.bbox = (x * sx, y * sy, w * sx, h * sy)
        record.width, record.height = check.width, check.height
        good.append(record)
    return good, issues


def _union_find_groups(size: int, pairs: Sequence[tuple[int, int]]) -> list[list[int]]:
    parent = list(range(size))

    def find(x: int) -> int:
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    for i, j in pairs:
        ri, rj = find(i), find(j)
        if ri != rj:
            parent[max(ri, rj)] = min(ri, rj)
    groups: dict[int, list[int]] = {}
    for x in range(size):
        groups.setdefault(find(x), []).append(x)
    return [g for g in groups.values() if len(g) > 1]


def remove_near_duplicates(records: list[ImageRecord], config: QCConfig) -> tuple[list[ImageRecord], list[Issue],
                                                                                    list[dict]]:
    """Keep one image per group of exact/near duplicates (the largest; then by id), reject the others.
    Returns kept records, reject issues and the duplicate pairs found (for the report)."""
    if len(records) < 2:
        return records, [], []
    phashes = parse_hex(r.phash for r in records)  # type: ignore[arg-type]
    dhashes = parse_hex(r.dhash for r in records)  # type: ignore[arg-type]
    found: dict[tuple[int, int], dict] = {}
    for i, j, d in near_duplicate_pairs(phashes, config.phash_distance):
        found[(i, j)] = {"phash_distance": d}
    for i, j, d in near_duplicate_pairs(dhashes, config.dhash_distance):
        found.setdefault((i, j), {})["dhash_distance"] = d
    by_sha: dict[str, int] = {}
    for k, r in enumerate(records):
        if r.sha256 in by_sha:
            found.setdefault((by_sha[r.sha256], k), {})["identical_file"] = True
        else:
            by_sha[r.sha256] = k  # type: ignore[index]
    pairs_report = []
    for (i, j), info in sorted(found.items()):
        full = {"phash_distance": bin(int(phashes[i]) ^ int(phashes[j])).count("1"),
                "dhash_distance": bin(int(dhashes[i]) ^ int(dhashes[j])).count("1"), **info}
        found[(i, j)] = full
        pairs_report.append({"image1": records[i].key, "image2": records[j].key, **full})
    rejected: set[int] = set()
    issues = []
    for group in _union_find_groups(len(records), list(found)):
        keep = min(group, key=lambda k: (-records[k].area, records[k].key))
        for k in sorted(group):
            if k == keep:
                continue
            info = found.get((min(k, keep), max(k, keep))) or {}
            how = ("identical file" if info.get("identical_file") else
                   f"pHash distance {info.get('phash_distance', '?')}, dHash distance {info.get('dhash_distance', '?')}")
            issues.append(Issue(records[k].key, "near_duplicate", f"near-duplicate of {records[keep].key} ({how}); "
                                "that one is kept", stage="qc", reject=True))
            rejected.add(k)
    return [r for k, r in enumerate(records) if k not in rejected], issues, pairs_report


@dataclass
class ReleaseHashes:
    sha256: set[str]
    phash: list[tuple[str, str]]  # (hash, where it was seen)


def load_release_hashes(paths: Sequence[str | Path]) -> ReleaseHashes:
    """Hashes of an earlier release: JSONL of candidates/samples (image1/image2 with sha256/phash) or JSON
    records with those fields, or a text file with one hash per line (16 hex digits: pHash; 64: sha256)."""
    out = ReleaseHashes(set(), [])
    for path in map(Path, paths):
        if not path.is_file():
            raise FileNotFoundError(f"earlier-release hash file {path} does not exist")
        with path.open(encoding="utf-8") as fh:
            for lineno, line in enumerate(fh, 1):
                text = line.strip()
                if not text or text.startswith("#"):
                    continue
                where = f"{path.name}:{lineno}"
                if text.startswith("{"):
                    try:
                        data = load_json(text)
                    except ParseError as exc:
                        raise ValueError(f"{where}: {exc}") from None
                    refs = [data.get("image1"), data.get("image2"), data]
                    for ref in refs:
                        if isinstance(ref, dict):
                            if ref.get("sha256"):
                                out.sha256.add(ref["sha256"])
                            if ref.get("phash"):
                                out.phash.append((ref["phash"], ref.get("source") or where))
                elif len(text) == 64:
                    out.sha256.add(text.lower())
                elif len(text) == 16:
                    out.phash.append((text.lower(), where))
                else:
                    raise ValueError(f"{where}: expected a 16-digit pHash or a 64-digit sha256, got {text[:70]!r}")
    return out


def exclude_release(records: list[ImageRecord], release: ReleaseHashes, config: QCConfig
                    ) -> tuple[list[ImageRecord], list[Issue]]:
    issues = []
    dropped: set[int] = set()
    for k, r in enumerate(records):
        if r.sha256 in release.sha256:
            issues.append(Issue(r.key, "in_earlier_release", "the same file (sha256) is in the earlier release",
                                stage="qc", reject=True))
            dropped.add(k)
    if release.phash:
        new = parse_hex(r.phash for r in records)  # type: ignore[arg-type]
        old = parse_hex(h for h, _ in release.phash)
        for i, j, d in cross_pairs(new, old, config.phash_distance):
            if i not in dropped:
                issues.append(Issue(records[i].key, "in_earlier_release",
                                    f"pHash distance {d} to {release.phash[j][1]} of the earlier release",
                                    stage="qc", reject=True))
                dropped.add(i)
    return [r for k, r in enumerate(records) if k not in dropped], issues

