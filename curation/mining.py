"""The mining framework: a `MiningContext` (images, what they show, the edge store), `Proposal`s (a scored image
pair whose evidence is built only if it is kept) and the deterministic, seeded ranking with diversity caps and
a per-subtask quota.

A miner is `fn(context, quota, rng) -> Iterable[Proposal | Candidate]`. Every subtask carries its own, built in
or from a plug-in, as `Subtask.miner` (the function, or "module:function"; the built-in ones live in miners.py).
"""

from __future__ import annotations

import hashlib
import math
import random
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from mmra.benchmark.registry import get_subtask
from mmra.benchmark.schema import Box, Candidate, ImageRef, Provenance

from .corpus import ImageRecord
from .edges import EdgeStore
from .entities import ImageFacts, Linker

MinerFn = Callable[["MiningContext", int, random.Random], Iterable[Any]]


@dataclass
class Proposal:
    """A scored pair of images (indices into `MiningContext.images`, in question order)."""

    a: int
    b: int
    score: float
    keys: tuple[str, ...]  # the concepts it is about: diversity caps count these
    evidence: Callable[[], Provenance]  # built only for the pairs that are kept
    question: str | None = None


@dataclass
class MiningContext:
    images: list[ImageRecord]
    facts: list[ImageFacts]
    store: EdgeStore
    linker: Linker
    seed: int = 0
    _entity_index: dict[str, list[int]] | None = field(default=None, repr=False)

    def rng(self, name: str) -> random.Random:
        return random.Random(f"{self.seed}:{name}")

    @property
    def entity_index(self) -> dict[str, list[int]]:
        """concept -> images that show it."""
        if self._entity_index is None:
            index: dict[str, list[int]] = defaultdict(list)
            for i, facts in enumerate(self.facts):
                for concept in facts.entities:
                    index[concept].append(i)
            self._entity_index = dict(index)
        return self._entity_index

    def vocabulary(self) -> set[str]:
        return set(self.entity_index)

    def salience(self, i: int, concept: str) -> float:
        """How prominent an entity is: a big box, or named in several captions."""
        record, mention = self.images[i], self.facts[i].entities.get(concept)
        if mention is None:
            return 0.0
        score = 0.4
        if mention.boxes and record.area:
            biggest = max(record.boxes[k].area for k in mention.boxes) / record.area
            score += min(0.6, math.sqrt(biggest))
        score += 0.15 * min(3, len(set(mention.captions)))
        return min(1.0, score)

    def evidence(self, a: int, b: int, *, concepts: Sequence[str] = (), edges: Iterable[Any] = (),
                 box_labels: tuple[Iterable[str], Iterable[str]] | None = None, all_boxes: bool = False,
                 heuristic: str | None = None, extra: dict[str, Any] | None = None) -> Provenance:
        """Evidence for a pair: entities and captions of both images, the given edges, and the boxes of
        `box_labels` (the labels' boxes in image 1 and image 2; or every box with `all_boxes`)."""
        boxes: list[Box] = []
        for which, i in ((1, a), (2, b)):
            wanted = None if all_boxes else set(box_labels[which - 1]) if box_labels else set()
            for box in self.images[i].boxes:
                linked = self.linker.link_label(box.label)
                if wanted is None or box.label in wanted or (linked and linked[0] in wanted):
                    boxes.append(Box(label=box.label, bbox=tuple(round(v, 1) for v in box.bbox), image=which))
        entity_origins = {f"image{n}": {c: m.origin for c, m in sorted(self.facts[i].entities.items())}
                          for n, i in ((1, a), (2, b))}
        edge_models = [e.edge() if hasattr(e, "edge") else e for e in edges]
        return Provenance(
            edges=list({(e.relation, e.head, e.tail, e.source): e for e in edge_models}.values()),
            entities={f"image{n}": sorted(self.facts[i].entities) for n, i in ((1, a), (2, b))},
            boxes=boxes,
            captions={f"image{n}": list(self.images[i].captions) for n, i in ((1, a), (2, b))},
            concepts=list(dict.fromkeys(concepts)),
            heuristic=heuristic,
            extra={**(extra or {}), "entity_origins": entity_origins},
        )


def pair_up(entries: Sequence[tuple[int, float, Any]], rng: random.Random, limit: int
            ) -> Iterable[tuple[tuple[int, float, Any], tuple[int, float, Any]]]:
    """At most `limit` pairs from one posting list of (image, strength, payload) entries: entries sorted by
    strength (ties by the seeded rng), then neighbours at distance 1, 2, 3, ... in that order. Strong pairs
    come first, every image gets a partner early, and a concept shown in 30k images costs O(limit), not
    O(30k^2)."""
    by_image: dict[int, tuple[int, float, Any]] = {}
    for entry in entries:  # one entry per image: its strongest
        if entry[0] not in by_image or entry[1] > by_image[entry[0]][1]:
            by_image[entry[0]] = entry
    ordered = sorted(by_image.values(), key=lambda e: (-e[1], rng.random()))
    n, made = len(ordered), 0
    for distance in range(1, n):
        for k in range(n - distance):
            yield ordered[k], ordered[k + distance]
            made += 1
            if made >= limit:
                return


def pairs_per_key(quota: int, n_keys: int) -> int:
    """How many pairs to draw from each shared concept: enough for the quota when concepts are few, a total
    budget of ~30 x quota proposals when they are many (100k images give tens of thousands of keys)."""
    return max(4, min(max(60, 2 * quota), math.ceil(30 * quota / max(1, n_keys))))


