"""One candidate miner per MMRA subtask.

ConceptNet joins: SimilarMaterial (MadeOf), UsageSimilarity (UsedFor/CapableOf), AppearanceSimilarity
(HasProperty with visual properties, SimilarTo), MentalitySimilarity (caption mental-state words +
Desires/CausesDesire/HasProperty), Environment (AtLocation scene votes + caption scene words), SimilarEvent
and SubEvent (caption events + HasSubevent/HasFirstSubevent/HasLastSubevent).
Box geometry where ConceptNet has no signal: RelativePosition, NearSameEntity, Layout, and ObservationAngle
(caption viewpoint cues + box scale; its evidence says it is a heuristic).
"""

from __future__ import annotations

import hashlib
import math
import random
from collections import defaultdict
from collections.abc import Iterable

from mmra.benchmark.schema import Edge

from .edges import Fact
from .entities import GENERIC_WORDS, MENTAL_STATES, OUTDOOR_SCENES, SCENE_WORDS, VISUAL_PROPERTIES
from .mining import MiningContext, Proposal, pair_up, pairs_per_key


def _specificity(frequency: int) -> float:
    """Rare shared tails say more than generic ones ('steel' vs 'many thing')."""
    return 1.0 / math.log(2.0 + frequency)


def _caption_edge(relation: str, head: str, tail: str, caption: str) -> Edge:
    return Edge(relation=relation, head=head, tail=tail, weight=1.0, source=f"caption: {caption}")


def _shared_tail_miner(ctx: MiningContext, quota: int, rng: random.Random, *, subtask: str, relations: tuple[str, ...],
                       keep_tail, question, caption_facts=None, isa_hop: bool = False,
                       skip_sentient: bool = False, relation_weight: dict[str, float] | None = None
                       ) -> Iterable[Proposal]:
    """Pairs whose entities share a tail of `relations` (e.g. both MadeOf wood). `caption_facts(i)` may add
    (entity, tail, caption) facts read from captions ("a wooden bench")."""
    vocab = ctx.vocabulary()
    by_head = ctx.store.lookup(relations, vocab)
    frequency = ctx.store.tail_frequency(relations)
    parents: dict[str, list[Fact]] = {}
    if isa_hop:  # steel IsA metal: a knife made of steel and a bike made of metal share 'metal'
        tails = {f.tail for facts in by_head.values() for f in facts}
        known = set(frequency)
        parents = {t: [f for f in fs if f.tail in known] for t, fs in ctx.store.lookup(["IsA"], tails).items()}
    postings: dict[str, list[tuple[int, float, tuple]]] = defaultdict(list)
    for i, facts in enumerate(ctx.facts):
        for concept in facts.entities:
            if skip_sentient and concept in facts.sentient:
                continue
            salience = ctx.salience(i, concept)
            for fact in by_head.get(concept, ()):
                if keep_tail(fact.tail):
                    factor = (relation_weight or {}).get(fact.relation, 1.0)
                    postings[fact.tail].append((i, factor * fact.weight * salience, (concept, [fact])))
                for parent in parents.get(fact.tail, ()):
                    if keep_tail(parent.tail):
                        postings[parent.tail].append((i, 0.8 * fact.weight * salience, (concept, [fact, parent])))
        if caption_facts:
            for concept, tail, caption in caption_facts(i):
                edge = _caption_edge(relations[0], concept, tail, caption)
                postings[tail].append((i, 2.5 * ctx.salience(i, concept), (concept, [edge])))
    limit = pairs_per_key(quota, len(postings))
    for tail in sorted(postings):
        entries = postings[tail]
        if len({e[0] for e in entries}) < 2:
            continue
        spec = _specificity(frequency.get(tail, 1))
        for (a, sa, (ea, fa)), (b, sb, (eb, fb)) in pair_up(entries, rng, limit):
            same = ea == eb
            score = spec * (sa + sb) / 2 * (0.5 if same else 1.0)
            template = question(fa, fb) if callable(question) else question
            q = template.format(e1=ea, e2=eb, tail=tail)

            def evidence(a=a, b=b, ea=ea, eb=eb, fa=fa, fb=fb, tail=tail, same=same):
                return ctx.evidence(a, b, concepts=[tail, ea, eb], edges=[*fa, *fb], box_labels=([ea], [eb]),
                                    extra={"shared": tail, "entity1": ea, "entity2": eb, "same_entity": same})

            yield Proposal(a, b, score, (tail,), evidence, q)


