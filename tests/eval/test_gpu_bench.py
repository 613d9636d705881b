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
    env = {**os.environ, "PYTHON": str(REPO / ".venv" / "bin" / "python"), **env_extra}
    return subprocess.run(["bash", str(REPO / "benches" / "gpu_eval.sh")], cwd=REPO, env=env, capture_output=True,
                          text=True, timeout=timeout)


def test_gpu_script_runs_end_to_end_with_a_tiny_model_on_cpu(tmp_path):
    res = _run_script({"MMRA_GPU_BENCH_MODELS": "tiny:qwen2-vl tiny:llava", "MMRA_GPU_BENCH_SAMPLES": "6",
                       "MMRA_GPU_BENCH_BATCHES": "1 3", "MMRA_GPU_BENCH_NEW_TOKENS": "4", "OUT": str(tmp_path)},
                      timeout=300)
    assert res.returncode == 0, res.stderr[-3000:]
    summary = json.loads(res.stdout.strip().splitlines()[-1])
    assert summary == json.loads((tmp_path / "gpu_bench.json").read_text())  # what comes back from the device
    assert [m["model"] for m in summary["models"]] == ["tiny:qwen2-vl", "tiny:llava"] and not summary["skipped"]
    for m in summary["models"]:
        assert [r["batch"] for r in m["rows"]] == [1, 3]
        assert all(r["samples"] == 6 and r["samples_per_s"] > 0 and r["identical"] and not r["errors"]
                   for r in m["rows"])
        assert all(r["peak_gpu_gib"] is None for r in m["rows"])  # CPU: no GPU memory to report


def test_gpu_script_without_pydantic_or_wheels_says_what_to_do(tmp_path):
    """On a python without the toolkit and pydantic (the device as it is) and no carried wheels: one line."""
    import sys

    venv = tmp_path / "bare"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    res = _run_script({"PYTHON": str(venv / "bin" / "python"), "MMRA_GPU_WHEELS": str(tmp_path / "none"),
                       "MMRA_GPU_BENCH_MODELS": "tiny:llava"}, timeout=60)
    assert res.returncode == 2
    assert "lacks pydantic" in res.stderr and "make gpu-wheels" in res.stderr and "Traceback" not in res.stderr


def test_the_second_gpu_model_is_the_llava_1_5_7b_architecture():
    from mmra.eval.tiny import build_synthetic

    built = build_synthetic("random:llava-1.5-7b", meta=True)
    assert 7.0e9 < sum(p.numel() for p in built.model.parameters()) < 7.1e9  # llava-1.5-7b-hf: 7.06B
    cfg = built.model.config
    assert (cfg.text_config.hidden_size, cfg.text_config.num_hidden_layers, cfg.vision_config.image_size) == (4096, 32, 336)


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
    res = _run_script({"MMRA_GPU_BENCH_MODELS": "random:qwen2-vl-7b", "MMRA_GPU_BENCH_SAMPLES": "16",
                       "MMRA_GPU_BENCH_BATCHES": "1 16"}, timeout=900)
    assert res.returncode == 0, res.stderr[-3000:]
    rows = json.loads(res.stdout.strip().splitlines()[-1])["models"][0]["rows"]
    assert rows[1]["samples_per_s"] > rows[0]["samples_per_s"] and rows[0]["peak_gpu_gib"] > 15
