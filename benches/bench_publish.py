"""Release publishing speed and size: N samples with 2N generated JPEG images (224x168, distinct content).

Measures: a cold `publish` to a local store (image checks, parquet, card, plots, lmms-eval files), the
republish of the same version (the immutability check: a no-op), `load_release` (sha256 verification +
datasets' parquet load), `mmra diff` against a second version with 1% changed, and the sizes.

    .venv/bin/python benches/bench_publish.py --quick     # N = 1,000
    .venv/bin/python benches/bench_publish.py             # N = 10,000
"""

from __future__ import annotations

import argparse
import random
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def _images(folder: Path, n_samples: int) -> None:
    from PIL import Image, ImageDraw, ImageOps

    folder.mkdir(parents=True, exist_ok=True)
    base = Image.linear_gradient("L")
    for i in range(n_samples * 2):
        rng = random.Random(i)
        # every image has its own background (angle, colours), so no two compress alike
        grad = base.rotate(rng.uniform(0, 360), expand=False, fillcolor=rng.randrange(256)).resize((224, 168))
        img = ImageOps.colorize(grad, tuple(rng.randrange(256) for _ in range(3)), tuple(rng.randrange(256) for _ in range(3)))
        draw = ImageDraw.Draw(img)
        for _ in range(6):
            x, y = rng.randrange(200), rng.randrange(150)
            box = [x, y, x + rng.randrange(10, 80), y + rng.randrange(10, 60)]
            colour = tuple(rng.randrange(256) for _ in range(3))
            (draw.ellipse if rng.random() < 0.5 else draw.rectangle)(box, fill=colour)
        img.save(folder / f"{i}.jpg", quality=85)


def _samples(n: int, start: int = 0, edit: float = 0.0):
    from mmra.benchmark.registry import all_subtasks
    from mmra.benchmark.schema import QAType, Sample

    specs = all_subtasks()
    out = []
    for i in range(start, start + n):
        spec = specs[i % len(specs)]
        qa = spec.qa_types[i % len(spec.qa_types)]
        opts = [f"choice {j} of {i}" for j in range(4)] if qa == QAType.multiple_choice else []
        q = f"Which relation links the entities in Image 1 and Image 2 (item {i})?"
        if edit and random.Random(i).random() < edit:
            q += " (revised)"
        out.append(Sample.model_validate({
            "subtask": spec.name, "qa_type": qa, "question": q, "options": opts,
            # yes/no alternates within each subtask (i % 2 would give one subtask all Yes: the release gate refuses it)
            "answer": "ABCD"[i % 4] if opts else ("Yes" if (i // 22) % 2 else "No"),
            "id": f"s-bench-{i:06d}",
            "image1": {"path": f"imgs/{2 * i}.jpg", "source": f"generated:{2 * i}", "licence": "CC0-1.0"},
            "image2": {"path": f"imgs/{2 * i + 1}.jpg", "source": f"generated:{2 * i + 1}", "licence": "CC-BY-4.0"},
            "provenance": {"edges": [{"relation": "UsedFor", "head": "knife", "tail": "cutting"}]},
            "annotation": {"annotators": ["a", "b"], "agreement": 1.0},
        }))
    return out


def _du(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="1,000 samples instead of 10,000")
    ap.add_argument("-n", type=int, default=None, help="number of samples")
    args = ap.parse_args()
    n = args.n or (1_000 if args.quick else 10_000)

    from mmra.benchmark.records import write_jsonl
    from mmra.benchmark.release import load_release, publish
    from mmra.benchmark.release.diff import diff_indexes
    from mmra.benchmark.release.releases import index_of
    from mmra.benchmark.release.validity import ValidityOptions

    with tempfile.TemporaryDirectory(prefix="bench-publish-") as tmp:
        root = Path(tmp)
        t = time.perf_counter()
        _images(root / "imgs", n)
        gen_s = time.perf_counter() - t
        src = write_jsonl(root / "samples.jsonl", _samples(n))
        src2 = write_jsonl(root / "samples2.jsonl", _samples(n, edit=0.01))
        image_bytes = _du(root / "imgs")
        print(f"bench_publish: {n:,} samples, {2 * n:,} generated JPEGs ({image_bytes / 1e6:.1f} MB), "
              f"generated in {gen_s:.1f}s (not counted)")

        store = root / "store"
        # the default checks (balance, blind probes with MiniLM, gate) run; the synthetic questions carry their
        # item number, which the learned probe can read, so the gate is allowed to fail (bench_gate.py times it)
        checks = ValidityOptions(allow_blind_gap=True)
        t = time.perf_counter()
        r1 = publish(src, "1.0.0", store, name="bench", cards_dir=root / "cards", show_progress=False, validity=checks)
        publish_s = time.perf_counter() - t
        parquet = sum(f["bytes"] for f in r1.manifest["data_files"])
        print(f"  publish 1.0.0 (cold)            {publish_s:7.2f} s   {n / publish_s:8.0f} samples/s   "
              f"release {_du(r1.path) / 1e6:.1f} MB (parquet {parquet / 1e6:.1f} MB in "
              f"{len(r1.manifest['data_files'])} shards, {parquet / image_bytes:.3f}x the image bytes)")

        t = time.perf_counter()
        again = publish(src, "1.0.0", store, name="bench", show_progress=False, validity=checks)
        assert again.status == "unchanged"
        print(f"  republish 1.0.0 (identical)     {time.perf_counter() - t:7.2f} s   no-op after checking every image")

        t = time.perf_counter()
        r2 = publish(src2, "1.1.0", store, name="bench", show_progress=False, validity=checks)
        print(f"  publish 1.1.0 (+changelog diff) {time.perf_counter() - t:7.2f} s")

        t = time.perf_counter()
        ds = load_release(str(store / "bench"), revision="1.0.0")
        assert len(ds) == n
        print(f"  load_release 1.0.0 (verify+load){time.perf_counter() - t:7.2f} s")

        t = time.perf_counter()
        (la, a), (lb, b) = index_of(str(r1.path)), index_of(str(r2.path))
        d = diff_indexes(a, b, la, lb)
        print(f"  diff 1.0.0 -> 1.1.0             {time.perf_counter() - t:7.2f} s   {d.total('changed')} changed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
