"""The demo's bundled annotations: two SCRIPTED annotator accounts (plus a scripted reviewer).

These are not people. For every candidate the curation stage proposes, a per-subtask template writes the
question, the options and the answer from what the generator knows is in each image (its scene graph:
entities at boxes, place, viewpoint, events, moods) and from the candidate's ConceptNet evidence, with
hand-written distractor lists. Everything is deterministic (seeded by the candidate id), so a re-run writes
the same annotations.

To make agreement, kappa, review and rejects visible, annotator 2 departs from annotator 1 on a fixed share
of items (a different answer, or a reject), both reject pairs whose evidence does not hold in the images,
and the reviewer settles what is left in review by submitting the gold version as ground truth.
"""

from __future__ import annotations

import json
import random
from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mmra.benchmark.schema import LETTERS, Candidate, stable_hash

from .generate import SCENE_LIST
from .scenes import HEIGHT, SOURCE_PREFIX, WIDTH

ANNOTATORS = ("annotator1@mmra.demo", "annotator2@mmra.demo")
DATA_DIR = Path(__file__).parent / "data"
RELATIONS_FILE = DATA_DIR / "relations.tsv"

# ------------------------------------------------------------------ hand-written distractor pools
USES = ["cut", "drink", "sit", "read", "play", "tell time", "cook", "ride", "transportation", "hold food", "work",
        "fly", "sail", "eat", "learn", "write", "rest", "hold liquid", "boil water", "exercise", "travel",
        "sweep the floor", "brush teeth", "take photos", "listen to music"]
MATERIALS = ["wood", "metal", "glass", "paper", "plastic", "ceramic", "leather", "rubber", "stone", "cotton", "wool",
             "steel"]
PROPERTIES = ["round", "sharp", "flat", "long", "tall", "green", "red", "orange", "rectangular", "colorful",
              "soft", "furry", "square", "striped", "transparent"]
PLACES = ["kitchen", "dining room", "office", "study room", "living room", "park", "street", "beach", "garden",
          "forest", "train station", "swimming pool", "supermarket"]
EXTRA_EVENTS = ["swimming", "shopping", "sleeping", "painting a wall", "washing dishes", "watching television",
                "taking a shower", "playing the piano"]
COLOURS = ["red", "blue", "green", "yellow", "white", "orange", "purple", "pink", "brown", "black", "grey"]
POSITIONS = ["on the left", "in the middle", "on the right"]
VIEWS = {"top-down": "from directly above (top-down)", "eye level": "at eye level, from the side",
         "close-up": "as a close-up, very near the subject"}
LAYOUTS = ["one large object filling the centre of the frame", "several objects side by side in a row",
           "objects grouped on one side of the frame", "objects spread over the whole frame"]
ENTITY_POOL = ["dog", "cat", "car", "bicycle", "tree", "bench", "cup", "bottle", "knife", "scissors", "chair",
               "table", "laptop", "book", "ball", "clock", "kite", "boat", "plate", "pot", "carrot", "apple",
               "umbrella", "guitar", "television", "horse"]
EVENT_LEMMA = {
    "eating dinner": "eat dinner", "eating breakfast": "eat breakfast", "drinking coffee": "drink coffee",
    "cooking dinner": "cook dinner", "cutting vegetables": "cut vegetable", "preparing food": "prepare food",
    "working on a laptop": "work on laptop", "reading a book": "read book", "doing homework": "do homework",
    "playing ball": "play ball", "walking a dog": "walk dog", "flying a kite": "fly kite",
    "sitting on a bench": "sit on bench", "riding a bicycle": "ride bicycle", "driving a car": "drive car",
    "sailing": "sail", "having a picnic": "have picnic",
}
PARENT_GERUND = {"eat": "eating a meal", "meal": "eating a meal", "play": "playing a game", "travel": "travelling",
                 "learn": "learning", "work": "working", "drink": "drinking", "walk": "walking",
                 "exercise": "exercising", "prepare food": "preparing food"}


@dataclass
class Draft:
    """What an annotator submits: mirrors `mmra.annotation.QAContent` (kept separate so this module needs no
    Label Studio code)."""

    qa_type: str | None
    question: str = ""
    options: list[str] = field(default_factory=list)
    answer: str | None = None
    verdict: str = "keep"
    reject_reason: str = ""


