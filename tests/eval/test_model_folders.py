"""`mmra tiny-model ARCH --out DIR` writes an ordinary model folder that transformers' `from_pretrained` loads,
and `mmra eval --model DIR` answers exactly as `--model tiny:ARCH` (the folder path goes through the same
loading as any local checkpoint: AutoConfig, the processor without its video part when torchvision is missing,
AutoModelForImageTextToText)."""

from __future__ import annotations

import json
import shutil

import pytest
from typer.testing import CliRunner

from mmra.cli import app
from mmra.eval import evaluate


def _run(*args):
    result = CliRunner().invoke(app, list(map(str, args)))
    return result, " ".join(result.output.split())  # rich wraps long lines


def _responses(run) -> dict[str, str]:
    return {r["id"]: r["response"] for r in map(json.loads, run.predictions.read_text().splitlines())}


@pytest.fixture(scope="module")
def folders(tmp_path_factory):
    root = tmp_path_factory.mktemp("models")
    out = {}
    for arch in ("qwen2-vl", "smolvlm", "idefics3", "llava"):
        result, output = _run("tiny-model", arch, "--out", root / arch)
        assert result.exit_code == 0, result.output
        out[arch] = root / arch
    return out


@pytest.mark.parametrize("arch", ["qwen2-vl", "smolvlm", "idefics3", "llava"])
def test_folder_is_a_normal_checkpoint(folders, arch):
    import transformers

    from mmra.eval.backends.hf import load_processor

    folder = folders[arch]
    for name in ("config.json", "model.safetensors", "generation_config.json", "tokenizer.json",
                 "processor_config.json", "chat_template.jinja"):
        assert (folder / name).is_file(), name
    model = transformers.AutoModelForImageTextToText.from_pretrained(folder)
    assert type(model).__name__.endswith("ForConditionalGeneration")
    processor = load_processor(str(folder), str(folder))
    assert processor.chat_template and processor.tokenizer.padding_side == "left"
    assert "video_processor" not in type(processor).get_attributes() or transformers.utils.is_torchvision_available()


@pytest.mark.parametrize("arch", ["qwen2-vl", "smolvlm", "idefics3", "llava"])
def test_folder_predictions_equal_the_tiny_id(folders, arch, release_dir, tmp_path):
    by_id = evaluate(release_dir, model=f"tiny:{arch}", out=tmp_path / "id", batch_size=4, show_progress=False)
    by_folder = evaluate(release_dir, model=str(folders[arch]), out=tmp_path / "dir", batch_size=4,
                         show_progress=False)
    ours, theirs = _responses(by_id), _responses(by_folder)
    assert len(ours) == 12 and ours == theirs
    assert len(set(ours.values())) > 1  # real, varied generations (random weights), not one constant answer


def test_folder_through_the_cli(folders, release_dir, tmp_path):
    result, output = _run("eval", "--dataset", release_dir, "--model", folders["qwen2-vl"], "--out", tmp_path / "run",
                          "--limit", "3")
    assert result.exit_code == 0, result.output
    assert len((tmp_path / "run" / "predictions.jsonl").read_text().splitlines()) == 3


def test_broken_folder_gives_the_whole_cause_on_one_line(folders, release_dir, tmp_path):
    broken = tmp_path / "broken"
    shutil.copytree(folders["qwen2-vl"], broken)
    (broken / "processor_config.json").write_text('{"image_processor": {"image_processor_type": ', encoding="utf-8")
    result, output = _run("eval", "--dataset", release_dir, "--model", broken, "--out", tmp_path / "run")
    assert result.exit_code == 1, result.output
    assert "Traceback" not in result.output
    message = output[output.index(f"model '{broken}': cannot load its processor:"):]
    assert "processor_config.json" in message or "JSON" in message, message  # the cause, named in full
    assert "not a local model folder" not in message  # the folder exists: the cause is inside it


def test_tiny_model_bad_inputs(tmp_path):
    result, output = _run("tiny-model", "llama9", "--out", tmp_path / "x")
    assert result.exit_code == 1 and "unknown tiny architecture 'llama9'" in output
    (tmp_path / "busy").mkdir()
    (tmp_path / "busy" / "notes.txt").write_text("mine")
    result, output = _run("tiny-model", "qwen2-vl", "--out", tmp_path / "busy")
    assert result.exit_code == 1 and "folder is not empty and holds no model" in output
    assert "Traceback" not in result.output
