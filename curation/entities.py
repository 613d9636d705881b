"""What each image shows, linked to ConceptNet: entities (from corpus labels and lemmatised caption words,
through an alias table), caption events, colour/material words attached to entities, mental-state words,
scene words and viewpoint cues. Every fact keeps where it came from, so a person can check it.
"""

from __future__ import annotations

import csv
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from .corpus import ImageRecord
from .edges import EdgeStore
from .text import STOPWORDS, Lemmatiser, PhraseMatcher, normalise_phrase

# Corpus label -> ConceptNet concepts, tried in order (the label itself is tried first when it is a concept).
DEFAULT_ALIASES: dict[str, tuple[str, ...]] = {
    "tv": ("television", "tv"),
    "cell phone": ("phone", "cellphone", "cell phone"),
    "dining table": ("table",),
    "potted plant": ("plant", "potted plant"),
    "sports ball": ("ball",),
    "couch": ("couch", "sofa"),
    "airplane": ("airplane", "plane", "aeroplane"),
    "motorcycle": ("motorcycle", "motorbike"),
    "hair drier": ("hair dryer", "hairdryer", "blow dryer"),
    "teddy bear": ("teddy bear", "teddy"),
    "baseball bat": ("baseball bat", "bat"),
    "baseball glove": ("baseball glove", "glove", "mitt"),
    "wine glass": ("wine glass", "glass"),
    "hot dog": ("hot dog", "hotdog"),
    "fire hydrant": ("fire hydrant", "hydrant"),
    "stop sign": ("stop sign", "sign"),
    "parking meter": ("parking meter", "meter"),
    "traffic light": ("traffic light", "stoplight"),
    "tennis racket": ("tennis racket", "racket", "racquet"),
    "remote": ("remote control", "remote"),
    "mouse": ("computer mouse", "mouse"),
    "laptop": ("laptop", "laptop computer", "computer"),
    "donut": ("doughnut", "donut"),
    "skis": ("ski",),
    "person": ("person", "human"),
    "bicycle": ("bicycle", "bike"),
    "suitcase": ("suitcase", "luggage"),
    "handbag": ("handbag", "purse", "bag"),
    "refrigerator": ("refrigerator", "fridge"),
}

# Caption words for people and animals (entities that can have a mental state).
PEOPLE_WORDS = frozenset("person man woman boy girl child kid people guy lady player baby skier surfer "
                         "skateboarder snowboarder rider family crowd toddler gentleman student friend couple "
                         "teenager adult chef".split())
ANIMAL_WORDS = frozenset("dog cat horse cow sheep bird elephant bear zebra giraffe puppy kitten animal duck "
                         "goose pigeon seagull calf lamb pony".split())

COLOURS = frozenset("red blue green yellow white black brown orange pink purple gray grey silver gold golden "
                    "tan beige colorful colourful".split())
SHAPES = frozenset("round square rectangular flat long tall short small big large tiny huge thin sharp round "
                   "striped spotted shiny fluffy furry wooden metal metallic transparent clear bright dark "
                   "curved circular triangular narrow wide soft smooth hairy fuzzy".split())
