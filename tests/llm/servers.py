"""Session fixture for the real local LLM servers (llama-cpp-python from .venv-llm, GGUFs from PyPI).
Servers this fixture starts are stopped at the end of the session, by PID; ones already running are reused."""

from __future__ import annotations

import pytest


@pytest.fixture(scope="session")
def local_llm():
    from mmra.llm.server import ensure_server, running, stop_server_for

    started: list[str] = []

    def _get(name: str) -> str:
        if running(name) is None:
            started.append(name)
        return ensure_server(name)

    yield _get
    for name in started:
        stop_server_for(name)
