"""A resilient, cached client for any OpenAI-compatible chat endpoint (OpenAI, vLLM, llama.cpp, Ollama).

    client = ChatClient(base_url="http://127.0.0.1:8765/v1", model="qwen2.5-1.5b", cache_path=Path("c.sqlite"))
    client.check()                                     # one clear MMRAError for unreachable / bad key / unknown model
    results = client.run([ChatRequest(messages=[{"role": "user", "content": "..."}])], description="leakage")

`run` is synchronous; inside it an asyncio loop sends at most `concurrency` requests at once. 429, 5xx,
timeouts, dropped connections and malformed bodies are retried with exponential backoff that honours
`Retry-After` up to `max_retry_after_s` (a longer wait is shown on stderr); a request that still fails gets
`ChatResult.error` (one line) instead of raising, so one bad response never stops a batch.

Every endpoint is treated as hostile: one request (connect, send, wait, read) must finish within `timeout_s`
as a whole, so a server that drips a byte at a time cannot hold a run; a body over `max_response_bytes` is an
error before it is parsed or cached; JSON is parsed by `mmra.parsing.load_json` (a body nested too deeply is
one line, not a RecursionError). Requests go over plain httpx with only the headers listed in
`ChatClient._headers`: no SDK reads OPENAI_ORG_ID / OPENAI_PROJECT_ID or any other variable from the
environment. Successful responses are cached in SQLite by (endpoint, model, messages, sampling parameters):
two endpoints that serve a model under the same name never share answers. The endpoint is the base URL, or
`LOCAL_ENDPOINT` for the embedded local models (pinned GGUFs whose server port changes from run to run).

The API key is decided by `mmra.llm.keys.endpoint_api_key` (a key goes only to the endpoint it belongs to;
plain http to a non-loopback host is refused before connecting); without a key no Authorization header is sent.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import email.utils
import json
import random
import time
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import httpx

from mmra.errors import MMRAError
from mmra.parsing import load_json

from .cache import ResponseCache
from .keys import check_transport, endpoint_api_key

RETRYABLE_STATUS = {408, 409, 425, 429, 500, 502, 503, 504, 520, 522, 524, 529}
DEFAULT_MAX_RETRY_AFTER_S = 30.0  # [llm].max_retry_after_s
RUN_LENGTH = 8  # ChatClient.run: consecutive requests asked on one connection (short runs keep the load balanced)
DEFAULT_MAX_RESPONSE_BYTES = 512 * 1024  # [llm].max_response_bytes: a chat answer is a few KB
ERROR_BODY_BYTES = 16 * 1024  # an error body is read only for its message
LOCAL_ENDPOINT = "mmra-local"  # cache identity of the embedded local models (the same pinned GGUF on any port)
_CACHE_KEY_VERSION = 2  # 2: the endpoint is part of the key (version 1 keys, without it, are never read)
_T = TypeVar("_T")
# run_chains: (chain index, the chain's answers so far) -> True when the chain's remaining requests are not needed
Decided = Callable[[int, list["ChatResult"]], bool]


@dataclass
class ChatRequest:
    messages: list[dict[str, Any]]
    max_tokens: int = 16
    temperature: float = 0.0
    extra: dict[str, Any] = field(default_factory=dict)  # any other body field: seed, top_p, response_format...

    def cache_key(self, model: str, endpoint: str) -> str:
        import hashlib

        blob = json.dumps(
            {"v": _CACHE_KEY_VERSION, "endpoint": endpoint, "model": model, "messages": self.messages,
             "max_tokens": self.max_tokens, "temperature": self.temperature, "extra": self.extra},
            sort_keys=True, ensure_ascii=False, separators=(",", ":"), default=str,
        )
        return hashlib.sha256(blob.encode("utf-8")).hexdigest()


@dataclass
class ChatResult:
    text: str | None = None
    error: str | None = None  # set when the request failed after all retries (text is then None)
    cached: bool = False
    usage: dict[str, int] = field(default_factory=dict)
    finish_reason: str | None = None
    attempts: int = 0  # HTTP attempts made by this run (0 when served from the cache)

    @property
    def ok(self) -> bool:
        return self.error is None

    @classmethod
    def from_cache(cls, hit: dict[str, Any]) -> ChatResult:
        return cls(text=hit["text"], cached=True, usage=hit["usage"], finish_reason=hit["finish_reason"])


@dataclass
class RunStats:
    requests: int = 0
    cached: int = 0
    sent: int = 0  # requests that went over the network (not counting retries)
    retries: int = 0
    errors: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    not_asked: int = 0  # requests of a chain left out once its outcome was decided (run_chains)
    elapsed_s: float = 0.0

    def add(self, other: RunStats) -> None:
        for name in self.__dataclass_fields__:
            setattr(self, name, getattr(self, name) + getattr(other, name))

    def as_dict(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in self.__dataclass_fields__}


class _AttemptError(Exception):
    """One HTTP attempt failed. The message is one line; `retry`: another attempt may help; `wait`: the
    server's Retry-After in seconds; `status`: the HTTP status (None: no response, or a bad 2xx body)."""

    def __init__(self, message: str, *, retry: bool, wait: float | None = None, status: int | None = None,
                 unreachable: bool = False) -> None:
        super().__init__(_one_line(message, 300))
        self.retry, self.wait, self.status, self.unreachable = retry, wait, status, unreachable


