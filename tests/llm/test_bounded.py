"""Hostile OpenAI-compatible endpoints cannot hang, crash or flood a run (issue 18, "bounded endpoints").

A real HTTP server on loopback (tests/llm/faultserver.py) drips bytes, nests JSON 100,000 deep, sends 60 MB,
answers 500 forever or asks for a Retry-After of 999999 s; the real ChatClient must give each request one line
of error within its deadline, store nothing big, wait at most its cap and say so, and send only the headers it
means to send."""

from __future__ import annotations

import json
import sqlite3
import time

import pytest
from typer.testing import CliRunner

from mmra.config import LLMConfig
from mmra.errors import MMRAError
from mmra.llm.client import ChatClient, ChatRequest
from tests.leakage.conftest import IMAGE_DEPENDENT, TEXT_ANSWERABLE, build_samples
from tests.llm.faultserver import FaultPlan, FaultServer


def _requests(n: int, tag: str = "q") -> list[ChatRequest]:
    return [ChatRequest(messages=[{"role": "user", "content": f"Question {tag}{i}?\nOptions:\nA. x\nB. y\nC. z"}])
            for i in range(n)]


def _client(server: FaultServer, tmp_path, **kw) -> ChatClient:
    options = {"max_retries": 1, "backoff_base_s": 0.01, "progress": False, "cache_path": tmp_path / "c.sqlite"}
    return ChatClient(server.base_url, "m", **{**options, **kw})


def _cached_rows(path) -> list[tuple[str, int]]:
    with sqlite3.connect(path) as db:
        return db.execute("SELECT key, length(text) FROM responses").fetchall()


def test_a_dripping_server_times_out_at_the_whole_request_deadline(tmp_path):
    # a byte every 0.4 s never trips a per-read timeout of 1.5 s; the whole-request deadline must
    plan = FaultPlan(misbehave="drip", drip_s=0.4)
    with FaultServer(plan, models=["m"]) as server:
        client = _client(server, tmp_path, timeout_s=1.5, max_retries=1)
        started = time.monotonic()
        (result,) = client.run(_requests(1))
        took = time.monotonic() - started
    assert result.error is not None and result.text is None
    assert "timed out: no complete response within 1.5 s (after 2 attempts)" == result.error
    assert 3.0 <= took < 6.0, took  # two attempts of 1.5 s and a short backoff (the body alone takes 80 s)
    assert server.counts["drip"] == 2
    assert not _cached_rows(tmp_path / "c.sqlite")


def test_drip_of_one_byte_every_two_seconds_respects_timeout_s_from_settings(tmp_path):
    plan = FaultPlan(misbehave="drip", drip_s=2.0)
    with FaultServer(plan, models=["m"]) as server:
        client = ChatClient.from_settings(server.base_url, "m", LLMConfig(timeout_s=2.5, max_retries=0),
                                          cache_path=None, progress=False)
        started = time.monotonic()
        (result,) = client.run(_requests(1))
        took = time.monotonic() - started
    assert result.error == "timed out: no complete response within 2.5 s (after 1 attempts)"
    assert took < 4.0, took


def test_a_100000_deep_json_body_is_one_line_not_a_recursion_error(tmp_path):
    with FaultServer(FaultPlan(misbehave="deep_json"), models=["m"]) as server:
        client = _client(server, tmp_path)
        (result,) = client.run(_requests(1))
    assert result.error == "malformed response: not valid JSON: nested too deeply (after 2 attempts)"
    assert "\n" not in result.error and server.counts["deep_json"] == 2
    assert not _cached_rows(tmp_path / "c.sqlite")


@pytest.mark.parametrize("mode", ["huge_body", "huge_body_declared"])
def test_a_60_mb_answer_is_cut_off_at_the_cap_and_nothing_is_cached(tmp_path, mode):
    with FaultServer(FaultPlan(misbehave=mode), models=["m"]) as server:
        client = _client(server, tmp_path, max_retries=3)
        started = time.monotonic()
        results = client.run(_requests(2))
        took = time.monotonic() - started
        sent = server.huge_sent
    for result in results:
        assert result.error is not None and "over the 524,288-byte limit ([llm].max_response_bytes)" in result.error
        assert result.attempts == 1 and "\n" not in result.error  # the same answer again would not help
    # chunked: read up to the cap, then the connection is dropped; declared: refused before the body
    # what the server got into the kernel's socket buffers (several MB on loopback) before the client hung up:
    # less than one of the two 60 MB bodies
    assert sent < 60 * 1024 * 1024, sent
    assert took < 10, took
    assert not _cached_rows(tmp_path / "c.sqlite")
    assert (tmp_path / "c.sqlite").stat().st_size < 1024 * 1024


