"""`mmra diff`, `mmra releases` and the changelog, on releases with known changes."""

from __future__ import annotations

import json

from typer.testing import CliRunner

from mmra.benchmark.records import write_jsonl
from mmra.benchmark.release import ReleaseStore
from mmra.cli import app

from .conftest import make_sample_records


def test_diff_and_changelog_report_the_known_changes(tmp_path, samples_file):
    path, samples = samples_file(22)
    store = tmp_path / "store"
    runner = CliRunner()
    r1 = runner.invoke(app, ["publish", "--samples", str(path), "--version", "1.0.0", "--to", str(store),
                             "--name", "bench", "--cards-dir", str(tmp_path / "cards"), "--keep-option-order"])
    assert r1.exit_code == 0, r1.output

    removed = [samples[2], samples[13]]
    question_changed = samples[5].model_copy(update={"question": "What do both images show, rewritten?"})
    answer_changed = samples[16].model_copy(update={"answer": "Yes" if samples[16].answer == "No" else "No"}) \
        if not samples[16].options else samples[16].model_copy(update={"answer": "A" if samples[16].answer != "A" else "B"})
    meta_changed = samples[7].model_copy(update={"annotation": samples[7].annotation.model_copy(update={"agreement": 0.25})})
    added = make_sample_records(tmp_path, 3, seed=9, start=100)
    replaced = {5: question_changed, 16: answer_changed, 7: meta_changed}
    v2 = [replaced.get(i, s) for i, s in enumerate(samples) if s not in removed] + added
    path2 = write_jsonl(tmp_path / "v2.jsonl", v2)
    r2 = runner.invoke(app, ["publish", "--samples", str(path2), "--version", "1.1.0", "--to", str(store),
                             "--name", "bench", "--cards-dir", str(tmp_path / "cards"), "--keep-option-order"])
    assert r2.exit_code == 0, r2.output

    out = runner.invoke(app, ["diff", f"{store / 'bench'}@1.0.0", f"{store / 'bench'}@1.1.0", "--json"])
    assert out.exit_code == 0, out.output
    d = json.loads(out.stdout)
    got_added = {sid for t in d["subtasks"].values() for sid in t["added"]}
    got_removed = {sid for t in d["subtasks"].values() for sid in t["removed"]}
    got_changed = {sid: f for t in d["subtasks"].values() for sid, f in t["changed"].items()}
    assert got_added == {s.id for s in added}
    assert got_removed == {s.id for s in removed}
    assert got_changed == {question_changed.id: ["question"], answer_changed.id: ["answer"]}
    assert [sid for t in d["subtasks"].values() for sid in t["metadata_changed"]] == [meta_changed.id]
    assert d["totals"] == {"added": 3, "removed": 2, "changed": 2, "metadata_changed": 1, "unchanged": 17}
    # per subtask: each id counts under its subtask
    assert d["subtasks"][removed[0].subtask]["removed"] == sorted(s.id for s in removed)  # both are MentalitySimilarity
    assert question_changed.id in d["subtasks"][question_changed.subtask]["changed"]

    table = runner.invoke(app, ["diff", f"{store / 'bench'}@1.0.0", str(store / "bench" / "1.1.0")])
    assert table.exit_code == 0 and "total" in table.stdout and f"changed {question_changed.id}: question" in table.stdout

    card = (tmp_path / "cards" / "bench" / "1.1.0" / "README.md").read_text()
    assert "Against **1.0.0**: 3 added, 2 removed, 2 changed (same id, other content), 1 with metadata-only" in card
    assert f"- `{answer_changed.id}`: answer" in card
    assert ReleaseStore(store).manifest("bench", "1.1.0")["previous_version"] == "1.0.0"

    listing = runner.invoke(app, ["releases", str(store), "--json"])
    rows = json.loads(listing.stdout)
    assert [(r["version"], r["samples"], r["latest"]) for r in rows] == [("1.0.0", 22, False), ("1.1.0", 23, True)]
    assert "1.1.0 (latest)" in runner.invoke(app, ["releases", str(store)]).stdout


def test_identical_releases_diff_empty(tmp_path, samples_file):
    path, _ = samples_file(5)
    store = tmp_path / "store"
    runner = CliRunner()
    for v in ("1.0.0", "1.0.1"):
        assert runner.invoke(app, ["publish", "--samples", str(path), "--version", v, "--to", str(store),
                                   "--name", "b", "--cards-dir", str(tmp_path / "c")]).exit_code == 0
    d = json.loads(runner.invoke(app, ["diff", f"{store}/b@1.0.0", f"{store}/b@1.0.1", "--json"]).stdout)
    assert d["totals"] == {"added": 0, "removed": 0, "changed": 0, "metadata_changed": 0, "unchanged": 5}
    missing = runner.invoke(app, ["diff", f"{store}/b@1.0.0", f"{store}/b@9.9.9"])
    assert missing.exit_code == 2 and "no version 9.9.9" in missing.output
