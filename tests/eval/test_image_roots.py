"""`mmra eval` and `mmra describe` apply the allowed image folders publish, push and revise use: an image file
outside `[paths].image_roots`, or reached through a symlink out of them, stops the command before it writes
anything, with one line naming the sample and the cause."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from mmra.cli import app
from mmra.errors import MMRAError
from mmra.eval import evaluate
from mmra.eval.captions import describe

from .conftest import ROWS, make_png


def _dataset(tmp_path: Path, n: int = 4) -> tuple[Path, Path, list[dict]]:
    """An MMRA-format JSONL in work/ whose images lie in corpus/ (absolute paths); config with corpus/ as root."""
    corpus, work = tmp_path / "corpus", tmp_path / "work"
    corpus.mkdir()
    work.mkdir()
    rows = []
    for i in range(n):
        task, qa, question, options, answer = ROWS[i]
        for k in (1, 2):
            (corpus / f"{i}_{k}.png").write_bytes(make_png(10 * i + k, size=(80, 80)))
        rows.append({"id": f"s{i:03d}", "Task": task, "QA_type": qa, "question": question,
                     "image1": str(corpus / f"{i}_1.png"), "image2": str(corpus / f"{i}_2.png"),
                     "options": repr(options) if options else None, "answer": answer})
    config = tmp_path / "mmra.toml"
    config.write_text(f'[paths]\nimage_roots = ["{corpus}"]\n')
    return config, work, rows


def _write(path: Path, rows: list[dict]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return path


def _outside(tmp_path: Path) -> Path:
    folder = tmp_path / "outside"
    folder.mkdir(exist_ok=True)
    secret = folder / "secret.png"
    secret.write_bytes(make_png(999, size=(80, 80)))
    return secret


def _escaping_image(tmp_path: Path, how: str) -> tuple[Path, Path]:
    """(an image outside the roots, the path a row names: the image itself, or a symlink to it inside them)."""
    secret = _outside(tmp_path)
    if how != "symlink":
        return secret, secret
    link = tmp_path / "corpus" / "escape.png"
    link.symlink_to(secret)
    return secret, link


def _invoke(config: Path, *args: str):
    result = CliRunner().invoke(app, ["--config", str(config), *args])
    return result, " ".join(result.output.split())


@pytest.mark.parametrize("how", ["outside", "symlink"])
def test_eval_refuses_an_image_outside_the_roots_and_writes_nothing(tmp_path, how):
    config, work, rows = _dataset(tmp_path)
    secret, target = _escaping_image(tmp_path, how)
    rows[1]["image2"] = str(target)
    data = _write(work / "data.jsonl", rows)
    out = tmp_path / "run"
    result, text = _invoke(config, "eval", "--dataset", str(data), "--model", "tiny:qwen2-vl", "--out", str(out))
    assert result.exit_code == 1, text
    via = f" (via a symlink to {secret.resolve()})" if how == "symlink" else ""
    assert f"sample s001: image2 '{target}' lies outside the allowed image folders{via}" in text
    assert "nothing was evaluated" in text and "Traceback" not in result.output
    assert not out.exists()


@pytest.mark.parametrize("how", ["outside", "symlink"])
def test_describe_refuses_an_image_outside_the_roots_and_writes_nothing(tmp_path, how):
    config, work, rows = _dataset(tmp_path)
    secret, target = _escaping_image(tmp_path, how)
    rows[2]["image1"] = str(target)
    data = _write(work / "data.jsonl", rows)
    out = tmp_path / "desc" / "descriptions.jsonl"
    result, text = _invoke(config, "describe", "--dataset", str(data), "--model", "tiny:qwen2-vl", "--out", str(out))
    assert result.exit_code == 1, text
    assert f"sample s002: image1 '{target}' lies outside the allowed image folders" in text
    assert "nothing was described" in text and "Traceback" not in result.output
    assert not (tmp_path / "desc").exists()


def test_configured_roots_do_not_admit_the_dataset_folder(tmp_path):
    config, work, rows = _dataset(tmp_path)
    beside = work / "beside.png"
    beside.write_bytes(make_png(5, size=(80, 80)))
    rows[0]["image1"] = str(beside)
    data = _write(work / "data.jsonl", rows)
    result, text = _invoke(config, "eval", "--dataset", str(data), "--model", "tiny:qwen2-vl", "--setting", "IQ-image1",
                           "--out", str(tmp_path / "run"))
    assert result.exit_code == 1 and f"sample s000: image1 '{beside}' lies outside" in text


def test_eval_inside_the_roots_runs(tmp_path, qwen_backend):
    config, work, rows = _dataset(tmp_path)
    data = _write(work / "data.jsonl", rows)
    result, text = _invoke(config, "eval", "--dataset", str(data), "--model", "tiny:qwen2-vl", "--out",
                           str(tmp_path / "run"), "--max-new-tokens", "2")
    assert result.exit_code == 0, text
    records = [json.loads(line) for line in (tmp_path / "run" / "predictions.jsonl").read_text().splitlines()]
    assert len(records) == len(rows) and not any(r["error"] for r in records)


def test_library_takes_the_roots_as_values(tmp_path, qwen_backend):
    _, work, rows = _dataset(tmp_path)
    secret = _outside(tmp_path)
    rows[3]["image1"] = str(secret)
    data = _write(work / "data.jsonl", rows)
    roots = (tmp_path / "corpus",)
    with pytest.raises(MMRAError, match="sample s003: image1 .* lies outside the allowed image folders"):
        evaluate(str(data), model="tiny:qwen2-vl", backend=qwen_backend, out=tmp_path / "run", image_roots=roots,
                 show_progress=False)
    assert not (tmp_path / "run").exists()
    with pytest.raises(MMRAError, match="sample s003: image1 .* lies outside"):
        describe(str(data), model="tiny:qwen2-vl", backend=qwen_backend, out=tmp_path / "d.jsonl", roots=roots,
                 show_progress=False)
    assert not (tmp_path / "d.jsonl").exists()
    # a text-only setting reads no image, so there is nothing to refuse
    result = evaluate(str(data), model="tiny:qwen2-vl", backend=qwen_backend, out=tmp_path / "qo", setting="QO",
                      image_roots=roots, show_progress=False, max_new_tokens=2)
    assert result.n_items == len(rows)