def _caption_facts(ctx: MiningContext, kind: str):
    """(concept, tail, caption) facts read from image i's captions: `kind` is "materials" or "attributes"."""
    def facts_of(i: int):
        record = ctx.images[i]
        for concept, tails in getattr(ctx.facts[i], kind).items():
            for tail, captions in tails.items():
                yield concept, tail, record.captions[captions[0]]

    return facts_of


def mine_similar_material(ctx: MiningContext, quota: int, rng: random.Random) -> Iterable[Proposal]:
    return _shared_tail_miner(
        ctx, quota, rng, subtask="SimilarMaterial", relations=("MadeOf",), isa_hop=True,
        keep_tail=lambda t: t not in GENERIC_WORDS and len(t.split()) <= 2,
        question="Which material are the {e1} in Image 1 and the {e2} in Image 2 both made of?",
        caption_facts=_caption_facts(ctx, "materials"))


def mine_usage_similarity(ctx: MiningContext, quota: int, rng: random.Random) -> Iterable[Proposal]:
    def question(fa, fb) -> str:
        if fa[-1].relation == "UsedFor" and fb[-1].relation == "UsedFor":
            return "What can the {e1} in Image 1 and the {e2} in Image 2 both be used for?"
        return "What can the {e1} in Image 1 and the {e2} in Image 2 both do or be used for?"

    # objects only: what a person or an animal "is used for" is not a usage
    return _shared_tail_miner(
        ctx, quota, rng, subtask="UsageSimilarity", relations=("UsedFor", "CapableOf"), skip_sentient=True,
        relation_weight={"CapableOf": 0.8}, keep_tail=lambda t: t not in GENERIC_WORDS and len(t.split()) <= 3,
        question=question)


def mine_appearance_similarity(ctx: MiningContext, quota: int, rng: random.Random) -> Iterable[Proposal]:
    return _shared_tail_miner(
        ctx, quota, rng, subtask="AppearanceSimilarity", relations=("HasProperty", "SimilarTo"),
        keep_tail=lambda t: t in VISUAL_PROPERTIES,
        question="Which visual property do the {e1} in Image 1 and the {e2} in Image 2 share?",
        caption_facts=_caption_facts(ctx, "attributes"))


def mine_mentality_similarity(ctx: MiningContext, quota: int, rng: random.Random) -> Iterable[Proposal]:
    sentient = {c for f in ctx.facts for c in f.sentient}
    desires = ctx.store.lookup(("Desires", "CausesDesire", "HasProperty"), sentient)
    state_words: dict[str, set[str]] = defaultdict(set)
    for word, state in MENTAL_STATES.items():
        state_words[state].add(word)
    causes = ctx.store.lookup_tails(("CausesDesire",), set(MENTAL_STATES))
    postings: dict[str, list[tuple[int, float, tuple]]] = defaultdict(list)
    for i, facts in enumerate(ctx.facts):
        if not facts.sentient:
            continue
        for state, words in facts.mental.items():
            support = len({c for caps in words.values() for c in caps})
            edges = [f for beings in sorted(facts.sentient) for f in desires.get(beings, ())
                     if set(f.tail.split()) & state_words[state]]
            edges += [f for w in words for f in causes.get(w, ())[:2]]
            strength = min(3, support) + 0.5 * min(2, len(edges))
            postings[state].append((i, strength, (sorted(facts.sentient), sorted(words), edges[:4])))
    limit = pairs_per_key(quota, len(postings))
    for state in sorted(postings):
        for (a, sa, (ba, wa, ea)), (b, sb, (bb, wb, eb)) in pair_up(postings[state], rng, limit):
            score = (sa + sb) / 8

            def evidence(a=a, b=b, state=state, ba=ba, bb=bb, wa=wa, wb=wb, ea=ea, eb=eb):
                return ctx.evidence(
                    a, b, concepts=[state, *wa, *wb], edges=[*ea, *eb], box_labels=(ba, bb),
                    heuristic=f"mental state '{state}' read from caption words ({', '.join(wa)} / {', '.join(wb)}) "
                              "about people or animals; ConceptNet edges support it where listed",
                    extra={"state": state, "beings1": ba, "beings2": bb, "words1": wa, "words2": wb})

            yield Proposal(a, b, score, (state,), evidence,
                           "Which feeling or wish do the people or animals in both images most likely share?")


