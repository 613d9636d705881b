"""`mmra eval` / `mmra score` on bad inputs: a clear line naming the item and the cause, no traceback,
and no empty run folder left behind."""

from __future__ import annotations

import json

from typer.testing import CliRunner

from mmra.cli import app


def _run(*args):
    result = CliRunner().invoke(app, list(map(str, args)))
    return result, " ".join(result.output.split())  # rich wraps long lines


def test_jsonl_dataset_without_image_fields_is_refused(tmp_path):
    rows = [{"Task": "SubEvent", "QA_type": "True or false QA", "question": f"Q{i}?", "answer": "Yes"}
            for i in range(2)]
    dataset = tmp_path / "mmra.jsonl"
    dataset.write_text("".join(json.dumps(r) + "\n" for r in rows))
    result, output = _run("eval", "--dataset", dataset, "--model", "tiny:qwen2-vl", "--out", tmp_path / "run")
    assert result.exit_code == 1, result.output
    assert f"dataset {dataset}: no row has an image1 or image2 field" in output
    assert "Traceback" not in result.output
    assert not (tmp_path / "run").exists()


def test_unknown_model_or_backend_leaves_no_run_folder(tmp_path, release_dir):
    for extra, expected in ((["--model", "tiny:nosuch"], "unknown synthetic model 'tiny:nosuch'"),
                            (["--model", tmp_path / "nomodel"], f"model '{tmp_path / 'nomodel'}': no such folder"),
                            (["--model", "tiny:qwen2-vl", "--backend", "foo"], "unknown backend 'foo'")):
        out = tmp_path / "run"
        result, output = _run("eval", "--dataset", release_dir, "--out", out, *extra)
        assert result.exit_code == 1, result.output
        assert expected in output
        assert "Traceback" not in result.output
        assert not out.exists(), extra


def test_score_on_a_folder_names_it(tmp_path):
    result, output = _run("score", tmp_path)
    assert result.exit_code == 2, result.output
    assert f"predictions file {tmp_path} is a folder, not a JSONL file" in output
    assert "Traceback" not in result.output
