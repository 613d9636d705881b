"""`mmra audit` at scale (issue 19 item 6): 10,000 items model-free in under 60 s and under 2 GB on 2 cores.

Generates, under --out (default bench-results/audit; never committed):
  (a) vlmevalkit.tsv: a VLMEvalKit-style TSV of --items rows (index, image as base64 of ~50-100 KB, every fifth
      row a str(list) of two images, question, hint, options A..J with 2-10 per row, answer, category,
      l2-category, split): about 1 GB. Images are random bytes behind a JPEG header: the audit never decodes them.
  (b) planted.jsonl: --items items in 8 tasks, 4 of them with a shortcut planted in the text (the gold option is the
      only long one; a cue word that gives the answer; an answer key skewed to one letter; a yes/no cue word), 4
      clean (random answers, no cue).
Then times, each in a fresh child process (wall, CPU user+sys, peak RSS of that child, load average before):
  1. the reading step alone on (a): open_source + every row's text columns (memory must not grow with the file);
  2. `mmra audit (a) --embedder none`;
  3. `mmra audit (b) --embedder none` (the target), and with `--prune-to-chance 5`;
  4. `mmra audit (b)` with the packaged embedder (`--embedder auto`), unless --skip-embedder.
Recall on the planted tasks and false flags on the clean ones are printed for (b).

    .venv/bin/python benches/bench_audit.py [--items 10000] [--out bench-results/audit] [--skip-embedder]
"""

from __future__ import annotations

import argparse
import base64
import csv
import json
import os
import random
import resource
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
MMRA = [sys.executable, "-m", "mmra.cli"]
LETTERS = "ABCDEFGHIJ"
WORDS = ["red", "blue", "green", "yellow", "white", "black", "brown", "pink", "grey", "orange", "purple", "teal",
         "cup", "dog", "car", "chair", "kite", "bench", "clock", "vase", "boat", "lamp", "shoe", "bowl", "tree",
         "road", "cloud", "river", "table", "window", "bottle", "plate", "horse", "train", "phone", "book"]
TARGET_S, TARGET_MB = 60.0, 2048.0


# ---------------------------------------------------------------------------------------------- data


def _image_pool(rng: random.Random, n: int = 64) -> list[str]:
    """Base64 blobs of 50-100 KB of random bytes (a JPEG header first), reused across rows."""
    pool = []
    for _ in range(n):
        raw = b"\xff\xd8\xff\xe0" + rng.randbytes(rng.randrange(50_000, 100_000))
        pool.append(base64.b64encode(raw).decode("ascii"))
    return pool


def write_vlmevalkit_tsv(path: Path, n: int, seed: int = 0) -> None:
    rng = random.Random(seed)
    pool = _image_pool(rng)
    cols = ["index", "image", "question", "hint", *LETTERS, "answer", "category", "l2-category", "split"]
    with path.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh, delimiter="\t", lineterminator="\n")
        writer.writerow(cols)
        for i in range(n):
            k = rng.randrange(2, 11)
            options = rng.sample(WORDS, k)
            gold = rng.randrange(k)
            image = rng.choice(pool) if i % 5 else str([rng.choice(pool), rng.choice(pool)])
            question = f"Which {rng.choice(WORDS)} is next to the {rng.choice(WORDS)}?"
            if i % 97 == 0:
                question = f'What does the sign say: "{rng.choice(WORDS)}"?'  # quoted: the csv-module path
            writer.writerow([i, image, question, "Look closely." if i % 3 == 0 else "",
                             *(options + [""] * (10 - k)), LETTERS[gold], f"task{i % 20}", f"l2-{i % 4}", "dev"])


PLANTED = ("long_gold", "cue_word", "skewed_key", "yesno_cue")
CLEAN = ("clean_mc4", "clean_mc6", "clean_yesno", "clean_mc10")


