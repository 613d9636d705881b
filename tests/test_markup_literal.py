"""Everything the command line prints is data shown literally: a task name or path holding rich markup
(`[/x]` used to raise MarkupError, `[link=...]` hid the value), the toolkit's own `[llm]` in messages and help,
and emoji codes (`:cat:`). Real `mmra` commands, run as a user would (subprocess, no terminal)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from mmra.benchmark.records import write_jsonl

from .release.conftest import make_sample_records

MARKUP = "[/x] [link=http://evil]shown[/link] [llm] :cat:"
MMRA = Path(sys.executable).with_name("mmra")


def mmra(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "COLUMNS": "400", "NO_COLOR": "1"}  # wide: table cells are not cut
    env.pop("MMRA_CONFIG", None)
    return subprocess.run([str(MMRA), *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=300)


def _no_traceback(proc: subprocess.CompletedProcess) -> None:
    assert "Traceback" not in proc.stderr and "MarkupError" not in proc.stderr, proc.stderr


def test_a_path_holding_markup_is_named_literally(tmp_path):
    missing = tmp_path / MARKUP / "samples.jsonl"  # `[/x]` makes a folder level: the path as Path writes it
    proc = mmra("publish", "--samples", str(missing), "--version", "1.0.0", "--to", str(tmp_path / "store"),
                cwd=tmp_path)
    _no_traceback(proc)
    assert proc.returncode == 2
    assert proc.stderr.strip().splitlines() == [f"error: samples file {missing} does not exist"]


def test_a_task_name_holding_markup_is_named_literally_in_the_error(tmp_path):
    path = tmp_path / "mmra.jsonl"
    path.write_text(json.dumps({"Task": MARKUP, "QA_type": "Yes/No", "question": "Same place?", "options": None,
                                "answer": "Yes", "image1": "a.png", "image2": "b.png"}) + "\n")
    proc = mmra("publish", "--samples", str(path), "--version", "1.0.0", "--to", str(tmp_path / "store"),
                cwd=tmp_path)
    _no_traceback(proc)
    assert proc.returncode == 2
    assert f"unknown subtask {MARKUP!r}" in proc.stderr


def test_task_names_holding_markup_are_shown_literally_in_tables(tmp_path):
    """`mmra audit` reads any benchmark: its task names are data, printed in the report tables."""
    rows = [{"id": f"q{i}", "task": MARKUP if i % 2 else "plain", "question": f"Which one, {i}?",
             "options": [f"choice {j} of {i}" for j in range(4)], "answer": "ABCD"[(i * 7) % 4]} for i in range(40)]
    bench = tmp_path / "bench.jsonl"
    bench.write_text("".join(json.dumps(r) + "\n" for r in rows))
    proc = mmra("audit", str(bench), "--out", str(tmp_path / "audit"), "--embedder", "none", cwd=tmp_path)
    _no_traceback(proc)
    assert proc.returncode == 0, proc.stderr
    table_rows = [line for line in proc.stdout.splitlines() if line.startswith("│ ")]
    assert any(line.startswith(f"│ {MARKUP} ") for line in table_rows), proc.stdout


def test_the_toolkits_own_config_names_are_shown_in_messages(tmp_path):
    """The refusal of plain http names `[llm].allow_insecure_http`; it used to print as `.allow_insecure_http`."""
    samples = write_jsonl(tmp_path / "samples.jsonl", make_sample_records(tmp_path, 4))
    proc = mmra("leakage", "--samples", str(samples), "--out", str(tmp_path / "out"),
                "--model", "remote@http://example.invalid/v1", "--embedder", "none", cwd=tmp_path)
    _no_traceback(proc)
    assert proc.returncode == 1
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and "(or set [llm].allow_insecure_http)" in lines[0], proc.stderr


def test_help_shows_config_sections_and_placeholders_literally(tmp_path):
    leakage = mmra("leakage", "--help", cwd=tmp_path)
    assert leakage.returncode == 0
    text = " ".join(leakage.stdout.split())
    assert "(default [llm].timeout_s)" in text and "NAME@BASE_URL[#ENVVAR]" in text
    evaluate = " ".join(mmra("eval", "--help", cwd=tmp_path).stdout.split())
    assert "Hub repo REPO[@REV]" in evaluate and "[paths].image_roots" in evaluate
    serve = " ".join(mmra("annotate", "serve", "--help", cwd=tmp_path).stdout.split())
    assert "[label_studio].port" in serve
