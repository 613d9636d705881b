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
MOODS = ["happy", "sad", "angry", "scared", "surprised", "bored"]
POSITIONS = ["on the left", "in the middle", "on the right"]
VIEWS = {"top-down": "from directly above (top-down)", "eye level": "at eye level, from the side",
         "close-up": "as a close-up, very near the subject"}
EXTRA_VIEW = "from far away, high in the air"
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


_SMALL_WORDS = frozenset("a an the of on in at to from by with one".split())


def _mc(question: str, correct: str, distractors: list[str], rng: random.Random, n: int = 4) -> Draft:
    def words(text: str) -> set[str]:
        return {w.strip("(),.") for w in text.casefold().split()} - _SMALL_WORDS

    # a distractor that contains the answer or is contained in it ("cut" / "cut paper") would be right too
    pool = [d for d in dict.fromkeys(distractors)
            if not (words(correct) <= words(d) or words(d) <= words(correct))]
    options = [correct] + pool[: n - 1]
    if len(options) < 3:
        raise ValueError("not enough distractors")
    rng.shuffle(options)
    return Draft("multiple_choice", question, options, LETTERS[options.index(correct)])


def _yes_no(question: str, answer: bool) -> Draft:
    return Draft("yes_no", question, [], "Yes" if answer else "No")


class _Reject(Exception):
    pass


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


