"""Annotation round-trip speed against a real local Label Studio (label-studio 1.23.2 from .venv-ls).

Measures: pushing N candidates (image linking + batched import), re-pushing them (the idempotent no-op),
and pulling N annotations (export, validation, adjudication, agreement, writing Samples).

    .venv/bin/python benches/bench_annotation.py --quick     # N = 1,000 tasks / 1,000 annotations
    .venv/bin/python benches/bench_annotation.py             # N = 5,000
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def _candidates(folder: Path, n: int):
    from PIL import Image

    from mmra.benchmark.schema import Candidate, Edge, ImageRef, Provenance

    folder.mkdir(parents=True, exist_ok=True)
    out = []
    for i in range(n):
        paths = []
        for side in (1, 2):
            p = folder / f"{i}_{side}.png"
            Image.new("RGB", (64, 64), (i % 256, (i // 256) % 256, side * 90)).save(p)
            paths.append(str(p))
        out.append(Candidate(subtask="SimilarMaterial", image1=ImageRef(path=paths[0]), image2=ImageRef(path=paths[1]),
                             evidence=Provenance(edges=[Edge(relation="MadeOf", head="bench", tail="wood")])))
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="1,000 tasks instead of 5,000")
    parser.add_argument("--n", type=int, help="number of tasks (overrides --quick)")
    parser.add_argument("--batch-size", type=int, default=250)
    parser.add_argument("--json", type=Path, help="also write the figures here")
    args = parser.parse_args()
    n = args.n or (1000 if args.quick else 5000)

    from rich.console import Console
    from rich.table import Table

    from mmra.annotation import QAContent, pull, push
    from mmra.annotation.project import Project
    from mmra.annotation.server import Credentials, build_template, start, stop, template_dir_for
    from mmra.config import LabelStudioConfig
    from mmra.procs import free_port

    creds = Credentials("admin@mmra.bench", "mmra-bench-password", "b3e1c0d2a4f5968778695a4b3c2d1e0f9a8b7c6d")
    template = template_dir_for(REPO / ".mmra" / "cache", REPO / ".venv-ls")
    figures: dict[str, float] = {}
    t0 = time.perf_counter()
    build_template(template, REPO / ".venv-ls")
    figures["template_s"] = time.perf_counter() - t0

    with tempfile.TemporaryDirectory(prefix="mmra-bench-ls-") as tmp:
        tmp_path = Path(tmp)
        cfg = LabelStudioConfig(data_dir=tmp_path / "ls", venv=REPO / ".venv-ls", username=creds.username)
        t0 = time.perf_counter()
        _, conn = start(cfg, creds=creds, port=free_port(), template_dir=template)
        figures["server_start_s"] = time.perf_counter() - t0
        try:
            cands = _candidates(tmp_path / "imgs", n)
            t0 = time.perf_counter()
            report = push(conn, cands, "bench push", batch_size=args.batch_size, show_progress=False)
            figures["push_s"] = time.perf_counter() - t0
            assert report.created == n, report
            t0 = time.perf_counter()
            again = push(conn, cands, "bench push", batch_size=args.batch_size, show_progress=False)
            figures["repush_noop_s"] = time.perf_counter() - t0
            assert again.created == 0 and again.unchanged == n, again

            # N annotations: N/2 tasks x 2 annotators, imported with the tasks (the API path is ~0.25 s each)
            project = Project.open(conn, "bench push")
            tasks = project.tasks()
            project.close()
            me = project.client.users.whoami().id
            # the second account is made the toolkit's way: signup is closed, and pull uses only its accounts
            from mmra.annotation import create_annotator
            from mmra.annotation.project import sdk

            other = sdk(create_annotator(conn, "bench-annotator@mmra.bench", "bench-annotator-pass")).users.whoami().id
            content = QAContent("multiple_choice", "Which material do both share?", ["wood", "glass", "steel"], "A")
            pairs = Project.ensure(conn, "bench pull", annotators_per_task=2)
            payload = [{"data": t.data, "annotations": [{"result": content.to_result(), "completed_by": who}
                                                        for who in (me, other)]} for t in tasks[: n // 2]]
            for i in range(0, len(payload), args.batch_size):
                pairs.import_batch(payload[i:i + args.batch_size])
            pairs.close()
            t0 = time.perf_counter()
            pulled = pull(conn, "bench pull", tmp_path / "samples.jsonl")
            figures["pull_s"] = time.perf_counter() - t0
            assert pulled.samples == n // 2, (pulled.samples, pulled.invalid[:3], pulled.pending[:3])
        finally:
            stop(cfg)

    table = Table(title=f"annotation round trip, {n:,} tasks / {n // 2 * 2:,} annotations (real Label Studio 1.23.2)")
    for col in ("step", "seconds", "per second"):
        table.add_column(col)
    rows = [("server start (template DB)", figures["server_start_s"], None),
            (f"push {n:,} candidates", figures["push_s"], n), (f"re-push {n:,} (no-op)", figures["repush_noop_s"], n),
            (f"pull {n // 2 * 2:,} annotations -> {n // 2:,} samples", figures["pull_s"], n // 2 * 2)]
    for name, secs, count in rows:
        table.add_row(name, f"{secs:.2f}", f"{count / secs:,.0f}" if count else "-")
    Console().print(table)
    figures["n_tasks"] = n
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(figures, indent=2))
    print(json.dumps({k: round(v, 3) for k, v in figures.items()}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
