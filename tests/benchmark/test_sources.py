"""The shared samples reader: every accepted source form reads into the same Samples; bad records are named
(file, line, id) and handled by the caller's policy (raise / collect, images required / placeholders).
The Hub path is exercised (offline, real code) by tests/eval/test_data.py."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from mmra.benchmark.mmra_format import sample_to_mmra
from mmra.benchmark.records import write_jsonl
from mmra.benchmark.schema import ImageRef, Sample, SchemaError
from mmra.benchmark.sources import (
    MISSING_IMAGE,
    format_problems,
    iter_json_lines,
    load_samples,
    open_source,
)

QUESTIONS = [  # (subtask, qa_type, question, options, answer)
    ("SimilarMaterial", "multiple_choice", "Which material do both share?", ["wood", "metal", "glass"], "B"),
    ("SubEvent", "yes_no", "Does Image 2 come after Image 1?", [], "Yes"),
    ("UsageSimilarity", "multiple_choice", "What can both be used for?", ["cutting", "writing", "sitting", "eating"], "D"),
    ("NearSameEntity", "yes_no", "Is there a dog in both images?", [], "No"),
]


def _png(path: Path, seed: int) -> None:
    from PIL import Image, ImageDraw

    img = Image.new("RGB", (72, 64), (seed * 53 % 256, seed * 97 % 256, 90))
    ImageDraw.Draw(img).rectangle([4, 4, 10 + seed * 3, 20], fill=(255, seed * 31 % 256, 0))
    path.parent.mkdir(parents=True, exist_ok=True)
    img.save(path)


def _mmra_row(sample: Sample) -> dict:
    return sample_to_mmra(sample, image_value="path")


@pytest.fixture(scope="module")
def data(tmp_path_factory) -> dict:
    """One set of samples written in every form the reader accepts."""
    import datasets

    root = tmp_path_factory.mktemp("sources")
    samples = []
    for i, (task, qa, question, options, answer) in enumerate(QUESTIONS):
        for k in (1, 2):
            _png(root / "img" / f"{i}_{k}.png", 2 * i + k)
        samples.append(Sample(subtask=task, qa_type=qa, question=question, options=options, answer=answer,
                              image1=ImageRef(path=f"img/{i}_1.png"), image2=ImageRef(path=f"img/{i}_2.png")))
    forms = {"samples": write_jsonl(root / "samples.jsonl", samples)}
    forms["mmra"] = root / "mmra.jsonl"
    forms["mmra"].write_text("".join(json.dumps({**_mmra_row(s), "id": s.id}) + "\n" for s in samples))
    rows = [{**_mmra_row(s), "id": s.id,
             "image1": {"bytes": (root / s.image1.path).read_bytes(), "path": s.image1.path},
             "image2": {"bytes": (root / s.image2.path).read_bytes(), "path": s.image2.path}} for s in samples]
    features = datasets.Features({k: datasets.Image() if k in ("image1", "image2") else datasets.Value("string")
                                  for k in rows[0]})
    ds = datasets.Dataset.from_list(rows, features=features)
    (root / "folder" / "data").mkdir(parents=True)
    ds.to_parquet(str(root / "folder" / "data" / "test-00000-of-00001.parquet"))
    forms["parquet_file"] = root / "folder" / "data" / "test-00000-of-00001.parquet"
    forms["parquet_folder"] = root / "folder"
    ds.save_to_disk(str(root / "saved"))
    forms["saved"] = root / "saved"
    (root / "one_jsonl").mkdir()
    (root / "one_jsonl" / "img").symlink_to(root / "img")  # image paths are relative to the JSONL
    write_jsonl(root / "one_jsonl" / "s.jsonl", samples)
    forms["jsonl_folder"] = root / "one_jsonl"
    return {"root": root, "samples": samples, "forms": forms}


@pytest.mark.parametrize("form", ["samples", "mmra", "parquet_file", "parquet_folder", "saved", "jsonl_folder"])
def test_every_form_reads_the_same_samples(data, form):
    loaded = load_samples(data["forms"][form])
    expected = data["samples"]
    assert [s.id for s in loaded.samples] == [s.id for s in expected]
    assert [(s.subtask, s.qa_type, s.options, s.answer) for s in loaded.samples] == [
        (s.subtask, s.qa_type, s.options, s.answer) for s in expected]
    assert loaded.problems == [] and len(loaded) == 4
    assert loaded.format == ("samples" if form in ("samples", "jsonl_folder") else "mmra")
    # images are not decoded, but they are all reachable: bytes, or paths relative to base_dir
    root = data["root"]
    for got, want in zip(loaded.samples, expected, strict=True):
        assert got.image2.read_bytes(loaded.base_dir) == want.image2.read_bytes(root)
    table = form in ("parquet_file", "parquet_folder", "saved")
    assert (loaded.columns is not None) == table
    first_item = "row 0" if table else ("s.jsonl:1" if form == "jsonl_folder" else f"{form}.jsonl:1")
    assert loaded.items[0] == f"{first_item} (id {expected[0].id})"


def test_published_release_and_its_versions(data, tmp_path):
    from mmra.benchmark.release import publish
    from mmra.benchmark.release.validity import ValidityOptions

    store = tmp_path / "store"
    # these samples never went through `mmra leakage`: publishing them needs --publish-unchecked
    publish(data["forms"]["samples"], "1.0.0", store, name="mini", show_progress=False,
            validity=ValidityOptions(publish_unchecked=True))
    ids = sorted(s.id for s in data["samples"])
    for spec, revision in ((store, None), (f"{store}@1.0.0", None), (store / "mini" / "1.0.0", None),
                           (store, "latest")):
        loaded = load_samples(spec, revision=revision)
        assert sorted(s.id for s in loaded.samples) == ids, spec
        assert loaded.revision == "1.0.0" and loaded.base_dir == store / "mini" / "1.0.0"
        assert all(f.suffix == ".parquet" for f in loaded.files)
    with pytest.raises(FileNotFoundError, match="no version 2.0.0; it has 1.0.0"):
        load_samples(f"{store}@2.0.0")
    with pytest.raises(ValueError, match=r"names version 1.0.0 but revision '2.0.0'"):
        load_samples(f"{store}@1.0.0", revision="2.0.0")
    # a published file changed in place is refused, naming the file
    data_file = next((store / "mini" / "1.0.0" / "data").glob("*.parquet"))
    data_file.write_bytes(data_file.read_bytes()[:-1] + b"x")
    with pytest.raises(ValueError, match="does not match its manifest sha256"):
        load_samples(store)


def test_collect_lists_every_problem_with_file_line_and_id(data, tmp_path):
    good = json.loads(data["forms"]["samples"].read_text().splitlines()[0])
    lines = [
        json.dumps(good),
        "{not json",
        "[1, 2]",
        json.dumps({**good, "id": "s-bad", "answer": "Z"}),
        json.dumps({"question": "no format keys"}),
        json.dumps({**_mmra_row(data["samples"][1]), "id": "s-mmra"}),  # MMRA row in a Samples file
        json.dumps(good),  # the same id again
    ]
    path = tmp_path / "mixed.jsonl"
    path.write_text("\n".join(lines) + "\n")
    loaded = load_samples(path, on_error="collect")
    assert [s.id for s in loaded.samples] == [good["id"]]
    problems = loaded.problems
    assert len(problems) == 6, problems
    assert problems[0].startswith("mixed.jsonl:2: not valid JSON")
    assert problems[1] == "mixed.jsonl:3: expected a JSON object, got list"
    assert problems[2].startswith("mixed.jsonl:4 (id s-bad): ") and "answer: 'Z' is not one of" in problems[2]
    assert problems[3].startswith("mixed.jsonl:5: cannot tell the format")
    assert problems[4] == ("mixed.jsonl:6 (id s-mmra): an 'mmra' record among 'samples' records; "
                           "use one format per file")
    assert problems[5] == f"mixed.jsonl:7 (id {good['id']}): duplicate id {good['id']} (first at mixed.jsonl:1)"
    # the same file under on_error="raise": one SchemaError that lists them all
    with pytest.raises(SchemaError) as info:
        load_samples(path)
    message = str(info.value)
    assert message.startswith(f"{path}: 6 bad record(s):")
    assert all(p.splitlines()[0] in message for p in problems)


def test_missing_images_error_or_placeholder(data, tmp_path):
    rows = [_mmra_row(s) for s in data["samples"][:2]]
    del rows[0]["image2"]
    rows[1]["image1"] = ""
    path = tmp_path / "noimg.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    strict = load_samples(path, on_error="collect")
    assert strict.samples == []
    assert strict.problems[0] == "noimg.jsonl:1: image2: missing image"
    assert strict.problems[1] == "noimg.jsonl:2: image1: missing image"
    lenient = load_samples(path, missing_images="placeholder")
    assert [s.image2.path for s in lenient.samples][:1] == [f"{MISSING_IMAGE}image2"]
    assert lenient.samples[1].image1.path == "missing:image1" and lenient.samples[1].image1.bytes_ is None
    # a Samples record without an image, and a parquet row with a null image cell
    record = json.loads(data["forms"]["samples"].read_text().splitlines()[0])
    del record["image1"]
    samples_file = tmp_path / "s.jsonl"
    samples_file.write_text(json.dumps(record) + "\n")
    with pytest.raises(SchemaError, match=rf"s.jsonl:1 \(id {record['id']}\): image1: Field required"):
        load_samples(samples_file)
    assert load_samples(samples_file, missing_images="placeholder").samples[0].image1.path == "missing:image1"


def test_null_image_cell_in_parquet(data, tmp_path):
    import pyarrow as pa
    import pyarrow.parquet as pq

    table = pq.read_table(data["forms"]["parquet_file"])
    image2 = table.column("image2").to_pylist()
    image2[2] = None
    table = table.set_column(table.schema.get_field_index("image2"), "image2",
                             pa.array(image2, type=table.schema.field("image2").type))
    path = tmp_path / "holes.parquet"
    pq.write_table(table, path)
    strict = load_samples(path, on_error="collect")
    assert len(strict.samples) == 3
    assert strict.problems == [f"row 2 (id {data['samples'][2].id}): image2: missing image"]
    lenient = load_samples(path, missing_images="placeholder")
    assert lenient.samples[2].image2.path == "missing:image2" and lenient.samples[2].id == data["samples"][2].id


def test_derived_ids_duplicates_renamed_or_reported(data, tmp_path):
    row = _mmra_row(data["samples"][0])  # no id: it is derived from the content
    path = tmp_path / "twice.jsonl"
    path.write_text(json.dumps(row) + "\n" + json.dumps(row) + "\n" + json.dumps(row) + "\n")
    derived = data["samples"][0].id
    renamed = load_samples(path, rename_duplicates=True)
    assert [s.id for s in renamed.samples] == [derived, f"{derived}~2", f"{derived}~3"]
    reported = load_samples(path, on_error="collect")
    assert [s.id for s in reported.samples] == [derived]
    assert reported.problems[0] == f"twice.jsonl:2 (id {derived}): duplicate id {derived} (first at twice.jsonl:1)"
    # an explicit id repeated is a problem even when derived ids may be renamed
    explicit = tmp_path / "explicit.jsonl"
    explicit.write_text("".join(json.dumps({**row, "id": "same"}) + "\n" for _ in range(2)))
    result = load_samples(explicit, rename_duplicates=True, on_error="collect")
    assert [s.id for s in result.samples] == ["same"]
    assert result.problems == ["explicit.jsonl:2 (id same): duplicate id same (first at explicit.jsonl:1)"]


def test_limit_counts_records_good_or_bad(data, tmp_path):
    lines = data["forms"]["samples"].read_text().splitlines()
    path = tmp_path / "l.jsonl"
    path.write_text("\n".join([lines[0], "{broken", *lines[1:]]) + "\n")
    loaded = load_samples(path, limit=3, on_error="collect")
    assert [s.id for s in loaded.samples] == [s.id for s in data["samples"][:2]]
    assert loaded.problems == ["l.jsonl:2: not valid JSON: Expecting property name enclosed in double quotes at column 2"]
    table = load_samples(data["forms"]["parquet_folder"], limit=2)
    assert [s.id for s in table.samples] == [s.id for s in data["samples"][:2]]


def test_bad_sources_are_clear_errors(data, tmp_path):
    with pytest.raises(FileNotFoundError, match=r"nope.jsonl does not exist \(no such file or folder\)"):
        load_samples(tmp_path / "nope.jsonl")
    (tmp_path / "empty").mkdir()
    with pytest.raises(ValueError, match="empty: the folder holds no parquet files, no saved dataset"):
        load_samples(tmp_path / "empty")
    (tmp_path / "blank.jsonl").write_text("\n\n")
    with pytest.raises(ValueError, match="blank.jsonl: holds no samples"):
        load_samples(tmp_path / "blank.jsonl")
    (tmp_path / "x.csv").write_text("a,b\n")
    with pytest.raises(ValueError, match=r"x.csv: unsupported file type '.csv'"):
        load_samples(tmp_path / "x.csv")
    with pytest.raises(ValueError, match="is a file, which has no versions"):
        load_samples(data["forms"]["mmra"], revision="1.0.0")
    with pytest.raises(ValueError, match=r"not a release folder \(no manifest.json\), so it has no version '1.0.0'"):
        load_samples(f"{data['forms']['parquet_folder']}@1.0.0")
    import pyarrow as pa
    import pyarrow.parquet as pq

    pq.write_table(pa.table({"Task": ["SubEvent"], "question": ["Q?"]}), tmp_path / "cols.parquet")
    with pytest.raises(SchemaError, match=r"missing MMRA column\(s\) QA_type, answer \(columns: Task, question\)"):
        load_samples(tmp_path / "cols.parquet")
    (tmp_path / "junk.parquet").write_bytes(b"not parquet at all")
    with pytest.raises(ValueError, match="junk.parquet: not a readable parquet file"):
        load_samples(tmp_path / "junk.parquet")


def test_json_lines_and_source_metadata(tmp_path):
    path = tmp_path / "raw.jsonl"
    path.write_bytes(b'{"a": 1}\n\n   \n\xff\xfe bad bytes\n"text"\n{"b": 2}\r\n')
    records = list(iter_json_lines(path))
    assert [(r.item, r.record, r.error) for r in records] == [
        ("raw.jsonl:1", {"a": 1}, None),
        ("raw.jsonl:4", None, "not valid JSON: the line is not UTF-8 text"),
        ("raw.jsonl:5", None, "expected a JSON object, got str"),
        ("raw.jsonl:6", {"b": 2}, None),
    ]
    opened = open_source(path)
    assert opened.source == str(path.resolve()) and opened.base_dir == path.resolve().parent
    assert opened.columns is None and opened.files == (path.resolve(),)


def test_format_problems_caps_the_list():
    text = format_problems("x: 25 bad", [f"p{i}" for i in range(25)])
    lines = text.splitlines()
    assert lines[0] == "x: 25 bad:" and lines[1] == "  p0" and lines[20] == "  p19"
    assert lines[-1] == "... and 5 more" and len(lines) == 22
