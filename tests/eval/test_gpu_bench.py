"""benches/gpu_eval.sh is ready for the GPU machine: its Python part runs here on CPU with a tiny model, and
the architecture it builds there is the real 7B-class one (checked on the meta device, no memory)."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]


def _run_script(env_extra: dict[str, str], timeout: int) -> subprocess.CompletedProcess:
    env = {**os.environ, **env_extra, "PYTHON": str(REPO / ".venv" / "bin" / "python")}
    return subprocess.run(["bash", str(REPO / "benches" / "gpu_eval.sh")], cwd=REPO, env=env, capture_output=True,
                          text=True, timeout=timeout)


def test_gpu_script_runs_end_to_end_with_a_tiny_model_on_cpu():
    res = _run_script({"MMRA_GPU_BENCH_MODEL": "tiny:qwen2-vl", "MMRA_GPU_BENCH_SAMPLES": "6",
                       "MMRA_GPU_BENCH_BATCHES": "1 3", "MMRA_GPU_BENCH_NEW_TOKENS": "4"}, timeout=240)
    assert res.returncode == 0, res.stderr[-3000:]
    summary = json.loads(res.stdout.strip().splitlines()[-1])
    rows = summary["rows"]
    assert [r["batch"] for r in rows] == [1, 3]
    assert all(r["samples"] == 6 and r["samples_per_s"] > 0 for r in rows)
    assert all(r["identical"] for r in rows)


def test_the_gpu_model_is_the_qwen2_vl_7b_architecture():
    from mmra.eval.tiny import build_synthetic

    built = build_synthetic("random:qwen2-vl-7b", meta=True)
    n_params = sum(p.numel() for p in built.model.parameters())
    assert 8.2e9 < n_params < 8.4e9  # Qwen2-VL-7B-Instruct has 8.29B parameters
    assert str(built.model.dtype) == "torch.bfloat16"
    cfg = built.model.config
    assert (cfg.text_config.hidden_size, cfg.text_config.num_hidden_layers, cfg.vision_config.depth) == (3584, 28, 32)


@pytest.mark.gpu
def test_gpu_script_on_a_real_gpu():
    torch = pytest.importorskip("torch")
    if not torch.cuda.is_available():
        pytest.skip("no CUDA GPU")
    res = _run_script({"MMRA_GPU_BENCH_SAMPLES": "16", "MMRA_GPU_BENCH_BATCHES": "1 16"}, timeout=900)
    assert res.returncode == 0, res.stderr[-3000:]
    rows = json.loads(res.stdout.strip().splitlines()[-1])["rows"]
    assert rows[1]["samples_per_s"] > rows[0]["samples_per_s"]