VISUAL_PROPERTIES = COLOURS | SHAPES
# Caption adjectives that name a material ("a wooden bench").
MATERIAL_WORDS: dict[str, str] = {
    "wooden": "wood", "wood": "wood", "metal": "metal", "metallic": "metal", "steel": "steel", "iron": "iron",
    "glass": "glass", "plastic": "plastic", "stone": "stone", "brick": "brick", "leather": "leather",
    "ceramic": "ceramic", "porcelain": "porcelain", "concrete": "concrete", "marble": "marble",
    "wicker": "wicker", "paper": "paper", "cardboard": "cardboard", "cloth": "cloth", "fabric": "fabric",
    "silver": "silver", "gold": "gold", "rubber": "rubber", "tile": "tile", "tiled": "tile", "straw": "straw",
}
# Caption lemma -> mental state (what a person or animal feels or wants).
MENTAL_STATES: dict[str, str] = {
    **dict.fromkeys("smile smiling laugh laughing grin happy joy cheerful celebrate fun enjoy".split(), "happy"),
    **dict.fromkeys("play playful frolic".split(), "playful"),
    **dict.fromkeys("sleep nap rest relax lounge tired sleepy asleep doze".split(), "relaxed or tired"),
    **dict.fromkeys("eat drink feed hungry graze lick bite thirsty".split(), "hungry or thirsty"),
    **dict.fromkeys("look watch stare gaze read concentrate focus aim examine".split(), "attentive"),
    **dict.fromkeys("sniff explore investigate curious".split(), "curious"),
    **dict.fromkeys("jump race compete swing kick throw catch chase".split(), "excited or competitive"),
    **dict.fromkeys("pose posing".split(), "proud (posing)"),
    **dict.fromkeys("talk hug chat kiss greet cuddle".split(), "affectionate or sociable"),
    **dict.fromkeys("wait".split(), "patient (waiting)"),
    **dict.fromkeys("sad frown frowning cry crying upset unhappy lonely gloomy".split(), "sad"),
}
# Caption cue -> viewpoint, for ObservationAngle (a heuristic).
VIEWPOINT_CUES: dict[str, tuple[str, ...]] = {
    "top-down": ("from above", "overhead", "aerial", "top view", "bird s eye", "birds eye", "look down",
                 "from the top", "top down", "overhead view", "above view"),
    "close-up": ("close up", "closeup", "up close", "close view", "zoom", "zoomed", "closely", "close shot"),
    "wide shot": ("in the distance", "far away", "distant", "from afar", "panoramic", "wide view",
                  "long shot", "far off"),
    "low angle": ("from below", "look up", "low angle", "from the ground"),
    "side view": ("side view", "profile", "from the side"),
}
SCENE_WORDS = frozenset("kitchen bathroom bedroom living room office street road city park field beach ocean "
                        "sea lake river mountain forest snow slope airport station restaurant store market farm "
                        "zoo yard garden court stadium sky water grass desert table room house home highway "
                        "parking lot sidewalk dining room classroom shop harbor bridge countryside pasture".split())
OUTDOOR_SCENES = frozenset("street road city park field beach ocean sea lake river mountain forest snow slope "
                           "airport farm zoo yard garden court stadium sky water grass desert highway parking lot "
                           "sidewalk harbor bridge countryside pasture".split())

OBJECT_RELATIONS = ("AtLocation", "MadeOf", "PartOf", "HasA")
ACTIVITY_RELATIONS = ("HasSubevent", "HasFirstSubevent", "HasLastSubevent", "HasPrerequisite", "MotivatedByGoal")
GENERIC_WORDS = frozenset("be have get do use go make take put give let one thing something someone stuff lot "
                          "part kind type way time day open close long little right left together inside "
                          "outside background area group bunch set side item piece other others show full "
                          "stand hold cover fill front top bottom middle edge view picture photo image shot".split())
EVENT_RELATIONS = ("HasSubevent", "HasFirstSubevent", "HasLastSubevent", "HasPrerequisite", "MotivatedByGoal",
                   "Causes", "CausesDesire", "Desires")


def _clean_words(concept: str, *, internal_stopwords: bool = True) -> bool:
    words = concept.split()
    if not words or not all(w.isalpha() or "-" in w and w.replace("-", "").isalpha() for w in words):
        return False  # digits, punctuation: "area 51", "these 5 person"
    if words[0] in STOPWORDS or words[-1] in STOPWORDS:
        return False  # "sit on", "one person", "this next"
    return internal_stopwords or not any(w in STOPWORDS for w in words)


def _clean(concepts: Iterable[str]) -> set[str]:
    return {c for c in concepts if len(c) > 2 and len(c.split()) <= 4 and _clean_words(c)}


def load_alias_file(path: str | Path) -> dict[str, tuple[str, ...]]:
    """A TSV of `label <tab> concept[ <tab> concept...]` rows that extends or overrides the default table."""
    table: dict[str, tuple[str, ...]] = {}
    with Path(path).open(encoding="utf-8") as fh:
        for lineno, row in enumerate(csv.reader(fh, delimiter="\t"), 1):
            if not row or row[0].startswith("#"):
                continue
            if len(row) < 2:
                raise ValueError(f"{path}:{lineno}: expected 'label<TAB>concept', got {row!r}")
            table[normalise_phrase(row[0])] = tuple(normalise_phrase(c) for c in row[1:] if c.strip())
    return table


