"""GPU eval throughput in one run, for a lent GPU machine: for each model, samples/s at batch 1 (how the official
script runs) vs batched, whether the batched answers equal batch 1's, and peak GPU memory, over the real
`mmra.eval.evaluate` path (image decoding, processor, generate, writing predictions) on photo-sized image pairs
with a fixed number of new tokens (every row generates exactly N tokens, so batch sizes do the same work).

    python benches/gpu_bench.py                                  # random:qwen2-vl-7b, then random:llava-1.5-7b
    python benches/gpu_bench.py --models tiny:llava --samples 6 --batches 1 3 --new-tokens 4   # CPU dry run

Needs only what benches/gpu_eval.sh provides on the GPU machine: its torch / transformers / pyarrow / pillow /
rich plus the toolkit's pydantic (no `datasets`: the parquet is written with pyarrow). A model is skipped, with
a line saying so, when the time budget left would not cover it (estimated from the model before it).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_eval import photo_bytes  # noqa: E402  (the photos bench_eval uses; drawn when no COCO is here)

DEFAULT_MODELS = ["random:qwen2-vl-7b", "random:llava-1.5-7b"]
QUESTIONS = [
    ("SimilarMaterial", "Choice QA", "Which material are an object in Image 1 and one in Image 2 both made of?",
     {"A": "wood", "B": "metal", "C": "glass", "D": "plastic"}, "B"),
    ("SubEvent", "True or false QA", "Does Image 2 show what happens after Image 1?", None, "Yes"),
    ("Environment", "Choice QA", "Where were both photos taken?", {"A": "indoors", "B": "outdoors", "C": "underwater"},
     "B"),
]


def write_dataset(path: Path, n: int) -> tuple[Path, str]:
    """n MMRA rows over consecutive photo pairs, one parquet file (image columns as {bytes, path} structs)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    photos, source = photo_bytes()
    rows = []
    for i in range(n):
        task, qa, question, options, answer = QUESTIONS[i % len(QUESTIONS)]
        rows.append({"id": f"g{i:04d}", "Task": task, "QA_type": qa, "question": f"{question} (pair {i})",
                     "image1": {"bytes": photos[(2 * i) % len(photos)], "path": None},
                     "image2": {"bytes": photos[(2 * i + 1) % len(photos)], "path": None},
                     "options": repr(options) if options else None, "answer": answer})
    path.parent.mkdir(parents=True, exist_ok=True)
    pq.write_table(pa.Table.from_pylist(rows), path)
    return path, source


def _gpu():
    import torch

    return torch if torch.cuda.is_available() else None


