"""`mmra demo` end to end, for real (Label Studio + the local LLM server), at a small size: every artefact the
summary names exists, flagged samples went through a revision round and the release gate, and a second run
reuses everything (no new annotations, the release is unchanged)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from mmra.benchmark.records import read_jsonl
from mmra.benchmark.schema import Candidate, Sample
from mmra.demo.run import DemoOptions, run_demo
from mmra.procs import free_port

pytestmark = [pytest.mark.slow, pytest.mark.labelstudio, pytest.mark.llm]


def test_demo_runs_every_stage_and_reruns(tmp_path):
    # one fixed port for both runs: the task links stored in the samples include it
    opts = DemoOptions(workspace=tmp_path / "demo", per_subtask=2, llm="smollm2-135m", port=free_port())
    first = run_demo(opts)
    ws = first.ws
    named = [Path(p) for rec in first.steps for value in rec.artefacts.values() for p in value.split(", ")]
    assert len(named) >= 15
    missing = [str(p) for p in named if not p.exists()]
    assert not missing, f"artefacts named in the summary but missing: {missing}"

    candidates = read_jsonl(ws / "curation" / "candidates.jsonl", Candidate)
    assert len({c.subtask for c in candidates}) == 11
    samples = read_jsonl(ws / "annotation" / "samples.jsonl", Sample)
    assert samples and all(len(s.annotation.annotators) >= 2 for s in samples)
    export = json.loads((ws / "annotation" / "label-studio-export.json").read_text())
    emails = {a["completed_by"]["email"] for t in export for a in t["annotations"]}
    assert {"annotator1@mmra.demo", "annotator2@mmra.demo"} <= emails
    verdicts = [json.loads(line) for line in (ws / "leakage" / "verdicts.jsonl").read_text().splitlines()]
    assert len(verdicts) == len(samples)
    # the full panel: the LLM's rotations and the exact QO prompt, plus the model-free probes
    report = json.loads((ws / "leakage" / "report.json").read_text())
    assert set(report["totals"]["probes"]) >= {"answer_prior", "learned"}
    assert {"circular", "eval-default"} <= set(next(iter(report["totals"]["models"].values()))["probes"])
    flagged = [v for v in verdicts if v["leaked"]]
    final = samples
    if flagged:  # flagged samples went back to Label Studio, were rewritten (scripted) and re-checked
        rewrites = [json.loads(line) for line in (ws / "revision" / "scripted-revisions.jsonl").read_text().splitlines()]
        assert {v["id"] for v in flagged} <= {r["sample_id"] for r in rewrites} and all(r["scripted"] for r in rewrites)
        assert all(r["after"]["question"] != r["before"]["question"] or r["after"]["verdict"] == "reject"
                   for r in rewrites)
        final = read_jsonl(ws / "revision" / "samples.jsonl", Sample)
        revised = [s for s in final if s.annotation.history]
        assert revised or all(r["after"]["verdict"] == "reject" for r in rewrites)
        assert (ws / "leakage-recheck" / "verdicts.jsonl").exists()
    manifest = json.loads((ws / "releases" / "mmra-demo" / "0.1.0" / "manifest.json").read_text())
    assert manifest["version"] == "0.1.0"
    validity = manifest["validity"]
    assert validity["gate"]["offending"] == [] and validity["gate"]["status"] == "passed"  # not overridden
    assert validity["balanced"]
    scores = json.loads((ws / "eval" / "0.1.0" / "scores" / "scores.json").read_text())
    assert {r["setting"] for r in scores["runs"]} == {"QO", "DQ"}
    summary = json.loads((ws / "summary.json").read_text())
    assert [s["name"][:8] for s in summary["steps"]][0] == "Generate"
    assert summary["blind"]["before"] and summary["blind"]["after"]

    second = run_demo(opts)  # the re-run: same workspace, same options
    notes = " ".join(n for rec in second.steps for n in rec.notes)
    assert "0 scripted annotations submitted" in notes
    assert "status unchanged" in notes
    assert not any(rec.name.startswith("Revise") for rec in second.steps)  # every flagged sample was revised once
    assert read_jsonl(ws / "annotation" / "samples.jsonl", Sample) == final
