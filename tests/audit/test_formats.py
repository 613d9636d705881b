"""The audit's format layer on files the tests write the way their tools write them (pandas for VLMEvalKit TSVs,
csv for CSV, pyarrow for parquet, datasets.save_to_disk): rows come back in order with only the requested columns,
bad records are named one line each, and a written subset re-reads as exactly the kept rows, its text records
byte-identical to the original ones."""

from __future__ import annotations

import base64
import csv
import io
import itertools
import json
import random
import tracemalloc
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from mmra.benchmark.audit.formats import FormatError, RawRow, RowError, open_source

LETTERS = "ABCDEFGHIJ"
TEXT_COLUMNS = ["index", "question", *LETTERS, "answer", "category", "l2-category", "split"]


def _b64(rng: random.Random, size: int) -> str:
    return base64.b64encode(rng.randbytes(size)).decode("ascii")


def _rows_of(source, columns) -> tuple[list[RawRow], list[RowError]]:
    good, bad = [], []
    for row in source.rows(columns):
        (good if isinstance(row, RawRow) else bad).append(row)
    return good, bad


def _values(source, columns) -> list[dict]:
    good, bad = _rows_of(source, columns)
    assert not bad, bad
    return [row.values for row in good]


# ---------------------------------------------------------------------------------------------- VLMEvalKit TSV


def _vlmevalkit_frame(n: int, rng: random.Random, image_bytes: int = 300) -> pd.DataFrame:
    records = []
    for i in range(n):
        n_options = 2 + i % 9  # 2..10 options, the rest of A..J empty
        image = _b64(rng, image_bytes) if i % 3 else str([_b64(rng, image_bytes) for _ in range(2 + i % 2)])
        question = f"Question {i}: which one?" if i % 4 else f'Hard "quoted"\tquestion {i}\nwith a second line'
        record = {"index": 1000 + i, "image": image, "question": question}
        for k, letter in enumerate(LETTERS):
            record[letter] = f"option {letter} of {i}" if k < n_options else None
        record.update(answer=LETTERS[i % n_options], category="count", **{"l2-category": "perception"},
                      split="dev")
        records.append(record)
    return pd.DataFrame(records)


@pytest.fixture()
def vlmevalkit_tsv(tmp_path):
    """A TSV as VLMEvalKit writes one (pandas, tab, standard quoting), and each record's own bytes."""
    frame = _vlmevalkit_frame(24, random.Random(0))
    path = tmp_path / "MMBench_DEV.tsv"
    frame.to_csv(path, sep="\t", index=False)
    header = frame.iloc[:0].to_csv(sep="\t", index=False).encode()
    records = [frame.iloc[[i]].to_csv(sep="\t", index=False, header=False).encode() for i in range(len(frame))]
    assert path.read_bytes() == header + b"".join(records)  # the per-record bytes are the file's
    return path, frame, header, records


def test_vlmevalkit_tsv_rows_match_pandas_and_drop_images(vlmevalkit_tsv):
    path, frame, _, _ = vlmevalkit_tsv
    source = open_source(path)
    assert source.kind == "tsv"
    assert source.columns() == list(frame.columns)
    good = _values(source, TEXT_COLUMNS)
    assert len(good) == len(frame)
    expected = pd.read_csv(path, sep="\t", keep_default_na=False, dtype=str)  # VLMEvalKit's own reader
    for values, (_, row) in zip(good, expected.iterrows(), strict=True):
        assert "image" not in values
        assert values == {c: (row[c] or None) for c in TEXT_COLUMNS}
    assert good[0]["J"] is None and good[8]["J"] == "option J of 8"  # 2 options, then 10
    assert good[0]["question"].endswith("with a second line")  # a quoted tab and line break survive


def test_vlmevalkit_tsv_sample_values_keep_multi_image_cells(vlmevalkit_tsv):
    path, frame, _, _ = vlmevalkit_tsv
    source = open_source(path)
    images = source.sample_values("image", n=4)
    assert images == list(frame["image"][:4])
    assert images[0].startswith("['") and images[1].isascii() and not images[1].startswith("[")
    assert source.sample_values("J", n=50) == [v for v in frame["J"] if pd.notna(v)]


