"""The leakage filter against the real embedded local models (llama-cpp-python server on loopback)."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from mmra.benchmark.leakage import LeakageSettings, run_leakage
from mmra.cli import app
from mmra.llm.client import ChatClient
from tests.leakage.conftest import TEXT_ANSWERABLE, build_samples

pytestmark = pytest.mark.llm


def test_cli_with_local_model_gives_verdicts_and_reruns_from_cache(tmp_path, samples_file, local_llm):
    path, samples = samples_file
    local_llm("smollm2-135m")  # started once per session (the CLI reuses it)
    args = ["leakage", "--samples", str(path), "--local", "smollm2-135m", "--out", str(tmp_path / "out"),
            "--cache", str(tmp_path / "cache.sqlite"), "--no-choices-only"]  # choices-only: fault-server tests
    first = CliRunner().invoke(app, args)
    assert first.exit_code == 0, first.output
    verdicts = [json.loads(line) for line in (tmp_path / "out" / "verdicts.jsonl").read_text().splitlines()]
    assert [v["id"] for v in verdicts] == [s.id for s in samples]
    for v in verdicts:  # evidence: every raw response, parsed answer and correctness per probe
        probes = v["models"]["smollm2-135m"]["probes"]
        asked = [p for p in probes if p.get("asked", True)]  # later rotations stop once the hit is decided
        assert asked and all(p["response"] is not None and p["error"] is None for p in asked)
        assert all(p["status"] == "not asked" for p in probes if not p.get("asked", True))
    report = json.loads((tmp_path / "out" / "report.json").read_text())
    stats = report["models"]["smollm2-135m"]
    assert stats["sent"] > 0 and stats["usage_this_run"]["prompt_tokens"] > 0
    assert set(report["subtasks"]) == {s.subtask for s in samples}
    assert (tmp_path / "out" / "leakage.png").stat().st_size > 10_000
    again = CliRunner().invoke(app, args)
    assert again.exit_code == 0, again.output
    rerun = json.loads((tmp_path / "out" / "report.json").read_text())["models"]["smollm2-135m"]
    assert rerun["sent"] == 0 and rerun["cached"] == rerun["requests"] == stats["requests"]
    assert [json.loads(line) for line in (tmp_path / "out" / "verdicts.jsonl").read_text().splitlines()] == verdicts


def test_a_model_that_knows_flags_a_text_answerable_sample(tmp_path, make_image, local_llm):
    fruit = build_samples(make_image, TEXT_ANSWERABLE[:1])  # 3 options -> 3 requests to the 1.5B model
    client = ChatClient(local_llm("qwen2.5-1.5b"), "qwen2.5-1.5b", cache_path=tmp_path / "c.sqlite", progress=False)
    result = run_leakage(fruit, {"qwen2.5-1.5b": client}, LeakageSettings(choices_only=False))
    (verdict,) = result.verdicts
    assert verdict["leaked"] and verdict["model_hits"] == {"qwen2.5-1.5b": True}, verdict
    assert result.samples[0].leakage.answers == {"qwen2.5-1.5b": ["B", "B", "B"]}
