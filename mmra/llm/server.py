"""Start, reuse and stop the OpenAI-compatible server of the embedded local models.

    servers = LocalServers.from_config(cfg)      # the command line builds it from its config; defaults otherwise
    base_url = ensure_server("qwen2.5-1.5b", servers=servers)   # "http://127.0.0.1:<port>/v1", reused after
    stop_server_for("qwen2.5-1.5b", servers=servers)

One server process per model, on 127.0.0.1, from one of two runtimes (`[llm].runtime`):
- "xllamacpp" (default): llama.cpp's own C++ server from a prebuilt PyPI wheel (no compile), run by the
  toolkit's interpreter (xllamacpp has no dependencies); `[llm].concurrency` parallel slots with continuous
  batching and a prompt-prefix cache (xllamacpp_main.py);
- "llama-cpp-python": compiled into the `[llm].venv` venv (it pins its own numpy/pydantic, so it stays out of
  the main venv); one request at a time (llama_server_main.py).
Both answer the same requests with the same pinned GGUF, so the response cache identity (`LOCAL_ENDPOINT`)
does not depend on the runtime. Each server's PID, port and log live in
`<paths.cache>/servers/llm-<name>.{json,log}`; stopping ends exactly that process group.
"""

from __future__ import annotations

import contextlib
import importlib.util
import os
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import mmra
from mmra.config import Config
from mmra.errors import MMRAError
from mmra.procs import LOOPBACK, ServerState, free_port, port_in_use, start_server, stop_server, wait_healthy

from .models import MODELS, get_model, model_path

__all__ = ["MODELS", "RUNTIMES", "LocalServers", "ensure_server", "llm_python", "running", "serving", "state_file",
           "stop_server_for", "xllamacpp_python"]

RUNTIMES = ("xllamacpp", "llama-cpp-python")
PYTHON_ENV = "MMRA_LLM_PYTHON"  # explicit interpreter that has the runtime (xllamacpp or llama-cpp-python[server])
# "0": load models without ggml's extra CPU buffer types (see llama_server_main.py); default: "0" on CPUs that
# advertise AMX, whose tiles are not usable in every VM, else "1"
EXTRA_BUFTS_ENV = "MMRA_LLAMA_EXTRA_BUFTS"


@dataclass(frozen=True)
class LocalServers:
    """Where local model servers keep their state and how they start: taken from `[paths].cache` and `[llm]`
    by the command line (`from_config`); the defaults match an empty config."""

    cache_dir: Path = Path(".mmra/cache")
    venv: Path = Path(".venv-llm")
    port: int = 8765  # the default model's preferred port
    default_model: str = "qwen2.5-1.5b"
    runtime: str = "xllamacpp"  # one of RUNTIMES
    slots: int = 4  # parallel slots (xllamacpp); clients send as many requests at once ([llm].concurrency)

    def __post_init__(self) -> None:
        if self.runtime not in RUNTIMES:
            raise MMRAError(f"[llm].runtime {self.runtime!r} is not a local runtime; choose {' or '.join(RUNTIMES)}")
        if self.slots < 1:
            raise MMRAError(f"[llm].concurrency must be at least 1 (the local server's slots), got {self.slots}")

    @classmethod
    def from_config(cls, cfg: Config) -> LocalServers:
        return cls(cache_dir=Path(cfg.paths.cache), venv=Path(cfg.llm.venv), port=cfg.llm.port,
                   default_model=cfg.llm.default_model, runtime=cfg.llm.runtime, slots=cfg.llm.concurrency)

    @property
    def servers_dir(self) -> Path:
        return self.cache_dir / "servers"

    @property
    def models_dir(self) -> Path:
        return self.cache_dir / "models"


DEFAULT_SERVERS = LocalServers()


def _cpu_has_amx() -> bool:
    try:
        return " amx_tile" in Path("/proc/cpuinfo").read_text()
    except OSError:
        return False


def xllamacpp_python() -> Path:
    """The interpreter that runs the xllamacpp server: $MMRA_LLM_PYTHON, else this one (the toolkit's venv)."""
    explicit = os.environ.get(PYTHON_ENV)
    if explicit:
        return Path(explicit)
    if importlib.util.find_spec("xllamacpp") is None:
        raise MMRAError(
            f"the xllamacpp runtime is not installed in {sys.prefix}; install it with `pip install "
            f"'mmra-toolkit[llm]'` (or `make setup-main`), or set [llm].runtime = \"llama-cpp-python\""
        )
    return Path(sys.executable)