def test_vlmevalkit_tsv_subset_is_byte_identical(vlmevalkit_tsv, tmp_path):
    path, frame, header, records = vlmevalkit_tsv
    keep = {0, 3, 4, 8, 23}
    out = open_source(path).write_subset(keep, tmp_path / "out")
    assert out == tmp_path / "out" / "blind_proof.tsv"
    assert out.read_bytes() == header + b"".join(records[i] for i in sorted(keep))
    all_rows = _values(open_source(path), TEXT_COLUMNS)
    assert _values(open_source(out), TEXT_COLUMNS) == [all_rows[i] for i in sorted(keep)]
    assert not list(tmp_path.joinpath("out").glob("*.tmp"))


def test_tsv_streams_with_bounded_memory(tmp_path):
    """Images are read past, not kept: reading 60 rows of up to 1.2 MB of base64 each peaks no higher than
    reading the first 10, and far below the file's size."""
    frame = _vlmevalkit_frame(60, random.Random(1), image_bytes=300_000)
    path = tmp_path / "big.tsv"
    frame.to_csv(path, sep="\t", index=False)
    size = path.stat().st_size
    source = open_source(path)

    def peak_reading(limit: int) -> tuple[int, int]:
        tracemalloc.start()
        try:
            rows = itertools.islice(source.rows(["index", "question", "answer"]), limit)
            count = sum(1 for row in rows if isinstance(row, RawRow))
            return count, tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()

    first_count, first_peak = peak_reading(10)
    count, peak = peak_reading(60)
    assert (first_count, count) == (10, 60)
    assert peak < first_peak * 1.2 + 1_000_000, f"peak {peak:,} bytes for 60 rows, {first_peak:,} for 10"
    assert peak < size / 2, f"peak {peak:,} bytes while streaming a {size:,}-byte TSV"


# ---------------------------------------------------------------------------------------------- CSV


def test_csv_custom_columns_quoted_commas_and_newlines(tmp_path):
    rows = [
        ["qid", "prompt", "choices", "label", "task"],
        ["q1", "Is the cat, on the left, black?", "", "yes", "spatial"],
        ["q2", 'She said "no"\nthen left. Same person?', "", "No", "identity"],
        ["q3", "Which, of these?", "['a, b', 'c']", "a, b", "spatial"],
    ]
    encoded = []
    for row in rows:  # the csv module's own writer: CRLF line ends, quotes where needed
        buf = io.StringIO()
        csv.writer(buf).writerow(row)
        encoded.append(buf.getvalue().encode())
    path = tmp_path / "bench.csv"
    path.write_bytes(b"".join(encoded))
    source = open_source(path)
    assert source.kind == "csv"
    assert source.columns() == rows[0]
    good, bad = _rows_of(source, ["prompt", "label", "choices", "not-a-column"])
    assert not bad
    assert [r.values for r in good] == [
        {"prompt": rows[1][1], "label": "yes", "choices": None},
        {"prompt": rows[2][1], "label": "No", "choices": None},
        {"prompt": rows[3][1], "label": "a, b", "choices": "['a, b', 'c']"},
    ]
    assert [r.where for r in good] == ["bench.csv line 2", "bench.csv line 3", "bench.csv line 5"]
    out = source.write_subset({1, 2}, tmp_path / "out")
    assert out.name == "blind_proof.csv"
    assert out.read_bytes() == encoded[0] + encoded[2] + encoded[3]
    assert [r.values for r in _rows_of(open_source(out), ["prompt"])[0]] == [
        {"prompt": rows[2][1]}, {"prompt": rows[3][1]}]


def test_csv_bom_header_and_missing_final_newline(tmp_path):
    path = tmp_path / "bom.csv"
    path.write_bytes(b"\xef\xbb\xbfid,question\n1,first\n2,second")
    source = open_source(path)
    assert source.columns() == ["id", "question"]
    assert _values(source, ["id"]) == [{"id": "1"}, {"id": "2"}]
    out = source.write_subset({1}, tmp_path / "out")
    assert out.read_bytes() == b"\xef\xbb\xbfid,question\n2,second\n"
    assert _values(open_source(out), ["id", "question"]) == [{"id": "2", "question": "second"}]


