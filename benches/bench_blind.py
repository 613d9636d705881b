"""Model-free blind probes benchmark: seconds and peak memory of the answer prior + learned text-bias probe
(`mmra.benchmark.leakage.blind`) on 1,024 and 10,000 generated samples (the planted-shortcut generator of
tests/leakage/test_blind.py, shuffled and cut to size), with hand features only and with the packaged
all-MiniLM-L6-v2 embeddings; bias pruning to chance + 5 points; and the whole `mmra leakage --samples S --out D`
command without a model, as a subprocess.

Each measurement runs in a fresh interpreter, so its peak RSS (resource.getrusage) is its own; the Python-heap
peak comes from tracemalloc in a separate pass (tracemalloc slows allocation-heavy code, so it is not timed).

    .venv/bin/python benches/bench_blind.py [--quick] [--out bench-results/blind]
"""

from __future__ import annotations

import argparse
import json
import math
import os
import random
import resource
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def generated(n: int, seed: int = 0):
    sys.path.insert(0, str(ROOT))
    from tests.leakage.test_blind import planted_set

    samples, _ = planted_set(scale=max(1, math.ceil(n / 500)), seed=seed)
    random.Random(seed).shuffle(samples)
    return samples[:n]


def measure(n: int, embedder: str, task: str, heap: bool) -> dict:
    import tracemalloc

    from mmra.benchmark.leakage.blind import BlindSettings, load_embeddings, prune_to_chance, run_blind_probes

    samples = generated(n)
    settings = BlindSettings(embedder=None if embedder == "none" else embedder)
    out: dict = {"n": len(samples), "embedder": embedder, "task": task}
    if settings.embedder is not None:  # load the model first, so its one-off cost is shown apart
        started = time.perf_counter()
        assert load_embeddings(settings.embedder, []) is not None, "the embedding model did not load"
        out["embedder_load_s"] = round(time.perf_counter() - started, 2)
    if heap:
        tracemalloc.start()
    cpu = resource.getrusage(resource.RUSAGE_SELF)
    started = time.perf_counter()
    if task == "probes":
        result = run_blind_probes(samples, settings)
        out["learned_accuracy"] = result.overall["probes"]["learned"]["accuracy"]
        out["answer_prior_accuracy"] = result.overall["probes"]["answer_prior"]["accuracy"]
    else:
        pruned = prune_to_chance(samples, 5.0, settings)
        out.update(rounds=len(pruned.rounds), dropped=len(pruned.dropped), converged=pruned.converged)
    out["seconds"] = round(time.perf_counter() - started, 2)
    now = resource.getrusage(resource.RUSAGE_SELF)  # CPU time: what the work costs on a machine shared with others
    out["cpu_s"] = round(now.ru_utime - cpu.ru_utime + now.ru_stime - cpu.ru_stime, 2)
    if heap:
        out["python_heap_peak_mib"] = round(tracemalloc.get_traced_memory()[1] / 2**20, 1)
        tracemalloc.stop()
    out["peak_rss_mib"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)
    return out


def run_one(n: int, embedder: str, task: str, heap: bool = False) -> dict:
    args = [sys.executable, __file__, "--one", json.dumps([n, embedder, task, heap])]
    proc = subprocess.run(args, capture_output=True, text=True, cwd=ROOT, timeout=3600)
    if proc.returncode != 0:
        raise SystemExit(f"measurement {n}/{embedder}/{task} failed:\n{proc.stderr[-2000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def cli_run(n: int, workdir: Path) -> dict:
    sys.path.insert(0, str(ROOT))
    from mmra.benchmark.records import write_jsonl

    path = write_jsonl(workdir / f"samples-{n}.jsonl", generated(n))
    started = time.perf_counter()
    proc = subprocess.run([str(Path(sys.executable).parent / "mmra"), "leakage", "--samples", str(path), "--out",
                           str(workdir / f"out-{n}"), "--embedder", "none"], capture_output=True, text=True,
                          timeout=3600)
    if proc.returncode != 0:
        raise SystemExit(f"mmra leakage failed:\n{proc.stdout[-1000:]}{proc.stderr[-2000:]}")
    return {"n": n, "task": "mmra leakage (no model, --embedder none)", "seconds": round(time.perf_counter() - started, 2)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="1,024 samples only")
    parser.add_argument("--out", type=Path, default=ROOT / "bench-results" / "blind")
    parser.add_argument("--one", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one:
        n, embedder, task, heap = json.loads(args.one)
        print(json.dumps(measure(n, embedder, task, heap)))
        return
    args.out.mkdir(parents=True, exist_ok=True)
    sizes = [1024] if args.quick else [1024, 10_000]
    rows = []
    for n in sizes:
        for embedder in ("none", "auto"):
            row = run_one(n, embedder, "probes")
            row["python_heap_peak_mib"] = run_one(n, embedder, "probes", heap=True)["python_heap_peak_mib"]
            rows.append(row)
            print(json.dumps(row), flush=True)
        row = run_one(n, "none", "prune")
        rows.append(row)
        print(json.dumps(row), flush=True)
        row = cli_run(n, args.out)
        rows.append(row)
        print(json.dumps(row), flush=True)
    print("\nmodel-free blind probes (answer prior + learned text-bias probe, 5-fold)")
    print(f"{'n':>6} {'task':<44} {'embedder':<20} {'seconds':>8} {'CPU s':>7} {'load s':>7} {'peak RSS MiB':>13} "
          f"{'heap MiB':>9}")
    for r in rows:
        print(f"{r['n']:>6} {r['task']:<44} {r.get('embedder', '-'):<20} {r['seconds']:>8} {r.get('cpu_s', '-'):>7} "
              f"{r.get('embedder_load_s', '-'):>7} {r.get('peak_rss_mib', '-'):>13} {r.get('python_heap_peak_mib', '-'):>9}")
    print(f"(load average {' '.join(f'{x:.1f}' for x in os.getloadavg())} on {os.cpu_count()} cores: other work shares "
          "the machine, CPU s is the measurement's own cost)")
    (args.out / "bench_blind.json").write_text(json.dumps(rows, indent=2) + "\n")
    print(f"\nwritten {args.out / 'bench_blind.json'}")


if __name__ == "__main__":
    main()
