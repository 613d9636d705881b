"""A small OpenAI-compatible chat server on loopback that injects faults, for reliability tests and
benchmarks of anything built on `ChatClient` (it answers multiple-choice prompts by a simple rule, so it
exercises plumbing, not model quality).

Faults are deterministic: they depend on (seed, prompt, attempt number), so two runs over the same prompts
see the same faults. Transport faults (429 with Retry-After, 500/503, a stalled response that times out, a
body that is not JSON) hit only the first `faulty_attempts` attempts of a prompt, so a client that retries
always gets through; content faults (empty text, gibberish) are the prompt's final answer.

    with FaultServer(FaultPlan(rate_429=0.2, rate_garbage_body=0.1), models=["m"]) as server:
        ChatClient(server.base_url, "m").run([...])

Hostile modes (`misbehave`, every chat request; with `misbehave_models` also GET /models): "drip" (a valid
answer sent one byte every `drip_s`), "deep_json" (a 200 whose body is JSON nested `deep_levels` deep),
"huge_body" (a 200 chat completion of `huge_bytes`, chunked: no length declared), "huge_body_declared" (the
same with its Content-Length). Always-500 and a long Retry-After are rates: `rate_500=1.0` or `rate_429=1.0`
with `retry_after="999999"`, and `faulty_attempts` as large as needed. `headers` records every request's
headers (lower-case names).

Answer rules (`policy`): "always_a" answers "A" (or "Yes" without options); "knower" answers the option
whose text is the value of the first `knowledge` key found in the prompt (else "A"/"Yes").
"""

from __future__ import annotations

import hashlib
import json
import re
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from mmra.procs import LOOPBACK

_OPTION_LINE = re.compile(r"^([A-J])\.\s+(.*)$", re.MULTILINE)


@dataclass
class FaultPlan:
    rate_429: float = 0.0
    rate_500: float = 0.0
    rate_timeout: float = 0.0
    rate_garbage_body: float = 0.0
    rate_empty: float = 0.0  # final answer "" (a parse failure, not an error)
    rate_gibberish: float = 0.0  # final answer that names no option
    retry_after: str = "0.05"  # seconds, sent with every 429 and 503
    stall_s: float = 3.0  # how long a "timeout" response stalls (set above the client's timeout)
    faulty_attempts: int = 2  # transport faults only on a prompt's first N attempts
    latency_s: float = 0.0  # added to every answer
    seed: int = 0
    policy: str = "always_a"
    knowledge: dict[str, str] = field(default_factory=dict)
    answer_style: str = "letter"  # "letter" -> "B", "sentence" -> "The answer is B."
    misbehave: str = ""  # "", "drip", "deep_json", "huge_body", "huge_body_declared"
    misbehave_models: bool = False  # GET /models misbehaves the same way
    drip_s: float = 2.0  # seconds between the bytes of a "drip" answer
    deep_levels: int = 100_000
    huge_bytes: int = 60 * 1024 * 1024


