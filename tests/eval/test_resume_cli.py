"""Kill + restart gives the same predictions as an uninterrupted run (a real SIGKILL of a real `mmra eval`),
and the CLI end to end."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from typer.testing import CliRunner

from mmra.cli import app
from mmra.eval import evaluate

from .conftest import mmra_rows, write_parquet_release

ARGS = ["--model", "tiny:qwen2-vl", "--batch-size", "2", "--circular", "--swap-images", "--max-new-tokens", "8"]


def _cli(*args: str) -> list[str]:
    return [sys.executable, "-c", "from mmra.cli import main; main()", *args]


def _lines(path: Path) -> int:
    return sum(1 for line in path.read_text(encoding="utf-8").splitlines() if line.strip()) if path.exists() else 0


def _flat(result) -> str:
    return " ".join(result.output.split())  # rich wraps long error lines at the console width


def _responses(path: Path) -> dict:
    return {r["id"]: (r["response"], r["answer"], r["error"]) for r in map(json.loads, path.read_text().splitlines())}


def test_killed_run_resumes_to_identical_results(qwen_backend, tmp_path, capsys):
    release = write_parquet_release(tmp_path / "rel", mmra_rows(24))
    out = tmp_path / "killed"
    pred = out / "predictions.jsonl"
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    proc = subprocess.Popen(_cli("eval", "--dataset", str(release), "--out", str(out), *ARGS), env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, start_new_session=True)
    try:
        deadline = time.monotonic() + 120
        while _lines(pred) < 6 and proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.02)
        assert proc.poll() is None, "the run finished before it could be killed: " + proc.stderr.read().decode()[-2000:]
        os.killpg(proc.pid, signal.SIGKILL)  # our own child's process group only
        proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
    done_at_kill = _lines(pred)
    with pred.open("a", encoding="utf-8") as fh:  # what a kill in the middle of a write leaves behind
        fh.write('{"id": "s0')
    # the restart with the same arguments (in-process: same code path as the CLI, without a second start-up)
    capsys.readouterr()
    evaluate(release, model="tiny:qwen2-vl", backend=qwen_backend, out=out, batch_size=2, circular=True,
             swap_images=True, max_new_tokens=8, show_progress=False)
    stderr = " ".join(capsys.readouterr().err.split())
    assert f"resume: {done_at_kill} of" in stderr and "dropped 1 torn line" in stderr

    reference = evaluate(release, model="tiny:qwen2-vl", backend=qwen_backend, out=tmp_path / "straight",
                         batch_size=2, circular=True, swap_images=True, max_new_tokens=8, show_progress=False)
    resumed, straight = _responses(pred), _responses(reference.predictions)
    assert 6 <= done_at_kill < len(straight)
    assert resumed == straight
    assert _lines(pred) == len(straight)  # nothing asked twice
    scores = json.loads((out / "scores.json").read_text())
    assert scores["overall"] == reference.scores["overall"]
    assert scores["subtasks"] == json.loads(json.dumps(reference.scores["subtasks"]))


def test_cli_eval_writes_predictions_table_and_plot(tmp_path):
    release = write_parquet_release(tmp_path / "rel", mmra_rows(6))
    res = CliRunner().invoke(app, ["eval", "--dataset", str(release), "--model", "tiny:smolvlm", "--out",
                                   str(tmp_path / "run"), "--batch-size", "4", "--max-new-tokens", "6"])
    assert res.exit_code == 0, res.output
    assert "Overall" in _flat(res) and "RP" in _flat(res)
    assert _lines(tmp_path / "run" / "predictions.jsonl") == 6
    assert (tmp_path / "run" / "scores.png").stat().st_size > 1000
    assert json.loads((tmp_path / "run" / "scores.json").read_text())["overall"] is not None


def test_cli_describe_then_eval_dq(tmp_path):
    release = write_parquet_release(tmp_path / "rel", mmra_rows(3))
    runner = CliRunner()
    res = runner.invoke(app, ["describe", "--dataset", str(release), "--model", "tiny:smolvlm", "--out",
                              str(tmp_path / "desc.jsonl"), "--max-new-tokens", "8"])
    assert res.exit_code == 0, res.output
    described = [json.loads(x) for x in (tmp_path / "desc.jsonl").read_text().splitlines()]
    assert "described 3 of 3 samples" in _flat(res) and len(described) == 3
    res = runner.invoke(app, ["eval", "--dataset", str(release), "--model", "tiny:smolvlm", "--setting", "DQ",
                              "--descriptions", str(tmp_path / "desc.jsonl"), "--out", str(tmp_path / "dq"),
                              "--max-new-tokens", "4"])
    assert res.exit_code == 0, res.output
    records = [json.loads(x) for x in (tmp_path / "dq" / "predictions.jsonl").read_text().splitlines()]
    assert len(records) == 3 and all("<image>" not in r["prompt"] for r in records)
    assert records[0]["prompt"].startswith("Description of Image 1: ")


def test_cli_bad_inputs_give_one_clear_line(tmp_path):
    import datasets

    runner = CliRunner()
    no_images = tmp_path / "noimg.parquet"
    cols = mmra_rows(2)
    del cols["image1"], cols["image2"]
    datasets.Dataset.from_dict(cols).to_parquet(str(no_images))
    res = runner.invoke(app, ["eval", "--dataset", str(no_images), "--model", "tiny:qwen2-vl", "--out",
                              str(tmp_path / "o1")])
    assert res.exit_code == 1
    assert "no image column(s) image1, image2" in _flat(res) and "Traceback" not in _flat(res)

    release = write_parquet_release(tmp_path / "rel", mmra_rows(2))
    res = runner.invoke(app, ["eval", "--dataset", str(release), "--model", "tiny:llava9000", "--out",
                              str(tmp_path / "o2")])
    assert res.exit_code == 1 and "unknown synthetic model 'tiny:llava9000'" in _flat(res)

    res = runner.invoke(app, ["eval", "--dataset", str(release), "--model", str(tmp_path / "no-such-model"),
                              "--out", str(tmp_path / "o3")])
    assert res.exit_code == 1 and "no-such-model" in _flat(res) and "no such folder" in _flat(res)

    res = runner.invoke(app, ["eval", "--dataset", str(tmp_path / "missing.parquet"), "--model", "tiny:qwen2-vl",
                              "--out", str(tmp_path / "o4")])
    assert res.exit_code == 2 and "no such file or folder" in _flat(res)

    res = runner.invoke(app, ["eval", "--dataset", str(release), "--model", "tiny:qwen2-vl", "--setting", "XQ",
                              "--out", str(tmp_path / "o5")])
    assert res.exit_code == 2 and "unknown setting 'XQ'" in _flat(res)
