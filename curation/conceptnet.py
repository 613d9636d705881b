"""ConceptNet ingest, streaming, for both real formats:

- the official 5-column assertions CSV (tab-separated: edge URI, `/r/Rel`, start `/c/en/...`, end, JSON with
  `weight`), plain or gzipped; the full 5.7 dump is ~34M rows and mixes all languages;
- the CKBC TSV (`relation  head  tail  weight`, no header), e.g. ConceptNet-100K.

The file is read in blocks of whole lines; each block is parsed by polars' CSV reader (all columns as text, so
one bad line never fails the block) and checked with vectorised expressions. Malformed lines are counted and
kept with their line numbers; they never abort an ingest. Well-formed edges whose start or end is not a concept
(ExternalURL links to DBpedia/Wikidata, ~8M in the 5.7 dump) are no error: they are counted as skipped, by
relation. Edges are written to a parquet file as they come
(bounded memory) with normalised concepts: `/c/en/ice_cream/n/wn/food` -> "ice cream".
"""

from __future__ import annotations

import gzip
import io
import json
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path

import polars as pl
import pyarrow.parquet as pq

from mmra.errors import MMRAError

# ConceptNet 5 relation names, to map lower-case CKBC spellings ("atlocation") onto the official ones.
KNOWN_RELATIONS = (
    "RelatedTo FormOf IsA PartOf HasA UsedFor CapableOf AtLocation Causes HasSubevent HasFirstSubevent "
    "HasLastSubevent HasPrerequisite HasProperty MotivatedByGoal ObstructedBy Desires CreatedBy Synonym Antonym "
    "DistinctFrom DerivedFrom SymbolOf DefinedAs MannerOf LocatedNear HasContext SimilarTo EtymologicallyRelatedTo "
    "EtymologicallyDerivedFrom CausesDesire MadeOf ReceivesAction ExternalURL InstanceOf Entails NotDesires "
    "NotUsedFor NotCapableOf NotHasProperty NotMadeOf NotIsA NotHasA LocationOfAction DesireOf InheritsFrom "
    "CapableOfReceivingAction HasPainIntensity HasPainCharacter SymbolOf"
).split()
_CANONICAL = {r.lower(): r for r in KNOWN_RELATIONS}

EDGE_SCHEMA = {"relation": pl.Utf8, "head": pl.Utf8, "tail": pl.Utf8, "weight": pl.Float64, "line": pl.Int64}
BLOCK_BYTES = 32 * 1024 * 1024
MAX_LISTED_MALFORMED = 10_000  # every malformed line is counted; this many are listed with their text
NON_CONCEPT = "non-concept edge"  # a `problem` value that is no problem: skipped, counted by relation


def canonical_relation(name: str) -> str:
    name = name.strip().removeprefix("/r/").strip("/")
    return _CANONICAL.get(name.lower().replace("_", ""), name)


@dataclass
class MalformedLine:
    line: int
    reason: str
    text: str


@dataclass
class IngestStats:
    path: str
    format: str = ""
    bytes: int = 0
    lines: int = 0
    blank: int = 0
    kept: int = 0
    not_english: int = 0
    other_relation: int = 0
    below_min_weight: int = 0
    malformed: int = 0
    malformed_lines: list[MalformedLine] = field(default_factory=list)
    non_concept_by_relation: dict[str, int] = field(default_factory=dict)  # edges to URLs etc., skipped
    seconds: float = 0.0
    parquet: str = ""  # where the kept edges were written (a cache path, not part of the report)

    @property
    def mb_per_s(self) -> float:
        return self.bytes / 1e6 / self.seconds if self.seconds else 0.0

    def to_dict(self) -> dict:
        data = asdict(self)
        data.pop("parquet")
        data["mb_per_s"] = round(self.mb_per_s, 1)
        data["malformed_listed"] = len(self.malformed_lines)
        return data

    def summary(self) -> str:
        return (f"{Path(self.path).name}: {self.lines:,} lines, {self.kept:,} edges kept, "
                f"{self.malformed:,} malformed, {self.not_english:,} not English, "
                f"{self.other_relation:,} other relations, "
                f"{sum(self.non_concept_by_relation.values()):,} non-concept edges skipped")