def mine_environment(ctx: MiningContext, quota: int, rng: random.Random) -> Iterable[Proposal]:
    located = ctx.store.lookup(("AtLocation",), ctx.vocabulary(), tails=SCENE_WORDS)
    postings: dict[str, list[tuple[int, float, tuple]]] = defaultdict(list)
    for i, facts in enumerate(ctx.facts):
        votes: dict[str, float] = defaultdict(float)
        edges: dict[str, list[Fact]] = defaultdict(list)
        for scene, captions in facts.scenes.items():
            votes[scene] += 1.0 * len(set(captions))
        for concept in facts.entities:
            for fact in located.get(concept, ()):
                if fact.tail != concept:
                    votes[fact.tail] += fact.weight / 3
                    edges[fact.tail].append(fact)
        if not votes:
            continue
        scene = max(sorted(votes), key=lambda s: votes[s])
        if votes[scene] < 1.0 or (scene not in facts.scenes and len(edges[scene]) < 2):
            continue  # one weak vote is not a scene
        setting = "outdoor" if scene in OUTDOOR_SCENES else "indoor"
        postings[scene].append((i, votes[scene], (edges[scene][:4], setting, round(votes[scene], 2))))
    limit = pairs_per_key(quota, len(postings))
    for scene in sorted(postings):
        for (a, sa, (ea, setting, va)), (b, sb, (eb, _, vb)) in pair_up(postings[scene], rng, limit):
            score = min(sa, sb) / (1 + min(sa, sb)) + 0.1 * max(sa, sb) / (1 + max(sa, sb))

            def evidence(a=a, b=b, scene=scene, ea=ea, eb=eb, setting=setting, va=va, vb=vb):
                return ctx.evidence(a, b, concepts=[scene, setting], edges=[*ea, *eb],
                                    box_labels=([e.head for e in ea], [e.head for e in eb]),
                                    extra={"scene": scene, "setting": setting, "scene_votes": [va, vb]})

            yield Proposal(a, b, score, (scene,), evidence, "What kind of place do both images show?")


def _event_edges(ctx: MiningContext, events: set[str]) -> dict[str, list[Fact]]:
    # not IsA: one-word events are ambiguous there ('fly IsA pest')
    return ctx.store.lookup(("HasSubevent", "HasFirstSubevent", "HasLastSubevent", "HasPrerequisite"), events)


def mine_similar_event(ctx: MiningContext, quota: int, rng: random.Random) -> Iterable[Proposal]:
    events = {e for f in ctx.facts for e in f.events}
    known = _event_edges(ctx, events)
    frequency: dict[str, int] = defaultdict(int)
    for f in ctx.facts:
        for e in f.events:
            frequency[e] += 1
    postings: dict[str, list[tuple[int, float, tuple]]] = defaultdict(list)
    for i, facts in enumerate(ctx.facts):
        for event, captions in facts.events.items():
            support = len(set(captions))
            postings[event].append((i, support + 0.3 * len(event.split()), tuple(captions)))
    limit = pairs_per_key(quota, len(postings))
    for event in sorted(postings):
        spec = 1.0 / math.log(3.0 + frequency[event] / 5)
        for (a, sa, _), (b, sb, _) in pair_up(postings[event], rng, limit):
            score = spec * min(sa, sb) / 3

            def evidence(a=a, b=b, event=event):
                return ctx.evidence(a, b, concepts=[event], edges=known.get(event, [])[:3],
                                    heuristic=f"event '{event}' found in the captions of both images",
                                    extra={"event": event})

            yield Proposal(a, b, score, (event,), evidence, "Which event or activity do both images show?")


