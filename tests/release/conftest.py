"""Release fixtures: Samples JSONL files with real generated images (PNG and JPEG), over all 11 subtasks."""

from __future__ import annotations

import json
import random
from pathlib import Path

import pytest
from PIL import Image, ImageDraw

from mmra.benchmark.records import write_jsonl
from mmra.benchmark.registry import all_subtasks
from mmra.benchmark.schema import QAType, Sample


def draw_image(path: Path, seed: int, size=(96, 72)) -> Path:
    """A real image that differs per seed (so every sha256 differs)."""
    rng = random.Random(seed)
    img = Image.new("RGB", size, tuple(rng.randrange(256) for _ in range(3)))
    draw = ImageDraw.Draw(img)
    for _ in range(4):
        x0, y0 = rng.randrange(size[0] - 10), rng.randrange(size[1] - 10)
        box = [x0, y0, x0 + rng.randrange(5, 40), y0 + rng.randrange(5, 30)]
        (draw.ellipse if rng.random() < 0.5 else draw.rectangle)(box, fill=tuple(rng.randrange(256) for _ in range(3)))
    path.parent.mkdir(parents=True, exist_ok=True)
    img.save(path, format="JPEG" if path.suffix == ".jpg" else "PNG", quality=90)
    return path


def make_sample_records(folder: Path, n: int, *, seed: int = 0, start: int = 0, flag_every: int = 5) -> list[Sample]:
    """n valid samples cycling through every subtask; images under folder/imgs (relative paths). Every sample
    has a leakage verdict; even ones at multiples of `flag_every` (0: none) are flagged (leaked), and
    publish moves them to the `flagged` config."""
    specs = all_subtasks()
    samples = []
    for i in range(start, start + n):
        spec = specs[i % len(specs)]
        qa = spec.qa_types[i % len(spec.qa_types)]
        ext = ".jpg" if i % 3 == 0 else ".png"
        for k in (1, 2):
            draw_image(folder / "imgs" / f"{i}_{k}{ext}", seed * 100_000 + i * 2 + k)
        n_opts = 3 + i % 2
        options = [f"option {j} for item {i}" for j in range(n_opts)] if qa == QAType.multiple_choice else []
        answer = "ABCD"[i % n_opts] if options else ("Yes" if i % 2 else "No")
        samples.append(Sample.model_validate({
            "subtask": spec.name,
            "qa_type": qa,
            "question": f"Question {i} about what Image 1 and Image 2 share?",
            "options": options,
            "answer": answer,
            "image1": {"path": f"imgs/{i}_1{ext}", "source": f"generated:{i}_1", "licence": "CC-BY-4.0"},
            "image2": {"path": f"imgs/{i}_2{ext}", "source": f"coco:val2017:{i:012d}",
                       "licence": "http://creativecommons.org/licenses/by-sa/2.0/"},
            "provenance": {"edges": [{"relation": (spec.relations or ("RelatedTo",))[0], "head": "knife", "tail": "cut"}],
                           "miner": f"{spec.abbreviation.lower()}-miner"},
            "annotation": {"annotators": ["ann1", "ann2"], "agreement": 1.0 if i % 4 else 0.5,
                           "adjudication": "unanimous" if i % 4 else "review"},
            # publish refuses samples without a leakage check (--publish-unchecked aside): the odd ones get a
            # clean verdict of another shape (no `run`)
            "leakage": ({"leaked": _flagged(i, flag_every), "hits": 2 if _flagged(i, flag_every) else 0,
                         "models": ["smollm2", "qwen2.5-1.5b"],
                         "run": "/local/path/verdicts.jsonl"} if i % 2 == 0
                        else {"leaked": False, "hits": 0, "models": ["smollm2"]}),
            "descriptions": {"image1": f"A picture number {i}.", "image2": f"Another picture {i}."},
        }))
    return samples


def _flagged(i: int, flag_every: int) -> bool:
    return bool(flag_every) and i % flag_every == 0


@pytest.fixture()
def samples_file(tmp_path):
    """Factory: write n samples (with images) to tmp_path/<name>.jsonl and return (path, samples)."""

    def _make(n: int = 22, name: str = "samples.jsonl", **kw) -> tuple[Path, list[Sample]]:
        samples = make_sample_records(tmp_path, n, **kw)
        path = tmp_path / name
        write_jsonl(path, samples)
        return path, samples

    return _make


def write_records(path: Path, records: list[dict]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")
    return path
