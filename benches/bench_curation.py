"""Curation benchmarks (figures printed, and saved to bench-results/curation/bench_curation.json):

1. ConceptNet ingest of a generated 5-column assertions CSV (>= 5M rows; 300k with --quick): MB/s, rows/s
   and peak RSS of the ingesting process (targets: >= 100 MB/s, < 2 GB).
2. Mining all 11 subtasks with >= 3M edges x >= 100k images (30k x 300k with --quick): linking + mining time
   (target < 60 s for mining).
3. Near-duplicate search over 1M 64-bit hashes with planted near-duplicates (100k with --quick): time and
   whether every planted pair is found (target < 60 s, all found).
4. --compare-stores: the mining lookup on polars vs DuckDB (why the edge store is polars).

    .venv/bin/python benches/bench_curation.py --quick
"""

from __future__ import annotations

import argparse
import json
import math
import random
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]

COCO = ("person bicycle car motorcycle airplane bus train truck boat traffic light fire hydrant stop sign bench "
        "bird cat dog horse sheep cow elephant bear zebra giraffe backpack umbrella handbag tie suitcase frisbee "
        "skis snowboard kite skateboard surfboard bottle cup fork knife spoon bowl banana apple sandwich orange "
        "broccoli carrot pizza donut cake chair couch bed toilet tv laptop mouse remote keyboard microwave oven "
        "toaster sink refrigerator book clock vase scissors toothbrush").split()
MATERIALS = "wood metal plastic glass steel iron stone paper cloth leather rubber ceramic".split()
PROPS = "red blue green yellow white black round square long tall small big shiny furry".split()
SCENES = "kitchen bathroom street park beach field city room office farm".split()
VERBS = {"ride": "riding", "eat": "eating", "play": "playing", "hold": "holding", "throw": "throwing",
         "sit": "sitting", "walk": "walking", "fly": "flying", "cut": "cutting", "watch": "watching"}
PEOPLE = "man woman boy girl child dog cat".split()


def rss_mb() -> float:
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


# --------------------------------------------------------------------------------------------- 1. ingest


def generate_csv(path: Path, rows: int, seed: int = 0) -> None:
    """A 5-column assertions file like the official dump: mixed languages, sense suffixes, JSON data."""
    rng = random.Random(seed)
    rels = ["RelatedTo", "IsA", "UsedFor", "AtLocation", "HasProperty", "Synonym", "MadeOf", "CapableOf"]
    langs = ["en", "en", "en", "fr", "de", "ja", "es"]
    words = [f"word{i}" for i in range(200_000)]
    tmp = path.with_suffix(".tmp")
    with tmp.open("w", encoding="utf-8") as fh:
        buf = []
        for n in range(rows):
            r = rels[n % len(rels)]
            l1, l2 = rng.choice(langs), rng.choice(langs)
            start = f"/c/{l1}/{rng.choice(words)}_{rng.choice(words)}/n"
            end = f"/c/{l2}/{rng.choice(words)}/n/wn/artifact"
            buf.append(f"/a/[/r/{r}/,{start}/,{end}/]\t/r/{r}\t{start}\t{end}\t"
                       f'{{"dataset": "/d/conceptnet/4/en", "license": "cc:by/4.0", "sources": [{{"activity": '
                       f'"/s/activity/omcs/omcs1_possibly_free_text", "contributor": "/s/contributor/omcs/u{n % 997}"}}], '
                       f'"surfaceText": "[[{start[6:12]}]] is related to [[{end[6:12]}]]", "weight": {1 + (n % 7) / 3:.3f}}}\n')
            if len(buf) >= 100_000:
                fh.write("".join(buf))
                buf.clear()
        fh.write("".join(buf))
    tmp.replace(path)