def _open_binary(path: Path) -> tuple[io.BufferedReader, object]:
    """The (possibly gzipped) file, plus the raw handle whose position tells the progress in file bytes."""
    raw = path.open("rb")
    magic = raw.read(2)
    raw.seek(0)
    if magic == b"\x1f\x8b":
        return gzip.GzipFile(fileobj=raw, mode="rb"), raw  # type: ignore[return-value]
    return raw, raw


def _blocks(stream, block_bytes: int) -> Iterator[bytes]:
    """Blocks of whole lines."""
    rest = b""
    while True:
        chunk = stream.read(block_bytes)
        if not chunk:
            if rest:
                yield rest if rest.endswith(b"\n") else rest + b"\n"
            return
        chunk = rest + chunk
        cut = chunk.rfind(b"\n")
        if cut < 0:
            rest = chunk
            continue
        rest = chunk[cut + 1:]
        yield chunk[: cut + 1]


def detect_format(path: Path) -> str:
    """'conceptnet-csv' (5 columns, /a/ edge URIs) or 'ckbc-tsv' (relation head tail weight)."""
    stream, raw = _open_binary(path)
    try:
        for _ in range(1000):
            line = stream.readline()
            if not line:
                break
            text = line.decode("utf-8", "replace").rstrip("\r\n")
            if not text.strip():
                continue
            fields = text.split("\t")
            if text.startswith("/a/") or (len(fields) >= 5 and fields[1].startswith("/r/")):
                return "conceptnet-csv"
            if len(fields) in (3, 4):
                return "ckbc-tsv"
        raise MMRAError(
            f"{path}: neither a ConceptNet assertions CSV (5 tab-separated columns starting with an /a/ edge URI) "
            "nor a CKBC TSV (relation, head, tail, weight)"
        )
    except (OSError, EOFError, gzip.BadGzipFile) as exc:
        raise MMRAError(f"{path}: cannot be read: {exc}") from exc
    finally:
        raw.close()


def _read_block(block: bytes, n_columns: int) -> pl.DataFrame:
    """All columns as text; one row per physical line (blank lines give null rows), numbered from 0."""
    schema = {f"c{i}": pl.Utf8 for i in range(n_columns)}
    frame = pl.read_csv(
        io.BytesIO(block), has_header=False, separator="\t", quote_char=None, schema=schema,
        truncate_ragged_lines=True, missing_columns="insert", encoding="utf8-lossy",
    )
    if frame.height != block.count(b"\n"):
        # The reader merged or dropped lines (should not happen): split by hand so line numbers stay exact.
        lines = block.decode("utf-8", "replace").split("\n")[:-1]
        frame = (pl.Series("raw", lines, dtype=pl.Utf8).str.split_exact("\t", n_columns - 1)
                 .struct.rename_fields(list(schema)).struct.unnest())
        frame = frame.with_columns(pl.when(pl.col(c) == "").then(None).otherwise(pl.col(c)).alias(c) for c in schema)
    return frame.with_row_index("row")