def test_the_cap_comes_from_settings_and_normal_answers_pass_it(tmp_path):
    with FaultServer(FaultPlan(misbehave="huge_body", huge_bytes=5000), models=["m"]) as server:
        small = ChatClient.from_settings(server.base_url, "m", LLMConfig(max_response_bytes=4096, max_retries=0),
                                         cache_path=tmp_path / "small.sqlite", progress=False)
        (refused,) = small.run(_requests(1))
        roomy = ChatClient.from_settings(server.base_url, "m", LLMConfig(max_response_bytes=8192, max_retries=0),
                                         cache_path=tmp_path / "roomy.sqlite", progress=False)
        (taken,) = roomy.run(_requests(1))
    assert "over the 4,096-byte limit" in refused.error
    assert taken.ok and len(taken.text) == 5000
    assert [n for _, n in _cached_rows(tmp_path / "roomy.sqlite")] == [5000]
    assert not _cached_rows(tmp_path / "small.sqlite")


def test_always_500_gives_one_line_per_request_and_caches_nothing(tmp_path):
    plan = FaultPlan(rate_500=1.0, faulty_attempts=10**6)
    with FaultServer(plan, models=["m"]) as server:
        client = _client(server, tmp_path, max_retries=2)
        results = client.run(_requests(3))
    assert [r.error for r in results] == ["HTTP 500: internal error (injected) (after 3 attempts)"] * 3
    assert server.counts["500"] == 9 and client.last_stats.errors == 3
    assert not _cached_rows(tmp_path / "c.sqlite")


def test_retry_after_999999_is_capped_and_announced_once(tmp_path):
    plan = FaultPlan(rate_429=1.0, faulty_attempts=1, retry_after="999999")
    said: list[str] = []
    with FaultServer(plan, models=["m"]) as server:
        client = ChatClient.from_settings(server.base_url, "m", LLMConfig(max_retry_after_s=1.5, concurrency=4),
                                          cache_path=None, progress=False)
        client.announce = said.append
        started = time.monotonic()
        results = client.run(_requests(4))  # four requests wait together: one line, not four
        took = time.monotonic() - started
    assert all(r.text == "A" and r.attempts == 2 for r in results)
    assert 1.4 <= took < 5, took
    assert len(said) == 1, said
    assert said[0] == (f"LLM endpoint {server.base_url} (m) answered HTTP 429 with Retry-After: waiting 2 s "
                       "(asked for 999,999 s; capped by [llm].max_retry_after_s) before attempt 2 of 5")


def test_retry_after_wait_is_shown_on_stderr(tmp_path, capfd):
    plan = FaultPlan(rate_429=1.0, faulty_attempts=1, retry_after="999999")
    with FaultServer(plan, models=["m"]) as server:
        client = ChatClient(server.base_url, "m", max_retry_after_s=1.0, cache_path=None, progress=False)
        (result,) = client.run(_requests(1))
    assert result.ok
    err = capfd.readouterr().err
    assert "Retry-After: waiting 1 s (asked for 999,999 s; capped by [llm].max_retry_after_s)" in " ".join(err.split())


def test_no_organisation_or_project_headers_and_only_the_named_key(tmp_path, monkeypatch):
    monkeypatch.setenv("OPENAI_ORG_ID", "org-must-not-leak")
    monkeypatch.setenv("OPENAI_PROJECT_ID", "proj_must_not_leak")
    monkeypatch.setenv("OPENAI_API_KEY", "sk-openai-must-stay-home")
    monkeypatch.setenv("OPENAI_BASE_URL", "http://127.0.0.1:9/v1")  # an SDK default that must not matter
    monkeypatch.setenv("MY_ENDPOINT_KEY", "key-for-this-endpoint")
    with FaultServer(models=["m"]) as named, FaultServer(models=["m"]) as unnamed:
        ChatClient(named.base_url, "m", key_env="MY_ENDPOINT_KEY", cache_path=None, progress=False).check()
        ChatClient(named.base_url, "m", key_env="MY_ENDPOINT_KEY", cache_path=None, progress=False).run(_requests(2))
        ChatClient(unnamed.base_url, "m", cache_path=None, progress=False).check()
        ChatClient(unnamed.base_url, "m", cache_path=None, progress=False).run(_requests(2))
    seen = named.headers + unnamed.headers
    assert len(seen) == 6
    for headers in seen:
        assert not {"openai-organization", "openai-project"} & set(headers), headers
        values = " ".join(headers.values())
        assert "org-must-not-leak" not in values and "proj_must_not_leak" not in values
        assert "sk-openai-must-stay-home" not in values
    assert {h.get("authorization") for h in named.headers} == {"Bearer key-for-this-endpoint"}
    assert {h.get("authorization") for h in unnamed.headers} == {None}