def bench_ingest(out: Path, rows: int, keep: bool = False) -> dict:
    csv = out / f"assertions-{rows}.csv"
    if not csv.exists():
        t = time.perf_counter()
        generate_csv(csv, rows)
        print(f"  generated {rows:,} rows ({csv.stat().st_size / 1e6:.0f} MB) in {time.perf_counter() - t:.0f} s")
    child = (
        "import json, resource, sys; from mmra.curation.conceptnet import ingest_conceptnet; "
        f"s = ingest_conceptnet({str(csv)!r}, {str(out / 'ingest.parquet')!r}); "
        "print(json.dumps({'lines': s.lines, 'kept': s.kept, 'malformed': s.malformed, 'bytes': s.bytes, "
        "'seconds': s.seconds, 'rss_mb': resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))"
    )
    try:
        res = subprocess.run([sys.executable, "-c", child], capture_output=True, text=True, check=True)
    finally:
        if not keep:  # ~2 GB at full size: do not leave it on a shared disk
            csv.unlink(missing_ok=True)
            (out / "ingest.parquet").unlink(missing_ok=True)
    stats = json.loads(res.stdout.strip().splitlines()[-1])
    stats["mb_per_s"] = stats["bytes"] / 1e6 / stats["seconds"]
    stats["rows_per_s"] = stats["lines"] / stats["seconds"]
    print(f"  ingest: {stats['lines']:,} rows, {stats['bytes'] / 1e6:.0f} MB in {stats['seconds']:.1f} s = "
          f"{stats['mb_per_s']:.0f} MB/s ({stats['rows_per_s'] / 1e6:.2f} M rows/s), {stats['kept']:,} English "
          f"edges kept, peak RSS {stats['rss_mb']:.0f} MB")
    return stats


# --------------------------------------------------------------------------------------------- 2. mining


def synthetic_edges(n_edges: int, rng: random.Random):
    objects = COCO + [f"thing{i}" for i in range(4000)]
    events = [f"{v} {o}" for v in VERBS for o in COCO]
    rows = []
    for o in objects:
        rows.append(("MadeOf", o, rng.choice(MATERIALS), rng.uniform(1, 3.5)))
        rows.append(("UsedFor", o, f"use{rng.randrange(400)}", rng.uniform(1, 3.5)))
        rows.append(("HasProperty", o, rng.choice(PROPS), rng.uniform(1, 3.5)))
        rows.append(("AtLocation", o, rng.choice(SCENES), rng.uniform(1, 3.5)))
    for e in events:
        for _ in range(3):
            rows.append((rng.choice(["HasSubevent", "HasFirstSubevent"]), e, rng.choice(events), rng.uniform(1, 3)))
        rows.append(("HasPrerequisite", e, rng.choice(objects), 1.0))
    for p in PEOPLE:
        for v in VERBS:
            rows.append(("Desires", p, v, 2.0))
    filler_words = [f"c{i}" for i in range(300_000)]
    rels = ["RelatedTo", "IsA", "Synonym", "AtLocation", "UsedFor", "CapableOf", "HasProperty", "Causes"]
    tails = filler_words + objects
    while len(rows) < n_edges:
        rows.append((rels[len(rows) % len(rels)], rng.choice(filler_words), rng.choice(tails), rng.uniform(1, 3)))
    return rows


def synthetic_images(n_images: int, rng: random.Random):
    from mmra.curation.corpus import ImageBox, ImageRecord

    records = []
    for i in range(n_images):
        w, h = 640, 480
        boxes = []
        for _ in range(rng.randint(2, 7)):
            bw, bh = rng.uniform(20, 300), rng.uniform(20, 250)
            boxes.append(ImageBox(rng.choice(COCO), (rng.uniform(0, w - bw), rng.uniform(0, h - bh), bw, bh),
                                  "person" if rng.random() < 0.3 else None))
        captions = []
        for _ in range(3):
            verb = rng.choice(list(VERBS))
            captions.append(f"a {rng.choice(PROPS)} {rng.choice(PEOPLE)} {VERBS[verb]} a {rng.choice(COCO)} "
                            f"in the {rng.choice(SCENES)}" + (" close up" if rng.random() < 0.1 else ""))
        records.append(ImageRecord(key=f"synthetic:{i}", path=Path(f"/synthetic/{i}.jpg"), width=w, height=h,
                                   labels=[b.label for b in boxes], boxes=boxes, captions=captions,
                                   sentient_labels={b.label for b in boxes if b.supercategory},
                                   sha256=f"{i:064x}", phash=f"{i:016x}", dhash=f"{i:016x}"))
    return records


