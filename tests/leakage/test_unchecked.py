"""A failed check is never a pass (issue 18): when every probe request fails, `mmra leakage` says how many
samples could not be checked and exits non-zero, their verdicts say "failed", and `mmra publish` refuses them
unless given --publish-unchecked (and then the card says so). Real HTTP against a loopback server that
answers 500 to everything."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from mmra.benchmark.records import read_jsonl, write_jsonl
from mmra.benchmark.schema import LeakageVerdict, Sample
from tests.leakage.conftest import IMAGE_DEPENDENT, KNOWLEDGE, TEXT_ANSWERABLE, build_samples
from tests.llm.faultserver import FaultPlan, FaultServer

N = len(TEXT_ANSWERABLE + IMAGE_DEPENDENT)


@pytest.fixture()
def workdir(tmp_path, monkeypatch, make_image):
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("MMRA_CONFIG", raising=False)
    (tmp_path / "mmra.toml").write_text(f'[paths]\nimage_roots = ["{tmp_path}"]\n[llm]\nmax_retries = 1\n')
    write_jsonl(tmp_path / "samples.jsonl", build_samples(make_image, TEXT_ANSWERABLE + IMAGE_DEPENDENT))
    return tmp_path


def _mmra(*args: str):
    from mmra.cli import app

    return CliRunner().invoke(app, list(args), env={"COLUMNS": "400"})


def _leakage(url: str, out: str, *extra: str):
    return _mmra("leakage", "--samples", "samples.jsonl", "--model", f"m@{url}", "--out", out, "--probe",
                 "circular", "--embedder", "none", "--timeout", "2", *extra)


def _publish(samples: Path, version: str, *extra: str):
    return _mmra("publish", "--samples", str(samples), "--version", version, "--to", "store", "--cards-dir", "cards",
                 "--probe-embedder", "none", "--allow-blind-gap", *extra)


def _flat(text: str) -> str:
    return " ".join(text.split())


def test_failed_probes_are_not_a_pass_and_publish_refuses_them(workdir):
    with FaultServer(FaultPlan(rate_500=1.0, faulty_attempts=10**6), models=["m"]) as server:
        result = _leakage(server.base_url, "out")
    out = _flat(result.output)
    assert result.exit_code == 1, result.output
    assert "Traceback" not in result.output
    assert f"error: {N} of {N} samples could not be checked" in out and 'status "failed"' in out
    assert "--publish-unchecked" in out
    # the outputs are written, and say what happened
    verdicts = [json.loads(line) for line in (workdir / "out" / "verdicts.jsonl").read_text().splitlines()]
    assert len(verdicts) == N
    assert all(v["status"] == "failed" and v["failed_probes"] > 0 and not v["complete"] for v in verdicts)
    samples = read_jsonl(workdir / "out" / "samples.jsonl", Sample)
    assert all(s.leakage.status == "failed" and not s.leakage.checked and s.leakage.failed_probes > 0
               for s in samples)
    report = json.loads((workdir / "out" / "report.json").read_text())
    assert report["totals"]["incomplete"] == N and report["totals"]["failed_probes"] > 0

    refused = _publish(workdir / "out" / "samples.jsonl", "1.0.0")
    text = _flat(refused.output)
    assert refused.exit_code == 1 and "Traceback" not in refused.output, refused.output
    assert f"release refused: {N} sample(s) have no leakage check (0) or a failed one ({N})" in text
    assert "--publish-unchecked" in text and "probe(s) without an answer" in text
    assert not (workdir / "store").exists() or not any((workdir / "store").rglob("manifest.json"))

    allowed = _publish(workdir / "out" / "samples.jsonl", "1.0.0", "--publish-unchecked")
    assert allowed.exit_code == 0, allowed.output
    assert f"published with --publish-unchecked: {N} sample(s)" in _flat(allowed.output)
    (manifest,) = (workdir / "store").rglob("manifest.json")
    assert json.loads(manifest.read_text())["validity"]["unchecked"] == {"n": N, "missing": 0, "failed": N}
    card = _flat((workdir / "cards" / "mmra" / "1.0.0" / "README.md").read_text())
    assert "Warning: published with `--publish-unchecked`." in card
    assert f"{N} sample(s) of this release were not checked for text-only leakage: 0 have no leakage check and " \
           f"{N} a failed one" in card
    assert f"0 of {N} samples of the default config checked" in card


def test_samples_without_any_check_are_refused_too(workdir):
    refused = _publish(workdir / "samples.jsonl", "1.0.0")
    assert refused.exit_code == 1, refused.output
    assert f"release refused: {N} sample(s) have no leakage check ({N}) or a failed one (0)" in _flat(refused.output)
    assert "(missing)" in refused.output


def test_a_checked_run_exits_zero_and_publishes_without_the_flag(workdir):
    with FaultServer(FaultPlan(policy="knower", knowledge=KNOWLEDGE), models=["m"]) as server:
        result = _leakage(server.base_url, "out")
    assert result.exit_code == 0, result.output
    assert "could not be checked" not in result.output
    samples = read_jsonl(workdir / "out" / "samples.jsonl", Sample)
    assert all(s.leakage.status == "checked" and s.leakage.failed_probes == 0 for s in samples)
    published = _publish(workdir / "out" / "samples.jsonl", "1.0.0")
    assert published.exit_code == 0, published.output
    card = (workdir / "cards" / "mmra" / "1.0.0" / "README.md").read_text()
    assert "--publish-unchecked" not in card


def test_a_partly_failed_run_counts_only_the_samples_it_could_not_check(workdir):
    # the first attempt of every prompt fails; with no retries some samples get all their probes answered
    plan = FaultPlan(rate_500=0.3, faulty_attempts=1, seed=5)
    with FaultServer(plan, models=["m"]) as server:
        result = _leakage(server.base_url, "out", "--max-retries", "0")
    verdicts = [json.loads(line) for line in (workdir / "out" / "verdicts.jsonl").read_text().splitlines()]
    failed = [v for v in verdicts if v["status"] == "failed"]
    assert 0 < len(failed) < N, [v["failed_probes"] for v in verdicts]
    assert result.exit_code == 1
    assert f"{len(failed)} of {N} samples could not be checked" in _flat(result.output)


def test_old_verdicts_without_a_status_read_as_checked():
    old = LeakageVerdict.model_validate({"leaked": False, "hits": 0, "models": ["m"]})
    assert old.status == "checked" and old.checked and old.failed_probes == 0
    with pytest.raises(ValueError):
        LeakageVerdict.model_validate({"leaked": False, "status": "maybe"})