def _csv_block(frame: pl.DataFrame) -> pl.LazyFrame:
    """Parse a 5-column assertions block: adds `problem` (None when fine), `english`, normalised fields."""
    c = pl.col
    lang = r"^/c/([^/]+)/"
    concept = r"^/c/[^/]+/([^/]+)"
    data = c("c4").str.strip_chars_end("\r")
    weight = data.str.extract(r'"weight"\s*:\s*(-?[0-9][0-9.eE+-]*)').cast(pl.Float64, strict=False)

    def end_ok(col: str) -> pl.Expr:  # a concept, or a URI of something else (http://..., /s/...): not broken
        return c(col).str.extract(concept).is_not_null() | (
            ~c(col).str.starts_with("/c/") & c(col).str.contains(r"^(/[^/\s]+/\S|[A-Za-z][A-Za-z0-9+.-]*://\S)"))

    non_concept = end_ok("c2") & end_ok("c3") & (c("c2").str.extract(concept).is_null()
                                                  | c("c3").str.extract(concept).is_null())
    problem = (
        pl.when(c("c0").is_null() & c("c1").is_null() & c("c2").is_null()).then(pl.lit("blank"))
        .when(c("c4").is_null()).then(pl.lit("fewer than 5 tab-separated fields"))
        .when(c("c5").is_not_null()).then(pl.lit("more than 5 tab-separated fields"))
        .when(~c("c1").str.starts_with("/r/")).then(pl.lit("relation is not a /r/ URI: ") + c("c1").str.slice(0, 60))
        .when(non_concept).then(pl.lit(NON_CONCEPT))
        .when(c("c2").str.extract(concept).is_null()).then(pl.lit("start is not a /c/ concept URI: ") + c("c2").str.slice(0, 60))
        .when(c("c3").str.extract(concept).is_null()).then(pl.lit("end is not a /c/ concept URI: ") + c("c3").str.slice(0, 60))
        .when(~data.str.starts_with("{") | ~data.str.ends_with("}")).then(pl.lit("5th column is not a JSON object"))
        .when(weight.is_null()).then(pl.lit("no numeric 'weight' in the JSON column"))
        .when(weight.is_nan() | weight.is_infinite())  # 1e999: beyond a float
        .then(pl.lit("weight is not a finite number: ") + data.str.extract(r'"weight"\s*:\s*([^,}]{0,40})'))
        .otherwise(None)
    )
    return frame.lazy().select(
        c("row"),
        problem.alias("problem"),
        ((c("c2").str.extract(lang) == "en") & (c("c3").str.extract(lang) == "en")).alias("english"),
        c("c1").str.strip_prefix("/r/").str.strip_chars_end("/").alias("relation"),
        c("c2").str.extract(concept).str.replace_all("_", " ").str.to_lowercase().alias("head"),
        c("c3").str.extract(concept).str.replace_all("_", " ").str.to_lowercase().alias("tail"),
        weight.alias("weight"),
        pl.concat_str([c(f"c{i}") for i in range(6)], separator="\t", ignore_nulls=True).str.slice(0, 200).alias("text"),
    )


def _tsv_block(frame: pl.DataFrame) -> pl.LazyFrame:
    """Parse a CKBC block (relation, head, tail, weight; weight optional -> 1.0)."""
    c = pl.col
    weight_text = c("c3").str.strip_chars()
    weight = weight_text.cast(pl.Float64, strict=False)

    def phrase(col: str) -> pl.Expr:
        return c(col).str.replace_all("_", " ").str.replace_all(r"\s+", " ").str.strip_chars().str.to_lowercase()

    problem = (
        pl.when(c("c0").is_null() & c("c1").is_null()).then(pl.lit("blank"))
        .when(c("c2").is_null()).then(pl.lit("fewer than 3 tab-separated fields (relation, head, tail[, weight])"))
        .when(c("c4").is_not_null()).then(pl.lit("more than 4 tab-separated fields"))
        .when(phrase("c1") == "").then(pl.lit("empty head concept"))
        .when(phrase("c2").str.strip_chars_end("\r") == "").then(pl.lit("empty tail concept"))
        .when(weight_text.is_not_null() & weight.is_null())
        .then(pl.lit("weight is not a number: ") + weight_text.str.slice(0, 40))
        .when(weight.is_nan() | weight.is_infinite())  # NaN, inf, 1e999: read as floats, never a weight
        .then(pl.lit("weight is not a finite number: ") + weight_text.str.slice(0, 40))
        .otherwise(None)
    )
    return frame.lazy().select(
        c("row"),
        problem.alias("problem"),
        pl.lit(True).alias("english"),
        c("c0").str.strip_chars().str.strip_prefix("/r/").alias("relation"),
        phrase("c1").alias("head"),
        phrase("c2").str.strip_chars_end("\r").alias("tail"),
        weight.fill_null(1.0).alias("weight"),
        pl.concat_str([c(f"c{i}") for i in range(5)], separator="\t", ignore_nulls=True).str.slice(0, 200).alias("text"),
    )