def planted_items(n: int, seed: int = 0) -> list[dict]:
    rng = random.Random(seed)
    tasks = PLANTED + CLEAN
    rows = []
    for i in range(n):
        task = tasks[i % len(tasks)]
        subject, place = rng.choice(WORDS), rng.choice(WORDS)
        if task in ("yesno_cue", "clean_yesno"):
            yes = rng.random() < 0.5
            cue = " clearly" if task == "yesno_cue" and yes and rng.random() < 0.9 else ""
            rows.append({"id": f"q{i}", "task": task, "question": f"Is there{cue} a {subject} near the {place}?",
                         "options": None, "answer": "yes" if yes else "no"})
            continue
        k = {"clean_mc6": 6, "clean_mc10": 10}.get(task, 4)
        options = rng.sample(WORDS, k)
        gold = rng.randrange(k)
        question = f"Which object is beside the {place}?"
        if task == "long_gold":
            options[gold] = f"the {options[gold]} with a thin stripe along its edge"
        elif task == "cue_word":
            question = f"Which object, the one that is {options[gold]}-like, is beside the {place}?"
        elif task == "skewed_key":
            gold = 1 if rng.random() < 0.8 else gold
        rows.append({"id": f"q{i}", "task": task, "question": question, "options": options,
                     "answer": LETTERS[gold]})
    return rows


# ---------------------------------------------------------------------------------------------- measuring


def _child_main(argv: list[str]) -> None:
    """Run argv and print its resource use as JSON: this wrapper's only child is that command, so
    RUSAGE_CHILDREN is that command's peak RSS and CPU time."""
    start = time.perf_counter()
    proc = subprocess.run(argv, capture_output=True, text=True)
    wall = time.perf_counter() - start
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    print(json.dumps({"rc": proc.returncode, "wall_s": round(wall, 2), "cpu_s": round(usage.ru_utime + usage.ru_stime, 2),
                      "user_s": round(usage.ru_utime, 2), "peak_rss_mb": round(usage.ru_maxrss / 1024, 1),
                      "stdout_tail": proc.stdout[-1500:], "stderr_tail": proc.stderr[-1500:]}))


def measure(label: str, argv: list[str]) -> dict:
    load = os.getloadavg()
    proc = subprocess.run([sys.executable, __file__, "--child", *argv], capture_output=True, text=True, cwd=ROOT)
    if proc.returncode != 0 or not proc.stdout.strip():
        raise SystemExit(f"{label}: the measuring wrapper failed: {proc.stderr[-2000:]}")
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    result.update(label=label, load_avg_1_5_15=[round(x, 2) for x in load])
    status = "" if result["rc"] == 0 else f"  (exit {result['rc']}: {result['stderr_tail'][-400:]})"
    print(f"{label:58s} wall {result['wall_s']:7.2f} s  cpu {result['cpu_s']:7.2f} s  peak RSS "
          f"{result['peak_rss_mb']:7.1f} MB  load {result['load_avg_1_5_15'][0]:.2f}{status}", flush=True)
    return result


READ_ONLY = """
import sys, time
from mmra.benchmark.audit.formats import open_source, RawRow
from mmra.benchmark.audit.columns import ColumnFlags, map_columns
src = open_source(sys.argv[1])
cmap = map_columns(src.columns(), ColumnFlags(), src.path.name)
n = bad = chars = 0
for row in src.rows(cmap.needed):
    n += 1
    if isinstance(row, RawRow):
        chars += sum(len(str(v)) for v in row.values.values())
    else:
        bad += 1
print(f"rows {n} bad {bad} text chars {chars} columns {cmap.needed}")
"""