@pytest.mark.parametrize("mode", ["deep_json", "huge_body_declared", "drip"])
def test_check_against_a_hostile_models_route_is_one_line(tmp_path, mode):
    plan = FaultPlan(misbehave=mode, misbehave_models=True, drip_s=0.5)
    with FaultServer(plan, models=["m"]) as server:
        started = time.monotonic()
        with pytest.raises(MMRAError) as info:
            ChatClient(server.base_url, "m", timeout_s=1.0, cache_path=None, progress=False).check()
        took = time.monotonic() - started
    message = str(info.value)
    assert "\n" not in message and message.startswith(("cannot reach LLM endpoint", "LLM endpoint")), message
    assert {"deep_json": "nested too deeply", "huge_body_declared": "over the 524,288-byte limit",
            "drip": "timed out"}[mode] in message
    assert took < 5, took


# ------------------------------------------------------------------ through the command lines


@pytest.fixture()
def workdir(tmp_path, monkeypatch, make_image):
    from mmra.benchmark.records import write_jsonl

    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("MMRA_CONFIG", raising=False)
    (tmp_path / "mmra.toml").write_text("[llm]\nmax_retries = 1\ntimeout_s = 2\n")
    write_jsonl(tmp_path / "samples.jsonl", build_samples(make_image, TEXT_ANSWERABLE + IMAGE_DEPENDENT))
    return tmp_path


def _leakage(*args: str, env: dict[str, str] | None = None):
    from mmra.cli import app

    return CliRunner().invoke(app, ["leakage", "--samples", "samples.jsonl", "--probe", "circular",
                                    "--embedder", "none", *args], env={"COLUMNS": "400", **(env or {})})


@pytest.mark.parametrize("mode", ["deep_json", "huge_body"])
def test_leakage_against_a_hostile_endpoint_writes_small_verdicts_and_exits_non_zero(workdir, mode):
    with FaultServer(FaultPlan(misbehave=mode), models=["m"]) as server:
        result = _leakage("--model", f"m@{server.base_url}", "--out", "out")
    assert result.exit_code != 0 and "Traceback" not in result.output, result.output
    assert "6 of 6 samples could not be checked" in " ".join(result.output.split())
    verdicts = [json.loads(line) for line in (workdir / "out" / "verdicts.jsonl").read_text().splitlines()]
    assert len(verdicts) == 6 and all(not v["complete"] for v in verdicts)
    assert (workdir / "out" / "verdicts.jsonl").stat().st_size < 1024 * 1024  # not 840 MB
    cache = workdir / ".mmra" / "cache" / "llm.sqlite"
    assert not cache.exists() or not _cached_rows(cache)


def test_leakage_sends_no_organisation_headers(workdir):
    env = {"OPENAI_ORG_ID": "org-must-not-leak", "OPENAI_PROJECT_ID": "proj_must_not_leak",
           "OPENAI_API_KEY": "sk-openai-must-stay-home"}
    with FaultServer(models=["m"]) as server:
        result = _leakage("--model", f"m@{server.base_url}", "--out", "out", "--no-cache", env=env)
    assert result.exit_code == 0, result.output
    assert server.headers and all(not {"openai-organization", "openai-project"} & set(h) and
                                  "authorization" not in h for h in server.headers)


def test_draft_model_against_deep_json_is_one_line_per_candidate(tmp_path):
    from annotation.preannotate import draft_questions
    from mmra.benchmark.schema import Candidate, ImageRef

    cands = [Candidate(subtask="UsageSimilarity", image1=ImageRef(path="a.png"), image2=ImageRef(path="b.png"))]
    with FaultServer(FaultPlan(misbehave="deep_json"), models=["m"]) as server:
        client = ChatClient(server.base_url, "m", max_retries=0, cache_path=None, progress=False)
        drafts, failed = draft_questions(cands, client)
    assert drafts == {}
    assert failed == [(cands[0].id, "LLM request failed: malformed response: not valid JSON: nested too deeply "
                                    "(after 1 attempts)")]