def mine_sub_event(ctx: MiningContext, quota: int, rng: random.Random) -> Iterable[Proposal]:
    """Image with event E + image with S where E HasSubevent/HasFirstSubevent/HasLastSubevent S. Half of
    the pairs (by a seeded hash) put the sub-event first, so Yes/No answers come out balanced."""
    relations = ("HasSubevent", "HasFirstSubevent", "HasLastSubevent")
    events = {e for f in ctx.facts for e in f.events}
    steps = ctx.store.lookup(relations, events, tails=events)
    where: dict[str, list[int]] = defaultdict(list)
    for i, facts in enumerate(ctx.facts):
        for event in facts.events:
            where[event].append(i)
    side = max(2, int(math.sqrt(pairs_per_key(quota, sum(len(v) for v in steps.values())))))
    for whole in sorted(steps):
        for fact in steps[whole]:
            wholes = [(i, len(ctx.facts[i].events[whole]), None) for i in where[whole]
                      if fact.tail not in ctx.facts[i].events]
            parts = [(i, len(ctx.facts[i].events[fact.tail]), None) for i in where[fact.tail]
                     if whole not in ctx.facts[i].events]
            if not wholes or not parts:
                continue
            wholes = sorted(wholes, key=lambda e: (-e[1], rng.random()))[:side]
            parts = sorted(parts, key=lambda e: (-e[1], rng.random()))[:side]
            for (a, sa, _) in wholes:
                for (b, sb, _) in parts:
                    if a == b:
                        continue
                    digest = hashlib.blake2b(f"{ctx.seed}|{ctx.images[a].key}|{ctx.images[b].key}".encode(),
                                             digest_size=2).digest()
                    swap = digest[0] % 2 == 1
                    first, second = (b, a) if swap else (a, b)
                    score = fact.weight / 3.5 * min(sa, sb) / (1 + min(sa, sb))

                    def evidence(first=first, second=second, fact=fact, swap=swap, whole=whole):
                        return ctx.evidence(
                            first, second, concepts=[whole, fact.tail], edges=[fact],
                            heuristic="events read from captions; the step relation is ConceptNet's",
                            extra={"event": whole, "sub_event": fact.tail, "relation": fact.relation,
                                   "event_image": "image2" if swap else "image1",
                                   "sub_event_image": "image1" if swap else "image2",
                                   "expected_answer": "No" if swap else "Yes"})

                    yield Proposal(first, second, score, (whole, fact.tail), evidence,
                                   "Is the event in Image 2 a step (sub-event) of the event in Image 1?")


# ------------------------------------------------------------------------------------------ geometry miners


def _boxes(ctx: MiningContext, i: int, min_area: float = 0.01):
    """(concept, label, box) of boxes that cover at least `min_area` of the image."""
    record = ctx.images[i]
    if not record.width or not record.height:
        return []
    out = []
    for box in record.boxes:
        linked = ctx.linker.link_label(box.label)
        if box.area / record.area >= min_area:
            out.append((linked[0] if linked else box.label, box.label, box))
    return out


def _third(value: float, names: tuple[str, str, str]) -> str:
    return names[0] if value < 1 / 3 else names[1] if value < 2 / 3 else names[2]


def mine_relative_position(ctx: MiningContext, quota: int, rng: random.Random) -> Iterable[Proposal]:
    postings: dict[tuple, list[tuple[int, float, tuple]]] = defaultdict(list)
    for i, record in enumerate(ctx.images):
        boxes = _boxes(ctx, i, 0.01)
        largest: dict[str, tuple] = {}
        for concept, label, box in boxes:
            if concept not in largest or box.area > largest[concept][2].area:
                largest[concept] = (concept, label, box)
        items = sorted(largest.values(), key=lambda t: -t[2].area)[:6]
        for x in range(len(items)):
            for y in range(len(items)):
                if x == y or items[x][0] >= items[y][0]:
                    continue
                (c1, l1, b1), (c2, l2, b2) = items[x], items[y]
                (x1, y1), (x2, y2) = b1.centre, b2.centre
                dx, dy = (x2 - x1) / record.width, (y2 - y1) / record.height
                if max(abs(dx), abs(dy)) < 0.08:
                    continue  # too close to say left/right or above/below
                relation = ("left of" if dx > 0 else "right of") if abs(dx) >= abs(dy) else ("above" if dy > 0 else "below")
                salience = math.sqrt(min(b1.area, b2.area) / record.area)
                postings[(c1, relation, c2)].append((i, salience, ((dx, dy), (l1, l2))))
    limit = pairs_per_key(quota, len(postings))
    for key in sorted(postings):
        c1, relation, c2 = key
        for (a, sa, (va, la)), (b, sb, (vb, lb)) in pair_up(postings[key], rng, limit):
            cosine = (va[0] * vb[0] + va[1] * vb[1]) / (math.hypot(*va) * math.hypot(*vb) + 1e-9)
            score = max(0.0, cosine) * (0.5 + min(sa, sb))

            def evidence(a=a, b=b, la=la, lb=lb, va=va, vb=vb, c1=c1, c2=c2, relation=relation):
                return ctx.evidence(
                    a, b, concepts=[c1, c2], box_labels=(la, lb),
                    heuristic=f"from boxes: the {c1} is {relation} the {c2} in both images (offset of the {c2} "
                              f"from the {c1}, as a share of the image: ({va[0]:+.2f}, {va[1]:+.2f}) and "
                              f"({vb[0]:+.2f}, {vb[1]:+.2f}))",
                    extra={"relation": f"{c1} {relation} {c2}", "offset1": [round(v, 3) for v in va],
                           "offset2": [round(v, 3) for v in vb]})

            yield Proposal(a, b, score, (c1, c2), evidence,
                           f"In both images, where is the {c1} relative to the {c2}?")


