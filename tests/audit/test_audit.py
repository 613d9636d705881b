"""`mmra audit` end to end on benchmarks the tests generate in other harnesses' formats: VLMEvalKit TSV (multi-image
lists, 10 options, hints), CSV with custom columns and lowercase yes/no, JSONL with no task column and answers as
option text; planted shortcuts (recall and false flags), a negative control built against blind answering, the
subset written in the input's format and re-read by the same reader, the LLM probes over 10 options."""

from __future__ import annotations

import base64
import csv
import io
import json
import random
import subprocess
import sys
from pathlib import Path

import pytest
from PIL import Image

from mmra.benchmark.audit.formats import open_source
from mmra.benchmark.vocabulary import CHOICE_LETTERS

MMRA = [sys.executable, "-m", "mmra.cli"]
COLOURS = ["red", "blue", "green", "yellow", "white", "black", "brown", "pink", "grey", "orange", "purple", "teal"]
NOUNS = ["cup", "dog", "car", "chair", "kite", "bench", "clock", "vase", "boat", "lamp", "shoe", "bowl"]


def _mmra(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([*MMRA, *args], capture_output=True, text=True, cwd=cwd, timeout=600)


def _png_b64(seed: int) -> str:
    buf = io.BytesIO()
    Image.new("RGB", (64, 64), (seed * 37 % 256, seed * 91 % 256, 90)).save(buf, format="PNG")
    return base64.b64encode(buf.getvalue()).decode()


def _verdicts(out: Path) -> dict[str, dict]:
    return {v["id"]: v for v in map(json.loads, (out / "verdicts.jsonl").read_text().splitlines())}


def _write_tsv(path: Path, rows: list[dict]) -> None:
    cols = list(dict.fromkeys(k for r in rows for k in r))
    with path.open("w", newline="", encoding="utf-8") as fh:
        w = csv.DictWriter(fh, fieldnames=cols, delimiter="\t")
        w.writeheader()
        for r in rows:
            w.writerow({c: r.get(c, "") for c in cols})


def vlmevalkit_rows(n: int = 160, seed: int = 0) -> list[dict]:
    """Two categories: 'planted' (the gold option is the only long one) and 'clean' (random), 10 options on
    every third row, 2-image lists on every other row."""
    rng = random.Random(seed)
    rows = []
    for i in range(n):
        k = 10 if i % 3 == 0 else 4
        opts = rng.sample(COLOURS, k)
        gold = rng.randrange(k)
        planted = i % 2 == 0
        if planted:
            opts[gold] = f"{opts[gold]} with a thin stripe along its edge"
        image = _png_b64(i) if i % 2 else str([_png_b64(i), _png_b64(i + 1)])
        row = {"index": 1000 + i, "image": image, "question": f"What colour is the {rng.choice(NOUNS)}?",
               "hint": "Look at both images." if i % 5 == 0 else "", "answer": CHOICE_LETTERS[gold],
               "category": "planted" if planted else "clean", "l2-category": "colour", "split": "dev"}
        row.update({CHOICE_LETTERS[j]: opts[j] for j in range(k)})
        rows.append(row)
    return rows


def test_vlmevalkit_tsv_flags_the_planted_category_and_writes_a_tsv_subset(tmp_path):
    src = tmp_path / "MyBench.tsv"
    rows = vlmevalkit_rows()
    _write_tsv(src, rows)
    out = tmp_path / "audit"
    r = _mmra("audit", str(src), "--out", str(out), "--embedder", "none", "--prune-to-chance", "5")
    assert r.returncode == 0, r.stderr
    report = json.loads((out / "report.json").read_text())
    assert set(report["subtasks"]) == {"planted", "clean"}  # the benchmark's own task names
    assert report["audit"]["format"] == "tsv" and report["audit"]["columns"]["id"] == "index"
    verdicts = _verdicts(out)
    assert set(verdicts) == {str(r["index"]) for r in rows}  # ids are VLMEvalKit's own index
    planted = [v for v in verdicts.values() if v["subtask"] == "planted"]
    clean = [v for v in verdicts.values() if v["subtask"] == "clean"]
    recall = sum(v["leaked"] for v in planted) / len(planted)
    false_flags = sum(v["leaked"] and "learned" in v["flagged_by"] for v in clean) / len(clean)
    assert recall >= 0.9, recall
    assert false_flags <= 0.05, false_flags
    assert report["subtasks"]["planted"]["probes"]["learned"]["p_value"] < 1e-6
    # chance is per item from its own option count (10 options on every third row)
    assert report["subtasks"]["planted"]["chance"] < 0.25
    # the subset: VLMEvalKit TSV again, same columns, rows removed, values untouched, re-read by the same reader
    subset = out / "blind_proof.tsv"
    assert subset.is_file()
    original = src.read_text(encoding="utf-8").splitlines()
    kept_lines = subset.read_text(encoding="utf-8").splitlines()
    assert kept_lines[0] == original[0] and set(kept_lines[1:]) <= set(original[1:])
    reread = open_source(subset)
    kept_ids = [row.values["index"] for row in reread.rows(["index"])]
    assert len(kept_ids) == report["audit"]["subset"]["kept"] == len(kept_lines) - 1
    assert all(not verdicts[str(i)]["leaked"] for i in kept_ids)
    tasks = report["audit"]["subset"]["tasks"]
    for name, t in tasks.items():
        assert t["after"].get("learned") is None or t["after"]["learned"] <= t["chance_after"] + 0.05 + 1e-9, (name, t)
    md = (out / "report.md").read_text()
    assert "## The most text-answerable items" in md and "the answer is the longest option" in md
    assert "## The blind-proof subset" in md
    # a re-audit of the subset finds nothing significant left
    r2 = _mmra("audit", str(subset), "--out", str(tmp_path / "again"), "--embedder", "none")
    assert r2.returncode == 0, r2.stderr
    again = json.loads((tmp_path / "again" / "report.json").read_text())
    assert again["totals"]["probes"]["learned"]["p_value"] > 0.05


def test_csv_custom_columns_lowercase_yes_no_and_a_cue_word(tmp_path):
    rng = random.Random(1)
    src = tmp_path / "yn.csv"
    with src.open("w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["item", "prompt_text", "gt", "family"])
        for i in range(200):
            noun = rng.choice(NOUNS)
            if i % 2:  # planted: "not" questions are always "no"
                ans = rng.choice(["yes", "no"])
                q = f"Is the {noun} not {rng.choice(COLOURS)}?" if ans == "no" else f"Is the {noun} {rng.choice(COLOURS)}?"
                fam = "cued"
            else:
                ans = rng.choice(["Yes", "NO", "True", "false"])
                q = f"Is there a {noun} left of the {rng.choice(NOUNS)}?"
                fam = "fair"
            w.writerow([f"r{i}", q, ans, fam])
    out = tmp_path / "out"
    r = _mmra("audit", str(src), "--out", str(out), "--embedder", "none", "--question-column", "prompt_text",
              "--answer-column", "gt", "--task-column", "family", "--id-column", "item")
    assert r.returncode == 0, r.stderr
    report = json.loads((out / "report.json").read_text())
    assert report["subtasks"]["cued"]["yes_no"] == 100
    assert report["subtasks"]["cued"]["probes"]["learned"]["p_value"] < 0.001
    assert report["subtasks"]["fair"]["probes"]["learned"]["p_value"] > 0.05
    assert "cue word 'not'" in (out / "report.md").read_text()


def test_jsonl_without_task_column_answer_as_text_and_a_bad_answer_left_out(tmp_path):
    src = tmp_path / "scienceish.jsonl"
    rng = random.Random(2)
    lines = []
    for i in range(60):
        opts = rng.sample(NOUNS, 3)
        lines.append({"question": f"Which object is item {i}?", "choices": opts, "answer": opts[i % 3]})
    lines[7]["answer"] = "a spaceship"  # not one of its options: one line, left out
    src.write_text("".join(json.dumps(x) + "\n" for x in lines))
    out = tmp_path / "out"
    r = _mmra("audit", str(src), "--out", str(out), "--embedder", "none", "--prune-to-chance", "5")
    assert r.returncode == 0, r.stderr
    assert "line 8" in r.stderr and "'a spaceship' is not one of its 3 options" in r.stderr
    assert "Traceback" not in r.stderr
    report = json.loads((out / "report.json").read_text())
    assert list(report["subtasks"]) == ["scienceish"]  # no task column: the whole file is one task
    verdicts = _verdicts(out)
    assert len(verdicts) == 59 and "7" not in verdicts and verdicts["0"]["gold"] == "A"  # ids are row numbers
    assert report["audit"]["rows_left_out"] == 1
    subset = out / "blind_proof.jsonl"
    kept = subset.read_text().splitlines()
    assert json.dumps(lines[7]) not in kept  # an item that could not be audited is not in the subset
    assert set(kept) <= {json.dumps(x) for x in lines}


def test_a_file_without_a_question_column_is_one_line_naming_the_columns_and_flags(tmp_path):
    src = tmp_path / "bad.csv"
    src.write_text("id,text_of_it,label\n1,What?,A\n")
    r = _mmra("audit", str(src), "--out", str(tmp_path / "out"))
    assert r.returncode != 0
    err = " ".join(r.stderr.split())
    assert "no question column found" in err and "'text_of_it'" in err and "--question-column" in err
    assert "Traceback" not in r.stderr and not (tmp_path / "out" / "report.json").exists()


def test_negative_control_built_against_blind_answering_is_not_flagged(tmp_path):
    """NaturalBench-style: every question is asked about two images with opposite answers (yes/no), and every
    multiple-choice question twice with its options the same and the gold different. Text alone cannot beat
    chance, so the audit must raise no alarm."""
    rng = random.Random(3)
    rows = []
    for i in range(120):
        q = f"Is the {rng.choice(NOUNS)} to the {rng.choice(['left', 'right'])} of the {rng.choice(NOUNS)}?"
        rows.append({"question": q, "answer": "Yes", "task": "paired_yes_no", "image_path": f"img/{i}a.jpg"})
        rows.append({"question": q, "answer": "No", "task": "paired_yes_no", "image_path": f"img/{i}b.jpg"})
    for _ in range(120):
        opts = rng.sample(COLOURS, 4)
        g1, g2 = rng.sample(range(4), 2)
        q = f"What colour is the {rng.choice(NOUNS)} in the picture?"
        for g in (g1, g2):
            rows.append({"question": q, "options": json.dumps(opts), "answer": "ABCD"[g], "task": "paired_choice"})
    src = tmp_path / "control.json"
    src.write_text(json.dumps(rows, indent=1))
    out = tmp_path / "out"
    r = _mmra("audit", str(src), "--out", str(out), "--embedder", "none")
    assert r.returncode == 0, r.stderr
    report = json.loads((out / "report.json").read_text())
    for name, row in report["subtasks"].items():
        for probe, st in row["probes"].items():
            assert st["p_value"] > 0.05, (name, probe, st)
    assert report["totals"]["flagged"] <= 0.02 * report["totals"]["n"]


def test_llm_probes_rotate_up_to_ten_options(tmp_path):
    """A real OpenAI-compatible server on loopback that knows the answers to half the items: those are hit under
    every rotation and flagged; the rest are not; every 10-option item is asked 10 times."""
    from tests.llm.faultserver import FaultPlan, FaultServer

    rng = random.Random(4)
    rows, knowledge = [], {}
    for i in range(40):
        opts = rng.sample(COLOURS, 10)
        q = f"Question number {i:03d}: which colour?"
        rows.append({"id": f"x{i}", "question": q, **{CHOICE_LETTERS[j]: o for j, o in enumerate(opts)},
                     "answer": CHOICE_LETTERS[i % 10], "category": "ten"})
        if i % 2 == 0:
            knowledge[f"number {i:03d}"] = opts[i % 10]
    src = tmp_path / "ten.tsv"
    _write_tsv(src, rows)
    with FaultServer(FaultPlan(policy="knower", knowledge=knowledge), models=["m"]) as server:
        out = tmp_path / "out"
        r = _mmra("audit", str(src), "--out", str(out), "--embedder", "none", "--model", f"m@{server.base_url}",
                  "--probe", "circular", "--no-cache")
        assert r.returncode == 0, r.stderr
    verdicts = _verdicts(out)
    assert all(verdicts[f"x{i}"]["leaked"] == (i % 2 == 0) for i in range(40))
    assert all("llm" in verdicts[f"x{i}"]["flagged_by"] for i in range(0, 40, 2))
    known = verdicts["x0"]["models"]["m"]  # every one of its 10 rotations asked and right
    assert known["kinds"]["circular"]["probes"] == 10 and len(known["probes"]) == 10
    model = verdicts["x1"]["models"]["m"]  # rotations stop at its first wrong answer; all 10 are recorded
    circular = model["kinds"]["circular"]
    assert circular["probes"] < 10 and circular["probes"] + circular["not_asked"] == 10 and len(model["probes"]) == 10
    report = json.loads((out / "report.json").read_text())
    stats = report["models"]["m"]
    assert stats["requests"] + stats["not_asked"] == 400 and 200 < stats["requests"] < 400


@pytest.mark.parametrize("spelling", ["Yes", "yes", "TRUE", "false", "No", "no"])
def test_yes_no_in_any_spelling(spelling):
    from mmra.benchmark.audit.columns import ColumnFlags, item_from_row, map_columns

    cmap = map_columns(["question", "answer"], ColumnFlags(), "f")
    item = item_from_row(0, "f row 0", {"question": "Is it?", "answer": spelling}, cmap, "t")
    assert item.answer == ("Yes" if spelling.casefold() in ("yes", "true") else "No")


@pytest.mark.parametrize(("answer", "letter"), [("C", "C"), ("(b)", "B"), ("D.", "D"), ("green", "B"), (2, "C"),
                                                ("0", "A"), (["blue"], "A")])
def test_answer_as_letter_text_or_index(answer, letter):
    from mmra.benchmark.audit.columns import ColumnFlags, item_from_row, map_columns

    cmap = map_columns(["question", "options", "answer"], ColumnFlags(), "f")
    row = {"question": "Which?", "options": "['blue', 'green', 'red', 'pink']", "answer": answer}
    assert item_from_row(0, "f row 0", row, cmap, "t").answer == letter


def test_option_column_families_are_detected():
    from mmra.benchmark.audit.columns import ColumnFlags, map_columns

    assert map_columns(["question", "choice_a", "choice_b", "choice_c", "answer"], ColumnFlags(), "f").option_columns \
        == ("choice_a", "choice_b", "choice_c")
    assert map_columns(["Question", "A", "B", "C", "D", "E", "answer", "image"], ColumnFlags(), "f").option_columns \
        == ("A", "B", "C", "D", "E")
    assert map_columns(["question", "option1", "option2", "option10", "answer"], ColumnFlags(), "f").option_columns \
        == ("option1", "option2", "option10")


def test_mmra_samples_and_a_release_are_audited_as_before(tmp_path):
    """MMRA's own data: Samples JSONL and a published release (its default config; the subset is a folder of the
    same parquet layout). Registered subtasks keep their level."""
    from mmra.benchmark.records import write_jsonl
    from tests.release.conftest import make_sample_records

    samples = make_sample_records(tmp_path, 44, flag_every=0)
    write_jsonl(tmp_path / "samples.jsonl", samples)
    r = _mmra("publish", "--samples", "samples.jsonl", "--name", "rel", "--version", "0.1.0", "--to", "store",
              "--allow-blind-gap", "--probe-embedder", "none", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    for source, subset in (("samples.jsonl", "blind_proof.jsonl"), ("store/rel/0.1.0", "blind_proof")):
        out = tmp_path / f"audit-{subset}"
        r = _mmra("audit", source, "--out", str(out), "--embedder", "none", "--prune-to-chance", "5", cwd=tmp_path)
        assert r.returncode == 0, r.stderr
        report = json.loads((out / "report.json").read_text())
        assert set(report["subtasks"]) == {s.subtask for s in samples}
        assert {row.get("level") for row in report["subtasks"].values()} == {"entity", "image"}
        assert set(_verdicts(out)) == {s.id for s in samples}
        assert (out / subset).exists()
    assert sorted(p.name for p in (tmp_path / "audit-blind_proof" / "blind_proof" / "data").iterdir()) == \
        sorted(p.name for p in (tmp_path / "store" / "rel" / "0.1.0" / "data").iterdir())


def test_vlm_image_probes_on_mmra_data_and_one_line_for_other_data(tmp_path):
    """--vlm runs leakage's image probes (a real tiny VLM forward pass) on MMRA-shaped data; on data without
    MMRA's image pairs it is one line before any model work."""
    from mmra.benchmark.records import write_jsonl
    from tests.release.conftest import make_sample_records

    write_jsonl(tmp_path / "samples.jsonl", make_sample_records(tmp_path, 12, flag_every=0))
    out = tmp_path / "out"
    r = _mmra("audit", "samples.jsonl", "--out", str(out), "--embedder", "none", "--vlm", "tiny:qwen2-vl",
              "--vlm-batch-size", "4", "--max-tokens", "4", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    report = json.loads((out / "report.json").read_text())
    assert set(report["image_probes"]["totals"]["settings"]) == {"IQ", "IQ-image1", "IQ-image2", "IQ-blank"}
    assert all("image_probes" in v for v in _verdicts(out).values())
    other = tmp_path / "plain.jsonl"
    other.write_text("".join(json.dumps({"question": f"Q{i}?", "answer": "yes" if i % 2 else "no"}) + "\n"
                             for i in range(20)))
    r = _mmra("audit", str(other), "--out", str(tmp_path / "o2"), "--embedder", "none", "--vlm", "tiny:qwen2-vl")
    assert r.returncode != 0 and "--vlm" in r.stderr and "MMRA-shaped" in " ".join(r.stderr.split())
    assert "Traceback" not in r.stderr


def test_a_blind_probe_is_one_class_in_an_installed_package(tmp_path):
    """A researcher's package adds a probe through the entry-point group `mmra.blind_probes`: one class, one file.
    `mmra audit` lists it, runs it beside the built-ins and reports it per task like them."""
    from tests.plugins import install_plugin

    env = install_plugin(tmp_path, "longest_probe", '''
        from mmra.benchmark.leakage.probe_registry import BlindProbe
        from mmra.benchmark.vocabulary import CHOICE_LETTERS

        class LongestOption(BlindProbe):
            name = "longest_option"
            description = "picks the longest option (yes/no: Yes)"

            def fit_predict(self, items, folds, k, context):
                out = {}
                for item in items:
                    if item.options:
                        best = max(range(len(item.options)), key=lambda j: (len(item.options[j]), -j))
                        predicted = CHOICE_LETTERS[best]
                    else:
                        predicted = "Yes"
                    out[item.id] = {"predicted": predicted, "correct": predicted == item.answer}
                return out
    ''',
                         {"mmra.blind_probes": {"longest_option": "longest_probe:LongestOption"}})
    listed = subprocess.run([*MMRA, "audit", "x", "--out", str(tmp_path / "o"), "--list-probes"], capture_output=True,
                            text=True, env=env)
    assert listed.returncode == 0 and "longest_option: picks the longest option" in listed.stdout
    src = tmp_path / "MyBench.tsv"
    _write_tsv(src, vlmevalkit_rows(80))
    out = tmp_path / "out"
    r = subprocess.run([*MMRA, "audit", str(src), "--out", str(out), "--embedder", "none", "--blind-probes",
                        "answer_prior,learned,longest_option"], capture_output=True, text=True, env=env)
    assert r.returncode == 0, r.stderr
    report = json.loads((out / "report.json").read_text())
    assert report["subtasks"]["planted"]["probes"]["longest_option"]["accuracy"] == 1.0
    assert report["subtasks"]["clean"]["probes"]["longest_option"]["accuracy"] < 0.5
    bad = subprocess.run([*MMRA, "audit", str(src), "--out", str(out), "--blind-probes", "nope"], capture_output=True,
                         text=True, env=env)
    assert bad.returncode != 0 and "unknown blind probe 'nope'" in bad.stderr and "Traceback" not in bad.stderr