@dataclass
class ScriptedItem:
    candidate_id: str
    subtask: str
    written: Draft  # what the subtask template wrote from the scene graph (or its reason to reject)
    gold: Draft  # what the scripted reviewer settles on when the two annotators disagree
    by_annotator: dict[str, Draft]
    alternatives: list[Draft] = field(default_factory=list)  # other valid questions (scripted revision)


# ------------------------------------------------------------------ knowledge the templates use


def load_relations(path: Path = RELATIONS_FILE) -> list[tuple[str, str, str, float]]:
    rows = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.strip():
            rel, head, tail, weight = line.split("\t")
            rows.append((rel, head, tail, float(weight)))
    return rows


class Knowledge:
    def __init__(self, relations: Iterable[tuple[str, str, str, float]]) -> None:
        self.by_rel_head: dict[tuple[str, str], set[str]] = {}
        self.edges: set[tuple[str, str, str]] = set()
        for rel, head, tail, _ in relations:
            self.by_rel_head.setdefault((rel, head), set()).add(tail)
            self.edges.add((rel, head, tail))

    def tails(self, relations: Iterable[str], head: str) -> set[str]:
        out: set[str] = set()
        for rel in relations:
            out |= self.by_rel_head.get((rel, head), set())
        return out


@dataclass
class SceneFacts:
    name: str
    place: str
    setting: str
    view: str
    events: list[str]
    entities: list[dict[str, Any]]  # {"label", "bbox", "attrs"}

    @property
    def labels(self) -> list[str]:
        return list(dict.fromkeys(e["label"] for e in self.entities))

    def moods(self) -> set[str]:
        return {{"smile": "happy", "frown": "sad"}[e["attrs"]["expression"]] for e in self.entities
                if e.get("attrs", {}).get("expression") in ("smile", "frown")}

    def living(self) -> list[dict[str, Any]]:
        return [e for e in self.entities if e["label"] in ("person", "dog", "cat")]

    def first(self, label: str) -> dict[str, Any] | None:
        return next((e for e in self.entities if e["label"] == label), None)


def load_scene_facts(manifest: Path) -> dict[str, SceneFacts]:
    facts = {}
    for line in Path(manifest).read_text(encoding="utf-8").splitlines():
        if not line.strip():
            continue
        rec = json.loads(line)
        sc = rec["scene"]
        facts[rec["id"]] = SceneFacts(rec["id"], sc["place"], sc["setting"], sc["view"], sc["events"],
                                      [{"label": b["label"], "bbox": b["bbox"], "attrs": b.get("attrs", {})}
                                       for b in rec["boxes"]])
    return facts


def scene_name(ref) -> str | None:
    """The generated scene behind an ImageRef: from its source ("generated:mmra-demo:<name>") or file name."""
    source = ref.source or ""
    if source.startswith(SOURCE_PREFIX + ":"):
        return source.rsplit(":", 1)[1]
    stem = Path(ref.path or "").stem
    return stem if stem in {name for name, _, _ in SCENE_LIST} else None


# ------------------------------------------------------------------ geometry helpers


def position_word(entity: dict[str, Any]) -> str:
    x, _, w, _ = entity["bbox"]
    cx = (x + w / 2) / WIDTH
    return POSITIONS[0] if cx < 0.36 else POSITIONS[2] if cx > 0.64 else POSITIONS[1]


def layout_class(facts: SceneFacts) -> str:
    boxes = [e["bbox"] for e in facts.entities if e["label"] not in ("table",)]
    if not boxes:
        return LAYOUTS[3]
    if max(w * h for _, _, w, h in boxes) / (WIDTH * HEIGHT) > 0.3:
        return LAYOUTS[0]
    xs = [(x + w / 2) / WIDTH for x, _, w, _ in boxes]
    ys = [(y + h / 2) / HEIGHT for _, y, _, h in boxes]
    if len(boxes) >= 3 and max(xs) - min(xs) > 0.5 and max(ys) - min(ys) < 0.3:
        return LAYOUTS[1]
    if max(xs) < 0.55 or min(xs) > 0.45:
        return LAYOUTS[2]
    return LAYOUTS[3]


