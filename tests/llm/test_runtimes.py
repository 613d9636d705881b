"""The local LLM runtimes: xllamacpp (the default, a wheel) serves on loopback with parallel slots and no
cross-origin access; llama-cpp-python stays selectable and its absence is one clear line."""

from __future__ import annotations

import asyncio

import httpx
import pytest

from mmra.config import Config
from mmra.errors import MMRAError
from mmra.llm.server import LocalServers, ensure_server, llm_python, running


def test_config_picks_runtime_and_slots():
    cfg = Config.model_validate({"llm": {"runtime": "llama-cpp-python", "concurrency": 3}})
    servers = LocalServers.from_config(cfg)
    assert (servers.runtime, servers.slots) == ("llama-cpp-python", 3)
    assert LocalServers.from_config(Config()).runtime == "xllamacpp"
    with pytest.raises(ValueError, match="runtime"):
        Config.model_validate({"llm": {"runtime": "vllm"}})


def test_missing_llama_cpp_python_venv_is_one_clear_line(tmp_path, monkeypatch):
    monkeypatch.delenv("MMRA_LLM_PYTHON", raising=False)
    with pytest.raises(MMRAError, match="make setup-llama-cpp-python") as err:
        llm_python(tmp_path / "no-venv")
    assert "\n" not in str(err.value)


@pytest.mark.llm
def test_xllamacpp_serves_parallel_slots_on_loopback_only(local_llm):
    url = local_llm("smollm2-135m")
    state = running("smollm2-135m")
    assert state is not None and "xllamacpp_main.py" in " ".join(state.command)
    assert url.startswith("http://127.0.0.1:") and "--parallel" in state.command

    # a web page the user opens must not be able to read the loopback server (no CORS for other origins)
    reply = httpx.options(f"{url}/models", headers={"Origin": "http://evil.example",
                                                    "Access-Control-Request-Method": "GET"})
    assert reply.headers.get("access-control-allow-origin") not in ("*", "http://evil.example")

    async def together(n: int) -> list[httpx.Response]:
        async with httpx.AsyncClient(timeout=120) as client:
            body = {"model": "smollm2-135m", "max_tokens": 4, "temperature": 0}
            return await asyncio.gather(*(client.post(f"{url}/chat/completions", json={
                **body, "messages": [{"role": "user", "content": f"Say the number {i}."}]}) for i in range(n)))

    replies = asyncio.run(together(4))
    assert all(r.status_code == 200 and r.json()["choices"][0]["message"]["content"] is not None for r in replies)
    assert ensure_server("smollm2-135m") == url  # reused, not restarted

