"""Background servers the toolkit starts itself (Label Studio, the local LLM server).

Each server gets a state file (JSON: pid, port, command, log) so a later `--stop` ends exactly the process
this toolkit started, by PID and process group, and never anything else. Servers bind 127.0.0.1 only.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

import httpx

from .errors import MMRAError

LOOPBACK = "127.0.0.1"


def free_port(host: str = LOOPBACK) -> int:
    with socket.socket() as s:
        s.bind((host, 0))
        return s.getsockname()[1]


def port_in_use(port: int, host: str = LOOPBACK) -> bool:
    with socket.socket() as s:
        s.settimeout(0.2)
        return s.connect_ex((host, port)) == 0


@dataclass
class ServerState:
    name: str
    pid: int
    port: int
    url: str
    log: str
    command: list[str]
    started_at: float

    def save(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps(asdict(self), indent=2))
        tmp.replace(path)

    @classmethod
    def load(cls, path: Path) -> ServerState | None:
        try:
            return cls(**json.loads(path.read_text()))
        except (OSError, ValueError, TypeError):
            return None

    def alive(self) -> bool:
        return pid_alive(self.pid)


def pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    # a zombie child counts as dead
    try:
        with open(f"/proc/{pid}/stat") as fh:
            return fh.read().split(") ")[-1].split()[0] != "Z"
    except OSError:
        return True


def wait_healthy(url: str, *, timeout: float, proc: subprocess.Popen | None = None, log: Path | None = None,
                 ok: Callable[[httpx.Response], bool] = lambda r: r.status_code == 200) -> float:
    """Poll `url` until `ok(response)`; fail early, with the log's tail, if the process exits."""
    start = time.monotonic()
    while time.monotonic() - start < timeout:
        if proc is not None and proc.poll() is not None:
            raise MMRAError(f"server exited with code {proc.returncode} before it was ready{_tail(log)}")
        try:
            if ok(httpx.get(url, timeout=2.0)):
                return time.monotonic() - start
        except httpx.HTTPError:
            pass
        time.sleep(0.25)
    raise MMRAError(f"server at {url} not ready after {timeout:.0f} s{_tail(log)}")


def _tail(log: Path | None, lines: int = 15) -> str:
    if not log or not Path(log).exists():
        return ""
    text = Path(log).read_text(errors="replace").splitlines()[-lines:]
    return f"; last lines of {log}:\n" + "\n".join(text)


def start_server(name: str, command: Sequence[str], *, port: int, health_url: str, state_file: Path,
                 log_file: Path, env: Mapping[str, str] | None = None, timeout: float = 120.0,
                 cwd: Path | None = None, url: str | None = None,
                 ok: Callable[[httpx.Response], bool] = lambda r: r.status_code == 200) -> ServerState:
    """Start a server in its own process group, wait for health, record its state. Reuses a live one."""
    existing = ServerState.load(state_file)
    if existing and existing.alive():
        try:
            wait_healthy(health_url.replace(f":{port}", f":{existing.port}"), timeout=5, ok=ok)
            return existing
        except MMRAError:
            pass
    if port_in_use(port):
        raise MMRAError(f"{name}: port {port} on {LOOPBACK} is already in use by another process; choose another port")
    log_file.parent.mkdir(parents=True, exist_ok=True)
    with open(log_file, "ab") as log:
        proc = subprocess.Popen(list(command), stdout=log, stderr=subprocess.STDOUT, env=dict(env or os.environ),
                                cwd=cwd, start_new_session=True, stdin=subprocess.DEVNULL)
    try:
        wait_healthy(health_url, timeout=timeout, proc=proc, log=log_file, ok=ok)
    except BaseException:
        _kill_group(proc.pid)
        raise
    state = ServerState(name=name, pid=proc.pid, port=port, url=url or f"http://{LOOPBACK}:{port}",
                        log=str(log_file), command=list(command), started_at=time.time())
    state.save(state_file)
    return state


def _kill_group(pid: int, timeout: float = 10.0) -> None:
    try:
        os.killpg(pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and pid_alive(pid):
        try:
            os.waitpid(pid, os.WNOHANG)
        except ChildProcessError:
            pass
        time.sleep(0.1)
    if pid_alive(pid):
        try:
            os.killpg(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass


def stop_server(state_file: Path) -> bool:
    """Stop the server recorded in `state_file` (only that PID's group). True if one was running."""
    state = ServerState.load(state_file)
    if state is None:
        return False
    was_alive = state.alive()
    if was_alive:
        _kill_group(state.pid)
    state_file.unlink(missing_ok=True)
    return was_alive