def _distance(a: dict[str, Any], b: dict[str, Any]) -> float:
    ax, ay, aw, ah = a["bbox"]
    bx, by, bw, bh = b["bbox"]
    dx = max(0.0, max(ax, bx) - min(ax + aw, bx + bw)) / WIDTH  # gap between the boxes, 0 when they touch
    dy = max(0.0, max(ay, by) - min(ay + ah, by + bh)) / HEIGHT
    return (dx * dx + dy * dy) ** 0.5


def near_pairs(facts: SceneFacts, limit: float = 0.08) -> set[tuple[str, str]]:
    pairs = set()
    for a in facts.entities:
        for b in facts.entities:
            if a is not b and a["label"] != b["label"] and _distance(a, b) <= limit:
                pairs.add((a["label"], b["label"]))
    return pairs


# ------------------------------------------------------------------ question writing
# A template does not write one question: it lists every valid way to ask about the pair (a multiple-choice
# spec and/or yes/no questions with their answers). `_settle` then picks one per pair so that each subtask's
# answer key is balanced (Yes/No near half, gold letters spread, no option text that is gold far more often
# than it is a distractor), the way a careful annotation guideline asks people to write. The questions never
# name the entities they are about (the images must show them), and distractors are hard: true of one image
# only, or answers that are right for other pairs of the same subtask, close in length to the gold answer.


_SMALL_WORDS = frozenset("a an the of on in at to from by with one".split())


def _words(text: str) -> set[str]:
    return {w.strip("(),.") for w in text.casefold().split()} - _SMALL_WORDS


def _clashes(correct: str, other: str) -> bool:
    """A distractor that contains the answer or is contained in it ("cut" / "cut paper") would be right too."""
    a, b = _words(correct), _words(other)
    return a <= b or b <= a


@dataclass
class MCSpec:
    question: str
    correct: str
    hard: list[str]  # wrong, but true of one of the two images: only the other image rules them out
    pool: list[str]  # other wrong answers of the same kind
    n: int = 4


@dataclass
class YNSpec:
    question: str
    answer: bool
    spare: bool = False  # only for the scripted revision, never a first choice


Spec = MCSpec | YNSpec


class _Reject(Exception):
    pass


@dataclass
class DemoWorld:
    """What the templates know: the relation list and every generated scene's graph."""

    kb: Knowledge
    facts: dict[str, SceneFacts]

    def tails_in(self, relations: tuple[str, ...], facts: SceneFacts) -> set[str]:
        out: set[str] = set()
        for label in facts.labels:
            out |= self.kb.tails(relations, label)
        return out

    def shared(self, relations: tuple[str, ...], f1: SceneFacts, f2: SceneFacts, colours: bool = False) -> set[str]:
        """Concepts that some entity of image 1 and some entity of image 2 both have: every one is a right
        answer to a question that does not name the entities, so none may be a distractor."""
        def per_entity(facts: SceneFacts) -> list[set[str]]:
            return [self.kb.tails(relations, e["label"]) | ({e["attrs"]["colour"]} if colours and
                                                            e.get("attrs", {}).get("colour") else set())
                    for e in facts.entities]
        out: set[str] = set()
        for a in per_entity(f1):
            for b in per_entity(f2):
                out |= a & b
        return out

    def all_tails(self, relations: tuple[str, ...]) -> list[str]:
        return sorted({t for (rel, _), tails in self.kb.by_rel_head.items() if rel in relations for t in tails})


def _shared_tail(cand: Candidate, kb: Knowledge, relations: tuple[str, ...], f1: SceneFacts, f2: SceneFacts):
    """(entity in image 1, entity in image 2, shared concept) backed by the knowledge and the images; the
    candidate's own entity pair is tried first."""
    def holds(label: str, facts: SceneFacts, concept: str) -> bool:
        if label not in facts.labels:
            return False
        colours = {e.get("attrs", {}).get("colour") for e in facts.entities if e["label"] == label}
        return concept in kb.tails(relations, label) or concept in colours

    concepts = list(cand.evidence.concepts)
    for edge in cand.evidence.edges:
        if edge.relation in relations and edge.tail not in concepts:
            concepts.append(edge.tail)
    extra = cand.evidence.extra
    proposed = (extra.get("entity1"), extra.get("entity2"))
    for concept in concepts:
        if all(proposed) and holds(proposed[0], f1, concept) and holds(proposed[1], f2, concept):
            return proposed[0], proposed[1], concept
        e1 = next((lab for lab in f1.labels if holds(lab, f1, concept)), None)
        e2 = next((lab for lab in f2.labels if holds(lab, f2, concept) and lab != e1), None) or \
            next((lab for lab in f2.labels if holds(lab, f2, concept)), None)
        if e1 and e2:
            return e1, e2, concept
    raise _Reject("the evidence does not hold for the entities visible in these images")