def _gap(b1, b2, diagonal: float) -> float:
    """Distance between two boxes' edges as a share of the image diagonal (0 when they touch or overlap)."""
    x1, y1, w1, h1 = b1.bbox
    x2, y2, w2, h2 = b2.bbox
    gx = max(0.0, max(x1, x2) - min(x1 + w1, x2 + w2))
    gy = max(0.0, max(y1, y2) - min(y1 + h1, y2 + h2))
    return math.hypot(gx, gy) / diagonal


def _inside(small, big) -> float:
    """Share of `small`'s box that lies inside `big`'s box."""
    x1, y1, w1, h1 = small.bbox
    x2, y2, w2, h2 = big.bbox
    ox = max(0.0, min(x1 + w1, x2 + w2) - max(x1, x2))
    oy = max(0.0, min(y1 + h1, y2 + h2) - max(y1, y2))
    return ox * oy / (w1 * h1) if w1 * h1 else 0.0


def mine_near_same_entity(ctx: MiningContext, quota: int, rng: random.Random) -> Iterable[Proposal]:
    near_limit = 0.04
    postings: dict[tuple[str, str], list[tuple[int, float, tuple]]] = defaultdict(list)
    for i, record in enumerate(ctx.images):
        boxes = _boxes(ctx, i, 0.005)
        if len(boxes) < 2:
            continue
        diagonal = math.hypot(record.width, record.height)
        best: dict[tuple[str, str], tuple[float, tuple]] = {}
        for cf, lf, bf in boxes:
            for cn, ln, bn in boxes:
                if bn is bf or cn == cf:
                    continue
                gap = _gap(bf, bn, diagonal)
                if gap > near_limit:
                    continue
                if gap == 0 and (_inside(bn, bf) >= 0.8 or _inside(bf, bn) >= 0.8):
                    continue  # one on/in the other (a fork on a table) is not "next to"
                closeness = 1 - gap / near_limit
                strength = closeness * (0.5 + math.sqrt(bf.area / record.area))
                if (cf, cn) not in best or strength > best[(cf, cn)][0]:
                    best[(cf, cn)] = (strength, (lf, ln, round(gap, 3)))
        for key, (strength, payload) in best.items():
            postings[key].append((i, strength, payload))
    pairs = list(postings)
    support = ctx.store.lookup(("LocatedNear", "AtLocation"), {f for f, _ in pairs}, tails={n for _, n in pairs})
    limit = pairs_per_key(quota, len(postings))
    for key in sorted(postings):
        focal, near = key
        edges = [f for f in support.get(focal, ()) if f.tail == near]
        for (a, sa, (lfa, lna, ga)), (b, sb, (lfb, lnb, gb)) in pair_up(postings[key], rng, limit):
            score = min(sa, sb) * (1.2 if edges else 1.0)

            def evidence(a=a, b=b, focal=focal, near=near, ga=ga, gb=gb, edges=edges, la=(lfa, lna), lb=(lfb, lnb)):
                return ctx.evidence(
                    a, b, concepts=[focal, near], edges=edges, box_labels=(la, lb),
                    heuristic=f"from boxes: a {near} is next to the {focal} in both images (gap between boxes "
                              f"{ga:.1%} and {gb:.1%} of the image diagonal)",
                    extra={"focal": focal, "near": near, "gap1": ga, "gap2": gb})

            yield Proposal(a, b, score, (focal, near), evidence, f"What is next to the {focal} in both images?")


def _layout(ctx: MiningContext, i: int):
    """Where the main objects are: a 3x3 histogram of box centres weighted by sqrt(area share), over boxes
    covering 1-60% of the frame (a table filling the photo is background, not layout)."""
    record = ctx.images[i]
    boxes = [t for t in _boxes(ctx, i, 0.01) if t[2].area / record.area <= 0.6]
    boxes = sorted(boxes, key=lambda t: -t[2].area)[:8]
    if len(boxes) < 2:
        return None
    W, H = record.width, record.height
    cols = ("left", "centre", "right")
    rows = ("top", "middle", "bottom")
    grid = [0.0] * 9
    for _, _, box in boxes:
        cx, cy = box.centre
        r, c = min(2, int(3 * cy / H)), min(2, int(3 * cx / W))
        grid[r * 3 + c] += math.sqrt(box.area / record.area)
    cx, cy = boxes[0][2].centre
    main = f"{_third(cy / H, rows)} {_third(cx / W, cols)}"
    xs = [b.centre[0] / W for _, _, b in boxes]
    ys = [b.centre[1] / H for _, _, b in boxes]
    spread = "spread across" if (max(xs) - min(xs)) >= (max(ys) - min(ys)) else "stacked down"
    count = "2-3" if len(boxes) <= 3 else "4-6" if len(boxes) <= 6 else "7+"
    return grid, (count, main, spread), [label for _, label, _ in boxes]


