"""Annotation round-trip speed against a real local Label Studio (label-studio 1.23.2 from .venv-ls).

Measures: pushing N candidates (image linking + batched import), re-pushing them (the idempotent no-op),
and pulling annotations (export, authorship check, validation, adjudication, agreement, writing Samples):

- M tasks annotated the way annotators do it: each of two annotator accounts (made by the toolkit) posts its
  own annotation through the API, so the server records who wrote it; pull turns them into M samples. Posting
  costs ~0.1-0.3 s per annotation, so M is smaller than N (--posted; default min(N/2, 100));
- N/2 tasks imported WITH annotations that only claim an author (`completed_by`, no writer recorded by the
  server): pull's cost at scale, where every one of them is reported under `authorship` and none is used.

    .venv/bin/python benches/bench_annotation.py --quick     # N = 1,000 tasks
    .venv/bin/python benches/bench_annotation.py             # N = 5,000
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
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
    parser.add_argument("--posted", type=int, help="tasks annotated through the API by two accounts (default "
                                                  "min(N/2, 100))")
    parser.add_argument("--batch-size", type=int, default=250)
    parser.add_argument("--json", type=Path, help="also write the figures here")
    args = parser.parse_args()
    n = args.n or (1000 if args.quick else 5000)
    posted = min(args.posted, n) if args.posted is not None else min(100, n // 2)

    from rich.console import Console
    from rich.table import Table

    from mmra.annotation import QAContent, annotate_many, create_annotator, pull, push
    from mmra.annotation.project import Project, sdk
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

            project = Project.open(conn, "bench push")
            tasks = project.tasks()
            project.close()
            content = QAContent("multiple_choice", "Which material do both share?", ["wood", "glass", "steel"], "A")
            # two annotator accounts made the toolkit's way (signup is closed; pull counts only its accounts)
            accounts = [create_annotator(conn, f"bench-annotator{i}@mmra.bench", f"bench-annotator-pass-{i}")
                        for i in (1, 2)]

            # M tasks, each annotated by both accounts through the API (the server records the writer)
            target = Project.ensure(conn, "bench posted", annotators_per_task=2)
            for i in range(0, posted, args.batch_size):
                target.import_batch([{"data": t.data} for t in tasks[i:min(i + args.batch_size, posted)]])
            target.close()
            items = [(t.data["external_id"], content) for t in tasks[:posted]]
            t0 = time.perf_counter()
            with ThreadPoolExecutor(len(accounts)) as pool:  # the two accounts post side by side
                list(pool.map(lambda account: annotate_many(account, "bench posted", items), accounts))
            figures["post_s"] = time.perf_counter() - t0
            t0 = time.perf_counter()
            pulled = pull(conn, "bench posted", tmp_path / "posted.jsonl")
            figures["pull_posted_s"] = time.perf_counter() - t0
            assert pulled.samples == posted and not pulled.authorship, (pulled.samples, pulled.invalid[:3],
                                                                        pulled.authorship[:3])

            # N/2 tasks imported with annotations that only claim their authors: all reported, none used
            ids = [sdk(account).users.whoami().id for account in accounts]
            claimed = Project.ensure(conn, "bench imported", annotators_per_task=2)
            payload = [{"data": t.data, "annotations": [{"result": content.to_result(), "completed_by": who}
                                                        for who in ids]} for t in tasks[: n // 2]]
            for i in range(0, len(payload), args.batch_size):
                claimed.import_batch(payload[i:i + args.batch_size])
            claimed.close()
            t0 = time.perf_counter()
            refused = pull(conn, "bench imported", tmp_path / "imported.jsonl")
            figures["pull_imported_s"] = time.perf_counter() - t0
            assert refused.samples == 0 and len(refused.authorship) == 2 * (n // 2), (
                refused.samples, len(refused.authorship))
        finally:
            stop(cfg)

    table = Table(title=f"annotation round trip, {n:,} tasks (real Label Studio 1.23.2); the posted part is "
                        f"{posted:,} tasks, smaller than N: posting through the API is the slow step")
    for col in ("step", "seconds", "per second"):
        table.add_column(col)
    rows = [("server start (template DB)", figures["server_start_s"], None),
            (f"push {n:,} candidates", figures["push_s"], n), (f"re-push {n:,} (no-op)", figures["repush_noop_s"], n),
            (f"post {2 * posted:,} annotations through the API (2 accounts in parallel)", figures["post_s"],
             2 * posted),
            (f"pull {2 * posted:,} posted annotations -> {posted:,} samples", figures["pull_posted_s"], 2 * posted),
            (f"pull {n // 2 * 2:,} imported annotations with claimed authors -> all under authorship, 0 samples",
             figures["pull_imported_s"], n // 2 * 2)]
    for name, secs, count in rows:
        table.add_row(name, f"{secs:.2f}", f"{count / secs:,.0f}" if count else "-")
    Console().print(table)
    figures["n_tasks"] = n
    figures["n_posted_tasks"] = posted
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(figures, indent=2))
    print(json.dumps({k: round(v, 3) for k, v in figures.items()}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