def bench_mining(n_edges: int, n_images: int, quota: int = 100) -> dict:
    from mmra.benchmark.registry import all_subtasks
    from mmra.curation.edges import EdgeStore
    from mmra.curation.entities import Linker
    from mmra.curation.mining import MiningContext, RankingConfig, mine_subtask

    rng = random.Random(0)
    t = time.perf_counter()
    store = EdgeStore.from_edges(synthetic_edges(n_edges, rng))
    images = synthetic_images(n_images, rng)
    t_store = time.perf_counter() - t
    t = time.perf_counter()
    linker = Linker(store)
    facts = [linker.facts(r) for r in images]
    t_link = time.perf_counter() - t
    ctx = MiningContext(images=images, facts=facts, store=store, linker=linker, seed=0)
    per: dict[str, dict] = {}
    t = time.perf_counter()
    for spec in all_subtasks():
        s = time.perf_counter()
        cands, stats = mine_subtask(spec.name, ctx, RankingConfig(quota=quota))
        per[spec.name] = {"candidates": len(cands), "proposed": stats.get("proposed", 0),
                          "seconds": round(time.perf_counter() - s, 2)}
    t_mine = time.perf_counter() - t
    print(f"  {len(store):,} edges x {n_images:,} images: store+images built {t_store:.1f} s, linking "
          f"{t_link:.1f} s, mining 11 subtasks {t_mine:.1f} s (quota {quota}), peak RSS {rss_mb():.0f} MB")
    for name, v in per.items():
        print(f"    {name:22s} {v['candidates']:4d} candidates from {v['proposed']:>9,} proposals in {v['seconds']:5.2f} s")
    return {"edges": len(store), "images": n_images, "store_s": t_store, "linking_s": t_link, "mining_s": t_mine,
            "per_subtask": per, "rss_mb": rss_mb()}


# ------------------------------------------------------------------------------------------ 3. near-dups


def bench_neardup(n: int, planted: int = 1000, radius: int = 8) -> dict:
    from mmra.curation.neardup import choose_blocks, near_duplicate_pairs

    rng = np.random.default_rng(0)
    hashes = rng.integers(0, 2**64 - 1, size=n, dtype=np.uint64)
    pairs = set()
    for k in range(planted):
        src, dst = 2 * k, 2 * k + 1
        value = int(hashes[src])
        for bit in rng.choice(64, size=int(rng.integers(1, radius + 1)), replace=False):
            value ^= 1 << int(bit)
        hashes[dst] = np.uint64(value)
        pairs.add((src, dst))
    perm = rng.permutation(n)  # planted pairs anywhere in the array
    inverse = np.empty(n, dtype=np.int64)
    inverse[perm] = np.arange(n)
    shuffled = hashes[perm]
    t = time.perf_counter()
    found = near_duplicate_pairs(shuffled, radius)
    seconds = time.perf_counter() - t
    found_orig = {tuple(sorted((int(perm[i]), int(perm[j])))) for i, j, _ in found}
    missing = len(pairs - found_orig)
    print(f"  near-duplicates: {n:,} hashes, radius {radius} bits, {choose_blocks(n, radius)} blocks / "
          f"{math.comb(choose_blocks(n, radius), radius)} tables: {seconds:.1f} s, {len(found):,} pairs found, "
          f"planted {planted}: {planted - missing} found, {missing} missed")
    return {"hashes": n, "radius": radius, "seconds": seconds, "found": len(found), "planted": planted,
            "planted_missed": missing}


