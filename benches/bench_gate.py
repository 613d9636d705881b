"""The release gate's cost inside `mmra publish`: the same N samples published with and without the validity
checks (answer-key balance, model-free blind probes, gate), and the checks alone (`plan_release`, no images).

    .venv/bin/python benches/bench_gate.py --quick     # N = 1,000
    .venv/bin/python benches/bench_gate.py             # N = 10,000

Rows: publish without the checks (gate off, options as written), with the gate on hand features only
(`--probe-embedder none`), with the gate and the packaged MiniLM embeddings (the default), and the checks alone.
"""

from __future__ import annotations

import argparse
import resource
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_publish import _images, _samples  # noqa: E402  (the same generated set as bench_publish)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="1,000 samples instead of 10,000")
    ap.add_argument("-n", type=int, default=None, help="number of samples")
    args = ap.parse_args()
    n = args.n or (1_000 if args.quick else 10_000)

    from mmra.benchmark.records import write_jsonl
    from mmra.benchmark.release import publish
    from mmra.benchmark.release.inputs import read_source
    from mmra.benchmark.release.validity import ValidityOptions, plan_release

    with tempfile.TemporaryDirectory(prefix="bench-gate-") as tmp:
        root = Path(tmp)
        _images(root / "imgs", n)
        src = write_jsonl(root / "samples.jsonl", _samples(n))
        print(f"bench_gate: {n:,} samples (bench_publish's generated set)")
        runs = [
            ("publish, no checks", ValidityOptions(balance=False, gate=False)),
            ("publish, balance + gate (hand features)", ValidityOptions(embedder=None, allow_blind_gap=True)),
            ("publish, balance + gate (MiniLM, default)", ValidityOptions(allow_blind_gap=True)),
        ]
        # warm-up, not reported: the first publish of a process pays imports and caches
        publish(src, "1.0.0", root / "warm", name="bench", show_progress=False, validity=runs[0][1])
        base = None
        for i, (label, opts) in enumerate(runs):
            t = time.perf_counter()
            result = publish(src, "1.0.0", root / f"store{i}", name="bench", show_progress=False, validity=opts)
            took = time.perf_counter() - t
            base = took if base is None else base
            gate = (result.manifest.get("validity") or {}).get("gate") or {}
            extra = f"   +{took - base:6.2f} s over no checks" if i else ""
            state = "off" if not gate else f"{len(gate['offending'])} offending line(s)"
            print(f"  {label:<42} {took:7.2f} s{extra}   gate: {state}")
        sources, _ = read_source(src)
        for label, opts in (("checks alone (hand features)", ValidityOptions(embedder=None, allow_blind_gap=True)),
                            ("checks alone (MiniLM, model loaded)", ValidityOptions(allow_blind_gap=True)),
                            ("balance alone", ValidityOptions(gate=False))):
            t = time.perf_counter()
            plan_release(sources, opts)
            print(f"  {label:<42} {time.perf_counter() - t:7.2f} s")
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        print(f"  peak RSS of the bench process            {peak:7.0f} MB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
