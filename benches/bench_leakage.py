"""Leakage filter benchmark.

1. Throughput of ChatClient against the real local server (smollm2-135m) at concurrency 1/4/8 (unique prompts).
2. Cached re-run time for 1,000 samples: the cache is filled once through the project's loopback
   OpenAI-compatible server (tests/llm/faultserver.py, no faults), then `run_leakage` + `write_outputs` are timed
   (target < 2 s), and the whole `mmra leakage` command as a subprocess.
3. Full mode (skipped with --quick): >= 2 real local models (smollm2-135m, qwen2.5-0.5b) over >= 100 multiple
   choice + yes/no samples built from ConceptNet-100K (../shared/data): verdicts for every sample, report, plot,
   then a re-run that must be served only by the cache.

    .venv/bin/python benches/bench_leakage.py [--quick] [--out bench-results/leakage]
"""

from __future__ import annotations

import argparse
import gzip
import json
import random
import subprocess
import sys
import time
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared" / "data"


def conceptnet_samples(n: int, seed: int = 0):
    """MC (4 options) and yes/no questions from real ConceptNet edges, on real COCO-mini image paths."""
    from mmra.benchmark.schema import ImageRef, Sample

    by_rel: dict[str, dict[str, set[str]]] = defaultdict(lambda: defaultdict(set))
    with gzip.open(SHARED / "conceptnet" / "ckbc-train100k.tsv.gz", "rt", encoding="utf-8") as fh:
        for line in fh:
            rel, head, tail, _ = line.rstrip("\n").split("\t")
            if rel in ("UsedFor", "AtLocation") and len(head.split()) <= 2 and len(tail.split()) <= 3:
                by_rel[rel][tail].add(head)
    images = sorted((SHARED / "coco-mini" / "val2017").glob("*.jpg"))
    rng = random.Random(seed)
    templates = {"UsedFor": ("UsageSimilarity", "Which of these is used for {t}?", "Is a {h} used for {t}?"),
                 "AtLocation": ("Environment", "Which of these would you find at a {t}?", "Would you find a {h} at a {t}?")}
    samples, seen = [], set()
    while len(samples) < n:
        rel = rng.choice(sorted(templates))
        subtask, mc_q, yn_q = templates[rel]
        tails = [t for t, hs in by_rel[rel].items() if len(hs) >= 1]
        tail = rng.choice(tails)
        head = rng.choice(sorted(by_rel[rel][tail]))
        img1, img2 = rng.sample(images, 2)
        refs = dict(image1=ImageRef(path=str(img1)), image2=ImageRef(path=str(img2)))
        if len(samples) % 5 < 3:  # 60 % multiple choice
            pool = sorted({h for t, hs in by_rel[rel].items() if t != tail for h in hs} - by_rel[rel][tail])
            options = rng.sample(pool, 3) + [head]
            rng.shuffle(options)
            question = mc_q.format(t=tail)
            sample = Sample(subtask=subtask, qa_type="multiple_choice", question=question, options=options,
                            answer="ABCD"[options.index(head)], **refs)
        else:
            truth = rng.random() < 0.5
            other = rng.choice([t for t in tails if head not in by_rel[rel][t]])
            question = yn_q.format(h=head, t=tail if truth else other)
            sample = Sample(subtask="NearSameEntity", qa_type="yes_no", question=question, options=[],
                            answer="Yes" if truth else "No", **refs)
        if sample.id not in seen:
            seen.add(sample.id)
            samples.append(sample)
    return samples


def bench_throughput(model: str, n: int) -> list[dict]:
    from mmra.llm.client import ChatClient, ChatRequest
    from mmra.llm.server import ensure_server

    url = ensure_server(model)
    rows = []
    for concurrency in (1, 4, 8):
        client = ChatClient(url, model, concurrency=concurrency, cache_path=None, progress=False)
        nonce = time.time_ns()
        reqs = [ChatRequest(messages=[{"role": "user", "content":
                f"[{nonce}-{concurrency}-{i}] Question: Which of these is a fruit?\nOptions:\nA. hammer\nB. banana\n"
                "C. brick\nD. nail\nAnswer with the letter of the correct option (A, B, C, D) only."}], max_tokens=4)
                for i in range(n)]
        start = time.monotonic()
        results = client.run(reqs)
        elapsed = time.monotonic() - start
        rows.append({"model": model, "concurrency": concurrency, "requests": n, "errors": sum(bool(r.error) for r in results),
                     "req_per_s": round(n / elapsed, 2), "mean_latency_s": round(elapsed * concurrency / n, 2)})
        print(f"  throughput {model} c={concurrency}: {rows[-1]['req_per_s']} req/s ({n} requests)", flush=True)
    return rows


