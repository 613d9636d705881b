"""ConceptNet ingest of both real formats, normalisation, filters and malformed-line reporting."""

from __future__ import annotations

import gzip
import json

import polars as pl
import pytest

from mmra.curation.conceptnet import canonical_relation, detect_format, ingest_conceptnet
from mmra.curation.edges import EdgeStore
from mmra.curation.text import Lemmatiser, PhraseMatcher, normalise_concept_uri


def _row(rel, start, end, weight=1.0, extra=""):
    data = json.dumps({"dataset": "/d/conceptnet/4/en", "license": "cc:by/4.0", "weight": weight})
    return f"/a/[/r/{rel}/,{start}/,{end}/]\t/r/{rel}\t{start}\t{end}\t{data}{extra}"


def test_official_csv_gz_streamed_with_filters_and_malformed_lines(tmp_path):
    rows = [
        _row("UsedFor", "/c/en/knife", "/c/en/cut", 2.0),                       # 1
        _row("IsA", "/c/en/ice_cream/n/wn/food", "/c/en/dessert/n", 1.5),       # 2
        _row("IsA", "/c/fr/glace", "/c/en/ice_cream"),                           # 3 not English
        "/a/[/r/IsA/,/c/en/a/,/c/en/b/]\t/r/IsA\t/c/en/a",                       # 4 too few fields
        "",                                                                       # 5 blank
        _row("MadeOf", "/c/en/bench", "/c/en/wood").replace('"weight": 1.0', '"weight": "heavy"'),  # 6 no weight
        _row("AtLocation", "/c/en/cup", "/c/en/table", 1.0, extra="\textra"),    # 7 too many fields
        "/a/[x]\tUsedFor\t/c/en/a\t/c/en/b\t{}",                                 # 8 relation not /r/
        _row("MadeOf", "/c/en/bench", "/c/en/wood", 3.0),                        # 9
    ]
    path = tmp_path / "assertions.csv.gz"
    with gzip.open(path, "wt", encoding="utf-8") as fh:
        fh.write("\n".join(rows) + "\n")
    assert detect_format(path) == "conceptnet-csv"
    out = tmp_path / "edges.parquet"
    stats = ingest_conceptnet(path, out, block_bytes=200)  # tiny blocks: exercise the streaming
    assert stats.lines == 9 and stats.blank == 1 and stats.not_english == 1
    assert stats.kept == 3
    assert stats.malformed == 4
    by_line = {m.line: m.reason for m in stats.malformed_lines}
    assert set(by_line) == {4, 6, 7, 8}
    assert "fewer than 5" in by_line[4] and "weight" in by_line[6]
    assert "more than 5" in by_line[7] and "/r/" in by_line[8]
    edges = pl.read_parquet(out)
    assert edges.filter(pl.col("relation") == "IsA").row(0, named=True) == {
        "relation": "IsA", "head": "ice cream", "tail": "dessert", "weight": 1.5, "line": 2}
    only_used_for = ingest_conceptnet(path, tmp_path / "u.parquet", relations=["usedfor"])
    assert only_used_for.kept == 1 and only_used_for.other_relation == 2


def test_ckbc_real_file(shared_data, tmp_path):
    path = shared_data / "conceptnet" / "ckbc-train100k.tsv.gz"
    assert detect_format(path) == "ckbc-tsv"
    stats = ingest_conceptnet(path, tmp_path / "ckbc.parquet")
    assert (stats.lines, stats.kept, stats.malformed) == (100_000, 100_000, 0)
    store = EdgeStore.from_parquet([tmp_path / "ckbc.parquet"])
    counts = store.relation_counts()
    assert counts["IsA"] <= 14_925 and counts["IsA"] > 14_000  # README figures (duplicates merged)
    assert counts["AtLocation"] > 14_000 and counts["LocatedNear"] == 3
    made_of = store.lookup(["MadeOf"], ["knife", "bicycle"])
    assert {f.tail for f in made_of["knife"]} >= {"steel", "silver"}
    assert made_of["bicycle"][0].tail == "metal"


def test_ckbc_malformed_lines_are_counted_not_fatal(tmp_path):
    path = tmp_path / "kb.tsv"
    path.write_text("UsedFor\tknife\tcut\t2.0\nIsA\tdog\n"
                    "atlocation\tcup\ttable\tnot-a-number\nAtLocation\tcup\tkitchen cabinet\n"
                    "MadeOf\tbench\twood\t1\textra\n")
    stats = ingest_conceptnet(path, tmp_path / "kb.parquet")
    assert stats.kept == 2 and stats.malformed == 3
    assert [(m.line, m.reason.split(":")[0]) for m in stats.malformed_lines] == [
        (2, "fewer than 3 tab-separated fields (relation, head, tail[, weight])"),
        (3, "weight is not a number"), (5, "more than 4 tab-separated fields")]
    edges = pl.read_parquet(tmp_path / "kb.parquet")
    assert edges.filter(pl.col("tail") == "kitchen cabinet")["weight"].to_list() == [1.0]


def test_unreadable_format_is_named(tmp_path):
    from mmra.errors import MMRAError

    path = tmp_path / "x.txt"
    path.write_text("just words\n")
    with pytest.raises(MMRAError, match="x.txt: neither"):
        detect_format(path)


def test_normalisation_and_phrase_matching():
    assert normalise_concept_uri("/c/en/ice_cream/n/wn/food") == "ice cream"
    assert normalise_concept_uri("/r/IsA") is None
    assert canonical_relation("/r/atlocation") == "AtLocation"
    lem = Lemmatiser(["sit", "ride", "horse"])
    assert lem("sitting") == "sit" and lem("riding") == "ride" and lem("children") == "child"
    matcher = PhraseMatcher(["ride horse", "fire hydrant", "horse"], lem, max_gap=1)
    found = {m.concept for m in matcher.find("A girl riding a brown horse near a fire hydrant")}
    assert found == {"ride horse", "horse", "fire hydrant"}