def _unit(*parts: Any) -> float:
    digest = hashlib.sha256(json.dumps(parts, sort_keys=True, default=str).encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2**64


class FaultServer:
    def __init__(self, plan: FaultPlan | None = None, *, models: list[str] | tuple[str, ...] = ("fault-model",),
                 api_key: str | None = None, port: int = 0) -> None:
        self.plan = plan or FaultPlan()
        self.models = list(models)
        self.api_key = api_key
        self.counts: Counter[str] = Counter()  # outcome -> number of responses
        self.authorization: Counter[str | None] = Counter()  # Authorization header seen (None: absent) -> requests
        self.headers: list[dict[str, str]] = []  # every request's headers, names in lower case
        self.huge_sent = 0  # bytes of "huge" bodies the client accepted before it hung up
        self._attempts: Counter[str] = Counter()
        self._lock = threading.Lock()
        self._httpd = ThreadingHTTPServer((LOOPBACK, port), self._handler_class())
        self._httpd.daemon_threads = True
        self._thread: threading.Thread | None = None

    @property
    def port(self) -> int:
        return self._httpd.server_address[1]

    @property
    def base_url(self) -> str:
        return f"http://{LOOPBACK}:{self.port}/v1"

    def start(self) -> FaultServer:
        self._thread = threading.Thread(target=self._httpd.serve_forever, kwargs={"poll_interval": 0.1}, daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()

    def __enter__(self) -> FaultServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # ------------------------------------------------------------ answering
    def answer_for(self, prompt: str) -> str:
        plan = self.plan
        options = dict(_OPTION_LINE.findall(prompt))
        target = None
        if plan.policy == "knower":
            for key, value in plan.knowledge.items():
                if key.casefold() in prompt.casefold():
                    target = value
                    break
        if options:
            letter = "A"
            if target is not None:
                for opt_letter, text in options.items():
                    if text.strip().casefold() == target.casefold():
                        letter = opt_letter
            return f"The answer is {letter}." if plan.answer_style == "sentence" else letter
        return target if target in ("Yes", "No") else "Yes"

    def decide(self, prompt: str) -> str:
        """The outcome for this attempt: 429, 500, timeout, garbage_body, empty, gibberish or ok."""
        plan = self.plan
        with self._lock:
            self._attempts[prompt] += 1
            attempt = self._attempts[prompt]
        if attempt <= plan.faulty_attempts:
            u = _unit(plan.seed, prompt, attempt, "transport")
            for outcome, rate in (("429", plan.rate_429), ("500", plan.rate_500),
                                  ("timeout", plan.rate_timeout), ("garbage_body", plan.rate_garbage_body)):
                if u < rate:
                    return outcome
                u -= rate
        u = _unit(plan.seed, prompt, "content")
        if u < plan.rate_empty:
            return "empty"
        if u < plan.rate_empty + plan.rate_gibberish:
            return "gibberish"
        return "ok"

    def _handler_class(self):
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: Any) -> None:  # quiet
                pass

            def _send(self, status: int, body: Any, headers: dict[str, str] | None = None,
                      content_type: str = "application/json") -> None:
                data = body if isinstance(body, bytes) else json.dumps(body).encode()
                try:
                    self.send_response(status)
                    self.send_header("Content-Type", content_type)
                    self.send_header("Content-Length", str(len(data)))
                    for k, v in (headers or {}).items():
                        self.send_header(k, v)
                    self.end_headers()
                    self.wfile.write(data)
                except (BrokenPipeError, ConnectionResetError):
                    pass

            def _misbehave(self, answer: dict[str, Any]) -> bool:
                """Answer in the plan's hostile way (True), or not at all (False: no misbehaviour planned)."""
                plan = server.plan
                mode = plan.misbehave
                if mode not in ("drip", "deep_json", "huge_body", "huge_body_declared"):
                    return False
                with server._lock:
                    server.counts[mode] += 1  # counted as it starts: a drip may never end
                try:
                    if mode == "drip":
                        data = json.dumps(answer).encode().replace(b'"@@TEXT@@"', b'"A"')
                        self.send_response(200)
                        self.send_header("Content-Type", "application/json")
                        self.send_header("Content-Length", str(len(data)))
                        self.end_headers()
                        for i in range(len(data)):
                            self.wfile.write(data[i:i + 1])
                            self.wfile.flush()
                            time.sleep(plan.drip_s)
                    elif mode == "deep_json":
                        self._send(200, b"[" * plan.deep_levels + b"]" * plan.deep_levels)
                    else:
                        self._huge(answer, declared=mode == "huge_body_declared")
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client hung up: what a bounded client does
                return True

            def _huge(self, answer: dict[str, Any], *, declared: bool) -> None:
                """A chat completion whose text is `huge_bytes` long, written in 64 KiB pieces (never held)."""
                head, tail = json.dumps(answer).encode().split(b'"@@TEXT@@"', 1)
                size, piece = server.plan.huge_bytes, b"x" * 65536
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                if declared:
                    self.send_header("Content-Length", str(len(head) + size + 2 + len(tail)))
                else:
                    self.send_header("Transfer-Encoding", "chunked")
                self.end_headers()

                def write(data: bytes) -> None:
                    self.wfile.write(data if declared else b"%x\r\n%s\r\n" % (len(data), data))
                    with server._lock:
                        server.huge_sent += len(data)

                write(head + b'"')
                for start in range(0, size, len(piece)):
                    write(piece[: min(len(piece), size - start)])
                write(b'"' + tail)
                if not declared:
                    self.wfile.write(b"0\r\n\r\n")

            def _authorised(self) -> bool:
                with server._lock:
                    server.authorization[self.headers.get("Authorization")] += 1
                    server.headers.append({k.lower(): v for k, v in self.headers.items()})
                if server.api_key is None or self.headers.get("Authorization") == f"Bearer {server.api_key}":
                    return True
                server.counts["401"] += 1
                self._send(401, {"error": {"message": "Incorrect API key provided.", "type": "invalid_request_error",
                                           "code": "invalid_api_key"}})
                return False

            def do_GET(self) -> None:  # noqa: N802
                if not self._authorised():
                    return
                if self.path.rstrip("/") == "/v1/models":
                    listing = {"object": "list", "data": [
                        {"id": m, "object": "model", "created": 0, "owned_by": "mmra-faultserver",
                         "text": "@@TEXT@@"} for m in server.models]}
                    if server.plan.misbehave_models and self._misbehave(listing):
                        return
                    self._send(200, {**listing, "data": [{k: v for k, v in m.items() if k != "text"}
                                                         for m in listing["data"]]})
                else:
                    self._send(404, {"error": {"message": f"no route {self.path}"}})

            def do_POST(self) -> None:  # noqa: N802
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length)
                if not self._authorised():
                    return
                if self.path.rstrip("/") != "/v1/chat/completions":
                    self._send(404, {"error": {"message": f"no route {self.path}"}})
                    return
                try:
                    body = json.loads(raw)
                    messages = body["messages"]
                    prompt = "\n".join(str(m.get("content", "")) for m in messages)
                except (ValueError, KeyError, TypeError, AttributeError):
                    self._send(400, {"error": {"message": "request body is not a chat completion request"}})
                    return
                if body.get("model") not in server.models:
                    server.counts["404"] += 1
                    self._send(404, {"error": {"message": f"The model `{body.get('model')}` does not exist",
                                               "code": "model_not_found"}})
                    return
                outcome = server.decide(prompt)
                with server._lock:
                    server.counts[outcome] += 1
                plan = server.plan
                if outcome == "429":
                    self._send(429, {"error": {"message": "Rate limit reached"}}, {"Retry-After": plan.retry_after})
                    return
                if outcome == "500":
                    self._send(500, {"error": {"message": "internal error (injected)"}})
                    return
                if outcome == "timeout":
                    time.sleep(plan.stall_s)
                    self._send(503, {"error": {"message": "stalled (injected)"}}, {"Retry-After": plan.retry_after})
                    return
                if outcome == "garbage_body":
                    self._send(200, b'{"id": "chatcmpl-x", "choices": [{"mess', content_type="application/json")
                    return
                if plan.misbehave and self._misbehave(
                        {"id": "chatcmpl-x", "object": "chat.completion", "created": 0, "model": body["model"],
                         "choices": [{"index": 0, "message": {"role": "assistant", "content": "@@TEXT@@"},
                                      "finish_reason": "stop"}]}):
                    return
                if plan.latency_s:
                    time.sleep(plan.latency_s)
                if outcome == "empty":
                    text = ""
                elif outcome == "gibberish":
                    text = "%%% ??? lorem ipsum"
                else:
                    text = server.answer_for(prompt)
                self._send(200, {
                    "id": "chatcmpl-" + hashlib.sha1(raw).hexdigest()[:12], "object": "chat.completion",
                    "created": int(time.time()), "model": body["model"],
                    "choices": [{"index": 0, "message": {"role": "assistant", "content": text},
                                 "finish_reason": "stop"}],
                    "usage": {"prompt_tokens": len(prompt.split()), "completion_tokens": len(text.split()),
                              "total_tokens": len(prompt.split()) + len(text.split())},
                })

        return Handler


def main() -> None:  # `python -m tests.llm.faultserver --port P --model M --rate-429 0.2 ...` (runs until killed)
    import argparse

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--model", action="append", default=[])
    parser.add_argument("--api-key-env", default=None, help="environment variable holding the accepted key")
    parser.add_argument("--plan", default="{}", help="FaultPlan fields as JSON")
    args = parser.parse_args()
    import os

    key = os.environ.get(args.api_key_env) if args.api_key_env else None
    server = FaultServer(FaultPlan(**json.loads(args.plan)), models=args.model or ["fault-model"], api_key=key,
                         port=args.port)
    print(server.base_url, flush=True)
    server._httpd.serve_forever()


if __name__ == "__main__":
    main()