def _closed_set(value1: str, value2: str, values: list[str], mc_question: str, yn_question, same_question: str,
                n: int = 4) -> list[Spec]:
    """A property with a closed set of values (viewpoint, layout, position): the pair shares it or not.
    Shared: a multiple-choice question over the values, or yes/no about one value; not shared: yes/no."""
    specs: list[Spec] = []
    if value1 == value2:
        specs.append(MCSpec(mc_question, value1, [], [v for v in values if v != value1], n=min(n, len(values))))
    for value in dict.fromkeys([value1, value2] + [v for v in values if v not in (value1, value2)][:1]):
        specs.append(YNSpec(yn_question(value), value1 == value2 == value))
    specs.append(YNSpec(same_question, value1 == value2))
    return specs


def _pair_text(a: str, b: str) -> str:
    x, y = sorted((a, b))
    return f"the {x} and the {y}"


def _write(cand: Candidate, f1: SceneFacts, f2: SceneFacts, world: DemoWorld) -> list[Spec]:
    kb = world.kb
    sub = cand.subtask
    if sub == "UsageSimilarity":
        rels = ("UsedFor", "CapableOf")
        _, _, use = _shared_tail(cand, kb, rels, f1, f2)
        shared = world.shared(rels, f1, f2)
        one_side = (world.tails_in(("UsedFor",), f1) ^ world.tails_in(("UsedFor",), f2)) - shared
        return [MCSpec("What can an object in Image 1 and an object in Image 2 both be used for?", use,
                       sorted(one_side), [u for u in world.all_tails(("UsedFor",)) + USES if u not in shared])]
    if sub == "SimilarMaterial":
        _, _, material = _shared_tail(cand, kb, ("MadeOf",), f1, f2)
        shared = world.shared(("MadeOf",), f1, f2)
        one_side = (world.tails_in(("MadeOf",), f1) ^ world.tails_in(("MadeOf",), f2)) - shared
        return [MCSpec("An object in Image 1 and an object in Image 2 are made of the same material. Which one?",
                       material, sorted(one_side),
                       [m for m in world.all_tails(("MadeOf",)) + MATERIALS if m not in shared])]
    if sub == "AppearanceSimilarity":
        rels = ("HasProperty", "SimilarTo")
        _, _, prop = _shared_tail(cand, kb, rels, f1, f2)
        if prop in ENTITY_POOL:  # SimilarTo names an entity, not a property
            raise _Reject("the pair is linked by SimilarTo; no shared visual property to ask about")
        shared = world.shared(rels, f1, f2, colours=True)

        def props(facts: SceneFacts) -> set[str]:
            return world.tails_in(("HasProperty",), facts) | {e["attrs"]["colour"] for e in facts.entities
                                                              if e.get("attrs", {}).get("colour")}
        visual = set(PROPERTIES) | set(COLOURS)  # "loyal" or "fast" would be no visual property: a giveaway
        one_side = ((props(f1) ^ props(f2)) - shared) & visual
        return [MCSpec("Which visual property does an object in Image 1 share with an object in Image 2?", prop,
                       sorted(one_side), [p for p in sorted(visual) if p not in shared])]
    if sub == "Environment":
        if not (f1.place and f1.place == f2.place):
            raise _Reject("the two images show different kinds of place")
        places = sorted({f.place for f in world.facts.values() if f.place} | set(PLACES))
        return [MCSpec("What kind of place do both images show?", f1.place, [], [p for p in places if p != f1.place])]
    if sub == "SimilarEvent":
        ev1 = {EVENT_LEMMA.get(e, e) for e in f1.events}
        ev2 = {EVENT_LEMMA.get(e, e) for e in f2.events}
        common = sorted(set(f1.events) & set(f2.events))

        def parents(events: set[str]) -> set[str]:
            return {PARENT_GERUND[p] for e in events for p in kb.tails(("IsA",), e) if p in PARENT_GERUND}
        both_parents = parents(ev1) & parents(ev2)
        if common:
            correct = common[0]
        elif both_parents:
            correct = sorted(both_parents)[0]
        else:
            raise _Reject("the two images do not show the same event")
        right = set(common) | both_parents
        one_side = sorted((set(f1.events) ^ set(f2.events)) | (parents(ev1) ^ parents(ev2)))
        pool = list(EVENT_LEMMA) + sorted(set(PARENT_GERUND.values())) + EXTRA_EVENTS
        return [MCSpec("Which event or activity do both images show?", correct,
                       [e for e in one_side if e not in right], [e for e in pool if e not in right])]
    if sub == "SubEvent":
        ev1 = [EVENT_LEMMA.get(e, e) for e in f1.events]
        ev2 = [EVENT_LEMMA.get(e, e) for e in f2.events]
        if not ev1 or not ev2:
            raise _Reject("one of the images shows no clear event")
        steps = ("HasSubevent", "HasFirstSubevent", "HasLastSubevent", "HasPrerequisite")
        forward = any(b in kb.tails(steps, a) for a in ev1 for b in ev2)
        backward = any(a in kb.tails(steps, b) for a in ev1 for b in ev2)
        # one wording for every pair: with two wordings, the wording would tell the answer (the miner puts
        # the sub-event first); publishing balances Yes/No by swapping images (SubEvent is order-sensitive)
        return [YNSpec("Is the event in Image 2 a step of the event in Image 1?", forward),
                YNSpec("Is the event in Image 1 a step of the event in Image 2?", backward, spare=True)]
    if sub == "MentalitySimilarity":
        if not f1.living() or not f2.living():
            raise _Reject("one image shows no person or animal")
        m1, m2 = f1.moods(), f2.moods()
        if len(m1) > 1 or len(m2) > 1:
            raise _Reject("mixed feelings inside one image; no clear shared mood")
        # yes/no only: the demo's faces only smile or frown, so a multiple-choice list of feelings would have
        # two possible answers and two never-right fillers (a text-only model would halve the choice)
        specs: list[Spec] = [YNSpec(f"Do the people or animals in both images look {mood}?", m1 == m2 == {mood})
                             for mood in ("happy", "sad")]
        if m1 and m2:
            specs.append(YNSpec("Do the people or animals in the two images show the same feeling?", m1 == m2))
        return specs
    if sub == "ObservationAngle":
        return _closed_set(f1.view, f2.view, list(VIEWS), "From which angle are both photos taken?",
                           lambda v: f"Are both photos taken {VIEWS[v]}?",
                           "Are both photos taken from the same camera angle?", n=3)
    if sub == "Layout":
        return _closed_set(layout_class(f1), layout_class(f2), LAYOUTS,
                           "How are the main objects arranged in both images?",
                           lambda v: f"Do both images show {v}?",
                           "Are the main objects arranged the same way in both images?")
    if sub == "RelativePosition":
        shared = [lab for lab in f1.labels if lab in f2.labels and lab != "table"]
        named = [c for c in cand.evidence.concepts if c in shared] + \
            [b.label for b in cand.evidence.boxes if b.label in shared]
        order = named + [s for s in shared if s not in named]
        label = next((lab for lab in order if sum(e["label"] == lab for e in f1.entities) == 1
                      and sum(e["label"] == lab for e in f2.entities) == 1), None)
        if label is None:
            raise _Reject("no entity appears exactly once in both images")
        p1, p2 = position_word(f1.first(label)), position_word(f2.first(label))
        return _closed_set(p1, p2, POSITIONS, f"Where is the {label} in both images?",
                           lambda p: f"Is the {label} {p} in both images?",
                           f"Is the {label} on the same side of the picture in both images?", n=3)
    if sub == "NearSameEntity":
        near1, near2 = near_pairs(f1), near_pairs(f2)
        both = near1 & near2
        if not both:
            raise _Reject("no entity is close to the same object in both images")
        wanted = set(cand.evidence.concepts)
        focal, near = sorted(both, key=lambda p: (-(len({p[0], p[1]} & wanted)), p))[0]
        right = {_pair_text(a, b) for a, b in both}
        one_side = sorted({_pair_text(a, b) for a, b in near1 ^ near2} - right)
        everywhere = sorted({_pair_text(a, b) for f in world.facts.values() for a, b in near_pairs(f)} - right)
        specs: list[Spec] = [MCSpec("Which two objects are next to each other in both images?",
                                    _pair_text(focal, near), one_side, everywhere),
                             YNSpec(f"Is the {near} next to the {focal} in both images?", True)]
        for text in one_side[:2]:
            a, b = text.removeprefix("the ").split(" and the ")
            specs.append(YNSpec(f"Is the {a} next to the {b} in both images?", False))
        return specs
    raise _Reject(f"the demo has no annotation template for subtask {sub}")