def bench_model(model: str, dataset: Path, batches: list[int], new_tokens: int, work: Path) -> dict:
    from mmra.eval import evaluate
    from mmra.eval.backends import make_backend

    gpu = _gpu()
    start = time.perf_counter()
    backend = make_backend("hf", model, min_new_tokens=new_tokens)
    built_s = time.perf_counter() - start
    info = backend.describe()
    tag = model.replace(":", "_")
    evaluate(dataset, model=model, backend=backend, out=work / f"{tag}-warmup", batch_size=min(4, max(batches)),
             limit=4, max_new_tokens=new_tokens, show_progress=False, score_after=False)
    rows, reference = [], None
    for bs in batches:
        if gpu is not None:
            gpu.cuda.synchronize()
            gpu.cuda.reset_peak_memory_stats()
        t0 = time.perf_counter()
        result = evaluate(dataset, model=model, backend=backend, out=work / f"{tag}-b{bs}", batch_size=bs,
                          max_new_tokens=new_tokens, show_progress=False, score_after=False)
        if gpu is not None:
            gpu.cuda.synchronize()
        seconds = time.perf_counter() - t0
        records = [json.loads(x) for x in result.predictions.read_text().splitlines()]
        answers = {r["id"]: r["response"] for r in records}
        reference = reference or answers
        rows.append({"batch": bs, "samples": len(answers), "seconds": round(seconds, 3),
                     "samples_per_s": round(len(answers) / seconds, 3),
                     "identical_rows": sum(answers.get(k) == v for k, v in reference.items()),
                     "errors": sum(1 for r in records if r.get("error")),
                     "peak_gpu_gib": round(gpu.cuda.max_memory_allocated() / 2**30, 2) if gpu is not None else None})
    for r in rows:
        r["speedup"] = round(r["samples_per_s"] / rows[0]["samples_per_s"], 2)
        r["identical"] = r["identical_rows"] == rows[0]["samples"]
    backend.close()
    del backend
    if gpu is not None:
        gpu.cuda.empty_cache()
    return {"model": model, "model_class": info.get("model_class"), "parameters": info.get("parameters"),
            "dtype": info.get("dtype"), "device": info.get("device"), "build_s": round(built_s, 1),
            "total_s": round(time.perf_counter() - start, 1), "rows": rows}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", nargs="+", default=DEFAULT_MODELS)
    parser.add_argument("--samples", type=int, default=64)
    parser.add_argument("--batches", type=int, nargs="+", default=[1, 8, 32])
    parser.add_argument("--new-tokens", type=int, default=16)
    parser.add_argument("--budget-s", type=float, default=540.0, help="stop starting models past this (seconds)")
    parser.add_argument("--json-out", type=Path, default=None, help="also write the results here")
    args = parser.parse_args(argv)
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    import torch
    import transformers
    from rich.console import Console
    from rich.table import Table

    began = time.perf_counter()
    gpu = _gpu()
    where = torch.cuda.get_device_name(0) if gpu is not None else "CPU"
    print(f"torch {torch.__version__} (cuda {torch.version.cuda}), transformers {transformers.__version__}, {where}",
          flush=True)
    results, skipped = [], []
    with tempfile.TemporaryDirectory(prefix="gpu-bench-") as tmp:
        work = Path(tmp)
        dataset, source = write_dataset(work / "data" / "test.parquet", args.samples)
        last = None
        for model in args.models:
            left = args.budget_s - (time.perf_counter() - began)
            if last is not None and left < 1.2 * last:
                skipped.append(f"{model}: skipped, {left:.0f} s of the {args.budget_s:.0f} s budget left and the "
                               f"model before took {last:.0f} s")
                print(skipped[-1], flush=True)
                continue
            t0 = time.perf_counter()
            results.append(bench_model(model, dataset, args.batches, args.new_tokens, work))
            last = time.perf_counter() - t0
            print(f"{model}: done in {last:.0f} s", flush=True)
    table = Table(title=f"eval throughput on {where}: {args.samples} samples x 2 {source}, {args.new_tokens} new "
                        "tokens per answer")
    for col in ("model", "params", "batch", "samples/s", "speedup", "identical to batch 1", "peak GPU GiB"):
        table.add_column(col, justify="right")
    for res in results:
        for r in res["rows"]:
            table.add_row(res["model"], f"{res['parameters'] / 1e9:.2f}B", str(r["batch"]), f"{r['samples_per_s']:.2f}",
                          f"{r['speedup']:.1f}x", "yes" if r["identical"] else f"{r['identical_rows']}/{r['samples']}",
                          "-" if r["peak_gpu_gib"] is None else f"{r['peak_gpu_gib']:.1f}")
    Console(width=130).print(table)
    summary = {"bench": "gpu_eval", "device": where, "torch": torch.__version__,
               "transformers": transformers.__version__, "samples": args.samples, "new_tokens": args.new_tokens,
               "wall_s": round(time.perf_counter() - began, 1), "models": results, "skipped": skipped}
    if args.json_out:
        args.json_out.parent.mkdir(parents=True, exist_ok=True)
        args.json_out.write_text(json.dumps(summary, indent=2) + "\n", encoding="utf-8")
    print(json.dumps(summary))
    return 0 if results and all(not r["errors"] for res in results for r in res["rows"]) else 1


if __name__ == "__main__":
    sys.exit(main())
