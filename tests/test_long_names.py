"""A name or path longer than the file system allows (a 300-character `--name`, `--to`, `--out`, `--dataset`) is
one line naming it, shortened, with exit code 2: never an OSError traceback, and nothing is written."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from mmra.benchmark.records import write_jsonl
from mmra.cli import app
from mmra.errors import path_problem

LONG = "n" * 300


def _invoke(*args: str):
    result = CliRunner().invoke(app, list(args))
    return result, " ".join(result.output.split())


def _one_line_error(result, text: str) -> None:
    assert result.exit_code == 2, text
    assert not isinstance(result.exception, OSError) and "Traceback" not in result.output
    assert len(result.output.strip().splitlines()) == 1 and LONG not in result.output  # shortened


@pytest.fixture()
def samples(tmp_path):
    from tests.release.conftest import make_sample_records

    return write_jsonl(tmp_path / "samples.jsonl", make_sample_records(tmp_path, 4, flag_every=0))


def test_publish_to_an_overlong_folder(samples, tmp_path):
    result, text = _invoke("publish", "--samples", str(samples), "--version", "1.0.0", "--to", str(tmp_path / LONG),
                           "--cards-dir", str(tmp_path / "cards"))
    _one_line_error(result, text)
    assert "cannot be used: a name in it is longer than the file system allows (255 bytes)" in text
    assert not (tmp_path / "cards").exists()


@pytest.mark.parametrize("command", ["eval", "describe"])
def test_eval_and_describe_with_an_overlong_out(samples, tmp_path, command):
    result, text = _invoke(command, "--dataset", str(samples), "--model", "tiny:qwen2-vl", "--out",
                           str(tmp_path / LONG / "x"))
    _one_line_error(result, text)
    assert "(3" in text and "characters) cannot be used" in text


@pytest.mark.parametrize("args", [["eval", "--dataset", f"./{LONG}.jsonl", "--model", "m", "--out", "o"],
                                  ["releases", LONG], ["diff", LONG, LONG], ["score", f"{LONG}.jsonl"],
                                  ["publish", "--samples", f"{LONG}.jsonl", "--version", "1.0.0", "--to", "st"]])
def test_overlong_input_paths(tmp_path, monkeypatch, args):
    monkeypatch.chdir(tmp_path)
    result, text = _invoke(*args)
    _one_line_error(result, text)
    assert not (tmp_path / "o").exists() and not (tmp_path / "st").exists()


def test_other_os_errors_are_not_hidden():
    assert path_problem(OSError(28, "No space left on device")) is None
    assert path_problem(OSError(36, "File name too long", "short")) == \
        "path 'short' cannot be used: a name in it is longer than the file system allows (255 bytes)"
