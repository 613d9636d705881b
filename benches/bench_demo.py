"""Wall time of `mmra demo` step by step, as a user runs it (the command line, a subprocess).

    .venv/bin/python benches/bench_demo.py                       # fresh workspace, then a warm re-run
    .venv/bin/python benches/bench_demo.py --no-rerun --llm qwen2.5-1.5b --workspace /tmp/demo-bench
    .venv/bin/python benches/bench_demo.py --fresh-clone         # `make demo` in a fresh clone of this checkout

Per run: total wall seconds, CPU seconds of the demo and everything it started and reaped (servers included),
the load average before and after (the machine may be shared: read the wall times with it), each step's wall
seconds from the run's summary.json, and the leakage steps' probe throughput (requests sent / LLM seconds).
`--fresh-clone` clones HEAD into a temporary folder and times `make demo` there with pip's cache off, to the
printed score table (the clone's venvs are deleted afterwards).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def load() -> str:
    return "/".join(f"{x:.1f}" for x in os.getloadavg())


def children_cpu() -> float:
    ru = resource.getrusage(resource.RUSAGE_CHILDREN)
    return ru.ru_utime + ru.ru_stime


def timed(cmd: list[str], cwd: Path, log: Path, env: dict[str, str] | None = None) -> dict:
    before, cpu0, t0 = load(), children_cpu(), time.monotonic()
    with open(log, "w") as fh:
        rc = subprocess.call(cmd, cwd=cwd, stdout=fh, stderr=subprocess.STDOUT, env=env)
    return {"rc": rc, "wall_s": round(time.monotonic() - t0, 1), "cpu_s": round(children_cpu() - cpu0, 1),
            "load_before": before, "load_after": load(), "log": str(log)}


def leakage_rates(ws: Path) -> list[dict]:
    rows = []
    for folder in ("leakage", "leakage-recheck"):
        try:
            report = json.loads((ws / folder / "report.json").read_text())
        except (OSError, ValueError):
            continue
        for label, stats in report.get("models", {}).items():
            sent, llm_s = stats.get("sent", 0), stats.get("elapsed_s", 0.0)
            rows.append({"step": folder, "model": label, "requests": stats.get("requests"), "sent": sent,
                         "cached": stats.get("cached"), "llm_s": round(llm_s, 1),
                         "probes_per_s": round(sent / llm_s, 2) if sent and llm_s else None})
    return rows


def show(name: str, run: dict, ws: Path) -> dict:
    print(f"\n{name}: rc {run['rc']}, {run['wall_s']:.0f} s wall, {run['cpu_s']:.0f} CPU-s, load {run['load_before']} "
          f"-> {run['load_after']} (log {run['log']})")
    try:
        summary = json.loads((ws / "summary.json").read_text())
    except (OSError, ValueError):
        summary = {"steps": []}
    for i, step in enumerate(summary["steps"], 1):
        print(f"  {i:2d}. {step['seconds']:7.1f} s  {step['name']}")
    rates = leakage_rates(ws)
    for r in rates:
        print(f"  {r['step']}: {r['model']} {r['sent']} probes sent ({r['cached']} cached) in {r['llm_s']} s: "
              f"{r['probes_per_s']} probes/s")
    return {**run, "steps": [{"name": s["name"], "seconds": s["seconds"]} for s in summary["steps"]],
            "leakage": rates}


def fresh_clone() -> dict:
    with tempfile.TemporaryDirectory(prefix="mmra-fresh-") as tmp:
        clone = Path(tmp) / "mmra"
        subprocess.check_call(["git", "clone", "-q", str(ROOT), str(clone)])
        env = {**os.environ, "PIP_NO_CACHE_DIR": "1"}
        # the demo's workspace inside the clone, its servers on free ports
        run = timed(["make", "demo"], clone, Path(tmp).parent / "mmra-fresh-make-demo.log", env=env)
        return show("fresh clone: make demo (pip cache off)", run, clone / "mmra-workspace" / "demo")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workspace", type=Path, default=Path(tempfile.gettempdir()) / "mmra-bench-demo")
    parser.add_argument("--llm", default=None, help="--llm of the demo (default: the demo's own)")
    parser.add_argument("--per-subtask", type=int, default=None)
    parser.add_argument("--no-rerun", action="store_true", help="skip the warm re-run of the same workspace")
    parser.add_argument("--fresh-clone", action="store_true", help="time `make demo` in a fresh clone instead")
    parser.add_argument("--out", type=Path, default=ROOT / "bench-results" / "demo")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    figures: dict = {"cpus": os.cpu_count()}
    if args.fresh_clone:
        figures["fresh_clone_make_demo"] = fresh_clone()
    else:
        cmd = [str(Path(sys.executable).with_name("mmra")), "demo", "--workspace", str(args.workspace)]
        cmd += ["--llm", args.llm] if args.llm else []
        cmd += ["--per-subtask", str(args.per_subtask)] if args.per_subtask else []
        run = timed(cmd + ["--fresh"], Path.cwd(), args.out / "demo-fresh.log")
        figures["fresh_workspace"] = show("mmra demo --fresh (set-up checkout, new workspace)", run, args.workspace)
        if not args.no_rerun and run["rc"] == 0:
            again = timed(cmd, Path.cwd(), args.out / "demo-rerun.log")
            figures["rerun"] = show("mmra demo (re-run of the finished workspace)", again, args.workspace)
    (args.out / "figures.json").write_text(json.dumps(figures, indent=1) + "\n")
    print(f"\nfigures: {args.out / 'figures.json'}")


if __name__ == "__main__":
    main()
