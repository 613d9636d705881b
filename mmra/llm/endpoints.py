"""From model specs to ready clients, in one place: `NAME@BASE_URL[#ENVVAR]` for any OpenAI-compatible endpoint
or a bare embedded model name (started on demand on loopback, stopped afterwards unless kept).

    with model_clients(["qwen2.5-1.5b"], llm=cfg.llm, servers=LocalServers.from_config(cfg),
                       requests=requests, cache_path=path) as clients:
        run_leakage(items, clients, settings)
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any


@dataclass(frozen=True)
class Endpoint:
    model: str  # the model name sent to the API
    base_url: str | None  # None: an embedded local model, started on demand
    key_env: str | None = None  # environment variable holding this endpoint's key (NAME@URL#ENVVAR)

    @property
    def local(self) -> bool:
        return self.base_url is None


def parse_model_spec(spec: str) -> Endpoint:
    """`NAME@BASE_URL[#ENVVAR]` for any OpenAI-compatible endpoint (`#ENVVAR`: the variable holding its key;
    see mmra.llm.keys); a bare NAME must be an embedded local model."""
    from .keys import split_key_env
    from .models import MODELS

    spec = spec.strip()
    name, sep, url = spec.partition("@http")
    if sep:
        if not name:
            raise ValueError(f"--model {spec!r}: the model name before '@' is empty")
        try:
            url, key_env = split_key_env("http" + url)
        except ValueError as exc:
            raise ValueError(f"--model {exc}") from None
        return Endpoint(name, url, key_env)
    if "@" in spec:
        raise ValueError(f"--model {spec!r}: expected NAME@BASE_URL with an http(s) URL, e.g. gpt-4o-mini@https://api.openai.com/v1")
    if spec not in MODELS:
        raise ValueError(f"--model {spec!r}: no @BASE_URL given and not an embedded local model "
                         f"({', '.join(MODELS)}); use NAME@BASE_URL for other endpoints")
    return Endpoint(spec, None)


def parse_model_specs(models: list[str], local: list[str] = ()) -> list[Endpoint]:
    """`--model` and `--local` values, deduplicated in order; a `--local` name must not carry a URL."""
    for name in local:
        if parse_model_spec(name).base_url is not None:
            raise ValueError(f"--local {name!r}: a local model name has no @URL")
    return list(dict.fromkeys(parse_model_spec(s) for s in [*models, *local]))


@contextlib.contextmanager
def model_clients(endpoints: list[Endpoint], *, llm: Any, servers: Any, requests: list[Any],
                  cache_path: Path | None, send_openai_key: bool = False, allow_insecure_http: bool = False,
                  concurrency: int | None = None, timeout_s: float | None = None, max_retries: int | None = None,
                  keep_servers: bool = False, say: Callable[[str], None] = lambda line: None,
                  ) -> Iterator[dict[str, Any]]:
    """Checked clients by label (the model name, or NAME@URL when two endpoints share a name). A client whose
    answers to `requests` are all cached starts nothing and sends nothing; an embedded model is started on
    loopback when needed and stopped on exit (left running with `keep_servers`)."""
    from .client import LOCAL_ENDPOINT, ChatClient

    names = [e.model for e in endpoints]
    with contextlib.ExitStack() as stack:
        clients: dict[str, ChatClient] = {}
        for ep in endpoints:
            label = ep.model if names.count(ep.model) == 1 else f"{ep.model}@{ep.base_url or 'local'}"
            clients[label] = ChatClient.from_settings(
                ep.base_url or "http://127.0.0.1:0/v1", ep.model, llm, key_env=ep.key_env,
                endpoint_id=LOCAL_ENDPOINT if ep.local else None, send_openai_key=send_openai_key,
                allow_insecure_http=allow_insecure_http, concurrency=concurrency, timeout_s=timeout_s,
                max_retries=max_retries, cache_path=cache_path,
            )
        # remote endpoints first (cheap to check), then local servers; a fully cached model needs neither
        for ep, client in sorted(zip(endpoints, clients.values(), strict=True), key=lambda pair: pair[0].local):
            if client.missing(requests) == 0:
                continue
            if ep.local:
                from .server import ensure_server, running, serving

                say(f"starting local model {ep.model} ...")
                client.base_url = (ensure_server(ep.model, servers=servers)
                                   if keep_servers or running(ep.model, servers)
                                   else stack.enter_context(serving(ep.model, servers=servers)))
            client.check()  # fail fast, before any work: unreachable, bad key, unknown model
        yield clients