# ---------------------------------------------------------------------------------------------- JSON


def test_jsonl_rows_subset_and_bom(tmp_path):
    records = [{"q": "Is it red?", "a": "yes", "n": i, "nested": {"x": [1, 2]}} for i in range(5)]
    lines = [json.dumps(r, ensure_ascii=False).encode() + b"\n" for r in records]
    lines[2] = '{"q":  "Ünïcode ✓",   "a": "no", "n": 2}\n'.encode()  # odd spacing, kept as written
    path = tmp_path / "q.jsonl"
    path.write_bytes(b"\xef\xbb\xbf" + lines[0] + b"\n" + b"".join(lines[1:]))  # a BOM and a blank line
    source = open_source(path)
    assert source.kind == "jsonl"
    assert source.columns() == ["q", "a", "n", "nested"]
    good, bad = _rows_of(source, ["q", "n"])
    assert not bad and [r.number for r in good] == [0, 1, 2, 3, 4]
    assert good[2].values == {"q": "Ünïcode ✓", "n": 2} and good[1].where == "q.jsonl line 3"
    out = source.write_subset({0, 2, 4}, tmp_path / "out")
    assert out.read_bytes() == b"\xef\xbb\xbf" + lines[0] + lines[2] + lines[4]
    assert _values(open_source(out), ["q", "n"]) == [good[i].values for i in (0, 2, 4)]


def test_json_array_subset_keeps_element_text(tmp_path):
    texts = ['{"question": "A?", "answer": "A", "score": 2.50}', '{ "question" : "B?",\n  "answer": "B" }',
             '{"question": "C?", "answer": "C", "options": ["x", "y"]}']
    path = tmp_path / "bench.json"
    path.write_text("\ufeff[\n  " + ",\n  ".join(texts) + "\n]\n", encoding="utf-8")
    source = open_source(path)
    assert source.kind == "json"
    assert source.columns() == ["question", "answer", "score", "options"]
    rows = _values(source, ["question", "options"])
    assert rows == [{"question": "A?"}, {"question": "B?"}, {"question": "C?", "options": ["x", "y"]}]
    out = source.write_subset({0, 2}, tmp_path / "out")
    assert out.name == "blind_proof.json"
    assert out.read_text(encoding="utf-8") == "[\n" + texts[0] + ",\n" + texts[2] + "\n]\n"
    assert _values(open_source(out), ["question", "options"]) == [rows[0], rows[2]]


def test_json_one_object_per_line(tmp_path):
    lines = [json.dumps({"id": i, "question": f"q{i}", "answer": "Yes" if i % 2 else "no"}).encode() + b"\n"
             for i in range(4)]
    path = tmp_path / "lines.json"
    path.write_bytes(b"".join(lines))
    source = open_source(path)
    assert source.kind == "json"
    assert _values(source, ["id", "answer"]) == [{"id": i, "answer": "Yes" if i % 2 else "no"} for i in range(4)]
    out = source.write_subset({1, 3}, tmp_path / "out")
    assert out.name == "blind_proof.json" and out.read_bytes() == lines[1] + lines[3]
    assert open_source(out).kind == "json" and _values(open_source(out), ["id"]) == [{"id": 1}, {"id": 3}]


# ---------------------------------------------------------------------------------------------- parquet