def llm_python(venv: Path = DEFAULT_SERVERS.venv) -> Path:
    """The interpreter that runs the llama-cpp-python server: $MMRA_LLM_PYTHON, else <llm.venv>/bin/python
    (relative paths are tried against the working directory, then the source checkout)."""
    explicit = os.environ.get(PYTHON_ENV)
    if explicit:
        return Path(explicit)
    venv = Path(venv)
    candidates = [venv] if venv.is_absolute() else [Path.cwd() / venv, Path(mmra.__file__).resolve().parents[1] / venv]
    for candidate in candidates:
        python = candidate / "bin" / "python"
        if python.exists():
            return python
    raise MMRAError(
        f"no llama-cpp-python server environment at {candidates[0]}; create it with `make setup-llama-cpp-python` "
        f"(or point ${PYTHON_ENV} at a Python with llama-cpp-python[server] installed)"
    )


def state_file(name: str, servers: LocalServers = DEFAULT_SERVERS) -> Path:
    return servers.servers_dir / f"llm-{name}.json"


def running(name: str, servers: LocalServers = DEFAULT_SERVERS) -> ServerState | None:
    state = ServerState.load(state_file(name, servers))
    return state if state and state.alive() else None


def ensure_server(name: str, *, servers: LocalServers = DEFAULT_SERVERS, port: int | None = None,
                  n_threads: int = 2, timeout: float = 180.0) -> str:
    """Start (or reuse) the local server for model `name`; returns its OpenAI base URL."""
    model = get_model(name)
    existing = running(name, servers)
    if existing is not None and port in (None, existing.port):
        # a live server may be busy with a long prompt (one request at a time): be patient before giving up
        try:
            wait_healthy(f"{existing.url}/models", timeout=90.0, ok=lambda r: r.status_code == 200 and f'"{name}"' in r.text)
        except MMRAError:
            raise MMRAError(f"the local server for {name!r} (pid {existing.pid}, {existing.url}) runs but does not "
                            f"answer; see {existing.log} or stop it with `mmra llm serve --model {name} --stop`") from None
        return existing.url
    gguf = model_path(name, servers.models_dir)  # assemble + verify (instant once verified) before a process start
    python = xllamacpp_python() if servers.runtime == "xllamacpp" else llm_python(servers.venv)
    if port is None:
        if existing is not None:
            port = existing.port
        elif name == servers.default_model and not port_in_use(servers.port):
            port = servers.port
        else:
            port = free_port()
    if existing is not None and existing.port != port:
        raise MMRAError(f"local model {name!r} already runs on port {existing.port}; stop it first "
                        f"(`mmra llm serve --model {name} --stop`) to move it to port {port}")
    extra_bufts = os.environ.get(EXTRA_BUFTS_ENV) or ("0" if _cpu_has_amx() else "1")
    if servers.runtime == "xllamacpp":
        command = [
            str(python), str(Path(__file__).with_name("xllamacpp_main.py")), "--model", str(Path(gguf).resolve()),
            "--alias", name, "--host", LOOPBACK, "--port", str(port), "--threads", str(n_threads),
            "--ctx", str(model.n_ctx), "--parallel", str(servers.slots),
        ]
        if model.chat_format:
            command += ["--chat-template", model.chat_format]
        if extra_bufts == "0":
            command.append("--no-extra-bufts")
    else:
        command = [
            str(python), str(Path(__file__).with_name("llama_server_main.py")), "--model", str(Path(gguf).resolve()),
            "--host", LOOPBACK, "--port", str(port), "--n_threads", str(n_threads), "--n_ctx", str(model.n_ctx),
            "--model_alias", name,
            # logits for every prompt token make prefill ~1.5x slower; the toolkit never asks for logprobs
            "--logits_all", "False", "--verbose", "False",
        ]
        if model.chat_format:
            command += ["--chat_format", model.chat_format]
    url = f"http://{LOOPBACK}:{port}/v1"
    # idle OpenMP threads sleep instead of spinning: where other jobs share the cores, spinning threads wait on
    # each other and the 1.5B model ran 2-5x slower (benches/bench_llm_runtime.py); the user's own setting wins
    env = {"OMP_WAIT_POLICY": "PASSIVE", **os.environ, EXTRA_BUFTS_ENV: extra_bufts}
    state = start_server(
        f"llm-{name}", command, port=port, health_url=f"{url}/models", state_file=state_file(name, servers),
        log_file=servers.servers_dir / f"llm-{name}.log", url=url, timeout=timeout, env=env,
        # make sure the port really serves this model, not something else that answers /v1/models
        ok=lambda r: r.status_code == 200 and f'"{name}"' in r.text,
    )
    return state.url


def stop_server_for(name: str, servers: LocalServers = DEFAULT_SERVERS) -> bool:
    """Stop the local server of model `name` if this toolkit started one. True if one was running."""
    get_model(name)
    return stop_server(state_file(name, servers))


@contextlib.contextmanager
def serving(name: str, *, servers: LocalServers = DEFAULT_SERVERS, **kwargs) -> Iterator[str]:
    """A local server for the block; stopped afterwards only if this block started it."""
    was_running = running(name, servers) is not None
    url = ensure_server(name, servers=servers, **kwargs)
    try:
        yield url
    finally:
        if not was_running:
            stop_server_for(name, servers)