def _write(cand: Candidate, f1: SceneFacts, f2: SceneFacts, kb: Knowledge, rng: random.Random) -> Draft:
    sub = cand.subtask
    if sub == "UsageSimilarity":
        e1, e2, use = _shared_tail(cand, kb, ("UsedFor", "CapableOf"), f1, f2)
        only_one = sorted((kb.tails(("UsedFor",), e1) ^ kb.tails(("UsedFor",), e2)) - {use})
        rng.shuffle(only_one)
        both = kb.tails(("UsedFor", "CapableOf"), e1) | kb.tails(("UsedFor", "CapableOf"), e2)
        rest = [u for u in USES if u not in both]
        rng.shuffle(rest)
        return _mc("What can an object in Image 1 and an object in Image 2 both be used for?", use,
                   only_one[:2] + rest, rng)
    if sub == "SimilarMaterial":
        e1, e2, material = _shared_tail(cand, kb, ("MadeOf",), f1, f2)
        made = kb.tails(("MadeOf",), e1) | kb.tails(("MadeOf",), e2)
        rest = [m for m in MATERIALS if m not in made]
        rng.shuffle(rest)
        return _mc(f"Which material are the {e1} in Image 1 and the {e2} in Image 2 both made of?", material, rest,
                   rng)
    if sub == "AppearanceSimilarity":
        e1, e2, prop = _shared_tail(cand, kb, ("HasProperty", "SimilarTo"), f1, f2)
        if prop in ENTITY_POOL:  # SimilarTo names an entity, not a property
            raise _Reject("the pair is linked by SimilarTo; no shared visual property to ask about")
        held = kb.tails(("HasProperty",), e1) | kb.tails(("HasProperty",), e2)
        rest = [p for p in PROPERTIES if p not in held]
        rng.shuffle(rest)
        return _mc(f"Which visual property do the {e1} in Image 1 and the {e2} in Image 2 share?", prop, rest, rng)
    if sub == "Environment":
        if f1.place and f1.place == f2.place:
            rest = [p for p in PLACES if p != f1.place]
            rng.shuffle(rest)
            return _mc("What kind of place do both images show?", f1.place, rest, rng)
        if f1.place and f2.place and f1.setting == f2.setting:
            return _mc("What kind of environment do both images depict?", f"an {f1.setting} scene",
                       ["an indoor scene" if f1.setting == "outdoor" else "an outdoor scene", "an underwater scene",
                        "a scene in outer space"], rng)
        raise _Reject("the two images show different kinds of place")
    if sub == "SimilarEvent":
        ev1 = {EVENT_LEMMA.get(e, e) for e in f1.events}
        ev2 = {EVENT_LEMMA.get(e, e) for e in f2.events}
        shown = sorted(set(f1.events) | set(f2.events))
        common = sorted(set(f1.events) & set(f2.events))
        if common:
            correct = common[0]
        else:
            parents = {PARENT_GERUND[p] for e in ev1 for p in kb.tails(("IsA",), e) if p in PARENT_GERUND} & \
                {PARENT_GERUND[p] for e in ev2 for p in kb.tails(("IsA",), e) if p in PARENT_GERUND}
            if not parents:
                raise _Reject("the two images do not show the same event")
            correct = sorted(parents)[0]
        others = [e for e in EVENT_LEMMA if e not in shown] + EXTRA_EVENTS
        rng.shuffle(others)
        return _mc("Which event or activity do both images show?", correct, others, rng)
    if sub == "SubEvent":
        ev1 = [EVENT_LEMMA.get(e, e) for e in f1.events]
        ev2 = [EVENT_LEMMA.get(e, e) for e in f2.events]
        if not ev1 or not ev2:
            raise _Reject("one of the images shows no clear event")
        steps = ("HasSubevent", "HasFirstSubevent", "HasLastSubevent", "HasPrerequisite")
        forward = any(b in kb.tails(steps, a) for a in ev1 for b in ev2)
        return _yes_no("Is the event in Image 2 a step of the event in Image 1?", forward)
    if sub == "MentalitySimilarity":
        if not f1.living() or not f2.living():
            raise _Reject("one image shows no person or animal")
        m1, m2 = f1.moods(), f2.moods()
        if len(m1) == 1 and m1 == m2:
            mood = next(iter(m1))
            return _mc("Which feeling do the people or animals in both images most likely share?", mood,
                       [m for m in MOODS if m != mood], rng)
        if len(m1) > 1 or len(m2) > 1:
            raise _Reject("mixed feelings inside one image; no clear shared mood")
        return _yes_no("Do the people or animals in the two images show the same feeling?", False)
    if sub == "ObservationAngle":
        if f1.view == f2.view:
            return _mc("From which angle are both photos taken?", VIEWS[f1.view],
                       [v for k, v in VIEWS.items() if k != f1.view] + [EXTRA_VIEW], rng)
        return _yes_no("Are both photos taken from the same camera angle?", False)
    if sub == "Layout":
        l1, l2 = layout_class(f1), layout_class(f2)
        if l1 == l2:
            return _mc("How are the main objects arranged in both images?", l1, [x for x in LAYOUTS if x != l1], rng)
        return _yes_no("Are the main objects arranged the same way in both images?", False)
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
        if p1 == p2:
            return _mc(f"Where is the {label} in both images?", p1, [p for p in POSITIONS if p != p1], rng, n=3)
        return _yes_no(f"Is the {label} on the same side of the picture in both images?", False)
    if sub == "NearSameEntity":
        both = near_pairs(f1) & near_pairs(f2)
        if not both:
            raise _Reject("no entity is close to the same object in both images")
        wanted = set(cand.evidence.concepts)
        focal, near = sorted(both, key=lambda p: (-(len({p[0], p[1]} & wanted)), p))[0]
        absent = [e for e in ENTITY_POOL if e not in f1.labels and e not in f2.labels]
        rng.shuffle(absent)
        return _mc(f"What is next to the {focal} in both images?", near, absent, rng)
    raise _Reject(f"the demo has no annotation template for subtask {sub}")


# ------------------------------------------------------------------ the two accounts


def script_annotations(candidates: Iterable[Candidate], manifest: Path, *,
                       relations: Path = RELATIONS_FILE) -> list[ScriptedItem]:
    """Two scripted annotators' drafts for every candidate (deterministic)."""
    kb = Knowledge(load_relations(relations))
    facts = load_scene_facts(manifest)
    items = []
    for cand in candidates:
        rng = random.Random(stable_hash("demo-annotation", cand.id))
        roll = int(stable_hash("demo-annotator-2", cand.id), 16) % 100
        n1, n2 = scene_name(cand.image1), scene_name(cand.image2)
        try:
            if n1 not in facts or n2 not in facts:
                raise _Reject("not one of the demo's generated images")
            written = _write(cand, facts[n1], facts[n2], kb, rng)
        except (_Reject, ValueError) as exc:
            written = Draft(None, verdict="reject", reject_reason=f"scripted: {exc}")
        first = gold = written
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
        items.append(ScriptedItem(cand.id, cand.subtask, written, gold,
                                  {ANNOTATORS[0]: first, ANNOTATORS[1]: second}))
    return items
