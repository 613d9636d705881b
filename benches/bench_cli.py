"""CLI start-up time: `import mmra.cli`, `mmra --help` and `mmra subtasks --json`, each in a fresh interpreter
(median of N runs, wall clock), plus the heavy libraries each one loads. Target: `import mmra.cli` < 0.7 s.

    .venv/bin/python benches/bench_cli.py --quick     # 3 runs each
    .venv/bin/python benches/bench_cli.py             # 10 runs each
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time

HEAVY = ("datasets", "torch", "transformers", "openai", "label_studio_sdk", "pandas", "polars", "pyarrow",
         "pydantic")
CASES = {
    "import mmra.cli": "import mmra.cli",
    "mmra --help": "import sys; sys.argv = ['mmra', '--help']; from mmra.cli import main; main()",
    "mmra subtasks --json": "import sys; sys.argv = ['mmra', 'subtasks', '--json']; from mmra.cli import main; main()",
}


def _time(code: str) -> float:
    start = time.perf_counter()
    subprocess.run([sys.executable, "-c", code], check=True, capture_output=True)
    return time.perf_counter() - start


def _loaded(code: str) -> list[str]:
    probe = (f"import json, sys\ntry:\n    exec({code!r})\nexcept SystemExit:\n    pass\n"
             f"print(json.dumps([m for m in {HEAVY!r} if m in sys.modules]), file=sys.stderr)")
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    return json.loads(out.stderr.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="3 runs per case instead of 10")
    runs = 3 if parser.parse_args().quick else 10
    _time("pass")  # warm the page cache
    baseline = statistics.median(_time("pass") for _ in range(runs))
    print(f"python start-up alone: {baseline:.3f} s (median of {runs})")
    print(f"{'case':<24}{'median s':>10}{'min s':>8}  heavy modules loaded")
    for name, code in CASES.items():
        times = [_time(code) for _ in range(runs)]
        print(f"{name:<24}{statistics.median(times):>10.3f}{min(times):>8.3f}  {', '.join(_loaded(code)) or '-'}")


if __name__ == "__main__":
    main()
