"""`mmra leakage` end to end against the fault-injecting OpenAI-compatible server on loopback."""

from __future__ import annotations

import json
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest
from typer.testing import CliRunner

from mmra.benchmark.records import read_jsonl
from mmra.benchmark.schema import Sample
from tests.leakage.conftest import KNOWLEDGE
from tests.llm.faultserver import FaultPlan, FaultServer

ALL_FAULTS = dict(rate_429=0.15, rate_500=0.1, rate_timeout=0.05, rate_garbage_body=0.1, rate_empty=0.08,
                  rate_gibberish=0.08, stall_s=1.0)


def invoke(*args: str, env: dict | None = None):
    from mmra.cli import app

    return CliRunner().invoke(app, ["leakage", *args], env=env)


def read_verdicts(out: Path) -> list[dict]:
    return [json.loads(line) for line in (out / "verdicts.jsonl").read_text().splitlines()]


def common(tmp_path: Path, out: str = "out") -> list[str]:
    return ["--out", str(tmp_path / out), "--cache", str(tmp_path / "cache.sqlite"), "--timeout", "0.5",
            "--concurrency", "4"]


def test_knower_flags_text_answerable_samples_despite_faults(tmp_path, samples_file):
    path, samples = samples_file
    plan = FaultPlan(policy="knower", knowledge=KNOWLEDGE, **ALL_FAULTS, seed=5)
    with FaultServer(plan, models=["knower"]) as server:
        result = invoke("--samples", str(path), "--model", f"knower@{server.base_url}", *common(tmp_path))
        counts = dict(server.counts)
    assert result.exit_code == 0, result.output
    assert {"429", "500", "timeout", "garbage_body"} <= set(counts), counts
    out = tmp_path / "out"
    verdicts = read_verdicts(out)
    assert [v["id"] for v in verdicts] == [s.id for s in samples]  # every sample has a verdict
    leaked = {v["id"] for v in verdicts if v["leaked"]}
    by_question = {s.question: s.id for s in samples}
    # the knower is right under every shift for the two text-answerable items, unless an injected
    # empty/gibberish answer hit one of their probes (then it is a counted parse failure, not a hit)
    for v in verdicts:
        probes = v["models"]["knower"]["probes"]
        # transport faults were all retried away (a rotation after a decided outcome is not asked)
        assert all(p["response"] is not None for p in probes if p.get("asked", True))
        failures = sum(p["status"] != "ok" for p in probes if p["kind"] == "circular")
        assert v["models"]["knower"]["parse_failures"] == sum(p["status"] not in ("ok", "error", "not asked")
                                                              for p in probes)
        text_answerable = v["id"] in (by_question["Which of these is a fruit?"], by_question["Which of these can fly?"])
        assert v["leaked"] == (text_answerable and failures == 0)
    assert leaked  # the seed leaves at least one of them clean
    report = json.loads((out / "report.json").read_text())
    assert report["totals"]["flagged"] == len(leaked) and report["totals"]["n"] == len(samples)
    model = report["models"]["knower"]
    assert model["retries"] > 0 and model["errors"] == 0 and model["usage_this_run"]["prompt_tokens"] > 0
    assert model["parse_failures"] == sum(v["models"]["knower"]["parse_failures"] for v in verdicts)
    assert (out / "leakage.png").read_bytes()[:4] == b"\x89PNG"
    flagged = read_jsonl(out / "flagged.jsonl", Sample)
    assert {s.id for s in flagged} == leaked
    fruit = next((s for s in flagged if s.question == "Which of these is a fruit?"), None)
    if fruit is not None:  # answers are in the sample's own letters, whatever the shift
        assert fruit.leakage.answers == {"knower": ["B", "B", "B"]} and fruit.leakage.model_hits == {"knower": True}
    everything = read_jsonl(out / "samples.jsonl", Sample)
    assert len(everything) == len(samples) and all(s.leakage is not None for s in everything)
    assert "flagged" in result.output


def test_always_a_model_flags_nothing(tmp_path, samples_file):
    path, samples = samples_file
    with FaultServer(FaultPlan(policy="always_a", rate_429=0.2, seed=2), models=["always-a"]) as server:
        result = invoke("--samples", str(path), "--model", f"always-a@{server.base_url}", "--hit-rule", "majority",
                        "--every-rotation", *common(tmp_path))
    assert result.exit_code == 0, result.output
    verdicts = read_verdicts(tmp_path / "out")
    assert len(verdicts) == len(samples) and not any(v["leaked"] for v in verdicts)
    # it is right exactly once per sample: under one shift / one answer order
    assert all(v["models"]["always-a"]["qo_correct"] == 1 for v in verdicts)
    assert (tmp_path / "out" / "flagged.jsonl").read_text() == ""


