"""Which API key goes to which LLM endpoint: the one place the toolkit decides it.

    url, key_env = split_key_env("https://llm.example.org/v1#EXAMPLE_KEY")   # the '#ENVVAR' suffix names the key
    key = endpoint_api_key(url, key_env)                                     # None: send no Authorization header

Rules (a key must never reach an endpoint it was not issued for):
- `URL#ENVVAR` sends the key in `$ENVVAR` to that endpoint only (a fragment is never sent over HTTP, so the
  suffix cannot be confused with the URL itself);
- `$OPENAI_API_KEY` goes only to the OpenAI API (`api.openai.com`), unless `send_openai_key` is asked for;
- a loopback endpoint (a local llama.cpp / vLLM server) gets no key unless one is named for it;
- plain http to a host that is not loopback is refused before any connection (the prompts, and any key, would
  travel in clear text) unless `allow_insecure_http` is given;
- the key is the only credential sent: no OpenAI-Organization / OpenAI-Project header (the client never reads
  OPENAI_ORG_ID / OPENAI_PROJECT_ID; see `ChatClient._headers`).
"""

from __future__ import annotations

import ipaddress
import os
import re
from urllib.parse import urlsplit

from mmra.errors import MMRAError

OPENAI_KEY_ENV = "OPENAI_API_KEY"
OPENAI_HOSTS = frozenset({"api.openai.com"})
_ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


def split_key_env(url: str) -> tuple[str, str | None]:
    """`URL#ENVVAR` -> (URL, ENVVAR); a URL without '#' -> (URL, None)."""
    base, sep, env = url.strip().partition("#")
    base = base.rstrip("/")
    if not sep:
        return base, None
    if not _ENV_NAME.match(env):
        raise ValueError(f"{url!r}: after '#' comes the name of the environment variable holding this endpoint's "
                         f"key (letters, digits, '_'), got {env!r}")
    return base, env


def _host(url: str) -> tuple[str, str]:
    try:
        parts = urlsplit(url)
        host = parts.hostname or ""
    except ValueError as exc:
        raise ValueError(f"LLM endpoint {url!r} is not a valid URL: {exc}") from None
    if parts.scheme not in ("http", "https") or not host:
        raise ValueError(f"LLM endpoint {url!r} is not an http(s) URL with a host, e.g. https://api.openai.com/v1")
    return parts.scheme, host.lower()


def is_loopback(host: str) -> bool:
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def check_transport(url: str, *, allow_insecure_http: bool = False) -> None:
    """Refuse plain http to a non-loopback host (checked before any connection is made)."""
    scheme, host = _host(url)
    if scheme == "http" and not is_loopback(host) and not allow_insecure_http:
        raise MMRAError(f"refusing plain http to {host} ({url}): prompts and keys would travel unencrypted; "
                        "use https, or pass --allow-insecure-http (or set [llm].allow_insecure_http) if you trust "
                        "the network")


def endpoint_api_key(url: str, key_env: str | None = None, *, send_openai_key: bool = False,
                     allow_insecure_http: bool = False) -> str | None:
    """The key to send to `url` (None: none at all), after checking the transport. Keys come from the
    environment only and are returned, never logged."""
    check_transport(url, allow_insecure_http=allow_insecure_http)
    _, host = _host(url)
    if key_env:
        # unset: send none (a fully cached run needs no key); the endpoint's 401 then names the variable
        return os.environ.get(key_env) or None
    if host in OPENAI_HOSTS or send_openai_key:
        return os.environ.get(OPENAI_KEY_ENV) or None
    return None  # loopback servers and other hosts get no key unless one is named for them


__all__ = ["OPENAI_HOSTS", "OPENAI_KEY_ENV", "check_transport", "endpoint_api_key", "is_loopback", "split_key_env"]
