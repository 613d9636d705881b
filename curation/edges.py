"""The edge store: ingested ConceptNet edges (parquet) held as one polars frame, deduplicated, with the lookups
the miners need ("which tails does concept X have for relations R", and the reverse).

Why polars and not DuckDB, measured (`benches/bench_curation.py --compare-stores`, this 2-core machine, 3M
edges, a 4k-concept vocabulary): one mining lookup "relation R and head in V" takes 22 ms on the in-memory polars
frame including grouping the rows into Python, 39 ms in DuckDB over the parquet file, and 14 ms from a DuckDB
table (rows only, after a load step). A run makes ~30 such lookups, so the per-query difference is under a
second either way; polars wins on the whole: the ingest already parses with it, there is no second engine or
load step, and the frame goes straight into the miners. Parquet stays the on-disk format, so DuckDB can query
the same files for ad-hoc analysis.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import NamedTuple

import polars as pl

from mmra.benchmark.schema import Edge

from .conceptnet import canonical_relation


class Fact(NamedTuple):
    """One edge, light enough to hold millions; `edge()` makes the schema's `Edge` for evidence."""

    relation: str
    head: str
    tail: str
    weight: float

    def edge(self) -> Edge:
        return Edge(relation=self.relation, head=self.head, tail=self.tail, weight=round(self.weight, 4))


class EdgeStore:
    def __init__(self, frame: pl.DataFrame) -> None:
        frame = frame.select("relation", "head", "tail", "weight")
        # The same fact can arrive from several senses/datasets (/c/en/knife/n and /c/en/knife): keep the max weight.
        self.frame = (frame.filter(pl.col("head") != pl.col("tail"))
                      .group_by("relation", "head", "tail").agg(pl.col("weight").max())
                      .sort("relation", "head", "tail"))
        self._concepts: set[str] | None = None

    @classmethod
    def from_parquet(cls, paths: Sequence[str | Path]) -> EdgeStore:
        frames = [pl.read_parquet(p, columns=["relation", "head", "tail", "weight"]) for p in paths]
        if not frames:
            return cls(pl.DataFrame(schema={"relation": pl.Utf8, "head": pl.Utf8, "tail": pl.Utf8, "weight": pl.Float64}))
        return cls(pl.concat(frames))

    @classmethod
    def from_edges(cls, edges: Iterable[tuple[str, str, str, float]]) -> EdgeStore:
        rows = list(edges)
        return cls(pl.DataFrame(rows, schema={"relation": pl.Utf8, "head": pl.Utf8, "tail": pl.Utf8,
                                              "weight": pl.Float64}, orient="row"))

    def __len__(self) -> int:
        return self.frame.height

    def relation_counts(self) -> dict[str, int]:
        counts = self.frame.group_by("relation").len().sort("len", descending=True)
        return dict(zip(counts["relation"].to_list(), counts["len"].to_list(), strict=True))

    def concepts(self, relations: Sequence[str] | None = None, side: str = "both") -> set[str]:
        """Concepts used by `relations` as head, tail or both."""
        frame = self._rel(relations)
        out: set[str] = set()
        if side in ("head", "both"):
            out.update(frame["head"].unique().to_list())
        if side in ("tail", "both"):
            out.update(frame["tail"].unique().to_list())
        return out

    def all_concepts(self) -> set[str]:
        if self._concepts is None:
            self._concepts = self.concepts()
        return self._concepts

    def _rel(self, relations: Sequence[str] | None) -> pl.DataFrame:
        if not relations:
            return self.frame
        return self.frame.filter(pl.col("relation").is_in([canonical_relation(r) for r in relations]))

    def lookup(self, relations: Sequence[str], heads: Iterable[str], *, tails: Iterable[str] | None = None,
               ) -> dict[str, list[Fact]]:
        """Edges of `relations` whose head is in `heads` (and tail in `tails` if given), grouped by head,
        strongest first."""
        frame = self._rel(relations).filter(pl.col("head").is_in(list(set(heads))))
        if tails is not None:
            frame = frame.filter(pl.col("tail").is_in(list(set(tails))))
        return self._group(frame, "head")

    def lookup_tails(self, relations: Sequence[str], tails: Iterable[str]) -> dict[str, list[Fact]]:
        """Edges of `relations` whose tail is in `tails`, grouped by tail, strongest first."""
        frame = self._rel(relations).filter(pl.col("tail").is_in(list(set(tails))))
        return self._group(frame, "tail")

    @staticmethod
    def _group(frame: pl.DataFrame, key: str) -> dict[str, list[Fact]]:
        grouped: dict[str, list[Fact]] = defaultdict(list)
        index = 1 if key == "head" else 2
        for row in frame.sort("weight", "relation", "head", "tail", descending=[True, False, False, False]).iter_rows():
            grouped[row[index]].append(Fact(*row))
        return dict(grouped)

    def tail_frequency(self, relations: Sequence[str]) -> dict[str, int]:
        """How many heads each tail has (to down-weight generic tails such as 'fun')."""
        counts = self._rel(relations).group_by("tail").len()
        return dict(zip(counts["tail"].to_list(), counts["len"].to_list(), strict=True))