# ------------------------------------------------------------------------------------ 4. polars vs duckdb


def compare_stores(n_edges: int) -> dict:
    import duckdb
    import polars as pl

    from mmra.curation.edges import EdgeStore

    rng = random.Random(1)
    store = EdgeStore.from_edges(synthetic_edges(n_edges, rng))
    vocab = list(set(COCO + [f"thing{i}" for i in range(4000)]))
    relations = ["MadeOf", "UsedFor", "CapableOf", "HasProperty", "AtLocation"]
    t = time.perf_counter()
    for rel in relations:
        store.lookup([rel], vocab)
    t_polars = (time.perf_counter() - t) / len(relations)
    path = REPO / "bench-results" / "curation" / "edges.parquet"
    store.frame.write_parquet(path)
    con = duckdb.connect()
    con.execute("CREATE TABLE vocab AS SELECT * FROM (SELECT unnest(?::VARCHAR[]) AS c)", [vocab])
    t = time.perf_counter()
    for rel in relations:
        con.execute("SELECT e.* FROM read_parquet(?) e JOIN vocab v ON e.head = v.c WHERE e.relation = ?",
                    [str(path), rel]).fetchall()
    t_duck_parquet = (time.perf_counter() - t) / len(relations)
    con.execute("CREATE TABLE edges AS SELECT * FROM read_parquet(?)", [str(path)])
    t = time.perf_counter()
    for rel in relations:
        con.execute("SELECT e.* FROM edges e JOIN vocab v ON e.head = v.c WHERE e.relation = ?", [rel]).fetchall()
    t_duck_table = (time.perf_counter() - t) / len(relations)
    del pl
    print(f"  lookup 'relation R, head in vocabulary' over {len(store):,} edges, per query: polars "
          f"{t_polars * 1000:.0f} ms (incl. grouping to Python), DuckDB on parquet {t_duck_parquet * 1000:.0f} ms, "
          f"DuckDB table {t_duck_table * 1000:.0f} ms (rows only)")
    return {"polars_ms": t_polars * 1000, "duckdb_parquet_ms": t_duck_parquet * 1000,
            "duckdb_table_ms": t_duck_table * 1000}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="small sizes (about a minute)")
    parser.add_argument("--rows", type=int, help="rows of the generated ConceptNet CSV")
    parser.add_argument("--edges", type=int)
    parser.add_argument("--images", type=int)
    parser.add_argument("--hashes", type=int)
    parser.add_argument("--compare-stores", action="store_true")
    parser.add_argument("--keep-data", action="store_true", help="keep the generated CSV for the next run")
    parser.add_argument("--only", choices=["ingest", "mining", "neardup"], action="append")
    args = parser.parse_args()
    rows = args.rows or (300_000 if args.quick else 5_000_000)
    edges = args.edges or (300_000 if args.quick else 3_000_000)
    n_images = args.images or (10_000 if args.quick else 100_000)
    hashes = args.hashes or (100_000 if args.quick else 1_000_000)
    out = REPO / "bench-results" / "curation"
    out.mkdir(parents=True, exist_ok=True)
    only = set(args.only or ["ingest", "mining", "neardup"])
    results: dict = {"quick": args.quick}
    print(f"bench_curation ({'quick' if args.quick else 'full'})")
    if "ingest" in only:
        print("1. ConceptNet ingest")
        results["ingest"] = bench_ingest(out, rows, keep=args.keep_data)
    if "neardup" in only:
        print("3. near-duplicate search")
        results["neardup"] = bench_neardup(hashes)
    if "mining" in only:
        print("2. mining")
        results["mining"] = bench_mining(edges, n_images)
    if args.compare_stores:
        print("4. edge store: polars vs DuckDB")
        results["stores"] = compare_stores(edges)
    (out / "bench_curation.json").write_text(json.dumps(results, indent=2))
    print(f"saved {out / 'bench_curation.json'}")


if __name__ == "__main__":
    main()