def mine_layout(ctx: MiningContext, quota: int, rng: random.Random) -> Iterable[Proposal]:
    buckets: dict[tuple, list[tuple[int, float, tuple]]] = defaultdict(list)
    for i in range(len(ctx.images)):
        layout = _layout(ctx, i)
        if layout is None:
            continue
        grid, signature, labels = layout
        buckets[signature].append((i, sum(grid), (grid, labels)))
    limit = pairs_per_key(quota, len(buckets))
    for signature in sorted(buckets):
        count, main, spread = signature
        for (a, _, (ga, la)), (b, _, (gb, lb)) in pair_up(buckets[signature], rng, limit):
            cosine = sum(x * y for x, y in zip(ga, gb, strict=True)) / (
                math.sqrt(sum(x * x for x in ga) * sum(y * y for y in gb)) + 1e-9)
            key = f"layout: {count} objects, main {main}, {spread}"

            def evidence(a=a, b=b, ga=ga, gb=gb, la=la, lb=lb, key=key, cosine=cosine, count=count, main=main,
                         spread=spread):
                return ctx.evidence(
                    a, b, concepts=[key], box_labels=(la, lb),
                    heuristic=f"from boxes: both have {count} main objects, the largest in the {main}, "
                              f"objects {spread} the frame; similarity of where the objects sit (3x3 grid) "
                              f"{cosine:.2f}",
                    extra={"grid1": [round(v, 2) for v in ga], "grid2": [round(v, 2) for v in gb],
                           "grid_cosine": round(cosine, 3)})

            yield Proposal(a, b, cosine, (key,), evidence, "How are the main objects arranged in both images?")


def mine_observation_angle(ctx: MiningContext, quota: int, rng: random.Random) -> Iterable[Proposal]:
    postings: dict[str, list[tuple[int, float, tuple]]] = defaultdict(list)
    for i, record in enumerate(ctx.images):
        facts = ctx.facts[i]
        votes: dict[str, float] = defaultdict(float)
        reasons: dict[str, list[str]] = defaultdict(list)
        for view, cues in facts.viewpoints.items():
            votes[view] += len({c for _, c in cues})
            reasons[view].append("captions say " + ", ".join(sorted({f"'{cue}'" for cue, _ in cues})))
        boxes = _boxes(ctx, i, 0.0)
        if boxes and record.area:
            shares = sorted(b.area / record.area for _, _, b in boxes)
            if shares[-1] >= 0.4:
                votes["close-up"] += 1
                reasons["close-up"].append(f"largest box covers {shares[-1]:.0%} of the frame")
            elif len(shares) >= 5 and shares[len(shares) // 2] < 0.01 and shares[-1] < 0.15:
                votes["wide shot"] += 1
                reasons["wide shot"].append(f"{len(shares)} boxes, median {shares[len(shares) // 2]:.1%} of the frame")
        if not votes:
            continue
        view = max(sorted(votes), key=lambda v: votes[v])
        postings[view].append((i, votes[view], tuple(reasons[view])))
    limit = pairs_per_key(quota, len(postings))
    for view in sorted(postings):
        for (a, sa, ra), (b, sb, rb) in pair_up(postings[view], rng, limit):
            score = min(sa, sb) / 2 + 0.1 * max(sa, sb)

            def evidence(a=a, b=b, view=view, ra=ra, rb=rb):
                return ctx.evidence(
                    a, b, concepts=[view], all_boxes=True,
                    heuristic=f"HEURISTIC viewpoint '{view}' from caption cues and box scale, not a ConceptNet "
                              f"fact: image 1: {'; '.join(ra)}; image 2: {'; '.join(rb)}. Check it against the photos.",
                    extra={"viewpoint": view, "cues1": list(ra), "cues2": list(rb)})

            yield Proposal(a, b, score, (view,), evidence, "From which angle or distance are both photos taken?")
