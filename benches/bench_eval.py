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


def _drawn_photos(count: int) -> list[bytes]:
    """Photo-sized (640x480) JPEGs drawn with shapes, for machines without the shared COCO photos (the GPU box)."""
    import random

    from PIL import Image, ImageDraw

    out = []
    for i in range(count):
        rnd = random.Random(i)
        img = Image.new("RGB", (640, 480), tuple(rnd.randrange(256) for _ in range(3)))
        draw = ImageDraw.Draw(img)
        for _ in range(30):
            x, y = rnd.randrange(600), rnd.randrange(440)
            draw.ellipse([x, y, x + rnd.randint(10, 200), y + rnd.randint(10, 200)],
                         fill=tuple(rnd.randrange(256) for _ in range(3)))
        buf = io.BytesIO()
        img.save(buf, format="JPEG", quality=90)
        out.append(buf.getvalue())
    return out


def photo_bytes() -> tuple[list[bytes], str]:
    photos = sorted((SHARED / "coco-mini" / "val2017").glob("*.jpg")) + sorted(
        (SHARED / "coco-mini" / "train2017").glob("*.jpg"))
    if len(photos) >= 2:
        return [p.read_bytes() for p in photos], "COCO photos"
    return _drawn_photos(64), "drawn 640x480 JPEGs (no COCO-MINI here)"


def build_dataset(folder: Path, n: int) -> tuple[Path, str]:
    """n MMRA rows over photo pairs (consecutive images), as a parquet release."""
    import datasets

    photos, source = photo_bytes()
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
            cols[col].append({"bytes": photos[(2 * i + k) % len(photos)], "path": None})
        cols["options"].append(repr(options) if options else None)
        cols["answer"].append(answer)
    features = datasets.Features({k: datasets.Image() if k.startswith("image") else datasets.Value("string")
                                  for k in cols})
    (folder / "data").mkdir(parents=True, exist_ok=True)
    datasets.Dataset.from_dict(cols, features=features).to_parquet(str(folder / "data" / "train.parquet"))
    return folder, source


def run(model: str, dataset: Path, batch_sizes: list[int], new_tokens: int, work: Path,
        repeats: int) -> list[dict]:
    from mmra.eval import evaluate
    from mmra.eval.backends import make_backend

    # every row generates exactly `new_tokens` tokens, so batch sizes do the same work
    backend = make_backend("hf", model, min_new_tokens=new_tokens)
    evaluate(dataset, model=model, backend=backend, out=work / f"warmup-{model.replace(':', '_')}", batch_size=8, limit=8,
             max_new_tokens=new_tokens, show_progress=False, score_after=False)
    rows, reference = [], None
    for bs in batch_sizes:
        best = None
        for rep in range(repeats):  # best of N: the machine is shared, the fastest run is the least disturbed
            out = work / f"{model.replace(':', '_')}-b{bs}-r{rep}"
            start = time.perf_counter()
            result = evaluate(dataset, model=model, backend=backend, out=out, batch_size=bs,
                              max_new_tokens=new_tokens, show_progress=False, score_after=False)
            elapsed = time.perf_counter() - start
            best = elapsed if best is None else min(best, elapsed)
        answers = {r["id"]: r["response"] for r in map(json.loads, result.predictions.read_text().splitlines())}
        reference = reference or answers
        same = sum(answers.get(k) == v for k, v in reference.items())
        rows.append({"model": model, "batch": bs, "samples": len(answers), "seconds": best,
                     "samples_per_s": len(answers) / best, "identical": answers == reference,
                     "identical_rows": same})
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
    parser.add_argument("--repeats", type=int, default=None, help="runs per batch size; the fastest counts")
    parser.add_argument("--report-only", action="store_true", help="exit 0 even if a target is missed (GPU "
                        "bf16 kernels may pick other reductions per batch shape, so rows can differ there)")
    args = parser.parse_args(argv)
    models = args.models or (["tiny:qwen2-vl"] if args.quick else ["tiny:qwen2-vl", "tiny:smolvlm"])
    n = args.samples or (32 if args.quick else 96)
    from rich.console import Console
    from rich.table import Table

    with tempfile.TemporaryDirectory(prefix="bench-eval-") as tmp:
        work = Path(tmp)
        dataset, source = build_dataset(work / "data", n)
        repeats = args.repeats or (2 if args.quick else 3)
        rows = [r for m in models for r in run(m, dataset, args.batches, args.new_tokens, work, repeats)]
    import torch

    where = torch.cuda.get_device_name(0) if torch.cuda.is_available() else "CPU"
    table = Table(title=f"eval throughput, {where}, {n} samples x 2 {source}, {args.new_tokens} new tokens, "
                        f"best of {repeats}")
    for col in ("model", "batch", "samples/s", "speedup vs batch 1", "identical to batch 1"):
        table.add_column(col, justify="right")
    for r in rows:
        table.add_row(r["model"], str(r["batch"]), f"{r['samples_per_s']:.1f}", f"{r['speedup']:.1f}x",
                      "yes" if r["identical"] else f"NO ({r['identical_rows']}/{r['samples']} rows)")
    Console(width=120).print(table)
    ok = True
    for m in models:
        best = max(r["speedup"] for r in rows if r["model"] == m)
        same = all(r["identical"] for r in rows if r["model"] == m)
        verdict = "PASS" if best >= 4 and same else "FAIL"
        ok &= verdict == "PASS"
        print(f"{m}: best speedup {best:.1f}x (target >= 4x), identical answers: {same} -> {verdict}")
    print(json.dumps({"bench": "eval", "rows": rows}))
    return 0 if ok or args.report_only else 1


if __name__ == "__main__":
    sys.path.insert(0, str(REPO))
    sys.exit(main())