def ingest_conceptnet(
    path: str | Path,
    out_parquet: str | Path,
    *,
    relations: Sequence[str] | None = None,
    english_only: bool = True,
    min_weight: float | None = None,
    block_bytes: int = BLOCK_BYTES,
    on_progress: Callable[[int, int], None] | None = None,
) -> IngestStats:
    """Stream one ConceptNet file into `out_parquet` (columns relation, head, tail, weight, line).

    `relations` keeps only those relations (official names; case-insensitive); `english_only` keeps edges whose
    start and end are both `/c/en/` (CSV only: CKBC is English). `on_progress(done_bytes, total_bytes)` is
    called after each block. Malformed lines are counted in the returned stats, with line numbers."""
    path = Path(path)
    if not path.is_file():
        cause = "is a folder, not a file" if path.is_dir() else "does not exist"
        raise FileNotFoundError(f"ConceptNet file {path} {cause}")
    fmt = detect_format(path)
    wanted = {canonical_relation(r) for r in relations} if relations else None
    stats = IngestStats(path=str(path), format=fmt)
    total = path.stat().st_size
    n_columns = 6 if fmt == "conceptnet-csv" else 5
    parse = _csv_block if fmt == "conceptnet-csv" else _tsv_block
    out_parquet = Path(out_parquet)
    out_parquet.parent.mkdir(parents=True, exist_ok=True)
    tmp = out_parquet.with_name(out_parquet.name + ".tmp")
    writer: pq.ParquetWriter | None = None
    start = time.perf_counter()
    first_line = 1
    stream, raw = _open_binary(path)
    try:
        for block in _blocks(stream, block_bytes):
            stats.bytes += len(block)
            frame = parse(_read_block(block, n_columns)).with_columns(
                (pl.col("row") + first_line).alias("line")).collect()
            first_line += frame.height
            stats.lines += frame.height
            stats.blank += int((frame["problem"] == "blank").sum())
            skipped = frame.filter(pl.col("problem") == NON_CONCEPT)
            for relation, n in skipped.group_by("relation").len().iter_rows():
                name = canonical_relation(relation)
                stats.non_concept_by_relation[name] = stats.non_concept_by_relation.get(name, 0) + n
            bad = frame.filter(pl.col("problem").is_not_null() & ~pl.col("problem").is_in(["blank", NON_CONCEPT]))
            stats.malformed += bad.height
            room = MAX_LISTED_MALFORMED - len(stats.malformed_lines)
            if room > 0:
                stats.malformed_lines.extend(
                    MalformedLine(row["line"], row["problem"], row["text"] or "")
                    for row in bad.head(room).select("line", "problem", "text").iter_rows(named=True))
            good = frame.filter(pl.col("problem").is_null())
            if english_only:
                stats.not_english += int((~good["english"]).sum())
                good = good.filter(pl.col("english"))
            good = good.with_columns(_canonical_expr(good["relation"]))
            if wanted is not None:
                keep = pl.col("relation").is_in(list(wanted))
                stats.other_relation += int(good.height - good.filter(keep).height)
                good = good.filter(keep)
            if min_weight is not None:
                keep = pl.col("weight") >= min_weight
                stats.below_min_weight += int(good.height - good.filter(keep).height)
                good = good.filter(keep)
            edges = good.select(list(EDGE_SCHEMA)).cast(EDGE_SCHEMA)  # type: ignore[arg-type]
            stats.kept += edges.height
            table = edges.to_arrow()
            if writer is None:
                writer = pq.ParquetWriter(tmp, table.schema, compression="zstd")
            writer.write_table(table)
            if on_progress:
                on_progress(raw.tell(), total)
    except (OSError, EOFError, gzip.BadGzipFile) as exc:
        # a damaged gzip stream: keep what was read so far and say where it stopped
        stats.malformed += 1
        stats.malformed_lines.append(MalformedLine(first_line, f"file ends early or is damaged: {exc}", ""))
    finally:
        raw.close()
        if writer is None:
            empty = pl.DataFrame(schema=EDGE_SCHEMA).to_arrow()
            writer = pq.ParquetWriter(tmp, empty.schema, compression="zstd")
        writer.close()
    tmp.replace(out_parquet)
    stats.seconds = time.perf_counter() - start
    return stats


def _canonical_expr(relations: pl.Series) -> pl.Expr:
    """Map relation spellings through `canonical_relation` once per distinct value (fast on big blocks)."""
    mapping = {name: canonical_relation(name) for name in relations.unique().drop_nulls().to_list()}
    return pl.col("relation").replace(mapping)


def write_stats(stats: IngestStats, path: Path) -> None:
    path.write_text(json.dumps(stats.to_dict(), indent=2), encoding="utf-8")
