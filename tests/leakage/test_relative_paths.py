"""Stage outputs feed the next stage from anywhere: image paths relative to an input file stay working paths in
what a stage writes, whatever folder the output goes to and whatever folder the next command runs in."""

from __future__ import annotations

import hashlib
import io
import json
import subprocess
import sys
from pathlib import Path

import pyarrow.parquet as pq
from PIL import Image, ImageDraw

from mmra.benchmark.records import read_jsonl, write_jsonl
from mmra.benchmark.schema import Candidate, ImageRef
from mmra.benchmark.sources import load_samples

# (Task, QA_type, question, options, answer): MMRA's own columns
ROWS = [
    ("UsageSimilarity", "Choice QA", "Which use do the two objects share?", ["cutting", "sitting", "writing"], "A"),
    ("Environment", "Choice QA", "Where were both photos most likely taken?",
     ["a kitchen", "a beach", "an office", "a forest"], "B"),
    ("SimilarMaterial", "Choice QA", "What material do the objects share?", ["wood", "glass", "metal"], "C"),
    ("NearSameEntity", "True or false QA", "Do the two images show the same kind of object?", None, "Yes"),
    ("Layout", "True or false QA", "Is the object in image 1 further left than the one in image 2?", None, "No"),
]


def _png(path: Path, seed: int) -> Path:
    img = Image.new("RGB", (96, 72), (40 + seed * 23 % 200, 90, 160))
    ImageDraw.Draw(img).rectangle([4 + seed % 30, 6, 40 + seed % 40, 50], fill=(seed * 53 % 255, 200, 30))
    path.parent.mkdir(parents=True, exist_ok=True)
    img.save(path)
    return path


def _mmra_file(folder: Path, copies: int = 3) -> tuple[Path, dict[str, str]]:
    """An MMRA-format JSONL in `folder` whose image paths are relative to it (images/...); returns the file and
    relative path -> sha256 of every image."""
    lines, shas = [], {}
    for k in range(copies):
        for i, (task, qa_type, question, options, answer) in enumerate(ROWS):
            n = k * len(ROWS) + i
            row = {"Task": task, "QA_type": qa_type, "question": f"{question[:-1]} (case {k})?",
                   "options": None if options is None else str(dict(zip("ABCD", options, strict=False))),
                   "answer": answer, "image1": f"images/{n}a.png", "image2": f"images/{n}b.png"}
            for key in ("image1", "image2"):
                data = _png(folder / row[key], 2 * n + (key == "image2")).read_bytes()
                shas[row[key]] = hashlib.sha256(data).hexdigest()
            lines.append(json.dumps(row))
    path = folder / "mmra.jsonl"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path, shas


def _mmra(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "mmra.cli", *args], cwd=cwd, capture_output=True, text=True,
                          timeout=600)


def test_leakage_output_publishes_from_another_folder(tmp_path):
    sub = tmp_path / "sub"
    source, shas = _mmra_file(sub)
    first, second = tmp_path / "work1", tmp_path / "work2"
    first.mkdir()
    second.mkdir()

    # leakage from one folder, every path given relative to it
    ran = _mmra("leakage", "--samples", "../sub/mmra.jsonl", "--out", "../out", "--embedder", "none", cwd=first)
    assert ran.returncode == 0, ran.stdout + ran.stderr
    out = tmp_path / "out" / "samples.jsonl"
    written = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    flagged = [json.loads(line) for line in (out.parent / "flagged.jsonl").read_text(encoding="utf-8").splitlines()]
    assert len(written) == len(ROWS) * 3
    for record in written + flagged:
        for key in ("image1", "image2"):
            assert Path(record[key]["path"]).is_absolute() and Path(record[key]["path"]).is_file()
    # resolving a path changes no id: the ids are the ones the input file gives
    assert [r["id"] for r in written] == [s.id for s in load_samples(source).samples]

    # leakage recorded beside its outputs the folders it allowed (the input's own folder: no roots are
    # configured), so publish of its output from another folder needs no --image-root
    record = json.loads((tmp_path / "out" / "image_roots.json").read_text(encoding="utf-8"))
    for name in ("samples.jsonl", "flagged.jsonl"):
        assert record["files"][name]["image_roots"] == [str(sub.resolve())]
        assert record["files"][name]["written_by"] == "mmra leakage"
    published = _mmra("publish", "--samples", "../out/samples.jsonl", "--version", "1.0.0", "--to", "../store",
                      "--cards-dir", "../cards", "--name", "rel", "--keep-option-order", "--allow-blind-gap",
                      "--probe-embedder", "none", cwd=second)
    assert published.returncode == 0, published.stdout + published.stderr
    assert "does not exist" not in published.stdout + published.stderr

    # the release's images are the source's images, row by row
    by_id = {r["id"]: r for r in written}
    source_rows = {r["id"]: row for r, row in zip(written, (json.loads(x) for x in source.read_text().splitlines()),
                                                strict=True)}
    release = tmp_path / "store" / "rel" / "1.0.0"
    rows = [row for f in sorted(release.rglob("*.parquet")) for row in pq.read_table(f).to_pylist()]
    assert rows and {r["id"] for r in rows} <= set(by_id)
    for row in rows:
        for key in ("image1", "image2"):
            data = row[key]["bytes"]
            expected = shas[source_rows[row["id"]][key]]
            assert hashlib.sha256(data).hexdigest() == expected == row[f"{key}_sha256"]
            assert Image.open(io.BytesIO(data)).size == (96, 72)


