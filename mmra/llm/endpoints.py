"""From model specs to ready clients, in one place: `NAME@BASE_URL[#ENVVAR]` for any OpenAI-compatible endpoint
or a bare embedded model name (started on demand on loopback, stopped afterwards unless kept).

    with model_clients(parse_model_specs(["qwen2.5-1.5b"]), llm=cfg.llm, servers=LocalServers.from_config(cfg),
                       chains=plan.chains, decided=plan.decided, options=ClientOptions(cache_path=path)) as clients:
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


def parse_model_spec(spec: str, flag: str = "--model") -> Endpoint:
    """`NAME@BASE_URL[#ENVVAR]` for any OpenAI-compatible endpoint (`#ENVVAR`: the variable holding its key;
    see mmra.llm.keys); a bare NAME must be an embedded local model. `flag` names the option in messages."""
    from .keys import split_key_env
    from .models import MODELS

    spec = spec.strip()
    name, sep, url = spec.partition("@http")
    if sep:
        if not name:
            raise ValueError(f"{flag} {spec!r}: the model name before '@' is empty")
        try:
            url, key_env = split_key_env("http" + url)
        except ValueError as exc:
            raise ValueError(f"{flag} {exc}") from None
        return Endpoint(name, url, key_env)
    if "@" in spec:
        raise ValueError(f"{flag} {spec!r}: expected NAME@BASE_URL with an http(s) URL, e.g. gpt-4o-mini@https://api.openai.com/v1")
    if spec not in MODELS:
        raise ValueError(f"{flag} {spec!r}: no @BASE_URL given and not an embedded local model "
                         f"({', '.join(MODELS)}); use NAME@BASE_URL for other endpoints")
    return Endpoint(spec, None)


def parse_model_specs(models: list[str], local: list[str] = ()) -> list[Endpoint]:
    """`--model` and `--local` values, deduplicated in order; a `--local` name must not carry a URL."""
    for name in local:
        if parse_model_spec(name).base_url is not None:
            raise ValueError(f"--local {name!r}: a local model name has no @URL")
    return list(dict.fromkeys(parse_model_spec(s) for s in [*models, *local]))


@dataclass
class ClientOptions:
    """How the clients of a run behave: flags given here win over the `[llm]` settings (None: the setting)."""

    cache_path: Path | None = None  # the SQLite response cache (None: no cache)
    keep_servers: bool = False  # leave local model servers this run started running
    send_openai_key: bool = False
    allow_insecure_http: bool = False
    concurrency: int | None = None
    timeout_s: float | None = None
    max_retries: int | None = None


def open_client(ep: Endpoint, *, llm: Any, cache_path: Path | None, servers: Any = None, start_local: bool = False,
                check: bool = True, say: Callable[[str], None] = lambda line: None, **client_options: Any,
                ) -> tuple[Any, bool]:
    """A client for one endpoint, built from the `[llm]` settings; (client, whether this call started a server).
    An embedded model is reached at its running server, started on loopback with `start_local` (and left
    running: `model_clients` stops what it starts), else at the configured `mmra llm serve` address.
    `client_options` go to `ChatClient.from_settings` (flags win over the settings)."""
    from .client import LOCAL_ENDPOINT, ChatClient

    started = False
    base_url = ep.base_url
    if ep.local:
        if start_local:
            from .server import ensure_server, running

            started = running(ep.model, servers) is None
            say(f"starting the local model server {ep.model} ..." if started else f"reusing the running {ep.model} server")
            base_url = ensure_server(ep.model, servers=servers)
        else:
            base_url = f"http://{llm.host}:{llm.port}/v1"
    endpoint_id = client_options.pop("endpoint_id", None) or (LOCAL_ENDPOINT if ep.local else None)
    client = ChatClient.from_settings(base_url, ep.model, llm, key_env=ep.key_env, endpoint_id=endpoint_id,
                                      cache_path=cache_path, **client_options)
    if check:
        client.check()  # one clear line for an unreachable endpoint, a bad key or an unknown model
    return client, started


@contextlib.contextmanager
def model_clients(endpoints: list[Endpoint], *, llm: Any, servers: Any, chains: list[list[Any]],
                  decided: Callable[[int, list[Any]], bool] | None = None, options: ClientOptions | None = None,
                  say: Callable[[str], None] = lambda line: None) -> Iterator[dict[str, Any]]:
    """Checked clients by label (the model name, or NAME@URL when two endpoints share a name). A client whose
    answers to the request `chains` (as `ChatClient.run_chains` asks them, with `decided`) are all cached starts
    nothing and sends nothing; an embedded model is started on loopback when needed and stopped on exit (left
    running with `keep_servers`)."""
    o = options or ClientOptions()
    names = [e.model for e in endpoints]
    with contextlib.ExitStack() as stack:
        clients: dict[str, Any] = {}
        for ep in endpoints:
            label = ep.model if names.count(ep.model) == 1 else f"{ep.model}@{ep.base_url or 'local'}"
            # built unchecked and unstarted: a fully cached model needs neither (below)
            clients[label], _ = open_client(
                ep, llm=llm, cache_path=o.cache_path, check=False, send_openai_key=o.send_openai_key,
                allow_insecure_http=o.allow_insecure_http, concurrency=o.concurrency, timeout_s=o.timeout_s,
                max_retries=o.max_retries)
        # remote endpoints first (cheap to check), then local servers; a fully cached model needs neither
        for ep, client in sorted(zip(endpoints, clients.values(), strict=True), key=lambda pair: pair[0].local):
            if client.missing_chains(chains, decided) == 0:
                continue
            if ep.local:
                from .server import ensure_server, running, serving

                say(f"starting local model {ep.model} ...")
                client.base_url = (ensure_server(ep.model, servers=servers)
                                   if o.keep_servers or running(ep.model, servers)
                                   else stack.enter_context(serving(ep.model, servers=servers)))
            client.check()  # fail fast, before any work: unreachable, bad key, unknown model
        yield clients
