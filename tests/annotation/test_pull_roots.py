"""Against the real Label Studio, through the real command line: `annotate pull` records beside its samples the
folders push allowed the images from (`image_roots.json`, read by `benchmark/images.py: recorded_roots`), so
publish of the pulled file, from any folder, needs no --image-root, and an image outside those folders is still
refused."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from PIL import Image
from typer.testing import CliRunner

from mmra.annotation import QAContent, annotate
from mmra.benchmark.images import allowed_roots
from mmra.benchmark.records import write_jsonl
from mmra.cli import app

from .conftest import LS_VENV, TEST_CREDS

pytestmark = pytest.mark.labelstudio

MC = "multiple_choice"


@pytest.fixture()
def config_file(ls_server, tmp_path_factory, monkeypatch) -> str:
    """A config for the session's server with no [paths].image_roots (kept apart from the corpus folder)."""
    monkeypatch.setenv("LABEL_STUDIO_API_KEY", TEST_CREDS.token)
    monkeypatch.setenv("LABEL_STUDIO_PASSWORD", TEST_CREDS.password)
    path = tmp_path_factory.mktemp("config") / "mmra.toml"
    path.write_text(f"[label_studio]\ndata_dir = \"{ls_server.cfg.data_dir}\"\nvenv = \"{LS_VENV}\"\n"
                    f"username = \"{TEST_CREDS.username}\"\n")
    return str(path)


def _cli(config_file: str, *args: str):
    result = CliRunner().invoke(app, ["--config", config_file, *args])
    return result, " ".join(result.output.split())


def _publish(config_file: str, samples: Path, store: Path):
    return _cli(config_file, "publish", "--samples", str(samples), "--version", "1.0.0", "--to", str(store),
                "--cards-dir", str(store.parent / "cards"), "--name", "pulled", "--keep-option-order",
                "--allow-blind-gap", "--publish-unchecked", "--probe-embedder", "none")


def test_pulled_samples_publish_from_another_folder_and_keep_the_push_roots(
        ls, annotators, config_file, project_name, make_candidate, tmp_path, tmp_path_factory, monkeypatch):
    corpus = tmp_path  # the candidates file and every image: push allows this folder (no roots configured)
    cands = [make_candidate(subtask) for subtask in ("UsageSimilarity", "SimilarMaterial", "Environment")]
    candidates = write_jsonl(corpus / "candidates.jsonl", cands)
    result, text = _cli(config_file, "annotate", "push", "-c", str(candidates), "-p", project_name)
    assert result.exit_code == 0, text

    # annotated as real annotators do: each account posts its own annotation through the API
    for cand in cands:
        content = QAContent(MC, f"Which use do the objects in {cand.id[:6]} share?", ["cutting", "eating", "flying"],
                            "A")
        for account in annotators:
            annotate(account, project_name, cand.id, content)

    pulled = tmp_path_factory.mktemp("pulled") / "samples.jsonl"
    result, text = _cli(config_file, "annotate", "pull", "-p", project_name, "-o", str(pulled),
                        "--min-annotations", "2")
    assert result.exit_code == 0 and "3 samples" in text, text
    entry = json.loads((pulled.parent / "image_roots.json").read_text(encoding="utf-8"))["files"]["samples.jsonl"]
    assert entry["written_by"] == "mmra annotate pull" and project_name in entry["input"]
    # the folder push allowed (other pushes on the session's server recorded other folders: not these images')
    assert str(corpus.resolve()) in entry["image_roots"]
    assert all(corpus.resolve().is_relative_to(root) for root in entry["image_roots"])
    assert allowed_roots(pulled) == tuple(Path(r) for r in entry["image_roots"])

    elsewhere = tmp_path_factory.mktemp("elsewhere")
    monkeypatch.chdir(elsewhere)
    result, text = _publish(config_file, pulled, elsewhere / "store")
    assert result.exit_code == 0, text
    assert (elsewhere / "store" / "pulled" / "1.0.0" / "manifest.json").is_file()

    # an image beside the pulled file (not a folder push allowed) is refused, with no flag given
    stray = pulled.parent / "stray.png"
    Image.new("RGB", (90, 90), (3, 2, 1)).save(stray)
    rows = [json.loads(line) for line in pulled.read_text(encoding="utf-8").splitlines()]
    rows[0]["image2"] = {**rows[0]["image2"], "path": str(stray), "sha256": None}
    write_jsonl(pulled, rows)
    result, text = _publish(config_file, pulled, elsewhere / "store2")
    assert result.exit_code == 2, text
    assert f"(id {rows[0]['id']}): image2 '{stray}' lies outside the allowed image folders" in text
    assert "Traceback" not in result.output and not (elsewhere / "store2").exists()
