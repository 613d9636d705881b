"""Run every `benches/bench_*.py` script in turn and print a summary (`make bench`).

Each script prints its own figures. Pass `--quick` to forward it (short runs), or script names to select:
    python benches/run_all.py --quick curation publish
"""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

from rich.console import Console
from rich.table import Table

HERE = Path(__file__).resolve().parent


def main(argv: list[str]) -> int:
    quick = "--quick" in argv
    wanted = [a for a in argv if not a.startswith("-")]
    scripts = sorted(HERE.glob("bench_*.py"))
    if wanted:
        scripts = [s for s in scripts if s.stem.removeprefix("bench_") in wanted]
    console = Console()
    results = []
    for script in scripts:
        console.rule(f"[bold]{script.name}")
        start = time.monotonic()
        proc = subprocess.run([sys.executable, str(script), *(["--quick"] if quick else [])], cwd=HERE.parent)
        results.append((script.name, proc.returncode, time.monotonic() - start))
    table = Table(title="benchmarks")
    for col in ("script", "exit code", "wall s"):
        table.add_column(col)
    for name, rc, wall in results:
        table.add_row(name, str(rc), f"{wall:.1f}")
    console.print(table)
    return max((rc for _, rc, _ in results), default=0)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