# ------------------------------------------------------------------ balancing the answer key


@dataclass
class _Balance:
    """Running counts of one subtask's answer key while its questions are settled."""

    yes: int = 0
    no: int = 0
    letters: Counter = field(default_factory=Counter)
    gold: Counter = field(default_factory=Counter)  # option text -> times it is the gold answer


def _choose(specs: list[Spec], bal: _Balance, rng: random.Random) -> Spec:
    """The spec that keeps the subtask's answer key balanced: yes/no where that evens Yes against No,
    multiple choice otherwise, unless its answer would then be the gold answer of over 40 % of the subtask's questions."""
    mc = [s for s in specs if isinstance(s, MCSpec)]
    yes = [s for s in specs if isinstance(s, YNSpec) and s.answer and not s.spare]
    no = [s for s in specs if isinstance(s, YNSpec) and not s.answer and not s.spare]
    rng.shuffle(yes)
    rng.shuffle(no)
    taken = bal.gold[mc[0].correct] if mc else 0
    over_used = taken >= 2 and taken + 1 > 0.4 * (sum(bal.gold.values()) + 1)
    if mc and not over_used and not (bal.yes != bal.no and (yes if bal.yes < bal.no else no)):
        return mc[0]
    if bal.yes < bal.no and yes:
        return yes[0]
    if bal.no < bal.yes and no:
        return no[0]
    if mc and not (yes or no):
        return mc[0]
    pick = (yes + no) if rng.random() < 0.5 else (no + yes)
    return pick[0] if pick else mc[0]