def _flag_quality(out: Path, rows: list[dict]) -> dict:
    verdicts = {}
    with (out / "verdicts.jsonl").open() as fh:
        for line in fh:
            v = json.loads(line)
            verdicts[v["id"]] = v["leaked"]
    report = json.loads((out / "report.json").read_text())
    per_task = {}
    for task in PLANTED + CLEAN:
        ids = [r["id"] for r in rows if r["task"] == task]
        row = report["subtasks"].get(task, {})
        probes = row.get("probes") or {}
        per_task[task] = {"n": len(ids), "flagged": sum(verdicts.get(i, False) for i in ids),
                          "chance": row.get("chance"), "learned": probes.get("learned", {}).get("accuracy"),
                          "answer_prior": probes.get("answer_prior", {}).get("accuracy")}
    planted_ids = [r["id"] for r in rows if r["task"] in PLANTED and r["task"] != "skewed_key"]
    clean_ids = [r["id"] for r in rows if r["task"] in CLEAN]
    return {"per_task": per_task,
            "flagged_in_clean_tasks": sum(verdicts.get(i, False) for i in clean_ids), "clean_items": len(clean_ids),
            "flagged_in_planted_text_tasks": sum(verdicts.get(i, False) for i in planted_ids),
            "planted_text_items": len(planted_ids)}


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "--child":
        _child_main(sys.argv[2:])
        return
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--items", type=int, default=10_000)
    ap.add_argument("--out", type=Path, default=ROOT / "bench-results" / "audit")
    ap.add_argument("--skip-embedder", action="store_true")
    ap.add_argument("--skip-tsv", action="store_true", help="skip the ~1 GB VLMEvalKit TSV (generation and runs)")
    args = ap.parse_args()
    out = args.out.resolve()
    out.mkdir(parents=True, exist_ok=True)
    print(f"cores: {os.cpu_count()}  load average: {os.getloadavg()}", flush=True)
    results: dict = {"items": args.items, "cores": os.cpu_count(), "runs": []}

    if not args.skip_tsv:
        tsv = out / "vlmevalkit.tsv"
        if not tsv.exists() or tsv.stat().st_size < args.items * 50_000:
            start = time.perf_counter()
            write_vlmevalkit_tsv(tsv, args.items)
            print(f"generated {tsv} ({tsv.stat().st_size / 1e9:.2f} GB) in {time.perf_counter() - start:.1f} s",
                  flush=True)
        results["tsv_bytes"] = tsv.stat().st_size
        read = measure(f"(a) read only: {tsv.stat().st_size / 1e9:.2f} GB TSV, text columns",
                       [sys.executable, "-c", READ_ONLY, str(tsv)])
        print("    " + read["stdout_tail"].strip().splitlines()[-1], flush=True)
        results["runs"].append(read)
        results["runs"].append(measure(f"(a) mmra audit {tsv.stat().st_size / 1e9:.2f} GB TSV --embedder none",
                                       [*MMRA, "audit", str(tsv), "--out", str(out / "tsv_none"), "--embedder",
                                        "none"]))

    rows = planted_items(args.items)
    planted = out / "planted.jsonl"
    planted.write_text("".join(json.dumps(r) + "\n" for r in rows))
    runs = [(f"(b) mmra audit {args.items} planted --embedder none", "b_none", ["--embedder", "none"]),
            ("(b) ... --embedder none --prune-to-chance 5", "b_none_prune", ["--embedder", "none",
                                                                              "--prune-to-chance", "5"])]
    if not args.skip_embedder:
        runs.append((f"(b) mmra audit {args.items} planted --embedder auto (MiniLM)", "b_auto",
                     ["--embedder", "auto"]))
    for label, name, flags in runs:
        result = measure(label, [*MMRA, "audit", str(planted), "--out", str(out / name), *flags])
        if result["rc"] == 0:
            result["flags"] = _flag_quality(out / name, rows)
            q = result["flags"]
            print(f"    flagged: {q['flagged_in_planted_text_tasks']} of {q['planted_text_items']} items in the "
                  f"planted text tasks, {q['flagged_in_clean_tasks']} of {q['clean_items']} in the clean tasks",
                  flush=True)
            for task, t in q["per_task"].items():
                print(f"      {task:12s} n {t['n']:5d}  chance {t['chance']}  answer prior {t['answer_prior']}  "
                      f"learned {t['learned']}  flagged {t['flagged']}", flush=True)
        results["runs"].append(result)

    target = next(r for r in results["runs"] if r["label"].endswith("planted --embedder none"))
    met = target["rc"] == 0 and target["wall_s"] < TARGET_S and target["peak_rss_mb"] < TARGET_MB
    print(f"target (10,000 items model-free, hand features: < {TARGET_S:.0f} s and < {TARGET_MB:.0f} MB): "
          f"{'met' if met else 'MISSED'} ({target['wall_s']} s wall, {target['cpu_s']} s CPU, "
          f"{target['peak_rss_mb']} MB)", flush=True)
    (out / "results.json").write_text(json.dumps(results, indent=2))
    print(f"figures in {out / 'results.json'}")


if __name__ == "__main__":
    main()