def _one_line(text: str, limit: int = 200) -> str:
    """Server-supplied text as one short line (a message never spans lines, whatever the peer sent)."""
    text = " ".join(str(text).split())
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _run_sync(coro: Coroutine[Any, Any, _T]) -> _T:
    """Run a coroutine to completion from synchronous code, also when called inside an event loop."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(coro)
    # called from inside an event loop (a notebook): run ours in a worker thread
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, coro).result()


async def _read_capped(resp: httpx.Response, limit: int, *, truncate: bool) -> bytes:
    """At most `limit` bytes of the (decoded) body; over it, `truncate` keeps the start, else it is an error
    (the rest is never read: the connection is dropped)."""
    declared = resp.headers.get("content-length", "")
    if not truncate and declared.isdigit() and int(declared) > limit:
        raise _AttemptError(f"response body of {int(declared):,} bytes is over the {limit:,}-byte limit "
                            "([llm].max_response_bytes)", retry=False)
    buf = bytearray()
    async for chunk in resp.aiter_bytes():
        buf += chunk
        if len(buf) > limit:
            if truncate:
                return bytes(buf[:limit])
            raise _AttemptError(f"response body is over the {limit:,}-byte limit ([llm].max_response_bytes)",
                                retry=False)
    return bytes(buf)


def _retry_after(headers: Any) -> float | None:
    """Seconds to wait from `retry-after-ms` / `retry-after` (delta seconds or an HTTP date)."""
    if headers is None:
        return None
    ms = headers.get("retry-after-ms")
    if ms:
        try:
            return max(0.0, float(ms) / 1000.0)
        except ValueError:
            pass
    value = headers.get("retry-after")
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())


def _describe_status(status: int, body: bytes) -> str:
    """`HTTP 500: <the server's message>` in one line (the message from an OpenAI error body, else its text)."""
    message = None
    try:
        data = load_json(body)
    except ValueError:  # not JSON (or cut off at ERROR_BODY_BYTES): its text below
        data = None
    inner = data.get("error", data) if isinstance(data, dict) else data
    if isinstance(inner, dict):
        inner = inner.get("message")
    if isinstance(inner, str):
        message = inner
    else:  # no string message where OpenAI puts one: the body's start, as text (never repr a deep structure)
        message = body[:400].decode("utf-8", errors="replace")
    return f"HTTP {status}: {_one_line(message)}".rstrip(": ")


class ChatClient:
    @classmethod
    def from_settings(cls, base_url: str, model: str, llm: Any, *, cache_path: Path | str | None,
                      key_env: str | None = None, endpoint_id: str | None = None, api_key: str | None = None,
                      send_openai_key: bool = False, allow_insecure_http: bool = False,
                      concurrency: int | None = None, timeout_s: float | None = None,
                      max_retries: int | None = None, progress: bool = True) -> ChatClient:
        """The one way to build a client from the `[llm]` settings (`mmra.config.LLMConfig`, read by the
        command line): flags given here win over the settings; either opt-in (`send_openai_key`,
        `allow_insecure_http`) is enough."""
        return cls(base_url, model, api_key=api_key, key_env=key_env, endpoint_id=endpoint_id,
                   send_openai_key=send_openai_key or llm.send_openai_key,
                   allow_insecure_http=allow_insecure_http or llm.allow_insecure_http,
                   concurrency=concurrency or llm.concurrency, timeout_s=timeout_s or llm.timeout_s,
                   max_retries=llm.max_retries if max_retries is None else max_retries, cache_path=cache_path,
                   max_response_bytes=llm.max_response_bytes, max_retry_after_s=llm.max_retry_after_s,
                   progress=progress)

    def __init__(
        self,
        base_url: str,
        model: str,
        *,
        api_key: str | None = None,
        key_env: str | None = None,
        send_openai_key: bool = False,
        allow_insecure_http: bool = False,
        endpoint_id: str | None = None,
        concurrency: int = 4,
        timeout_s: float = 120.0,
        max_retries: int = 4,
        cache_path: Path | str | None = None,
        backoff_base_s: float = 0.5,
        max_backoff_s: float = 30.0,
        max_response_bytes: int = DEFAULT_MAX_RESPONSE_BYTES,
        max_retry_after_s: float = DEFAULT_MAX_RETRY_AFTER_S,
        progress: bool = True,
        announce: Callable[[str], None] | None = None,
    ) -> None:
        if concurrency < 1:
            raise ValueError(f"concurrency must be at least 1, got {concurrency}")
        if not timeout_s > 0:
            raise ValueError(f"timeout_s must be above 0, got {timeout_s}")
        self.base_url = base_url.rstrip("/")
        self.model = model
        # the endpoint its answers are cached under; None: the base URL (read at use: callers that start a
        # local server set base_url after construction)
        self.endpoint_id = endpoint_id
        # the key stays in this object only; it is never logged or written. An explicit api_key is the
        # caller's decision; otherwise keys.endpoint_api_key decides (and refuses insecure transport)
        if api_key is not None:
            check_transport(self.base_url, allow_insecure_http=allow_insecure_http)
            self._api_key: str | None = api_key or None
        else:
            self._api_key = endpoint_api_key(self.base_url, key_env, send_openai_key=send_openai_key,
                                             allow_insecure_http=allow_insecure_http)
        self._key_env = key_env
        self.concurrency = concurrency
        self.timeout_s = timeout_s
        self.max_retries = max_retries
        self.cache_path = Path(cache_path) if cache_path else None
        self.backoff_base_s = backoff_base_s
        self.max_backoff_s = max_backoff_s
        self.max_response_bytes = max_response_bytes
        self.max_retry_after_s = max_retry_after_s
        self.progress = progress
        # where a long Retry-After wait is announced (one line); default: stderr, above any progress bar
        self.announce = announce or _announce_stderr
        self._quiet_until = 0.0  # one announcement per wait, not one per request waiting alongside it
        self.stats = RunStats()  # cumulative over all runs of this client
        self.last_stats = RunStats()

    def __repr__(self) -> str:  # no key in reprs
        return f"ChatClient(model={self.model!r}, base_url={self.base_url!r})"

    @property
    def endpoint(self) -> str:
        """The endpoint's identity in the response cache."""
        return self.endpoint_id or self.base_url

    def _headers(self) -> dict[str, str]:
        """Every header a request carries: the endpoint's own key (if any) and nothing taken from the
        environment (no OpenAI-Organization / OpenAI-Project, whatever OPENAI_ORG_ID / OPENAI_PROJECT_ID say)."""
        headers = {"Accept": "application/json", "Accept-Encoding": "identity"}
        if self._api_key:
            headers["Authorization"] = f"Bearer {self._api_key}"
        return headers

    def _http(self) -> httpx.AsyncClient:
        # httpx's own timeout bounds each phase; `_exchange` bounds the whole request
        return httpx.AsyncClient(timeout=httpx.Timeout(self.timeout_s), follow_redirects=False,
                                 limits=httpx.Limits(max_connections=self.concurrency + 1))

    async def _exchange(self, http: httpx.AsyncClient, method: str, path: str,
                        payload: dict[str, Any] | None = None, *, timeout_s: float | None = None) -> Any:
        """One bounded HTTP exchange; returns the parsed JSON of a 2xx body or raises `_AttemptError`."""
        timeout_s = timeout_s or self.timeout_s
        try:
            async with asyncio.timeout(timeout_s):  # the whole request, however slowly the bytes come
                async with http.stream(method, f"{self.base_url}{path}", json=payload,
                                       headers=self._headers()) as resp:
                    ok = 200 <= resp.status_code < 300
                    limit = self.max_response_bytes if ok else min(ERROR_BODY_BYTES, self.max_response_bytes)
                    body = await _read_capped(resp, limit, truncate=not ok)
        except (TimeoutError, httpx.TimeoutException):
            raise _AttemptError(f"timed out: no complete response within {timeout_s:g} s", retry=True) from None
        except httpx.HTTPError as exc:
            cause = exc.__cause__ or exc
            raise _AttemptError(f"connection failed: {type(cause).__name__}: {cause}", retry=True,
                                unreachable=isinstance(exc, httpx.ConnectError)) from None
        if not ok:
            raise _AttemptError(_describe_status(resp.status_code, body), retry=resp.status_code in RETRYABLE_STATUS,
                                wait=_retry_after(resp.headers), status=resp.status_code)
        try:
            return load_json(body, unit="response body")
        except ValueError as exc:  # ParseError: not JSON, not UTF-8, nested too deeply, a huge number
            raise _AttemptError(f"malformed response: {exc}", retry=True) from None

    # ---------------------------------------------------------------- check
    def check(self) -> list[str]:
        """Fail fast with one clear line if the endpoint is unreachable, rejects the key, or lacks the model.
        Returns the model ids the endpoint lists."""
        where = f"LLM endpoint {self.base_url}"
        try:
            data = _run_sync(self._list_models())
        except _AttemptError as exc:
            if exc.status == 401:
                if self._key_env and self._api_key is None:
                    hint = f"${self._key_env}, named as its key, is not set"
                elif self._api_key is None:
                    hint = ("no key was sent: name the variable holding its key with NAME@URL#ENVVAR "
                            "($OPENAI_API_KEY goes only to api.openai.com)")
                else:
                    hint = f"set a valid key in ${self._key_env or 'OPENAI_API_KEY'}"
                raise MMRAError(f"{where} rejected the API key (HTTP 401); {hint}") from None
            if exc.status == 403:
                raise MMRAError(f"{where} refused access with this API key (HTTP 403)") from None
            if exc.status is not None:
                raise MMRAError(f"{where} failed to list models: {exc}") from None
            if exc.unreachable or str(exc).startswith(("connection failed", "timed out")):
                raise MMRAError(f"cannot reach {where}: {exc}") from None
            raise MMRAError(f"{where} does not answer like an OpenAI-compatible API ({exc})") from None
        if data is None:
            ids: list[str] = []  # some servers have no /models; probe the chat route instead
        else:
            listed = data.get("data") if isinstance(data, dict) else None
            if not isinstance(listed, list) or not all(isinstance(m, dict) and isinstance(m.get("id"), str)
                                                       for m in listed):
                raise MMRAError(f"{where} does not answer like an OpenAI-compatible API (GET /models is not a "
                                "list of models)")
            ids = [m["id"] for m in listed]
        if ids and self.model not in ids:
            shown = ", ".join(ids[:20]) + (" ..." if len(ids) > 20 else "")
            raise MMRAError(f"model {self.model!r} is not served by {where}; it serves: {shown}")
        if not ids:
            result = self.run([ChatRequest(messages=[{"role": "user", "content": "Say OK."}], max_tokens=1)],
                              use_cache=False, progress=False)[0]
            if result.error:
                raise MMRAError(f"{where} cannot serve model {self.model!r}: {result.error}")
        return ids

    async def _list_models(self) -> Any:
        """GET /models (None: the server has no such route); a connection failure is tried twice."""
        async with self._http() as http:
            for attempt in range(2):
                try:
                    return await self._exchange(http, "GET", "/models", timeout_s=min(self.timeout_s, 15.0))
                except _AttemptError as exc:
                    if exc.status == 404:
                        return None
                    if attempt or not exc.unreachable:
                        raise
                    await asyncio.sleep(0.2)
        return None

    def missing(self, requests: list[ChatRequest]) -> int:
        """How many of these requests the cache cannot answer (all of them without a cache)."""
        return self.missing_chains([[r] for r in requests])

    def missing_chains(self, chains: list[list[ChatRequest]], decided: Decided | None = None) -> int:
        """How many chains `run_chains` would send a request for: each is walked over the cache as the run
        would walk it (a chain that the cache answers up to its decision needs nothing)."""
        if not self.cache_path or not self.cache_path.exists():
            return sum(bool(chain) for chain in chains)
        keys = [[r.cache_key(self.model, self.endpoint) for r in chain] for chain in chains]
        with ResponseCache(self.cache_path) as cache:
            found = cache.get_many([k for chain in keys for k in chain])
        short = 0
        for c, chain in enumerate(keys):
            got: list[ChatResult] = []
            for key in chain:
                if key not in found:
                    short += 1
                    break
                got.append(ChatResult.from_cache(found[key]))
                if decided is not None and len(got) < len(chain) and decided(c, got):
                    break
        return short

    # ---------------------------------------------------------------- run
    def run(self, requests: list[ChatRequest], *, description: str = "LLM requests",
            use_cache: bool = True, progress: bool | None = None) -> list[ChatResult]:
        """Answer every request (order kept). Never raises for a single failed request. The requests are cut
        into runs of consecutive ones (at most `RUN_LENGTH`, and at least `concurrency` runs), each asked one
        after another on one connection, the next run going to whichever connection is free: give requests that
        share a beginning next to each other and a server that keeps its slots' previous prompts (llama.cpp)
        computes that beginning once per run instead of once per request."""
        chains = self.run_chains(self._runs(requests), description=description, use_cache=use_cache,
                                 progress=progress)
        return [result for chain in chains for result in chain]

    def _runs(self, requests: list[ChatRequest]) -> list[list[ChatRequest]]:
        n = max(min(self.concurrency, len(requests)), -(-len(requests) // RUN_LENGTH), 1)
        size, extra = divmod(len(requests), n)
        runs, start = [], 0
        for i in range(n):
            end = start + size + (i < extra)
            runs.append(requests[start:end])
            start = end
        return runs

    def run_chains(self, chains: list[list[ChatRequest]], *, decided: Decided | None = None,
                   description: str = "LLM requests", use_cache: bool = True,
                   progress: bool | None = None) -> list[list[ChatResult]]:
        """Answer chains of requests: a chain's requests are asked one after another, and after each answer
        `decided(chain_index, answers_so_far)` may say the rest are not needed (they are then not asked, and
        the chain's result list is shorter). At most `concurrency` chains are in progress at once, each on
        one connection, so a server that keeps the previous prompt of a slot (llama.cpp) reuses the prefix
        the requests of a chain share. Never raises for a single failed request."""
        return _run_sync(self.arun_chains(chains, decided=decided, description=description, use_cache=use_cache,
                                          progress=progress))

    async def arun(self, requests: list[ChatRequest], *, description: str = "LLM requests",
                   use_cache: bool = True, progress: bool | None = None) -> list[ChatResult]:
        chains = await self.arun_chains(self._runs(requests), description=description, use_cache=use_cache,
                                        progress=progress)
        return [result for chain in chains for result in chain]

    async def arun_chains(self, chains: list[list[ChatRequest]], *, decided: Decided | None = None,
                          description: str = "LLM requests", use_cache: bool = True,
                          progress: bool | None = None) -> list[list[ChatResult]]:
        from mmra.progress import progress_bar

        start = time.monotonic()
        total = sum(len(chain) for chain in chains)
        stats = RunStats()
        results: list[list[ChatResult]] = [[] for _ in chains]
        cache = ResponseCache(self.cache_path) if (self.cache_path and use_cache) else None
        try:
            keys = [[r.cache_key(self.model, self.endpoint) for r in chain] for chain in chains]
            hits = cache.get_many([k for chain in keys for k in chain]) if cache else {}
            to_send = len({k for chain in keys for k in chain if k not in hits})
            in_flight: dict[str, asyncio.Future[ChatResult]] = {}  # identical requests are sent once
            show = self.progress if progress is None else progress
            with progress_bar(disable=not show or not to_send, transient=False) as bar:
                task = bar.add_task(f"{description} [{self.model}]", total=total)
                pending = iter(range(len(chains)))
                sem = asyncio.Semaphore(self.concurrency)
                client = self._http() if to_send else None

                async def answer(req: ChatRequest, key: str) -> ChatResult:
                    if key in hits:
                        stats.cached += 1
                        return ChatResult.from_cache(hits[key])
                    if key in in_flight:  # the same request, asked by another chain of this run
                        stats.cached += 1
                        return ChatResult(**{**(await in_flight[key]).__dict__, "cached": True})
                    in_flight[key] = asyncio.get_running_loop().create_future()
                    assert client is not None
                    result = await self._send(client, req, stats, sem)
                    if cache is not None and result.ok:
                        cache.put(key, self.model, result.text, result.finish_reason, result.usage)
                    in_flight[key].set_result(result)
                    return result

                shown_total = total

                async def worker() -> None:
                    nonlocal shown_total
                    for c in pending:  # the shared iterator hands each chain to one worker
                        for req, key in zip(chains[c], keys[c], strict=True):
                            results[c].append(await answer(req, key))
                            bar.advance(task)
                            if decided is not None and len(results[c]) < len(chains[c]) and decided(c, results[c]):
                                shown_total -= len(chains[c]) - len(results[c])
                                bar.update(task, total=shown_total)
                                break

                try:
                    await asyncio.gather(*(worker() for _ in range(min(self.concurrency, len(chains)) or 1)))
                finally:
                    if client is not None:
                        await client.aclose()
        finally:
            if cache is not None:
                cache.close()
        stats.requests = sum(len(r) for r in results)
        stats.not_asked = total - stats.requests
        for chain in results:
            for r in chain:
                if r.error:
                    stats.errors += 1
                elif not r.cached:
                    stats.prompt_tokens += int(r.usage.get("prompt_tokens") or 0)
                    stats.completion_tokens += int(r.usage.get("completion_tokens") or 0)
        stats.elapsed_s = time.monotonic() - start
        self.last_stats = stats
        self.stats.add(stats)
        return results

    async def _send(self, client: httpx.AsyncClient, req: ChatRequest, stats: RunStats,
                    sem: asyncio.Semaphore) -> ChatResult:
        """One request with retries; the concurrency slot (and the deadline) is per attempt, not while backing
        off."""
        stats.sent += 1
        last_error = "no attempt made"
        body = {**(req.extra or {}), "model": self.model, "messages": req.messages, "max_tokens": req.max_tokens,
                "temperature": req.temperature}
        for attempt in range(self.max_retries + 1):
            if attempt:
                stats.retries += 1
            try:
                async with sem:
                    data = await self._exchange(client, "POST", "/chat/completions", body)
                return self._parse(data, attempt + 1)
            except _AttemptError as exc:
                last_error = str(exc)
                if not exc.retry:
                    return ChatResult(error=last_error, attempts=attempt + 1)
                wait = exc.wait
            if attempt < self.max_retries:
                if wait is not None:
                    delay = min(self.max_retry_after_s, wait)
                    self._announce_wait(wait, delay, last_error, attempt + 2)
                else:
                    delay = min(self.max_backoff_s, self.backoff_base_s * 2 ** attempt) * (0.5 + random.random() / 2)
                await asyncio.sleep(delay)
        return ChatResult(error=f"{last_error} (after {self.max_retries + 1} attempts)", attempts=self.max_retries + 1)

    def _announce_wait(self, asked: float, delay: float, why: str, next_attempt: int) -> None:
        """One line for a wait a person would notice (a second or more), once per wait however many requests
        wait alongside."""
        now = time.monotonic()
        if delay < 1.0 or now < self._quiet_until:
            return
        self._quiet_until = now + delay
        capped = f" (asked for {asked:,.0f} s; capped by [llm].max_retry_after_s)" if asked > delay else ""
        self.announce(f"LLM endpoint {self.base_url} ({self.model}) answered {why.split(':')[0]} with "
                      f"Retry-After: waiting {delay:,.0f} s{capped} before attempt {next_attempt} of "
                      f"{self.max_retries + 1}")

    @staticmethod
    def _parse(data: Any, attempts: int) -> ChatResult:
        """A parsed chat completion body -> ChatResult; anything else is a malformed response."""
        choices = data.get("choices") if isinstance(data, dict) else None
        choice = choices[0] if isinstance(choices, list) and choices else None
        if not isinstance(choice, dict):
            shown = json.dumps(data)[:120] if isinstance(data, str | int | float | bool) else type(data).__name__
            raise _AttemptError(f"malformed response: not a chat completion ({shown})", retry=True)
        message = choice.get("message")
        content = message.get("content") if isinstance(message, dict) else None
        if content is not None and not isinstance(content, str):
            raise _AttemptError(f"malformed response: message content is {type(content).__name__}, not text",
                                retry=True)
        finish = choice.get("finish_reason")
        raw_usage = data.get("usage")
        usage = {k: v for k, v in raw_usage.items() if isinstance(k, str) and type(v) is int and 0 <= v < 2**53} \
            if isinstance(raw_usage, dict) else {}
        return ChatResult(text=content or "", usage=usage, finish_reason=finish if isinstance(finish, str) else None,
                          attempts=attempts)


def _announce_stderr(line: str) -> None:
    from rich.text import Text

    from mmra.progress import stderr_console

    stderr_console.print(Text(line, style="yellow"))  # Text: the URL and model are shown literally
