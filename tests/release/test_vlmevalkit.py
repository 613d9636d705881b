"""The VLMEvalKit TSV shipped in a release: it parses back (pandas, as VLMEvalKit's `load` reads a TSV) with one
row per sample of the default config and two decodable images per row, byte-identical to the release's own."""

from __future__ import annotations

import ast
import base64
import hashlib
import io

import datasets
import pandas as pd
from PIL import Image

from mmra.benchmark.records import write_jsonl
from mmra.benchmark.release import publish
from mmra.benchmark.release.vlmevalkit import dataset_name

from .conftest import make_sample_records


def _parse_list(cell: str) -> list[str]:
    """VLMEvalKit's `toliststr`: a cell that starts with '[' and ends with ']' is a Python list."""
    assert cell[0] == "[" and cell[-1] == "]"
    return [str(x) for x in ast.literal_eval(cell)]


def test_tsv_parses_back_one_row_per_sample_two_images_each(tmp_path):
    path = write_jsonl(tmp_path / "samples.jsonl", make_sample_records(tmp_path, 24))
    release = publish(path, "1.2.0", tmp_path / "store", name="bench", show_progress=False)
    name = dataset_name("mmra_bench", "1.2.0")
    assert name == "mmra_bench_v1_2_0"
    tsv = release.path / "vlmevalkit" / f"{name}.tsv"
    assert f"vlmevalkit/{name}.tsv" in (release.path / "manifest.json").read_text()  # hashed like every file
    assert f"--data {name}" in (release.path / "vlmevalkit" / "README.md").read_text()
    assert f"vlmevalkit/{name}.tsv" in (release.path / "README.md").read_text()  # the card points to it

    frame = pd.read_csv(tsv, sep="\t")  # vlmeval.smp.load for .tsv
    ds = datasets.load_dataset(str(release.path), split="test")  # the default config (flagged rows left out)
    assert len(frame) == len(ds) == 24 - len([i for i in range(24) if i % 10 == 0])
    assert list(frame["index"]) == list(range(len(frame)))
    by_id = {r["id"]: r for r in ds.cast_column("image1", datasets.Image(decode=False))
             .cast_column("image2", datasets.Image(decode=False))}
    assert set(frame["id"]) == set(by_id)
    assert set(frame["l2-category"]) == {"entity", "image"}
    for _, line in frame.iterrows():
        row = by_id[line["id"]]
        images, names = _parse_list(line["image"]), _parse_list(line["image_path"])
        assert len(images) == len(names) == 2 and len(set(names)) == 2
        for k, b64 in enumerate(images, 1):
            raw = base64.b64decode(b64)
            assert hashlib.sha256(raw).hexdigest() == row[f"image{k}_sha256"]  # no re-encoding
            Image.open(io.BytesIO(raw)).convert("RGB")  # decodable
        assert line["question"] == row["question"] and line["category"] == row["Task"]
        assert line["l2-category"] == row["granularity"]
        options = [line[c] for c in "ABCD" if not pd.isna(line[c])]  # VLMEvalKit's option reading
        if row["QA_type"] == "Choice QA":
            assert options == row["options_list"] and line["answer"] == row["answer"]
            assert line["qa_type"] == "multiple_choice"
        else:
            assert options == ["Yes", "No"] and line["qa_type"] == "yes_no"
            assert line["answer"] == ("A" if row["answer"] == "Yes" else "B") and line["answer_text"] == row["answer"]