def _parquet_table(n: int, start: int = 0) -> pa.Table:
    rng = random.Random(start)
    table = pa.table({
        "id": [f"item-{start + i}" for i in range(n)],
        "question": [f"What is shown in picture {start + i}?" for i in range(n)],
        "image": pa.array([{"bytes": rng.randbytes(2000), "path": f"{start + i}.png"} for i in range(n)],
                          pa.struct([("bytes", pa.binary()), ("path", pa.string())])),
        "answer": ["A", "B", "C", "D"] * (n // 4) + ["A"] * (n % 4),
    })
    return table.replace_schema_metadata({b"huggingface": b'{"info": {"features": {}}}', b"note": b"keep"})


def _damage_column(path: Path, column: str) -> Path:
    """A copy of a parquet file whose `column` pages are overwritten: reading that column fails, the others not."""
    meta = pq.ParquetFile(path).metadata
    data = bytearray(path.read_bytes())
    index = [meta.schema.column(i).path.split(".")[0] for i in range(meta.num_columns)]
    for group in range(meta.num_row_groups):
        for i, name in enumerate(index):
            if name == column:
                chunk = meta.row_group(group).column(i)
                start = chunk.dictionary_page_offset or chunk.data_page_offset
                data[start:start + chunk.total_compressed_size] = b"\xff" * chunk.total_compressed_size
    damaged = path.with_name("damaged-" + path.name)
    damaged.write_bytes(bytes(data))
    return damaged


def test_parquet_never_reads_the_image_column(tmp_path):
    path = tmp_path / "bench.parquet"
    pq.write_table(_parquet_table(20), path, row_group_size=6, compression="none")
    damaged = _damage_column(path, "image")
    with pytest.raises(OSError):
        pq.read_table(damaged, columns=["image"])  # the damage is real ...
    source = open_source(damaged)
    assert source.kind == "parquet" and source.columns() == ["id", "question", "image", "answer"]
    good, bad = _rows_of(source, ["id", "question", "answer"])  # ... and never met
    assert not bad and len(good) == 20
    assert good[7].values == {"id": "item-7", "question": "What is shown in picture 7?", "answer": "D"}
    assert good[7].where == "damaged-bench.parquet row 7"
    assert source.sample_values("answer", n=3) == ["A", "B", "C"]
    # a column the file lacks: the rows are still there, with no values
    assert [r.values for r in _rows_of(source, ["difficulty"])[0]] == [{}] * 20


def test_parquet_subset_keeps_schema_metadata_and_images(tmp_path):
    path = tmp_path / "bench.parquet"
    table = _parquet_table(20)
    pq.write_table(table, path, row_group_size=6, compression="zstd")
    keep = {0, 5, 6, 13, 19}
    out = open_source(path).write_subset(keep, tmp_path / "out")
    assert out == tmp_path / "out" / "blind_proof.parquet"
    written = pq.read_table(out)
    assert written.schema.equals(table.schema, check_metadata=True)
    assert written.equals(table.take(sorted(keep)))
    assert pq.ParquetFile(out).metadata.row_group(0).column(0).compression == "ZSTD"
    assert _values(open_source(out), ["id"]) == [{"id": f"item-{i}"} for i in sorted(keep)]


def test_parquet_damaged_row_group_is_one_error_per_row_and_the_rest_is_read(tmp_path):
    path = tmp_path / "bench.parquet"
    pq.write_table(_parquet_table(12), path, row_group_size=4, compression="none")
    meta = pq.ParquetFile(path).metadata
    chunk = meta.row_group(1).column(1)  # `question` in rows 4-7
    data = bytearray(path.read_bytes())
    data[chunk.data_page_offset:chunk.data_page_offset + chunk.total_compressed_size] = (
        b"\xff" * chunk.total_compressed_size)
    path.write_bytes(bytes(data))
    good, bad = _rows_of(open_source(path), ["question"])
    assert [r.number for r in good] == [0, 1, 2, 3, 8, 9, 10, 11]
    assert [r.number for r in bad] == [4, 5, 6, 7]
    assert bad[0].where == "bench.parquet row 4" and "row group 1 cannot be read" in bad[0].message


# ---------------------------------------------------------------------------------------------- datasets folders


def _png(i: int) -> bytes:
    from PIL import Image

    buf = io.BytesIO()
    Image.new("RGB", (6, 6), (i * 20 % 255, 40, 90)).save(buf, format="PNG")
    return buf.getvalue()


def _image_dataset(n: int, start: int = 0):
    import datasets

    features = datasets.Features({"question": datasets.Value("string"), "image": datasets.Image(),
                                  "options": datasets.Sequence(datasets.Value("string")),
                                  "answer": datasets.Value("string")})
    return datasets.Dataset.from_dict({
        "question": [f"q{start + i}" for i in range(n)],
        "image": [{"bytes": _png(start + i), "path": None} for i in range(n)],
        "options": [["red", "green", "blue"][: 2 + i % 2] for i in range(n)],
        "answer": ["A", "B"] * (n // 2) + ["A"] * (n % 2),
    }, features=features)


def test_save_to_disk_dataset_and_subset(tmp_path):
    import datasets

    folder = tmp_path / "saved"
    _image_dataset(10).save_to_disk(str(folder))
    source = open_source(folder)
    assert source.kind == "arrow" and source.columns() == ["question", "image", "options", "answer"]
    rows = _values(source, ["question", "options"])
    assert rows[3] == {"question": "q3", "options": ["red", "green", "blue"]}
    out = source.write_subset({1, 4, 9}, tmp_path / "out")
    assert out == tmp_path / "out" / "blind_proof"
    back = datasets.load_from_disk(str(out))
    assert isinstance(back, datasets.Dataset) and back.features == _image_dataset(1).features
    assert back.cast_column("image", datasets.Image(decode=False))["image"][1]["bytes"] == _png(4)
    assert _values(open_source(out), ["question", "options"]) == [rows[1], rows[4], rows[9]]


def test_save_to_disk_dataset_dict_splits(tmp_path):
    import datasets

    folder = tmp_path / "dict"
    datasets.DatasetDict({"train": _image_dataset(6), "test": _image_dataset(4, start=100)}).save_to_disk(str(folder))
    source = open_source(folder)  # no split given: 'test'
    assert source.split == "test" and [v["question"] for v in _values(source, ["question"])][0] == "q100"
    assert _rows_of(source, ["question"])[0][1].where == "dict[test] row 1"
    assert len(_values(open_source(folder, split="train"), ["question"])) == 6
    with pytest.raises(FormatError, match="no split 'dev' .splits: train, test"):
        open_source(folder, split="dev")
    out = source.write_subset({0, 3}, tmp_path / "out")
    back = datasets.load_from_disk(str(out))
    assert list(back) == ["test"] and back["test"]["question"] == ["q100", "q103"]

    two = tmp_path / "two"
    datasets.DatasetDict({"train": _image_dataset(2), "validation": _image_dataset(2)}).save_to_disk(str(two))
    with pytest.raises(FormatError, match="holds splits train, validation; choose one with split"):
        open_source(two)


def test_folder_of_parquet_shards_like_a_hub_snapshot(tmp_path):
    import datasets

    snap = tmp_path / "snapshot"
    (snap / "data").mkdir(parents=True)
    (snap / "README.md").write_text("---\nlicense: mit\n---\n# A benchmark\n")
    (snap / ".cache").mkdir()
    pq.write_table(_parquet_table(8, start=0), snap / "data" / "test-00000-of-00002.parquet")
    pq.write_table(_parquet_table(5, start=8), snap / "data" / "test-00001-of-00002.parquet")
    pq.write_table(_parquet_table(3, start=50), snap / "data" / "train-00000-of-00001.parquet")
    pq.write_table(_parquet_table(2, start=90), snap / "data" / "testmini-00000-of-00001.parquet")  # MathVista's
    source = open_source(snap)
    assert source.kind == "parquet-folder"
    good, bad = _rows_of(source, ["id"])
    assert not bad and [r.values["id"] for r in good] == [f"item-{i}" for i in range(13)]  # the test split only
    assert [r.number for r in good] == list(range(13))
    assert good[9].where == "data/test-00001-of-00002.parquet row 1"
    assert [v["id"] for v in _values(open_source(snap, split="train"), ["id"])] == ["item-50", "item-51", "item-52"]
    assert [v["id"] for v in _values(open_source(snap, split="testmini"), ["id"])] == ["item-90", "item-91"]
    no_test = tmp_path / "no-test"
    (no_test / "data").mkdir(parents=True)
    for name in ("dev-00000-of-00001.parquet", "train-00000-of-00001.parquet"):
        pq.write_table(_parquet_table(2), no_test / "data" / name)
    with pytest.raises(FormatError, match="holds splits dev, train; choose one with split"):
        open_source(no_test)

    keep = {2, 7, 8, 12}
    out = source.write_subset(keep, tmp_path / "out")
    assert sorted(p.relative_to(out).as_posix() for p in out.rglob("*.parquet")) == [
        "data/test-00000-of-00002.parquet", "data/test-00001-of-00002.parquet"]
    assert [v["id"] for v in _values(open_source(out), ["id"])] == [f"item-{i}" for i in sorted(keep)]
    first = pq.read_table(out / "data" / "test-00000-of-00002.parquet")
    assert first.schema.equals(_parquet_table(1).schema, check_metadata=True)
    # the harness that read the snapshot reads the subset the same way
    loaded = datasets.load_dataset(str(out), split="test", cache_dir=str(tmp_path / "hf-cache"))
    assert loaded["id"] == [f"item-{i}" for i in sorted(keep)]


def test_folder_of_jsonl_files_keeps_bytes_per_file(tmp_path):
    folder = tmp_path / "jsonl"
    (folder / "cfg_a").mkdir(parents=True)
    (folder / "cfg_b").mkdir()
    a = [json.dumps({"question": f"a{i}", "answer": "yes"}).encode() + b"\n" for i in range(3)]
    b = [json.dumps({"question": f"b{i}", "answer": "no"}).encode() + b"\n" for i in range(2)]
    (folder / "cfg_a" / "part.jsonl").write_bytes(b"".join(a))
    (folder / "cfg_b" / "part.jsonl").write_bytes(b"".join(b))
    (folder / "config.json").write_text("{}")  # a stray JSON file beside data files is not data
    source = open_source(folder)
    assert [v["question"] for v in _values(source, ["question"])] == ["a0", "a1", "a2", "b0", "b1"]
    out = source.write_subset({1, 4}, tmp_path / "out")
    assert (out / "cfg_a" / "part.jsonl").read_bytes() == a[1]
    assert (out / "cfg_b" / "part.jsonl").read_bytes() == b[1]
    assert [v["question"] for v in _values(open_source(out), ["question"])] == ["a1", "b1"]


def test_write_subset_replaces_an_earlier_subset(tmp_path):
    folder = tmp_path / "saved"
    _image_dataset(6).save_to_disk(str(folder))
    source = open_source(folder)
    source.write_subset({0, 1, 2}, tmp_path / "out")
    out = source.write_subset({5}, tmp_path / "out")
    assert _values(open_source(out), ["question"]) == [{"question": "q5"}]
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["blind_proof"]


# ---------------------------------------------------------------------------------------------- hostile input


def test_bad_json_lines_are_named_and_the_stream_goes_on(tmp_path):
    path = tmp_path / "q.jsonl"
    path.write_bytes(b'{"q": "ok"}\n{"q": broken\n[1, 2]\n' + b"[" * 100_000 + b"\n"
                     + b'{"q": ' + b"9" * 5000 + b"}\n" + b'{"q": "\xff\xfe"}\n' + b'{"q": "last"}\n')
    good, bad = _rows_of(open_source(path), ["q"])
    assert [r.values for r in good] == [{"q": "ok"}, {"q": "last"}] and [r.number for r in good] == [0, 6]
    messages = [str(e) for e in bad]
    assert messages[0].startswith("q.jsonl line 2: not valid JSON")
    assert messages[1] == "q.jsonl line 3: expected a JSON object, got an array"
    assert messages[2].startswith("q.jsonl line 4: not valid JSON") and "deep" in messages[2]
    assert messages[3].startswith("q.jsonl line 5: not valid JSON") and "digits" in messages[3]
    assert messages[4].startswith("q.jsonl line 6: not valid JSON") and "UTF-8" in messages[4]
    assert all("\n" not in m for m in messages)


def test_bad_json_array_items(tmp_path):
    path = tmp_path / "arr.json"
    path.write_text('[{"q": "ok"}, "text", {"q": ' + "7" * 5000 + '}, {"q": "end"}]')
    good, bad = _rows_of(open_source(path), ["q"])
    assert [r.number for r in good] == [0, 3]
    assert str(bad[0]) == "arr.json item 1: expected a JSON object, got a string"
    assert str(bad[1]).startswith("arr.json item 2: not valid JSON") and "digits" in str(bad[1])
    broken = tmp_path / "broken.json"
    broken.write_text('[{"q": "ok"},\n {"q": oops}]')
    with pytest.raises(FormatError, match=r"broken.json: item 1: not valid JSON: Expecting value at line 2"):
        open_source(broken)
    deep = tmp_path / "deep.json"
    deep.write_text("[" * 100_000)
    with pytest.raises(FormatError, match="deep.json: item 0: not valid JSON: nested too deeply"):
        open_source(deep)
    spread = tmp_path / "one.json"
    spread.write_text('{\n  "q": "a single object"\n}\n')
    with pytest.raises(FormatError, match="one.json: expected a JSON array of objects or one JSON object per line"):
        open_source(spread)


def test_bad_csv_records_are_named(tmp_path):
    path = tmp_path / "bench.tsv"
    path.write_bytes(b"id\tquestion\tanswer\n1\tfine\tA\n2\tmissing a field\n3\ttoo\tmany\tfields\n"
                     b"4\t\xff\xfe not utf-8\tB\n5\tlast\tC\n")
    good, bad = _rows_of(open_source(path), ["id", "question"])
    assert [r.values["id"] for r in good] == ["1", "5"] and [r.number for r in good] == [0, 4]
    assert [str(e) for e in bad] == [
        "bench.tsv line 3: 2 field(s), the header has 3",
        "bench.tsv line 4: 4 field(s), the header has 3",
        "bench.tsv line 5: column 'question' is not UTF-8 text",
    ]
    # a bad byte in a column nobody asked for (an image cell, say) is not read, so not an error
    assert [r.number for r in _rows_of(open_source(path), ["id"])[0]] == [0, 3, 4]
    unclosed = tmp_path / "unclosed.csv"
    unclosed.write_text('id,question\n1,"never closed\n2,b\n3,c\n')
    _, bad = _rows_of(open_source(unclosed), ["id"])
    assert [str(e) for e in bad] == ["unclosed.csv line 2: a quote opened here is never closed: the record "
                                     "runs to the end of the file (line 4)"]


@pytest.mark.parametrize(("name", "content", "message"), [
    ("empty.jsonl", b"", "empty file"),
    ("blank.jsonl", b"\n  \n", "empty file"),
    ("empty.tsv", b"", r"empty file \(no header line\)"),
    ("blank.csv", b"\n\n", r"empty file \(no header line\)"),
    ("empty.json", b"", "empty file"),
    ("dup.csv", b"a,b,a\n1,2,3\n", "the header names column.s. 'a' more than once"),
    ("notes.txt", b"hello", "unknown file type '.txt'"),
    ("data.xlsx", b"PK", "unknown file type '.xlsx'"),
    ("fake.parquet", b"not parquet at all", "not a readable parquet file"),
    ("scalar.json", b"42\n", "expected a JSON array of objects or one JSON object per line"),
])
def test_bad_files_are_one_line_naming_the_file(tmp_path, name, content, message):
    path = tmp_path / name
    path.write_bytes(content)
    with pytest.raises(FormatError, match=message) as info:
        open_source(path)
    assert str(info.value).startswith(str(path)) and "\n" not in str(info.value)


def test_missing_paths_folders_and_split_misuse(tmp_path):
    with pytest.raises(FormatError, match="no such file or folder"):
        open_source(tmp_path / "absent.tsv")
    with pytest.raises(FormatError, match="no data files"):
        open_source(tmp_path)
    mixed = tmp_path / "mixed"
    mixed.mkdir()
    pq.write_table(_parquet_table(2), mixed / "a.parquet")
    (mixed / "b.jsonl").write_text('{"q": 1}\n')
    with pytest.raises(FormatError, match=r"several kinds \(1 jsonl, 1 parquet\)"):
        open_source(mixed)
    (mixed / "b.jsonl").unlink()
    with pytest.raises(FormatError, match="no data file has 'test' in its name"):
        open_source(mixed, split="test")
    single = tmp_path / "one.jsonl"
    single.write_text('{"q": 1}\n')
    with pytest.raises(FormatError, match="a single file has no splits"):
        open_source(single, split="test")


def test_unreachable_hub_is_one_line(monkeypatch):
    """This machine cannot reach the Hub; offline mode gives the same failure without five retries."""
    import datasets

    monkeypatch.setattr(datasets.config, "HF_HUB_OFFLINE", True)
    with pytest.raises(FormatError) as info:
        open_source("some-org/some-benchmark", split="test")
    message = str(info.value)
    assert message.startswith("some-org/some-benchmark: not a local path, and loading it from the Hugging Face Hub")
    assert "\n" not in message