def _mc_draft(spec: MCSpec, bal: _Balance, rng: random.Random) -> Draft:
    """Options: the gold answer plus distractors, hard ones first (up to all but one), then others of the same
    kind, each group drawn at random among those nearest in length to the gold answer (so neither length nor
    a text's history says which is right). The gold letter goes where the subtask has had it least."""
    out: list[str] = []
    for group, limit in ((spec.hard, spec.n - 2), (spec.pool, spec.n - 1)):
        pool = [d for d in dict.fromkeys(group) if d != spec.correct and d not in out
                and not _clashes(spec.correct, d)]
        rng.shuffle(pool)
        pool.sort(key=lambda d: abs(len(d) - len(spec.correct)) // 4)  # stable: random within a length band
        out += pool[: max(0, limit - len(out))]
    if len(out) + 1 < 3:
        raise ValueError("not enough distractors")
    rng.shuffle(out)
    n = len(out) + 1
    least = min(bal.letters[letter] for letter in LETTERS[:n])
    slot = rng.choice([i for i in range(n) if bal.letters[LETTERS[i]] == least])
    options = out[:slot] + [spec.correct] + out[slot:]
    return Draft("multiple_choice", spec.question, options, LETTERS[slot])


def _settle(spec: Spec, bal: _Balance, rng: random.Random) -> Draft:
    if isinstance(spec, YNSpec):
        return Draft("yes_no", spec.question, [], "Yes" if spec.answer else "No")
    draft = _mc_draft(spec, bal, rng)
    bal.letters[draft.answer] += 1
    return draft


def _count(spec: Spec, bal: _Balance) -> None:
    if isinstance(spec, YNSpec):
        bal.yes += spec.answer
        bal.no += not spec.answer
    else:
        bal.gold[spec.correct] += 1


# ------------------------------------------------------------------ the two accounts


def script_annotations(candidates: Iterable[Candidate], manifest: Path, *,
                       relations: Path = RELATIONS_FILE) -> list[ScriptedItem]:
    """Two scripted annotators' drafts for every candidate (deterministic: seeded by candidate ids; each
    subtask's answer key is balanced over its candidates taken in id order)."""
    world = DemoWorld(Knowledge(load_relations(relations)), load_scene_facts(manifest))
    candidates = list(candidates)
    specs: dict[str, list[Spec] | str] = {}
    for cand in candidates:
        n1, n2 = scene_name(cand.image1), scene_name(cand.image2)
        try:
            if n1 not in world.facts or n2 not in world.facts:
                raise _Reject("not one of the demo's generated images")
            specs[cand.id] = _write(cand, world.facts[n1], world.facts[n2], world)
        except _Reject as exc:
            specs[cand.id] = f"scripted: {exc}"
    # pass 1: which question each pair gets (balances Yes/No and gold texts); pass 2: options and gold letters
    ordered = sorted((c for c in candidates if not isinstance(specs[c.id], str)), key=lambda c: c.id)
    chosen: dict[str, Spec] = {}
    balances: dict[str, _Balance] = defaultdict(_Balance)
    for cand in ordered:
        found, bal = specs[cand.id], balances[cand.subtask]
        chosen[cand.id] = _choose(found, bal, random.Random(stable_hash("demo-question", cand.id)))
        _count(chosen[cand.id], bal)
    written: dict[str, Draft] = {c.id: Draft(None, verdict="reject", reject_reason=specs[c.id])
                                 for c in candidates if isinstance(specs[c.id], str)}
    alternatives: dict[str, list[Draft]] = {}
    settled: dict[str, _Balance] = defaultdict(_Balance)
    for cand in ordered:
        bal = settled[cand.subtask]
        try:
            written[cand.id] = _settle(chosen[cand.id], bal, random.Random(stable_hash("demo-annotation", cand.id)))
            # the other ways to ask, for the scripted revision of a question the leakage filter flags
            alternatives[cand.id] = [
                _settle(s, _Balance(letters=Counter(bal.letters)), random.Random(stable_hash("demo-revision", cand.id, i)))
                for i, s in enumerate(specs[cand.id]) if s is not chosen[cand.id]]
        except ValueError as exc:
            written[cand.id] = Draft(None, verdict="reject", reject_reason=f"scripted: {exc}")

    items = []
    for cand in candidates:
        roll = int(stable_hash("demo-annotator-2", cand.id), 16) % 100
        first = gold = written[cand.id]
        if gold.verdict == "reject":
            second = Draft(None, verdict="reject", reject_reason=gold.reject_reason)
        elif roll < 7:  # annotator 2 rejects what annotator 1 keeps
            second = Draft(None, verdict="reject",
                           reject_reason="scripted: the question can be answered from one image alone")
        elif roll < 15:  # annotator 2 picks another answer
            if gold.qa_type == "yes_no":
                other = "No" if gold.answer == "Yes" else "Yes"
            else:
                other = LETTERS[(LETTERS.index(gold.answer) + 1) % len(gold.options)]
            second = Draft(gold.qa_type, gold.question, list(gold.options), other)
        elif roll < 19:  # both find the pair too easy to keep
            reason = "scripted: the two images are too alike to ask a fair question"
            first = second = gold = Draft(None, verdict="reject", reject_reason=reason)
        else:
            second = Draft(gold.qa_type, gold.question, list(gold.options), gold.answer)
        items.append(ScriptedItem(cand.id, cand.subtask, written[cand.id], gold,
                                  {ANNOTATORS[0]: first, ANNOTATORS[1]: second},
                                  alternatives.get(cand.id, [])))
    return items


# ------------------------------------------------------------------ the scripted revision


def scripted_revision(item: ScriptedItem, current: Draft) -> Draft:
    """What the scripted reviser writes for a question the leakage filter flagged: another way to ask about
    the same pair (the same answer kind first, so the subtask's Yes/No balance holds; a different question
    text), or a reject when the pair has no other question. Scripted, like the annotations."""
    def same_kind(d: Draft) -> bool:
        return d.qa_type == current.qa_type and (d.qa_type != "yes_no" or d.answer == current.answer)

    fresh = [d for d in item.alternatives if d.question != current.question]
    if fresh:
        best = sorted(fresh, key=lambda d: not same_kind(d))[0]
        return Draft(best.qa_type, best.question, list(best.options), best.answer)
    return Draft(None, verdict="reject",
                 reject_reason="scripted reviser: this pair has no other question that needs the images")
