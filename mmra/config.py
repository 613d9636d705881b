"""Project configuration: one `mmra.toml` for paths and endpoints; secrets only from the environment.

Lookup order for a value: command-line flag > `mmra.toml` (`mmra --config FILE`, $MMRA_CONFIG or ./mmra.toml)
> defaults below. The file is read once per command, at the command-line edge (`cli_config`); library code
takes the values it needs as arguments.
Secrets (tokens, API keys) are never read from or written to the file.
"""

from __future__ import annotations

import os
import tomllib
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

CONFIG_FILENAME = "mmra.toml"
CONFIG_ENV = "MMRA_CONFIG"

# Environment variables that carry secrets. Nothing else in the toolkit reads secrets.
SECRET_ENV = {
    "label_studio_token": "LABEL_STUDIO_API_KEY",
    "openai_api_key": "OPENAI_API_KEY",
    "hf_token": "HF_TOKEN",
}


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid")


class PathsConfig(_Section):
    workspace: Path = Path("mmra-workspace")
    cache: Path = Path(".mmra/cache")
    releases: Path = Path("mmra-workspace/releases")
    data_cards: Path = Path("data_cards")
    # folders images may come from beyond the corpus folders `mmra curate` recorded (symlink targets, shared
    # corpora); every stage that reads an image refuses files outside the allowed folders
    image_roots: list[Path] = Field(default_factory=list)


class LabelStudioConfig(_Section):
    url: str | None = None  # remote server; None = the local one `mmra annotate serve` starts
    host: str = "127.0.0.1"
    port: int = 8089
    username: str = "admin@mmra.local"
    data_dir: Path = Path("mmra-workspace/label-studio")
    venv: Path = Path(".venv-ls")
    annotators_per_task: int = 2
    # remote server only: a folder the server serves as LOCAL_FILES_DOCUMENT_ROOT (shared filesystem);
    # pushed images are linked into its `images/` subfolder. The local server uses <data_dir>/media-root.
    document_root: Path | None = None
    import_batch_size: int = 250  # tasks per import request (each request is atomic on the server)
    # e-mails of accounts (created with `mmra annotate users add`) whose ground-truth marks settle a task on
    # `annotate pull`, besides the admin and accounts added with --reviewer
    reviewers: list[str] = Field(default_factory=list)


class LLMConfig(_Section):
    host: str = "127.0.0.1"
    port: int = 8765
    # the embedded models' server: "xllamacpp" (llama.cpp's C++ server, a prebuilt PyPI wheel in the toolkit's
    # own venv; `concurrency` parallel slots) or "llama-cpp-python" (compiled into `venv` by `make
    # setup-llama-cpp-python`; one request at a time). Figures: benches/bench_llm_runtime.py, README.
    runtime: Literal["xllamacpp", "llama-cpp-python"] = "xllamacpp"
    venv: Path = Path(".venv-llm")  # llama-cpp-python's venv
    default_model: str = "qwen2.5-1.5b"
    concurrency: int = 4  # requests in flight per endpoint; the embedded server gets as many slots
    timeout_s: float = 120.0  # the whole of one request (connect, send, wait, read), not per read
    max_retries: int = 4
    # hostile or broken endpoints: a larger answer body is an error (a chat answer is a few KB); a server's
    # Retry-After is honoured up to this many seconds (and the wait is shown)
    max_response_bytes: int = Field(default=512 * 1024, ge=1024)
    max_retry_after_s: float = Field(default=30.0, ge=0.0)
    # which key goes where (mmra.llm.keys): $OPENAI_API_KEY only to api.openai.com unless send_openai_key;
    # plain http only to loopback unless allow_insecure_http. A per-endpoint key: NAME@URL#ENVVAR.
    send_openai_key: bool = False
    allow_insecure_http: bool = False


class HubConfig(_Section):
    repo_id: str | None = None
    private: bool = False


class Config(_Section):
    paths: PathsConfig = Field(default_factory=PathsConfig)
    label_studio: LabelStudioConfig = Field(default_factory=LabelStudioConfig)
    llm: LLMConfig = Field(default_factory=LLMConfig)
    hub: HubConfig = Field(default_factory=HubConfig)


class ConfigError(ValueError):
    pass


def load_config(path: str | Path | None = None) -> Config:
    """Read `mmra.toml` (explicit path, $MMRA_CONFIG, or ./mmra.toml); defaults when there is none."""
    explicit = path or os.environ.get(CONFIG_ENV)
    candidate = Path(explicit) if explicit else Path.cwd() / CONFIG_FILENAME
    if not candidate.exists():
        if explicit:
            raise ConfigError(f"config file {candidate} does not exist")
        return Config()
    try:
        data = tomllib.loads(candidate.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{candidate}: not valid TOML: {exc}") from exc
    leaked = _find_secret_keys(data)
    if leaked:
        raise ConfigError(
            f"{candidate}: secrets do not belong in the config file ({', '.join(leaked)}); "
            f"set them in the environment instead: {', '.join(sorted(set(SECRET_ENV.values())))}"
        )
    try:
        return Config.model_validate(data)
    except Exception as exc:  # pydantic's message names the field and value
        raise ConfigError(f"{candidate}: {exc}") from exc


class _Invocation:
    """The config of the running command: the root `mmra` callback names the file (`begin`), the first
    `cli_config()` reads it, later calls in the same command reuse it."""

    path: str | Path | None = None
    config: Config | None = None


def begin_command(path: str | Path | None) -> None:
    """Called by the root `mmra` callback at the start of every command (`mmra --config FILE ...`)."""
    _Invocation.path, _Invocation.config = path, None


def cli_config() -> Config:
    """The configuration of the running command: loaded once per invocation, at the command-line edge, from
    the root `mmra --config FILE` (or $MMRA_CONFIG, or ./mmra.toml), and handed to library code as an object.
    Library modules never call this or `load_config`."""
    if _Invocation.config is None:
        _Invocation.config = load_config(_Invocation.path)
    return _Invocation.config


def _find_secret_keys(data: dict, prefix: str = "") -> list[str]:
    found = []
    for key, value in data.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict):
            found += _find_secret_keys(value, name + ".")
        elif any(word in key.lower() for word in ("token", "api_key", "password", "secret")):
            found.append(name)
    return found


def secret(name: str) -> str | None:
    """A secret from the environment (`label_studio_token`, `openai_api_key`, `hf_token`)."""
    return os.environ.get(SECRET_ENV[name]) or None