def test_max_hits_counts_models(tmp_path, samples_file):
    path, _ = samples_file
    with FaultServer(FaultPlan(policy="knower", knowledge=KNOWLEDGE), models=["k1", "k2", "a"]) as server:
        def run(*extra: str, out: str) -> list[dict]:
            result = invoke("--samples", str(path), "--model", f"k1@{server.base_url}", "--model",
                            f"k2@{server.base_url}", *extra, *common(tmp_path, out), "--no-choices-only")
            assert result.exit_code == 0, result.output
            return read_verdicts(tmp_path / out)

        default = run(out="default")  # 2 models -> max hits 0: one hit flags
        assert sum(v["leaked"] for v in default) == 2 and all(v["max_hits"] == 0 for v in default)
        lenient = run("--max-hits", "2", out="lenient")  # 2 hits are allowed
        assert not any(v["leaked"] for v in lenient) and {v["hits"] for v in lenient} == {0, 2}


@pytest.mark.parametrize("case", ["unreachable", "wrong-model", "bad-key"])
def test_endpoint_problems_fail_cleanly(tmp_path, samples_file, case):
    from mmra.procs import free_port

    path, _ = samples_file
    with FaultServer(models=["m"], api_key="good-key") as server:
        url = {"unreachable": f"http://127.0.0.1:{free_port()}/v1"}.get(case, server.base_url)
        model = "nope" if case == "wrong-model" else "m"
        key = "bad-key" if case == "bad-key" else "good-key"
        result = invoke("--samples", str(path), "--model", f"{model}@{url}#TEST_ENDPOINT_KEY", *common(tmp_path),
                        env={"TEST_ENDPOINT_KEY": key})
    assert result.exit_code == 1
    message = result.output.strip()
    expected = {"unreachable": "cannot reach LLM endpoint", "wrong-model": "model 'nope' is not served by",
                "bad-key": "rejected the API key"}[case]
    assert message.startswith("error:") and expected in message and "Traceback" not in message
    assert "bad-key" not in message  # the key never shows
    assert not (tmp_path / "out").exists()  # nothing half-written


def test_bad_model_spec_and_bad_input(tmp_path, samples_file):
    path, _ = samples_file
    result = invoke("--samples", str(path), "--model", "some-model", *common(tmp_path))
    assert result.exit_code == 2 and "not an embedded local model" in result.output
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"Task": "UsageSimilarity", "QA_type": "Choice QA", "question": "Q?", "options": "{\'A\': \'x\'}", "answer": "A"}\n')
    result = invoke("--samples", str(bad), "--model", "m@http://127.0.0.1:9/v1", *common(tmp_path))
    assert result.exit_code == 2 and "bad.jsonl:1" in result.output and "options" in result.output
    assert not (tmp_path / "out").exists()


def _cached_rows(cache: Path) -> int:
    try:
        with sqlite3.connect(cache, timeout=5) as db:
            return db.execute("SELECT COUNT(*) FROM responses").fetchone()[0]
    except sqlite3.Error:
        return 0


def test_killed_run_resumes_to_the_same_verdicts(tmp_path, many_samples_file):
    path, samples = many_samples_file
    plan = FaultPlan(policy="knower", knowledge=KNOWLEDGE, latency_s=0.02, **{**ALL_FAULTS, "rate_timeout": 0.02}, seed=9)
    with FaultServer(plan, models=["knower"]) as server:
        spec = f"knower@{server.base_url}"
        # 1) an uninterrupted run with its own cache
        reference = invoke("--samples", str(path), "--model", spec, "--out", str(tmp_path / "ref"),
                           "--cache", str(tmp_path / "ref.sqlite"), "--timeout", "0.5")
        assert reference.exit_code == 0, reference.output
        total = sum(1 for _ in read_verdicts(tmp_path / "ref"))
        # 2) a run killed (SIGKILL) part-way through
        cache = tmp_path / "resume.sqlite"
        args = ["--samples", str(path), "--model", spec, "--out", str(tmp_path / "resumed"), "--cache", str(cache),
                "--timeout", "0.5", "--concurrency", "2"]
        proc = subprocess.Popen([sys.executable, "-m", "mmra.cli", "leakage", *args],
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 60
        while _cached_rows(cache) < 40 and time.monotonic() < deadline and proc.poll() is None:
            time.sleep(0.05)
        assert proc.poll() is None, "the run finished before it could be killed"
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=10)
        done = _cached_rows(cache)
        assert 40 <= done < 220 and not (tmp_path / "resumed").exists()
        # 3) the re-run sends only what is missing
        resumed = invoke(*args)
        assert resumed.exit_code == 0, resumed.output
    report = json.loads((tmp_path / "resumed" / "report.json").read_text())
    assert report["models"]["knower"]["cached"] >= done - 2  # (a response in flight may land after the count)
    assert report["models"]["knower"]["sent"] == report["models"]["knower"]["requests"] - report["models"]["knower"]["cached"]
    assert read_verdicts(tmp_path / "resumed") == read_verdicts(tmp_path / "ref") and total == len(samples)