def test_hand_off_files_read_from_any_folder_keep_ids(tmp_path, monkeypatch):
    """Candidates/Samples JSONL with relative paths (a hand-made candidates file for push, a flagged file for
    revise): read from another working folder, the paths are absolute and exist, and ids are as written."""
    sub = tmp_path / "sub"
    img1, img2 = _png(sub / "images" / "a.png", 1), _png(sub / "images" / "b.png", 2)
    relative = Candidate(subtask="SimilarMaterial", image1=ImageRef(path="images/a.png"),
                         image2=ImageRef(path="images/b.png"))
    handoff = write_jsonl(sub / "candidates.jsonl", [relative])
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)

    (read,) = read_jsonl(Path("../sub/candidates.jsonl"), Candidate)
    assert read.id == relative.id
    assert (read.image1.path, read.image2.path) == (str(img1.resolve()), str(img2.resolve()))

    # written into another folder and read again: the same paths, the same id
    (again,) = read_jsonl(write_jsonl(tmp_path / "next" / "candidates.jsonl", [read]), Candidate)
    assert again == read and Path(again.image1.path).is_file()
    assert handoff.read_text().count("images/a.png") == 1  # the input file itself is untouched


def test_leakage_output_keeps_the_input_roots_and_no_wider(tmp_path):
    """The folders leakage recorded beside its output are the ones publish applies to it from any folder:
    an image outside them (beside the output, or anywhere else) is still refused, with no flag given."""
    sub = tmp_path / "sub"
    _mmra_file(sub, copies=2)
    work = tmp_path / "work"
    work.mkdir()
    ran = _mmra("leakage", "--samples", str(sub / "mmra.jsonl"), "--out", str(tmp_path / "out"), "--embedder",
                "none", cwd=work)
    assert ran.returncode == 0, ran.stdout + ran.stderr

    out = tmp_path / "out" / "samples.jsonl"
    for stray in (tmp_path / "out" / "stray.png", tmp_path / "outside" / "stray.png"):
        _png(stray, 7)
        rows = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
        rows[1]["image2"] = {**rows[1]["image2"], "path": str(stray), "sha256": None}
        edited = write_jsonl(tmp_path / "out" / "samples.jsonl", rows)
        published = _mmra("publish", "--samples", str(edited), "--version", "1.0.0", "--to", "../store",
                          "--cards-dir", "../cards", "--name", "rel", "--keep-option-order", "--allow-blind-gap",
                          "--probe-embedder", "none", cwd=work)
        text = " ".join((published.stdout + published.stderr).split())
        assert published.returncode == 2, text
        assert f"(id {rows[1]['id']}): image2 '{stray}' lies outside the allowed image folders" in text
        assert f"allowed: {sub.resolve()}" in text and "Traceback" not in text
        assert not (tmp_path / "store").exists()
