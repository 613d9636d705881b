"""Eval runner throughput on CPU: samples/s at batch 1 (the official script's way) vs 8 vs 32, with a tiny
random VLM, real COCO photo pairs, and a fixed number of new tokens; checks the answers are identical.

    .venv/bin/python benches/bench_eval.py [--quick] [--models tiny:qwen2-vl tiny:smolvlm] [--samples 64]

Timing covers the whole `evaluate()` path (image decoding, processor, generate, writing predictions), not
just `generate`. Target: >= 4x samples/s at the best batch size vs batch 1, identical predictions.
"""

from __future__ import annotations

import argparse
import io
import json
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared" / "data"


def build_dataset(folder: Path, n: int) -> Path:
    """n MMRA rows over real COCO photos (pairs of consecutive images), as a parquet release."""
    import datasets

    photos = sorted((SHARED / "coco-mini" / "val2017").glob("*.jpg")) + sorted(
        (SHARED / "coco-mini" / "train2017").glob("*.jpg"))
    if len(photos) < 2:
        sys.exit(f"bench_eval: COCO-MINI photos not found under {SHARED}/coco-mini")
    tasks = [("SimilarMaterial", "Choice QA", "Which material are an object in Image 1 and one in Image 2 both made of?",
              {"A": "wood", "B": "metal", "C": "glass", "D": "plastic"}, "B"),
             ("SubEvent", "True or false QA", "Does Image 2 show what happens after Image 1?", None, "Yes"),
             ("Environment", "Choice QA", "Where were both photos taken?",
              {"A": "indoors", "B": "outdoors", "C": "underwater"}, "B")]
    cols: dict[str, list] = {k: [] for k in ("id", "Task", "QA_type", "question", "image1", "image2", "options",
                                             "answer")}
    for i in range(n):
        task, qa, question, options, answer = tasks[i % len(tasks)]
        cols["id"].append(f"b{i:04d}")
        cols["Task"].append(task)
        cols["QA_type"].append(qa)
        cols["question"].append(f"{question} (pair {i})")
        for k, col in ((0, "image1"), (1, "image2")):
            cols[col].append({"bytes": photos[(2 * i + k) % len(photos)].read_bytes(), "path": None})
        cols["options"].append(repr(options) if options else None)
        cols["answer"].append(answer)
    features = datasets.Features({k: datasets.Image() if k.startswith("image") else datasets.Value("string")
                                  for k in cols})
    (folder / "data").mkdir(parents=True, exist_ok=True)
    datasets.Dataset.from_dict(cols, features=features).to_parquet(str(folder / "data" / "train.parquet"))
    return folder


def run(model: str, dataset: Path, batch_sizes: list[int], new_tokens: int, work: Path) -> list[dict]:
    from mmra.eval import evaluate
    from mmra.eval.backends import make_backend

    # every row generates exactly `new_tokens` tokens, so batch sizes do the same work
    backend = make_backend("hf", model, min_new_tokens=new_tokens)
    evaluate(dataset, model=model, backend=backend, out=work / "warmup", batch_size=8, limit=8,
             max_new_tokens=new_tokens, show_progress=False, score_after=False)
    rows, reference = [], None
    for bs in batch_sizes:
        out = work / f"{model.replace(':', '_')}-b{bs}"
        start = time.perf_counter()
        result = evaluate(dataset, model=model, backend=backend, out=out, batch_size=bs, max_new_tokens=new_tokens,
                          show_progress=False, score_after=False)
        elapsed = time.perf_counter() - start
        answers = {r["id"]: r["response"] for r in map(json.loads, result.predictions.read_text().splitlines())}
        reference = reference or answers
        rows.append({"model": model, "batch": bs, "samples": len(answers), "seconds": elapsed,
                     "samples_per_s": len(answers) / elapsed, "identical": answers == reference})
    base = rows[0]["samples_per_s"]
    for r in rows:
        r["speedup"] = r["samples_per_s"] / base
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="32 samples, one model")
    parser.add_argument("--models", nargs="+", default=None)
    parser.add_argument("--samples", type=int, default=None)
    parser.add_argument("--new-tokens", type=int, default=16)
    parser.add_argument("--batches", type=int, nargs="+", default=[1, 8, 32])
    args = parser.parse_args(argv)
    models = args.models or (["tiny:qwen2-vl"] if args.quick else ["tiny:qwen2-vl", "tiny:smolvlm"])
    n = args.samples or (32 if args.quick else 96)
    from rich.console import Console
    from rich.table import Table

    with tempfile.TemporaryDirectory(prefix="bench-eval-") as tmp:
        work = Path(tmp)
        dataset = build_dataset(work / "data", n)
        rows = [r for m in models for r in run(m, dataset, args.batches, args.new_tokens, work)]
    table = Table(title=f"eval throughput, CPU, {n} samples x 2 COCO images, {args.new_tokens} new tokens")
    for col in ("model", "batch", "samples/s", "speedup vs batch 1", "identical to batch 1"):
        table.add_column(col, justify="right")
    for r in rows:
        table.add_row(r["model"], str(r["batch"]), f"{r['samples_per_s']:.1f}", f"{r['speedup']:.1f}x",
                      "yes" if r["identical"] else "NO")
    Console(width=120).print(table)
    ok = True
    for m in models:
        best = max(r["speedup"] for r in rows if r["model"] == m)
        same = all(r["identical"] for r in rows if r["model"] == m)
        verdict = "PASS" if best >= 4 and same else "FAIL"
        ok &= verdict == "PASS"
        print(f"{m}: best speedup {best:.1f}x (target >= 4x), identical answers: {same} -> {verdict}")
    print(json.dumps({"bench": "eval", "rows": rows}))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.path.insert(0, str(REPO))
    sys.exit(main())