def bench_cached_rerun(out: Path, n: int) -> dict:
    from mmra.benchmark.leakage import LeakageSettings, run_leakage, write_outputs
    from mmra.benchmark.records import write_jsonl
    from mmra.llm.client import ChatClient
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the test-only server lives in tests/
    from tests.llm.faultserver import FaultPlan, FaultServer

    samples = conceptnet_samples(n, seed=1)
    path = write_jsonl(out / "cached-samples.jsonl", samples)
    cache = out / "cached.sqlite"
    cache.unlink(missing_ok=True)
    settings = LeakageSettings()
    with FaultServer(FaultPlan(policy="always_a"), models=["loopback-a", "loopback-b"]) as server:
        clients = {m: ChatClient(server.base_url, m, concurrency=8, cache_path=cache, progress=False)
                   for m in ("loopback-a", "loopback-b")}
        start = time.monotonic()
        first = run_leakage(samples, clients, settings)
        fill_s = time.monotonic() - start
    # the server is gone now: the re-run can only be answered by the cache
    clients = {m: ChatClient("http://127.0.0.1:9/v1", m, cache_path=cache, progress=False) for m in clients}
    start = time.monotonic()
    again = run_leakage(samples, clients, settings)
    write_outputs(again, out / "cached-run")
    rerun_s = time.monotonic() - start
    assert again.verdicts == first.verdicts and all(s["sent"] == 0 for s in again.report["models"].values())
    cmd = [sys.executable, "-m", "mmra.cli", "leakage", "--samples", str(path), "--model",
           "loopback-a@http://127.0.0.1:9/v1", "--model", "loopback-b@http://127.0.0.1:9/v1",
           "--out", str(out / "cached-cli"), "--cache", str(cache)]
    start = time.monotonic()
    proc = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT)
    cli_s = time.monotonic() - start
    if proc.returncode != 0:
        raise SystemExit(f"cached CLI re-run failed: {proc.stderr[-2000:]}")
    probes = again.report["models"]["loopback-a"]["requests"]
    row = {"samples": n, "models": 2, "probes_per_model": probes, "fill_s": round(fill_s, 2),
           "rerun_in_process_s": round(rerun_s, 3), "rerun_cli_s": round(cli_s, 3)}
    print(f"  cached re-run, {n} samples x 2 models ({2 * probes} cached responses): in-process {rerun_s:.2f} s, "
          f"whole CLI {cli_s:.2f} s (target < 2 s); cache filled in {fill_s:.1f} s", flush=True)
    return row


def bench_full(out: Path, n: int, models: list[str]) -> dict:
    from rich.console import Console

    from mmra.benchmark.leakage import LeakageSettings, run_leakage, write_outputs
    from mmra.benchmark.leakage.report import report_table, usage_table
    from mmra.benchmark.records import write_jsonl
    from mmra.llm.client import ChatClient
    from mmra.llm.server import ensure_server

    samples = conceptnet_samples(n, seed=2)
    write_jsonl(out / "full-samples.jsonl", samples)
    cache = out / "full.sqlite"
    settings = LeakageSettings(choices_only=False)
    clients = {m: ChatClient(ensure_server(m), m, concurrency=2, cache_path=cache) for m in models}
    start = time.monotonic()
    result = run_leakage(samples, clients, settings)
    write_outputs(result, out / "full-run")
    first_s = time.monotonic() - start
    start = time.monotonic()
    again = run_leakage(samples, clients, settings)
    rerun_s = time.monotonic() - start
    sent_again = sum(s["sent"] for s in again.report["models"].values())
    assert len(result.verdicts) == len(samples) and again.verdicts == result.verdicts and sent_again == 0
    Console().print(report_table(result.report))
    Console().print(usage_table(result.report))
    row = {"samples": n, "multiple_choice": result.report["totals"]["multiple_choice"],
           "yes_no": result.report["totals"]["yes_no"], "models": models, "first_run_s": round(first_s, 1),
           "rerun_s": round(rerun_s, 3), "rerun_requests_sent": sent_again,
           "flagged": result.report["totals"]["flagged"],
           "per_model": {m: {k: result.report["models"][m][k] for k in ("requests", "sent", "retries", "errors",
                                                                          "parse_failures", "elapsed_s")}
                         | {"qo_accuracy": result.report["totals"]["models"][m]["qo_accuracy"],
                            "hit_rate": result.report["totals"]["models"][m]["hit_rate"]} for m in models}}
    print(f"  full: {n} samples x {len(models)} real models in {first_s:.0f} s; re-run {rerun_s:.2f} s with "
          f"{sent_again} requests sent; {row['flagged']} flagged; outputs in {out / 'full-run'}", flush=True)
    return row


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="short run: fewer requests, no full 2-model run")
    parser.add_argument("--out", type=Path, default=ROOT / "bench-results" / "leakage")
    parser.add_argument("--full-samples", type=int, default=100)
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    from mmra.llm.server import running, stop_server_for

    models = ["smollm2-135m", "qwen2.5-0.5b"]
    already = {m for m in models if running(m)}
    figures: dict = {"quick": args.quick}
    try:
        print("throughput against the local llama-cpp-python server:", flush=True)
        figures["throughput"] = bench_throughput("smollm2-135m", 8 if args.quick else 24)
        print("cached re-run:", flush=True)
        figures["cached_rerun"] = bench_cached_rerun(args.out, 1000)
        if not args.quick:
            print("full mode (2 real local models):", flush=True)
            figures["full"] = bench_full(args.out, args.full_samples, models)
    finally:
        for m in models:
            if m not in already:
                stop_server_for(m)
    (args.out / "figures.json").write_text(json.dumps(figures, indent=2) + "\n")
    print(json.dumps(figures, indent=2))


if __name__ == "__main__":
    main()
