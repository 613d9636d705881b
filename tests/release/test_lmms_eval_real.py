"""The lmms-eval export run in real lmms-eval (0.7.3 from PyPI, in `.venv-lmms`, built by `make setup-lmms`) on a
tiny model folder (`mmra tiny-model llava`): every raw response equals `mmra eval`'s on the same release, the
scores agree, and the per-level and per-subtask accuracies print in lmms-eval's results table."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import datasets
import pytest

from mmra.benchmark.records import write_jsonl
from mmra.benchmark.release import publish
from mmra.eval import evaluate
from mmra.eval.tiny import save_tiny

from .conftest import make_sample_records

LMMS_PYTHON = Path(__file__).resolve().parents[2] / ".venv-lmms" / "bin" / "python"

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not LMMS_PYTHON.exists(), reason="no .venv-lmms: run `make setup-lmms` (part of `make setup`)"),
]


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    root = tmp_path_factory.mktemp("lmms-real")
    path = write_jsonl(root / "samples.jsonl", make_sample_records(root, 24))
    release = publish(path, "1.0.0", root / "store", name="bench", show_progress=False)
    model = root / "llava"
    save_tiny("llava", model)
    ours = evaluate(release.path, model=str(model), out=root / "mmra", batch_size=8, show_progress=False)
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "HF_DATASETS_OFFLINE": "1", "HF_HOME": str(root / "hf"),
           "PYTHONUNBUFFERED": "1"}
    proc = subprocess.run(
        [str(LMMS_PYTHON), "-m", "lmms_eval", "eval", "--model", "llava_hf",
         "--model_args", f"pretrained={model},device=cpu,device_map=cpu", "--tasks", "mmra_bench",
         "--include_path", str(release.path / "lmms_eval"), "--batch_size", "1", "--log_samples",
         "--output_path", str(root / "lmms")],
        capture_output=True, text=True, env=env, timeout=900, cwd=root,
    )
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    (samples,) = (root / "lmms").rglob("*_samples_mmra_bench.jsonl")
    return release, ours, proc.stdout + proc.stderr, [json.loads(x) for x in samples.read_text().splitlines()]


def test_raw_responses_equal_mmra_eval(run):
    release, ours, _, samples = run
    n = len(datasets.load_dataset(str(release.path), split="test"))  # the release's default config
    mine = {r["id"]: r["response"] for r in map(json.loads, ours.predictions.read_text().splitlines())}
    theirs = {s["mmra_accuracy"]["id"]: s["mmra_accuracy"]["response"] for s in samples}
    assert len(theirs) == len(mine) == n > 0
    # `mmra eval` strips surrounding whitespace (the card says so); nothing else may differ
    assert {k: v.strip() for k, v in theirs.items()} == mine
    assert len(set(mine.values())) > 1  # real generations of random weights, not one constant string


def test_per_subtask_and_level_metrics_print_in_lmms_eval_table(run):
    release, ours, output, samples = run
    table = [line for line in output.splitlines() if line.startswith("|mmra_bench")]
    metrics = {cells[4].strip(): float(cells[6]) for cells in (line.split("|") for line in table)}
    subtasks = {s["mmra_accuracy"]["Task"] for s in samples}
    assert {f"mmra_task_{t}" for t in subtasks} | {"mmra_level_entity", "mmra_level_image", "mmra_accuracy",
                                                     "mmra_unparsed"} == set(metrics)
    # the same extraction and scoring as `mmra eval`: the overall accuracy agrees
    assert metrics["mmra_accuracy"] == pytest.approx(ours.scores["overall"], abs=1e-4)
    for task in subtasks:
        rows = [s["mmra_accuracy"]["score"] for s in samples if s["mmra_accuracy"]["Task"] == task]
        assert metrics[f"mmra_task_{task}"] == pytest.approx(sum(rows) / len(rows), abs=1e-4)
