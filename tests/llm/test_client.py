"""ChatClient against the fault-injecting OpenAI-compatible server on loopback (real HTTP)."""

from __future__ import annotations

import time

import pytest

from mmra.errors import MMRAError
from mmra.llm.client import ChatClient, ChatRequest, _retry_after
from tests.llm.faultserver import FaultPlan, FaultServer


def _requests(n: int, tag: str = "q") -> list[ChatRequest]:
    return [ChatRequest(messages=[{"role": "user", "content": f"Question {tag}{i}?\nOptions:\nA. x\nB. y\nC. z"}])
            for i in range(n)]


def test_every_request_answered_despite_transport_faults(tmp_path):
    plan = FaultPlan(rate_429=0.2, rate_500=0.15, rate_timeout=0.1, rate_garbage_body=0.15,
                     rate_empty=0.1, rate_gibberish=0.1, stall_s=1.0, seed=3)
    with FaultServer(plan, models=["m"]) as server:
        client = ChatClient(server.base_url, "m", timeout_s=0.5, max_retries=3, concurrency=8,
                            cache_path=tmp_path / "c.sqlite", backoff_base_s=0.01, progress=False)
        results = client.run(_requests(60))
        counts = dict(server.counts)
    for outcome in ("429", "500", "timeout", "garbage_body", "empty", "gibberish", "ok"):
        assert counts.get(outcome, 0) > 0, (outcome, counts)
    assert all(r.error is None for r in results), [r.error for r in results if r.error]
    assert sum(r.text == "" for r in results) == counts["empty"]  # empty content is an answer, not an error
    assert sum(r.text == "A" for r in results) == counts["ok"]
    stats = client.last_stats
    assert stats.sent == 60 and stats.retries >= counts["429"] + counts["500"] and stats.errors == 0
    assert stats.prompt_tokens > 0 and stats.completion_tokens > 0


def test_rerun_is_served_from_cache_and_identical(tmp_path):
    with FaultServer(FaultPlan(rate_gibberish=0.3), models=["m"]) as server:
        client = ChatClient(server.base_url, "m", cache_path=tmp_path / "c.sqlite", progress=False)
        first = client.run(_requests(20))
        served = sum(server.counts.values())
        second = client.run(_requests(20))
        assert sum(server.counts.values()) == served  # no request reached the server
    assert [r.text for r in first] == [r.text for r in second]
    assert all(r.cached for r in second) and client.last_stats.sent == 0 and client.last_stats.cached == 20
    assert client.missing(_requests(20)) == 0 and client.missing(_requests(3, tag="new")) == 3


def test_identical_requests_are_sent_once(tmp_path):
    with FaultServer(models=["m"]) as server:
        client = ChatClient(server.base_url, "m", cache_path=None, progress=False)
        results = client.run(_requests(1) * 5)
        assert server.counts["ok"] == 1
    assert [r.text for r in results] == ["A"] * 5


def test_retry_after_is_honoured():
    plan = FaultPlan(rate_429=1.0, faulty_attempts=1, retry_after="0.6")
    with FaultServer(plan, models=["m"]) as server:
        client = ChatClient(server.base_url, "m", backoff_base_s=0.001, progress=False)
        start = time.monotonic()
        (result,) = client.run(_requests(1))
        waited = time.monotonic() - start
    assert result.text == "A" and result.attempts == 2
    assert waited >= 0.6  # the tiny backoff alone would have retried after ~1 ms


def test_persistent_failure_sets_error_without_raising(tmp_path):
    plan = FaultPlan(rate_500=0.5, faulty_attempts=99, seed=1)
    with FaultServer(plan, models=["m"]) as server:
        client = ChatClient(server.base_url, "m", max_retries=1, backoff_base_s=0.001,
                            cache_path=tmp_path / "c.sqlite", progress=False)
        results = client.run(_requests(30))
    failed = [r for r in results if r.error]
    assert failed and len(failed) < 30
    assert all("HTTP 500" in r.error and "after 2 attempts" in r.error and r.text is None for r in failed)
    assert client.last_stats.errors == len(failed)
    # failures are not cached: a later run asks again
    assert client.missing(_requests(30)) == len(failed)


def test_unknown_model_in_a_request_is_not_retried():
    with FaultServer(models=["m"]) as server:
        client = ChatClient(server.base_url, "other", max_retries=4, progress=False)
        (result,) = client.run(_requests(1))
    assert result.attempts == 1 and "HTTP 404" in result.error and "does not exist" in result.error


def test_check_gives_one_clear_message(unused_tcp_port):
    with FaultServer(models=["m"], api_key="right-key") as server:
        assert ChatClient(server.base_url, "m", api_key="right-key").check() == ["m"]
        with pytest.raises(MMRAError, match="rejected the API key"):
            ChatClient(server.base_url, "m", api_key="wrong-key").check()
        with pytest.raises(MMRAError, match="model 'gpt-x' is not served by .*it serves: m"):
            ChatClient(server.base_url, "gpt-x", api_key="right-key").check()
    with pytest.raises(MMRAError, match="cannot reach LLM endpoint"):
        ChatClient(f"http://127.0.0.1:{unused_tcp_port}/v1", "m").check()


def test_key_never_in_repr():
    client = ChatClient("http://127.0.0.1:1/v1", "m", api_key="sk-secret-123")
    assert "sk-secret" not in repr(client)


def test_retry_after_parsing():
    assert _retry_after({"retry-after": "2"}) == 2.0
    assert _retry_after({"retry-after-ms": "250"}) == 0.25
    assert _retry_after({"retry-after": "Wed, 21 Oct 2015 07:28:00 GMT"}) == 0.0  # a past date: no wait
    assert _retry_after({"retry-after": "soon"}) is None
    assert _retry_after({}) is None


@pytest.fixture()
def unused_tcp_port():
    from mmra.procs import free_port

    return free_port()
