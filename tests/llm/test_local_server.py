"""The embedded local model server: real llama-cpp-python, real GGUF assembled from the PyPI packages."""

from __future__ import annotations

import json
import time

import pytest
from typer.testing import CliRunner

from mmra.cli import app
from mmra.llm.client import ChatClient, ChatRequest
from mmra.llm.models import MODELS, model_path

pytestmark = pytest.mark.llm


def test_models_assemble_verified_and_idempotent(tmp_path):
    first = model_path("smollm2-135m", cache_dir=tmp_path)
    marker = json.loads(first.with_name(first.name + ".verified").read_text())
    assert marker["sha256"] == MODELS["smollm2-135m"].sha256 and marker["size"] == first.stat().st_size
    start = time.monotonic()
    assert model_path("smollm2-135m", cache_dir=tmp_path) == first
    assert time.monotonic() - start < 0.5  # verified marker: no second hash over the file
    first.write_bytes(b"corrupt")  # a changed file is re-assembled, not trusted
    assert model_path("smollm2-135m", cache_dir=tmp_path).stat().st_size == marker["size"]


def test_real_server_answers_and_caches(local_llm, tmp_path):
    url = local_llm("smollm2-135m")
    client = ChatClient(url, "smollm2-135m", cache_path=tmp_path / "c.sqlite", progress=False)
    assert "smollm2-135m" in client.check()
    prompts = ["Question: Which of these is a fruit?\nOptions:\nA. hammer\nB. banana\nC. brick\nAnswer with the letter.",
               "Is the sky blue? Answer Yes or No.", "Name a colour."]
    reqs = [ChatRequest(messages=[{"role": "user", "content": p}], max_tokens=8) for p in prompts]
    results = client.run(reqs)
    assert all(r.error is None and r.text and not r.cached for r in results), results
    assert all(r.usage["prompt_tokens"] > 5 and r.usage["completion_tokens"] >= 1 for r in results)
    assert client.run(reqs) and client.last_stats.cached == 3 and client.last_stats.sent == 0
    assert ensure_same_server(url)


def ensure_same_server(url: str) -> bool:
    from mmra.llm.server import ensure_server

    return ensure_server("smollm2-135m") == url  # a second call reuses the live server


def test_cli_serve_reuses_and_lists(local_llm):
    url = local_llm("smollm2-135m")
    runner = CliRunner()
    result = runner.invoke(app, ["llm", "serve", "--model", "smollm2-135m"])
    assert result.exit_code == 0, result.output
    assert url in result.output.replace("\n", "")
    listing = runner.invoke(app, ["llm", "models"])
    assert listing.exit_code == 0 and "smollm2-135m" in listing.output and "qwen2.5-1.5b" in listing.output


def test_cli_serve_unknown_model_is_one_clear_error():
    result = CliRunner().invoke(app, ["llm", "serve", "--model", "gpt-9"])
    assert result.exit_code == 1
    assert "unknown local model 'gpt-9'" in result.output
