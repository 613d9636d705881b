"""A resilient, cached client for any OpenAI-compatible chat endpoint (OpenAI, vLLM, llama.cpp, Ollama).

    client = ChatClient(base_url="http://127.0.0.1:8765/v1", model="qwen2.5-1.5b", cache_path=Path("c.sqlite"))
    client.check()                                     # one clear MMRAError for unreachable / bad key / unknown model
    results = client.run([ChatRequest(messages=[{"role": "user", "content": "..."}])], description="leakage")

`run` is synchronous; inside it an asyncio loop sends at most `concurrency` requests at once. 429, 5xx,
timeouts, dropped connections and malformed bodies are retried with exponential backoff that honours
`Retry-After`; a request that still fails gets `ChatResult.error` instead of raising, so one bad response never
stops a batch. Successful responses are cached in SQLite by (endpoint, model, messages, sampling parameters):
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
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import openai

from mmra.errors import MMRAError

from .cache import ResponseCache
from .keys import check_transport, endpoint_api_key

RETRYABLE_STATUS = {408, 409, 425, 429, 500, 502, 503, 504, 520, 522, 524, 529}
MAX_RETRY_AFTER_S = 120.0
LOCAL_ENDPOINT = "mmra-local"  # cache identity of the embedded local models (the same pinned GGUF on any port)
_CACHE_KEY_VERSION = 2  # 2: the endpoint is part of the key (version 1 keys, without it, are never read)
_NO_AUTH = {"Authorization": openai.Omit()}  # the openai client needs a key; this keeps it off the wire


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


@dataclass
class RunStats:
    requests: int = 0
    cached: int = 0
    sent: int = 0  # requests that went over the network (not counting retries)
    retries: int = 0
    errors: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    elapsed_s: float = 0.0

    def add(self, other: RunStats) -> None:
        for name in self.__dataclass_fields__:
            setattr(self, name, getattr(self, name) + getattr(other, name))

    def as_dict(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in self.__dataclass_fields__}


class _Malformed(Exception):
    """A 200 response that is not a usable chat completion (bad JSON, no choices)."""


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


def _describe_status(exc: openai.APIStatusError) -> str:
    message = ""
    body = exc.body
    if isinstance(body, dict):
        inner = body.get("error", body)
        message = inner.get("message", "") if isinstance(inner, dict) else str(inner)
    message = message or str(exc.message or "")
    return f"HTTP {exc.status_code}: {message[:200]}".rstrip(": ")


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
        progress: bool = True,
    ) -> None:
        if concurrency < 1:
            raise ValueError(f"concurrency must be at least 1, got {concurrency}")
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
        self.progress = progress
        self.stats = RunStats()  # cumulative over all runs of this client
        self.last_stats = RunStats()

    def __repr__(self) -> str:  # no key in reprs
        return f"ChatClient(model={self.model!r}, base_url={self.base_url!r})"

    @property
    def endpoint(self) -> str:
        """The endpoint's identity in the response cache."""
        return self.endpoint_id or self.base_url

    def _openai_kwargs(self) -> dict[str, Any]:
        return {"base_url": self.base_url, "api_key": self._api_key or "no-key"}

    @property
    def _auth_override(self) -> dict[str, Any] | None:
        return None if self._api_key else _NO_AUTH

    # ---------------------------------------------------------------- check
    def check(self) -> list[str]:
        """Fail fast with one clear line if the endpoint is unreachable, rejects the key, or lacks the model.
        Returns the model ids the endpoint lists."""
        client = openai.OpenAI(**self._openai_kwargs(), timeout=min(self.timeout_s, 15.0), max_retries=1)
        where = f"LLM endpoint {self.base_url}"
        try:
            ids = [m.id for m in client.models.list(extra_headers=self._auth_override)]
        except openai.AuthenticationError:
            if self._key_env and self._api_key is None:
                hint = f"${self._key_env}, named as its key, is not set"
            elif self._api_key is None:
                hint = ("no key was sent: name the variable holding its key with NAME@URL#ENVVAR "
                        "($OPENAI_API_KEY goes only to api.openai.com)")
            else:
                hint = f"set a valid key in ${self._key_env or 'OPENAI_API_KEY'}"
            raise MMRAError(f"{where} rejected the API key (HTTP 401); {hint}") from None
        except openai.PermissionDeniedError:
            raise MMRAError(f"{where} refused access with this API key (HTTP 403)") from None
        except openai.NotFoundError:
            ids = []  # some servers have no /models; probe the chat route instead
        except openai.APIConnectionError as exc:
            cause = exc.__cause__ or exc
            raise MMRAError(f"cannot reach {where}: {type(cause).__name__}: {cause}") from None
        except openai.APIStatusError as exc:
            raise MMRAError(f"{where} failed to list models: {_describe_status(exc)}") from None
        except Exception as exc:  # noqa: BLE001 - a body that is not the OpenAI format
            raise MMRAError(f"{where} does not answer like an OpenAI-compatible API ({type(exc).__name__}: {exc})") from None
        finally:
            client.close()
        if ids and self.model not in ids:
            shown = ", ".join(ids[:20]) + (" ..." if len(ids) > 20 else "")
            raise MMRAError(f"model {self.model!r} is not served by {where}; it serves: {shown}")
        if not ids:
            result = self.run([ChatRequest(messages=[{"role": "user", "content": "Say OK."}], max_tokens=1)],
                              use_cache=False, progress=False)[0]
            if result.error:
                raise MMRAError(f"{where} cannot serve model {self.model!r}: {result.error}")
        return ids

    def missing(self, requests: list[ChatRequest]) -> int:
        """How many of these requests the cache cannot answer (all of them without a cache)."""
        if not self.cache_path or not self.cache_path.exists():
            return len(requests)
        keys = [r.cache_key(self.model, self.endpoint) for r in requests]
        with ResponseCache(self.cache_path) as cache:
            found = cache.get_many(keys)
        return sum(k not in found for k in keys)

    # ---------------------------------------------------------------- run
    def run(self, requests: list[ChatRequest], *, description: str = "LLM requests",
            use_cache: bool = True, progress: bool | None = None) -> list[ChatResult]:
        """Answer every request (order kept). Never raises for a single failed request."""
        coro = self.arun(requests, description=description, use_cache=use_cache, progress=progress)
        try:
            asyncio.get_running_loop()
        except RuntimeError:
            return asyncio.run(coro)
        # called from inside an event loop (a notebook): run ours in a worker thread
        with concurrent.futures.ThreadPoolExecutor(1) as pool:
            return pool.submit(asyncio.run, coro).result()

    async def arun(self, requests: list[ChatRequest], *, description: str = "LLM requests",
                   use_cache: bool = True, progress: bool | None = None) -> list[ChatResult]:
        from mmra.progress import progress_bar

        start = time.monotonic()
        stats = RunStats(requests=len(requests))
        results: list[ChatResult | None] = [None] * len(requests)
        cache = ResponseCache(self.cache_path) if (self.cache_path and use_cache) else None
        try:
            keys = [r.cache_key(self.model, self.endpoint) for r in requests]
            hits = cache.get_many(keys) if cache else {}
            todo: dict[str, list[int]] = {}  # identical requests are sent once
            for i, key in enumerate(keys):
                if key in hits:
                    hit = hits[key]
                    results[i] = ChatResult(text=hit["text"], cached=True, usage=hit["usage"],
                                            finish_reason=hit["finish_reason"])
                    stats.cached += 1
                else:
                    todo.setdefault(key, []).append(i)
            show = self.progress if progress is None else progress
            with progress_bar(disable=not show or not todo, transient=False) as bar:
                task = bar.add_task(f"{description} [{self.model}]", total=len(requests), completed=stats.cached)
                if todo:
                    sem = asyncio.Semaphore(self.concurrency)
                    client = openai.AsyncOpenAI(**self._openai_kwargs(), timeout=self.timeout_s, max_retries=0)
                    try:
                        async def one(key: str, idx: list[int]) -> None:
                            result = await self._send(client, requests[idx[0]], stats, sem)
                            if cache is not None and result.ok:
                                cache.put(key, self.model, result.text, result.finish_reason, result.usage)
                            stats.cached += len(idx) - 1  # duplicates in this batch cost no request
                            for n, i in enumerate(idx):
                                results[i] = result if n == 0 else ChatResult(**{**result.__dict__, "cached": True})
                            bar.advance(task, len(idx))

                        await asyncio.gather(*(one(k, idx) for k, idx in todo.items()))
                    finally:
                        await client.close()
        finally:
            if cache is not None:
                cache.close()
        for r in results:
            assert r is not None
            if r.error:
                stats.errors += 1
            elif not r.cached:
                stats.prompt_tokens += int(r.usage.get("prompt_tokens") or 0)
                stats.completion_tokens += int(r.usage.get("completion_tokens") or 0)
        stats.elapsed_s = time.monotonic() - start
        self.last_stats = stats
        self.stats.add(stats)
        return results  # type: ignore[return-value]

    async def _send(self, client: openai.AsyncOpenAI, req: ChatRequest, stats: RunStats,
                    sem: asyncio.Semaphore) -> ChatResult:
        """One request with retries; the concurrency slot is held per attempt, not while backing off."""
        stats.sent += 1
        last_error = "no attempt made"
        for attempt in range(self.max_retries + 1):
            if attempt:
                stats.retries += 1
            wait: float | None = None
            try:
                async with sem:
                    resp = await client.chat.completions.create(
                        model=self.model, messages=req.messages, max_tokens=req.max_tokens,
                        temperature=req.temperature, extra_body=req.extra or None,
                        extra_headers=self._auth_override,
                    )
                return self._parse(resp, attempt + 1)
            except openai.APIStatusError as exc:
                last_error = _describe_status(exc)
                if exc.status_code not in RETRYABLE_STATUS:
                    return ChatResult(error=last_error, attempts=attempt + 1)
                wait = _retry_after(exc.response.headers if exc.response is not None else None)
            except openai.APITimeoutError:
                last_error = f"timed out after {self.timeout_s:g} s"
            except openai.APIConnectionError as exc:
                cause = exc.__cause__ or exc
                last_error = f"connection failed: {type(cause).__name__}: {cause}"
            except (_Malformed, ValueError, TypeError, AttributeError, KeyError, IndexError) as exc:
                last_error = f"malformed response: {exc}"[:300]
            if attempt < self.max_retries:
                backoff = min(self.max_backoff_s, self.backoff_base_s * 2 ** attempt) * (0.5 + random.random() / 2)
                await asyncio.sleep(min(MAX_RETRY_AFTER_S, wait) if wait is not None else backoff)
        return ChatResult(error=f"{last_error} (after {self.max_retries + 1} attempts)", attempts=self.max_retries + 1)

    @staticmethod
    def _parse(resp: Any, attempts: int) -> ChatResult:
        if isinstance(resp, str | bytes) or not getattr(resp, "choices", None):
            raise _Malformed(f"not a chat completion: {str(resp)[:120]!r}")
        choice = resp.choices[0]
        content = choice.message.content if choice.message is not None else None
        if content is not None and not isinstance(content, str):
            raise _Malformed(f"message content is {type(content).__name__}, not text")
        usage = {}
        if getattr(resp, "usage", None) is not None:
            usage = {k: int(v) for k, v in resp.usage.model_dump().items() if isinstance(v, int)}
        return ChatResult(text=content or "", usage=usage, finish_reason=choice.finish_reason, attempts=attempts)
