"""Endpoints never share answers, and a key goes only to the endpoint it belongs to (issue 12).

Real OpenAI-compatible HTTP servers on loopback (tests/llm/faultserver.py) record every Authorization header."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest
from typer.testing import CliRunner

from mmra.errors import MMRAError
from mmra.llm.client import LOCAL_ENDPOINT, ChatClient, ChatRequest
from mmra.llm.keys import endpoint_api_key, split_key_env
from tests.leakage.conftest import IMAGE_DEPENDENT, KNOWLEDGE, TEXT_ANSWERABLE, build_samples
from tests.llm.faultserver import FaultPlan, FaultServer

OPENAI_KEY = "sk-openai-must-stay-home"


@pytest.fixture()
def workdir(tmp_path, monkeypatch, make_image):
    """A working folder with default config (so the default shared cache .mmra/cache/llm.sqlite is used)."""
    from mmra.benchmark.records import write_jsonl

    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("MMRA_CONFIG", raising=False)
    write_jsonl(tmp_path / "samples.jsonl", build_samples(make_image, TEXT_ANSWERABLE + IMAGE_DEPENDENT))
    return tmp_path


def leakage(*args: str, env: dict[str, str] | None = None):
    from mmra.cli import app

    return CliRunner().invoke(app, ["leakage", "--samples", "samples.jsonl", "--timeout", "2", *args],
                              env={"OPENAI_API_KEY": OPENAI_KEY, "COLUMNS": "400", **(env or {})})  # no wrapping


def verdicts(out: Path) -> dict[str, bool]:
    return {v["id"]: v["leaked"] for v in map(json.loads, (out / "verdicts.jsonl").read_text().splitlines())}


def test_two_endpoints_with_one_model_name_never_share_answers(workdir):
    knower = FaultServer(FaultPlan(policy="knower", knowledge=KNOWLEDGE), models=["same-name"])
    always_a = FaultServer(FaultPlan(policy="always_a"), models=["same-name"])
    with knower, always_a:
        first = leakage("--model", f"same-name@{knower.base_url}#KEY_OF_KNOWER", "--out", "out-knower",
                        env={"KEY_OF_KNOWER": "key-knower"})
        assert first.exit_code == 0, first.output
        second = leakage("--model", f"same-name@{always_a.base_url}", "--out", "out-always-a")
        assert second.exit_code == 0, second.output
    cache = workdir / ".mmra" / "cache" / "llm.sqlite"
    assert cache.is_file()  # both runs used the one default cache of this working folder
    assert always_a.counts["ok"] > 0  # the second endpoint was asked, not answered from the first one's cache
    by_knower, by_always_a = verdicts(workdir / "out-knower"), verdicts(workdir / "out-always-a")
    assert by_knower.keys() == by_always_a.keys()
    assert sum(by_knower.values()) == 2 and not any(by_always_a.values())  # different answers, different verdicts
    # keys: the named key reached its own endpoint only; OPENAI_API_KEY reached neither loopback server
    assert set(knower.authorization) == {"Bearer key-knower"}
    assert set(always_a.authorization) == {None}
    # a re-run against the first endpoint is answered from the cache again (its entries stayed valid)
    served = knower.counts["ok"]
    with FaultServer(FaultPlan(policy="knower", knowledge=KNOWLEDGE), models=["same-name"],
                     port=knower.port) as again:
        rerun = leakage("--model", f"same-name@{again.base_url}#KEY_OF_KNOWER", "--out", "out-rerun",
                        env={"KEY_OF_KNOWER": "key-knower"})
        assert rerun.exit_code == 0, rerun.output
        assert again.counts["ok"] == 0 and served > 0
    assert verdicts(workdir / "out-rerun") == by_knower


def test_openai_key_goes_to_other_endpoints_only_when_asked(workdir):
    with FaultServer(models=["m"]) as server:
        result = leakage("--model", f"m@{server.base_url}", "--out", "out", "--no-cache", "--send-openai-key")
        assert result.exit_code == 0, result.output
    assert set(server.authorization) == {f"Bearer {OPENAI_KEY}"}


def test_unset_key_variable_is_named_in_one_line(workdir):
    with FaultServer(models=["m"], api_key="right") as server:
        result = leakage("--model", f"m@{server.base_url}#NOT_SET_ANYWHERE", "--out", "out")
    lines = result.output.strip().splitlines()
    assert result.exit_code == 1 and len(lines) == 1, result.output
    assert "rejected the API key" in lines[0] and "$NOT_SET_ANYWHERE" in lines[0] and "Traceback" not in lines[0]
    assert set(server.authorization) == {None}


def test_plain_http_to_another_host_is_refused_before_connecting(workdir):
    # 192.0.2.1 is TEST-NET-1 (never routed): a refusal that came after trying would be a timeout instead
    started = time.monotonic()
    result = leakage("--model", "m@http://192.0.2.1:8000/v1", "--out", "out", env={"REMOTE_KEY": "k"})
    lines = result.output.strip().splitlines()
    assert result.exit_code == 1 and len(lines) == 1, result.output
    assert "refusing plain http to 192.0.2.1" in lines[0] and "--allow-insecure-http" in lines[0]
    assert time.monotonic() - started < 5 and not (workdir / "out").exists()
    with pytest.raises(MMRAError, match="refusing plain http"):
        ChatClient("http://llm.example.org/v1", "m", api_key="explicit")  # an explicit key is no way round it
    # with the flag it really connects (and fails to reach the unrouted host)
    allowed = leakage("--model", "m@http://192.0.2.1:8000/v1", "--out", "out", "--allow-insecure-http",
                      "--timeout", "0.5")
    assert allowed.exit_code == 1 and "cannot reach LLM endpoint" in allowed.output


def test_key_resolution_rules(monkeypatch):
    monkeypatch.setenv("OPENAI_API_KEY", OPENAI_KEY)
    monkeypatch.setenv("OTHER_KEY", "other")
    assert endpoint_api_key("https://api.openai.com/v1") == OPENAI_KEY
    assert endpoint_api_key("https://llm.example.org/v1") is None
    assert endpoint_api_key("https://llm.example.org/v1", send_openai_key=True) == OPENAI_KEY
    assert endpoint_api_key("https://llm.example.org/v1", "OTHER_KEY") == "other"
    assert endpoint_api_key("https://api.openai.com/v1", "OTHER_KEY") == "other"  # a named key wins
    assert endpoint_api_key("http://127.0.0.1:8765/v1") is None
    assert endpoint_api_key("http://localhost:8765/v1") is None
    assert endpoint_api_key("http://[::1]:8765/v1") is None
    assert endpoint_api_key("http://10.0.0.5/v1", "OTHER_KEY", allow_insecure_http=True) == "other"
    with pytest.raises(MMRAError, match="refusing plain http"):
        endpoint_api_key("http://10.0.0.5/v1", "OTHER_KEY")
    with pytest.raises(ValueError, match="not an http"):
        endpoint_api_key("ftp://example.org/v1")
    assert split_key_env("https://h/v1/#MY_KEY") == ("https://h/v1", "MY_KEY")
    assert split_key_env("https://h/v1") == ("https://h/v1", None)
    with pytest.raises(ValueError, match="environment variable"):
        split_key_env("https://h/v1#not a name")


def test_cache_key_names_the_endpoint():
    req = ChatRequest(messages=[{"role": "user", "content": "Q?"}])
    assert req.cache_key("m", "http://127.0.0.1:1/v1") != req.cache_key("m", "http://127.0.0.1:2/v1")
    # the embedded local models keep one identity whatever port their server got this time
    one = ChatClient("http://127.0.0.1:1/v1", "m", endpoint_id=LOCAL_ENDPOINT)
    two = ChatClient("http://127.0.0.1:2/v1", "m", endpoint_id=LOCAL_ENDPOINT)
    assert one.endpoint == two.endpoint == LOCAL_ENDPOINT


def test_eval_openai_backend_sends_the_key_only_where_named(workdir, monkeypatch):
    from mmra.eval.backends.openai import OpenAIBackend

    monkeypatch.setenv("OPENAI_API_KEY", OPENAI_KEY)
    monkeypatch.setenv("EVAL_KEY", "eval-key")
    with FaultServer(models=["m"]) as named, FaultServer(models=["m"]) as unnamed:
        OpenAIBackend("m", base_url=f"{named.base_url}#EVAL_KEY", cache=False)
        OpenAIBackend("m", base_url=unnamed.base_url, cache=False)
    assert set(named.authorization) == {"Bearer eval-key"} and set(unnamed.authorization) == {None}
    with pytest.raises(MMRAError, match="refusing plain http"):
        OpenAIBackend("m", base_url="http://192.0.2.1/v1", cache=False)
