"""Sub-quadratic near-duplicate search over 64-bit perceptual hashes (multi-index hashing by block tables).

Split the 64 bits into n blocks. Two hashes within Hamming distance r differ in at most r blocks, so at least
n - r blocks are identical (pigeonhole). One table per choice of n - r blocks, keyed by those blocks: every
pair within distance r shares a key in at least one table, so the search is exact (no planted pair can be
missed). Each table is one sort of the masked hashes; candidates are neighbours with equal keys, checked with
a popcount. n is chosen per call by a cost model (tables x N log N sorting vs. N^2 / 2^key_bits candidates).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from itertools import combinations

import numpy as np

_SORT_COST = 3.0  # per-element cost of one table (key, filter, sort), relative to checking one candidate pair (measured)


def parse_hex(values: Iterable[str]) -> np.ndarray:
    return np.array([int(v, 16) for v in values], dtype=np.uint64)


def _block_ranges(n: int) -> list[tuple[int, int]]:
    """n contiguous (start bit, width) ranges covering 64 bits."""
    edges = [round(64 * k / n) for k in range(n + 1)]
    return [(edges[k], edges[k + 1] - edges[k]) for k in range(n)]


def choose_blocks(size: int, max_distance: int) -> int:
    """The block count with the lowest estimated cost for `size` hashes and radius `max_distance`."""
    best, best_cost = max_distance + 1, math.inf
    for n in range(max_distance + 1, min(64, max_distance + 12) + 1):
        keep = n - max_distance
        tables = math.comb(n, keep)
        key_bits = 64 * keep / n
        candidates = size * size / 2 / 2 ** key_bits
        cost = tables * (size * _SORT_COST + candidates)
        if cost < best_cost:
            best, best_cost = n, cost
    return best


def _popcount(x: np.ndarray) -> np.ndarray:
    if hasattr(np, "bitwise_count"):
        return np.bitwise_count(x)
    bits = np.unpackbits(x.view(np.uint8).reshape(-1, 8), axis=1)
    return bits.sum(axis=1)


def near_duplicate_pairs(hashes: np.ndarray, max_distance: int, *, blocks: int | None = None,
                         on_table: Callable[[int, int], None] | None = None) -> list[tuple[int, int, int]]:
    """All pairs (i, j, distance) with i < j and Hamming distance <= `max_distance`."""
    hashes = np.ascontiguousarray(hashes, dtype=np.uint64)
    size = len(hashes)
    if size < 2:
        return []
    if max_distance >= 32:
        raise ValueError("near-duplicate search supports distances up to 31 bits")
    n = blocks or choose_blocks(size, max_distance)
    ranges = _block_ranges(n)
    # each block's value once, as small integers; a table's key packs its blocks into one integer
    values = [((hashes >> np.uint64(start)) & np.uint64((1 << width) - 1)).astype(np.uint32)
              for start, width in ranges]
    tables = list(combinations(range(n), n - max_distance))
    found_i: list[np.ndarray] = []
    found_j: list[np.ndarray] = []
    found_d: list[np.ndarray] = []
    for t, chosen in enumerate(tables):
        key_bits = sum(ranges[k][1] for k in chosen)
        dtype = np.uint32 if key_bits <= 32 else np.uint64
        keys = np.zeros(size, dtype=dtype)
        shift = 0
        for k in chosen:
            keys |= values[k].astype(dtype) << dtype(shift)
            shift += ranges[k][1]
        if key_bits <= 24:  # keep only hashes whose key occurs twice or more before sorting
            counts = np.bincount(keys, minlength=1 << key_bits)
            candidates = np.flatnonzero(counts[keys] >= 2)
        else:
            candidates = np.arange(size)
        if candidates.size < 2:
            continue
        order = candidates[np.argsort(keys[candidates])]
        sorted_keys = keys[order]
        distance = 1
        while distance < order.size:
            equal = np.flatnonzero(sorted_keys[:-distance] == sorted_keys[distance:])
            if equal.size == 0:
                break
            i, j = order[equal], order[equal + distance]
            d = _popcount(hashes[i] ^ hashes[j])
            close = d <= max_distance
            if close.any():
                found_i.append(np.minimum(i[close], j[close]))
                found_j.append(np.maximum(i[close], j[close]))
                found_d.append(d[close])
            distance += 1
        if on_table:
            on_table(t + 1, len(tables))
    if not found_i:
        return []
    i = np.concatenate(found_i)
    j = np.concatenate(found_j)
    d = np.concatenate(found_d)
    pair_keys = i.astype(np.int64) * size + j.astype(np.int64)
    _, first = np.unique(pair_keys, return_index=True)
    return sorted(zip(i[first].tolist(), j[first].tolist(), d[first].astype(int).tolist(), strict=True))


def cross_pairs(new: np.ndarray, old: np.ndarray, max_distance: int) -> list[tuple[int, int, int]]:
    """Pairs (index in new, index in old, distance) within `max_distance`."""
    if len(new) == 0 or len(old) == 0:
        return []
    joined = np.concatenate([np.asarray(new, dtype=np.uint64), np.asarray(old, dtype=np.uint64)])
    split = len(new)
    return [(i, j - split, d) for i, j, d in near_duplicate_pairs(joined, max_distance) if i < split <= j]


def brute_force_pairs(hashes: np.ndarray, max_distance: int) -> list[tuple[int, int, int]]:
    """The O(N^2) reference, for tests on small inputs."""
    out = []
    values = [int(h) for h in hashes]
    for i in range(len(values)):
        for j in range(i + 1, len(values)):
            d = bin(values[i] ^ values[j]).count("1")
            if d <= max_distance:
                out.append((i, j, d))
    return out
