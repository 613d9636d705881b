"""Image QC on real files, and the sub-quadratic near-duplicate index against brute force."""

from __future__ import annotations

import numpy as np
from PIL import Image

from mmra.curation.corpus import ImageRecord
from mmra.curation.neardup import brute_force_pairs, choose_blocks, cross_pairs, near_duplicate_pairs
from mmra.curation.qc import (
    QCConfig,
    check_image,
    check_images,
    exclude_release,
    load_release_hashes,
    remove_near_duplicates,
)


def _planted(n: int, pairs: int, max_flip: int, seed: int = 0):
    rng = np.random.default_rng(seed)
    hashes = rng.integers(0, 2**64 - 1, size=n, dtype=np.uint64)
    planted = []
    for k in range(pairs):
        src, dst = k, n // 2 + k
        value = int(hashes[src])
        for bit in rng.choice(64, size=int(rng.integers(0, max_flip + 1)), replace=False):
            value ^= 1 << int(bit)
        hashes[dst] = np.uint64(value)
        planted.append((src, dst))
    return hashes, planted


def test_index_is_exact_against_brute_force():
    for radius in (4, 6, 8):
        hashes, planted = _planted(1200, 40, radius, seed=radius)
        found = near_duplicate_pairs(hashes, radius)
        assert found == brute_force_pairs(hashes, radius)
        assert {(i, j) for i, j, _ in found} >= set(planted)
    assert choose_blocks(1_000_000, 8) > 9  # more blocks for more hashes: keys stay selective


def test_cross_pairs_only_between_sets():
    hashes, planted = _planted(400, 10, 5, seed=3)
    new, old = hashes[:200], hashes[200:]
    found = cross_pairs(new, old, 5)
    assert {(i, j + 200) for i, j, _ in found} == set(planted)


def test_bad_images_are_rejected_with_reasons(coco, tmp_path):
    real = next((coco["root"] / "val2017").glob("*.jpg"))
    blob = real.read_bytes()
    files = {
        "truncated.jpg": blob[: len(blob) // 2],
        "corrupt.jpg": b"\x00garbage" * 100,
        "empty.jpg": b"",
    }
    for name, data in files.items():
        (tmp_path / name).write_bytes(data)
    Image.new("RGB", (20, 300), (9, 9, 9)).save(tmp_path / "tiny.png")
    assert check_image(real).ok and len(check_image(real).phash) == 16
    assert check_image(tmp_path / "truncated.jpg").reason == "truncated"
    assert check_image(tmp_path / "corrupt.jpg").reason == "corrupt"
    assert check_image(tmp_path / "empty.jpg").reason == "corrupt"
    assert check_image(tmp_path / "nope.jpg").reason == "missing_file"
    tiny = check_image(tmp_path / "tiny.png")
    assert tiny.reason == "too_small" and "20x300" in tiny.detail
    bomb = check_image(real, max_pixels=10_000)
    assert bomb.reason == "too_large" and "decompression-bomb" in bomb.detail
    records = [ImageRecord(key=f"img:{p.name}", path=p) for p in [real, *sorted(tmp_path.iterdir())]]
    good, issues = check_images(records, QCConfig())
    assert [r.key for r in good] == [f"img:{real.name}"]
    assert {i.item: i.reason for i in issues} == {
        "img:corrupt.jpg": "corrupt", "img:empty.jpg": "corrupt", "img:tiny.png": "too_small",
        "img:truncated.jpg": "truncated"}


def test_near_duplicates_and_release_exclusion(coco, tmp_path):
    photos = sorted((coco["root"] / "val2017").glob("*.jpg"))[:6]
    with Image.open(photos[0]) as img:
        img.resize((img.width // 2, img.height // 2)).save(tmp_path / "smaller_copy.jpg", quality=80)
    records = [ImageRecord(key=f"img:{p.name}", path=p) for p in [*photos, tmp_path / "smaller_copy.jpg"]]
    good, _ = check_images(records, QCConfig())
    kept, issues, pairs = remove_near_duplicates(good, QCConfig())
    assert [i.item for i in issues] == ["img:smaller_copy.jpg"]
    assert f"near-duplicate of img:{photos[0].name}" in issues[0].detail
    assert pairs and pairs[0]["phash_distance"] <= 8
    release_file = tmp_path / "release.txt"
    release_file.write_text(f"# an earlier release\n{kept[1].phash}\n{kept[2].sha256}\n")
    left, excluded = exclude_release(kept, load_release_hashes([release_file]), QCConfig())
    assert {i.item for i in excluded} == {kept[1].key, kept[2].key}
    assert all(i.reason == "in_earlier_release" for i in excluded) and len(left) == len(kept) - 2
