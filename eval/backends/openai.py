"""OpenAI-compatible chat API backend (GPT-4o, a vLLM/llama.cpp server, ...), through the toolkit's shared
`mmra.llm.client.ChatClient`: bounded async concurrency, retries with backoff, and an SQLite response cache
(so a re-run, or a killed run restarted, pays nothing for answers it already has).

Images travel as base64 PNG data URLs (lossless; the official script re-encoded to JPEG on disk) in the
*user* turn, in the same order as the prompt's parts.
"""

from __future__ import annotations

import base64
import io
from pathlib import Path
from typing import Any

from mmra.errors import MMRAError

from .base import Backend, Output


def image_data_url(image: Any) -> str:
    buf = io.BytesIO()
    image.save(buf, format="PNG")
    return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode("ascii")


def to_openai_messages(prompt: Any) -> list[dict[str, Any]]:
    """Prompt parts -> one user message with text and image_url parts (images in prompt order)."""
    images = iter(prompt.images)
    content: list[dict[str, Any]] = []
    for part in prompt.parts:
        if part["type"] == "image":
            content.append({"type": "image_url", "image_url": {"url": image_data_url(next(images))}})
        elif part["text"]:
            content.append({"type": "text", "text": part["text"]})
    if all(p["type"] == "text" for p in content):  # text-only settings: plain string content, widest support
        return [{"role": "user", "content": "".join(p["text"] for p in content)}]
    return [{"role": "user", "content": content}]


def _cache_path(cache: bool | str | Path, cache_root: Path) -> Path | None:
    if cache is True:
        return cache_root / "llm.sqlite"  # shared with the leakage stage: same request, same answer
    return Path(cache) if cache else None


class OpenAIBackend(Backend):
    name = "openai"
    cli_options = {"base_url": "base_url", "api_key_env": "api_key_env", "concurrency": "concurrency"}
    takes_llm_settings = True
    order_by_text = True  # one request per prompt, no padding: shared prefixes are what saves server work

    def __init__(self, model: str, *, base_url: str | None = None, api_key_env: str | None = None,
                 concurrency: int | None = None, timeout_s: float | None = None, max_retries: int | None = None,
                 cache: bool | str | Path = True, check: bool = True, send_openai_key: bool | None = None,
                 allow_insecure_http: bool | None = None, endpoint_id: str | None = None,
                 llm: dict[str, Any] | None = None, cache_dir: str | Path | None = None) -> None:
        """`base_url` may end in `#ENVVAR` (the variable holding its key), like `api_key_env`; without either,
        only api.openai.com gets $OPENAI_API_KEY (mmra.llm.keys). `endpoint_id`: the cache identity
        (default: the base URL; the embedded local models share one across ports). `llm`: the `[llm]` settings
        and `cache_dir` the `[paths].cache` folder, as the command line read them (plain values, so they travel
        to data-parallel workers); defaults: those of an empty config."""
        try:
            from mmra.llm.endpoints import Endpoint, open_client
        except ImportError as exc:
            raise MMRAError(f"the openai backend needs mmra.llm.client ({exc})") from None
        from mmra.config import LLMConfig, PathsConfig
        from mmra.llm.keys import split_key_env
        from mmra.llm.models import MODELS

        llm_cfg = LLMConfig.model_validate(llm or {})
        cache_root = Path(cache_dir) if cache_dir else PathsConfig().cache
        self.model_id = model
        if base_url:
            url, url_key_env = split_key_env(base_url)
            endpoint = Endpoint(model, url, api_key_env or url_key_env)
        elif model in MODELS:  # an embedded model at the configured local server (`mmra llm serve`)
            endpoint = Endpoint(model, None, api_key_env)
        else:  # another model behind the configured local address
            endpoint = Endpoint(model, f"http://{llm_cfg.host}:{llm_cfg.port}/v1", api_key_env)
        concurrency = concurrency or llm_cfg.concurrency
        self.client, _ = open_client(
            endpoint, llm=llm_cfg, cache_path=_cache_path(cache, cache_root), check=False, endpoint_id=endpoint_id,
            send_openai_key=bool(send_openai_key), allow_insecure_http=bool(allow_insecure_http),
            concurrency=concurrency, timeout_s=timeout_s, max_retries=max_retries, progress=False,
        )
        self.base_url = endpoint.base_url or f"http://{llm_cfg.host}:{llm_cfg.port}/v1"
        # chunks of a few rounds of concurrency: enough in flight, and each chunk is saved as it completes
        self.preferred_chunk = max(8, 4 * concurrency)
        if check:
            self.client.check()  # one clear line for an unreachable endpoint, a bad key or an unknown model

    def generate(self, prompts: list[Any], *, max_new_tokens: int) -> list[Output]:
        from mmra.llm.client import ChatRequest

        requests = [ChatRequest(messages=to_openai_messages(p), max_tokens=max_new_tokens, temperature=0.0)
                    for p in prompts]
        results = self.client.run(requests, description=f"eval {self.model_id}", progress=False)
        return [Output(r.text.strip() if r.text is not None else None, r.error) for r in results]

    def describe(self) -> dict[str, Any]:
        return {"backend": self.name, "model": self.model_id, "base_url": self.base_url}
