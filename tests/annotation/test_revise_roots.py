"""Against the real Label Studio, through the real command line: `annotate revise` keeps to the configured
image folders (it does not add the flagged file's folder) and says a refused sample was refused; a NaN in a
candidate's box is one line naming the line and field, and the other candidates are pushed."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from mmra.annotation import push
from mmra.annotation.project import Project
from mmra.benchmark.images import resolve_roots
from mmra.benchmark.records import write_jsonl
from mmra.benchmark.schema import ImageRef, LeakageVerdict, Sample
from mmra.cli import app

from .conftest import LS_VENV, TEST_CREDS

pytestmark = pytest.mark.labelstudio


@pytest.fixture()
def config(ls_server, tmp_path, monkeypatch):
    """A config for the session's server; returns a writer taking the [paths] lines."""
    monkeypatch.setenv("LABEL_STUDIO_API_KEY", TEST_CREDS.token)
    monkeypatch.setenv("LABEL_STUDIO_PASSWORD", TEST_CREDS.password)

    def _write(paths: str = "") -> str:
        path = tmp_path / "mmra.toml"
        path.write_text(f"[paths]\n{paths}\n[label_studio]\ndata_dir = \"{ls_server.cfg.data_dir}\"\n"
                        f"venv = \"{LS_VENV}\"\nusername = \"{TEST_CREDS.username}\"\n")
        return str(path)

    return _write


def _run(config_file: str, *args: str):
    result = CliRunner().invoke(app, ["--config", config_file, "annotate", *args])
    return result, " ".join(result.output.split())


def test_revise_with_image_roots_set_does_not_admit_the_flagged_files_folder(
        ls, config, project_name, make_candidate, make_image, tmp_path, tmp_path_factory):
    corpus = make_image("anchor.png").parent  # every candidate image lies here
    good = make_candidate()
    push(ls, [good], project_name, base_dir=corpus, roots=resolve_roots([corpus]), show_progress=False)

    elsewhere = tmp_path_factory.mktemp("flagged-folder")  # where the leakage filter wrote its output
    from PIL import Image

    beside = elsewhere / "beside.png"
    Image.new("RGB", (90, 90), (9, 9, 9)).save(beside)
    verdict = LeakageVerdict(leaked=True, hits=2, models=["m"], answers={"m": ["A", "A"]})
    base = dict(subtask=good.subtask, qa_type="yes_no", answer="Yes", leakage=verdict, candidate_id=good.id)
    clean = Sample(image1=good.image1, image2=good.image2, question="Do both show a tool?", **base)
    evil = Sample(image1=good.image1, image2=ImageRef(path=str(beside)), question="Do both show a knife?", **base)
    flagged = write_jsonl(elsewhere / "flagged.jsonl", [clean, evil])

    result, text = _run(config(f'image_roots = ["{corpus}"]'), "revise", "-f", str(flagged), "-p", project_name)
    assert result.exit_code == 1, text
    assert f"refused {evil.id}: image {str(beside)!r} lies outside the allowed image folders" in text
    allowed = text.split("allowed: ", 1)[1].split(" 1 revision", 1)[0]
    assert str(elsewhere.resolve()) not in allowed and str(corpus.resolve()) in allowed
    assert "1 revision tasks" in text
    assert "1 flagged sample(s) refused" in text and "none of the samples" not in text  # the right cause
    assert "Traceback" not in result.output

    project = Project.open(ls, project_name)
    try:
        revisions = [ext for ext in project.tasks_by_external_id() if ext.startswith("rev-")]
    finally:
        project.close()
    assert revisions == [f"rev-{clean.id}-r1"]  # the evil one was never sent

    # every flagged sample refused: the cause is the refusal, not "nothing flagged"
    alone = write_jsonl(elsewhere / "alone.jsonl", [evil])
    result, text = _run(config(f'image_roots = ["{corpus}"]'), "revise", "-f", str(alone), "-p", project_name)
    assert result.exit_code == 1 and "1 flagged sample(s) refused" in text and "none of the samples" not in text


def test_nan_in_a_candidate_box_is_one_line_naming_the_item_and_the_rest_is_pushed(
        ls, config, project_name, make_candidate, tmp_path):
    cands = [make_candidate(), make_candidate()]
    good_lines = [c.model_dump_json(by_alias=True) for c in cands]
    bad = json.loads(make_candidate().model_dump_json(by_alias=True))
    bad["evidence"]["boxes"] = [{"label": "knife", "bbox": [1.0, 2.0, 30.0, 40.0], "image": 1}]
    bad_line = json.dumps(bad).replace("30.0", "NaN")
    path = tmp_path / "candidates.jsonl"
    path.write_text("\n".join([good_lines[0], bad_line, good_lines[1]]) + "\n")
    expected = ("candidates.jsonl:2: not valid JSON: evidence.boxes.0.bbox.2: NaN is not a JSON number (NaN and "
                "Infinity are refused; a number must be finite)")
    for new, unchanged in ((2, 0), (0, 2)):  # the item is named on every run; the others are pushed once
        result, text = _run(config(), "push", "-c", str(path), "-p", project_name)
        assert result.exit_code == 1, text
        assert text.count(expected) == 1 and "Traceback" not in result.output
        assert f"{new} new" in text and f"{unchanged} unchanged" in text and "1 skipped" in text


def test_overlong_project_name_is_one_line(config, make_candidate, tmp_path):
    path = write_jsonl(tmp_path / "candidates.jsonl", [make_candidate()])
    result, text = _run(config(), "push", "-c", str(path), "-p", "p" * 300)
    assert result.exit_code == 2 and isinstance(result.exception, SystemExit), text
    assert "is 300 characters; Label Studio allows 50" in text
    assert len(result.output.strip().splitlines()) == 1 and "p" * 300 not in text, result.output