# ------------------------------------------------------------------------------------------------- ranking


@dataclass
class RankingConfig:
    quota: int = 100  # candidates per subtask
    max_image_uses: int = 2  # how often one image may appear within one subtask
    max_concept_share: float = 0.2  # share of the quota one concept may take (at least 2 candidates)
    relax: bool = True  # fill a shortfall in a second pass with doubled image cap and no concept cap


def _tiebreak(seed: int, subtask: str, a: str, b: str) -> int:
    return int.from_bytes(hashlib.blake2b(f"{seed}|{subtask}|{a}|{b}".encode(), digest_size=8).digest(), "big")


def rank(subtask: str, proposals: Iterable[Proposal], ctx: MiningContext, config: RankingConfig
         ) -> tuple[list[tuple[Proposal, bool]], dict[str, int]]:
    """Greedy selection by score (ties by a seeded hash), skipping repeated pairs and pairs beyond the
    diversity caps. Returns [(proposal, relaxed)] and counters for the report."""
    keyed = []
    seen_pairs: set[frozenset[str]] = set()
    stats: Counter[str] = Counter()
    for p in proposals:
        stats["proposed"] += 1
        ka, kb = ctx.images[p.a].key, ctx.images[p.b].key
        pair = frozenset((ka, kb))
        if p.a == p.b or len(pair) < 2:
            continue
        if ctx.images[p.a].sha256 and ctx.images[p.a].sha256 == ctx.images[p.b].sha256:
            continue
        keyed.append((-round(p.score, 9), _tiebreak(ctx.seed, subtask, *sorted((ka, kb))), p, pair))
    keyed.sort(key=lambda t: (t[0], t[1]))
    concept_cap = max(2, math.ceil(config.max_concept_share * config.quota))
    chosen: list[tuple[Proposal, bool]] = []
    image_uses: Counter[int] = Counter()
    concept_uses: Counter[str] = Counter()

    def run(image_cap: int, concept_limit: int | None, relaxed: bool) -> None:
        for _, _, p, pair in keyed:
            if len(chosen) >= config.quota:
                return
            if pair in seen_pairs:
                continue
            if image_uses[p.a] >= image_cap or image_uses[p.b] >= image_cap:
                stats["skipped_image_cap"] += 1
                continue
            if concept_limit is not None and any(concept_uses[k] >= concept_limit for k in p.keys):
                stats["skipped_concept_cap"] += 1
                continue
            seen_pairs.add(pair)
            image_uses.update((p.a, p.b))
            concept_uses.update(set(p.keys))
            chosen.append((p, relaxed))

    run(config.max_image_uses, concept_cap, False)
    if config.relax and len(chosen) < config.quota:
        run(config.max_image_uses * 2, None, True)
    stats["selected"] = len(chosen)
    stats["selected_relaxed"] = sum(1 for _, relaxed in chosen if relaxed)
    return chosen, dict(stats)


def image_ref(record: ImageRecord) -> ImageRef:
    return ImageRef(path=str(record.path), sha256=record.sha256, phash=record.phash, dhash=record.dhash,
                    width=record.width, height=record.height, source=record.key, source_url=record.source_url,
                    licence=record.licence)


def to_candidate(subtask: str, proposal: Proposal, ctx: MiningContext, miner_name: str, relaxed: bool) -> Candidate:
    evidence = proposal.evidence()
    evidence.miner = miner_name
    evidence.score = round(proposal.score, 6)
    if relaxed:
        evidence.extra["relaxed_diversity_caps"] = True
    return Candidate(subtask=subtask, granularity=get_subtask(subtask).granularity,
                     image1=image_ref(ctx.images[proposal.a]),
                     image2=image_ref(ctx.images[proposal.b]), score=round(proposal.score, 6),
                     evidence=evidence, suggested_question=proposal.question)


def mine_subtask(name: str, ctx: MiningContext, config: RankingConfig) -> tuple[list[Candidate], dict[str, Any]]:
    """Run one subtask's miner and rank its proposals. Candidates that a plug-in miner returns directly
    are ranked by their score with the same caps."""
    spec = get_subtask(name)
    fn = spec.resolve_miner()
    if fn is None:
        return [], {"error": f"no miner for subtask {spec.name!r}: none is built in and the subtask "
                             "did not register one (Subtask.miner)"}
    rng = ctx.rng(spec.name)
    index_of = {r.key: i for i, r in enumerate(ctx.images)}
    proposals: list[Proposal] = []
    for item in fn(ctx, config.quota, rng):
        if isinstance(item, Candidate):
            a, b = index_of.get(item.image1.source or ""), index_of.get(item.image2.source or "")
            if a is None or b is None:
                continue
            proposals.append(Proposal(a, b, item.score, tuple(item.evidence.concepts),
                                      lambda item=item: item.evidence.model_copy(deep=True), item.suggested_question))
        else:
            proposals.append(item)
    chosen, stats = rank(spec.name, proposals, ctx, config)
    miner_name = getattr(fn, "__qualname__", str(fn))
    module = getattr(fn, "__module__", "")
    candidates = [to_candidate(spec.name, p, ctx, f"{module}.{miner_name}", relaxed) for p, relaxed in chosen]
    return candidates, stats