@dataclass
class Mention:
    concept: str
    origin: str  # "label" or "caption"
    surface: str  # the label or caption word(s)
    boxes: list[int] = field(default_factory=list)  # indices into ImageRecord.boxes
    captions: list[int] = field(default_factory=list)  # indices into ImageRecord.captions


@dataclass
class ImageFacts:
    entities: dict[str, Mention] = field(default_factory=dict)  # concept -> mention
    events: dict[str, list[int]] = field(default_factory=dict)  # event concept -> caption indices
    attributes: dict[str, dict[str, list[int]]] = field(default_factory=dict)  # concept -> {attribute: captions}
    materials: dict[str, dict[str, list[int]]] = field(default_factory=dict)  # concept -> {material: captions}
    mental: dict[str, dict[str, list[int]]] = field(default_factory=dict)  # state -> {word: captions}
    sentient: set[str] = field(default_factory=set)  # entity concepts that are people or animals
    scenes: dict[str, list[int]] = field(default_factory=dict)  # scene word -> captions
    viewpoints: dict[str, list[tuple[str, int]]] = field(default_factory=dict)  # view -> [(cue, caption)]
    caption_lemmas: list[list[str]] = field(default_factory=list)


class Linker:
    """Links image labels and caption words to the concepts of an `EdgeStore`."""

    def __init__(self, store: EdgeStore, aliases: Mapping[str, Iterable[str]] | None = None) -> None:
        self.store = store
        self.aliases = {normalise_phrase(k): tuple(v) for k, v in {**DEFAULT_ALIASES, **(aliases or {})}.items()}
        vocab = store.all_concepts()
        self.vocab = vocab
        self.lemmatiser = Lemmatiser(w for w in vocab if " " not in w)
        activities = store.concepts(ACTIVITY_RELATIONS, side="head")
        known_objects = {c for targets in self.aliases.values() for c in targets if c in vocab}
        known_objects |= {w for w in PEOPLE_WORDS | ANIMAL_WORDS if w in vocab}
        objects = store.concepts(OBJECT_RELATIONS, side="head") | store.concepts(["AtLocation"], side="tail")
        objects = {c for c in objects if c not in activities and c not in VISUAL_PROPERTIES
                   and c not in MENTAL_STATES and c not in GENERIC_WORDS}
        self.objects = {c for c in _clean(objects) if _clean_words(c, internal_stopwords=False)} | known_objects
        events = store.concepts(EVENT_RELATIONS, side="both") | store.concepts(["UsedFor", "CapableOf"], side="tail")
        self.events = {c for c in _clean(events) if c not in self.objects and c not in VISUAL_PROPERTIES
                       and c not in GENERIC_WORDS and (" " in c or c in activities)}
        self.object_matcher = PhraseMatcher(self.objects, self.lemmatiser, max_gap=0)
        self.event_matcher = PhraseMatcher(self.events, self.lemmatiser, max_gap=1)
        view_phrases = {cue: view for view, cues in VIEWPOINT_CUES.items() for cue in cues}
        self.view_matcher = PhraseMatcher(view_phrases, self.lemmatiser, max_gap=0)
        self._views = view_phrases
        self.unlinked_labels: dict[str, int] = defaultdict(int)  # label -> boxes/labels left without a concept
        self._label_cache: dict[str, list[str]] = {}

    def link_label(self, label: str) -> list[str]:
        """Concepts for a corpus label: itself, its aliases, its lemma, then its head noun ('wine glass' -> 'glass')."""
        found = self._label_cache.get(label)
        if found is None:
            found = self._label_cache[label] = self._link_label(label)
        return found

    def _link_label(self, label: str) -> list[str]:
        label = normalise_phrase(label)
        options = [label, *self.aliases.get(label, ()), " ".join(self.lemmatiser.phrase(label))]
        if " " in label:
            options.append(self.lemmatiser(label.split()[-1]))
        return list(dict.fromkeys(o for o in options if o in self.vocab))

    def facts(self, record: ImageRecord) -> ImageFacts:
        facts = ImageFacts()
        for index, box in enumerate(record.boxes):
            self._add_label(facts, box.label, record, boxes=[index])
        for label in record.labels:
            if not any(m.surface == label for m in facts.entities.values()):
                self._add_label(facts, label, record)
        for cap_index, caption in enumerate(record.captions):
            seq, verbal = self.object_matcher.sequence_with_forms(caption)
            facts.caption_lemmas.append(seq)
            self._caption_entities(facts, seq, verbal, cap_index)
            for match in self.event_matcher.find(seq):
                if match.end - match.start == 1 and not verbal[match.start]:
                    continue  # a one-word event must be used as a verb here ("parked", not "park")
                facts.events.setdefault(match.concept, []).append(cap_index)
            for match in self.view_matcher.find(seq):
                view = self._views[match.concept]
                facts.viewpoints.setdefault(view, []).append((match.concept, cap_index))
            for word in seq:
                state = MENTAL_STATES.get(word)
                if state:
                    facts.mental.setdefault(state, {}).setdefault(word, []).append(cap_index)
                if word in SCENE_WORDS:
                    facts.scenes.setdefault(word, []).append(cap_index)
            for first, second in zip(seq, seq[1:], strict=False):
                if f"{first} {second}" in SCENE_WORDS:
                    facts.scenes.setdefault(f"{first} {second}", []).append(cap_index)
        # drop events that are only a piece of a longer event in the same captions ("ride" inside "ride horse")
        facts.events = {e: sorted(set(c)) for e, c in facts.events.items()
                        if not any(e != o and f" {e} " in f" {o} " and set(c) <= set(facts.events[o])
                                   for o in facts.events)}
        return facts

    def _add_label(self, facts: ImageFacts, label: str, record: ImageRecord, boxes: list[int] | None = None) -> None:
        concepts = self.link_label(label)
        if not concepts:
            self.unlinked_labels[label] += 1
            return
        concept = concepts[0]
        mention = facts.entities.get(concept)
        if mention is None:
            mention = facts.entities[concept] = Mention(concept, "label", label)
        mention.boxes.extend(boxes or [])
        if label in record.sentient_labels or concept in PEOPLE_WORDS | ANIMAL_WORDS:
            facts.sentient.add(concept)

    def _caption_entities(self, facts: ImageFacts, seq: list[str], verbal: list[bool], cap_index: int) -> None:
        matches = sorted(self.object_matcher.find(seq), key=lambda m: (m.start, -(m.end - m.start)))
        covered = -1
        for match in matches:
            if match.start < covered:  # keep the longest phrase ("fire hydrant", not "fire")
                continue
            if match.end - match.start == 1 and verbal[match.start]:
                continue  # "standing", "covered": a verb, not an object
            covered = match.end
            concept = match.concept
            mention = facts.entities.get(concept)
            if mention is None:
                mention = facts.entities[concept] = Mention(concept, "caption", " ".join(seq[match.start:match.end]))
            mention.captions.append(cap_index)
            if concept in PEOPLE_WORDS or concept in ANIMAL_WORDS:
                facts.sentient.add(concept)
            # the chain of adjectives right before the entity ("a red extra long bus" -> long; "tile floor,
            # refrigerator" gives the refrigerator nothing): colour/shape and material words
            chain = []
            for word in reversed(seq[max(0, match.start - 3):match.start]):
                if word not in VISUAL_PROPERTIES and word not in MATERIAL_WORDS:
                    break
                chain.append(word)
            for word in chain:
                if word in VISUAL_PROPERTIES:
                    facts.attributes.setdefault(concept, {}).setdefault(word, []).append(cap_index)
                if word in MATERIAL_WORDS and MATERIAL_WORDS[word] != concept:
                    facts.materials.setdefault(concept, {}).setdefault(MATERIAL_WORDS[word], []).append(cap_index)
