"""Write the demo's image corpus: PNG files plus a JSONL manifest the curation stage ingests.

`generate_corpus(out_dir)` draws every scene of `SCENE_LIST` (fixed seeds: identical bytes on every run),
writes `out_dir/images/<name>.png` and `out_dir/manifest.jsonl`, one line per image:

    {"path": "images/d01-family-dinner.png", "id": "d01-family-dinner", "width": 448, "height": 336,
     "entities": ["person", "table", "cup", ...],
     "boxes": [{"label": "person", "bbox": [x, y, w, h]}, ...],          # output pixels, COCO convention
     "captions": ["A smiling woman and a man eating dinner ...", ...],   # 2-3, written from the scene graph
     "source": "generated:mmra-demo:d01-family-dinner", "licence": "CC0-1.0",
     "scene": {"place": "dining room", "setting": "indoor", "view": "eye level",
               "events": ["eating dinner"], "moods": ["happy"]}}

`path` is relative to the manifest's folder. `scene` is the generator's own ground truth (the curation
stage does not need it; the scripted annotators and the tests read it).
"""

from __future__ import annotations

import hashlib
import random
from collections.abc import Callable
from pathlib import Path
from typing import Any

from mmra.benchmark.records import write_jsonl

from . import scenes as S
from .scenes import Canvas, Scene

# (name, template, parameters). The seed of each scene is derived from its name, so inserting a scene does
# not change the others.
SCENE_LIST: list[tuple[str, Callable[..., tuple], dict[str, Any]]] = [
    # --- meals at a table (Environment: dining room/kitchen; SimilarEvent: eating; MentalitySimilarity)
    ("d01-family-dinner", S.dining, dict(diners=[("woman", "smile"), ("man", "smile")],
                                         items=["cup", "plate", "plate", "bottle"], clock_on_wall=True)),
    ("d02-three-at-dinner", S.dining, dict(diners=[("man", "smile"), ("girl", "smile"), ("woman", "neutral")],
                                           items=["plate", "cup", "plate", "plate"], wall="green")),
    ("d03-lonely-dinner", S.dining, dict(diners=[("man", "frown")], items=["plate", "cup"], clock_on_wall=True,
                                         wall="blue")),
    ("d04-coffee-break", S.dining, dict(diners=[("woman", "frown"), ("man", "neutral")], items=["cup", "cup"],
                                        place="kitchen", event="drinking coffee", wall="orange")),
    ("d05-breakfast-with-cat", S.dining, dict(diners=[("boy", "smile")], items=["plate", "cup", "apple"],
                                              place="kitchen", pet="cat", event="eating breakfast",
                                              wall="pink")),
    ("d06-dinner-with-dog", S.dining, dict(diners=[("woman", "smile"), ("boy", "smile")],
                                           items=["plate", "bottle", "plate"], pet="dog", wall="purple")),
    # --- kitchen work (SubEvent: cooking dinner <- cutting vegetables / boiling water)
    ("k01-cooking-dinner", S.cooking, dict(cook=("woman", "smile"), board=False, pot_on=True,
                                           extras=["bottle"])),
    ("k02-cutting-vegetables", S.cooking, dict(cook=("man", "neutral"), board=True, pot_on=False,
                                               extras=["bottle"], event="cutting vegetables")),
    ("k03-cooking-with-cat", S.cooking, dict(cook=("man", "smile"), board=True, pot_on=True, extras=[],
                                             pet="cat", mirror=True, wall=(250, 225, 200), front=(170, 80, 60))),
    ("k04-empty-kitchen", S.cooking, dict(cook=None, board=True, pot_on=False, extras=["cup", "apple"],
                                          event="preparing food", wall=(215, 235, 215), front=(240, 240, 235))),
    # --- desks (NearSameEntity: cup next to laptop; UsageSimilarity: book/laptop for reading)
    ("o01-working-on-laptop", S.office, dict(worker=("woman", "frown"), items=["cup", "laptop", "book"],
                                             event="working on a laptop")),
    ("o02-reading-at-desk", S.office, dict(worker=("man", "smile"), items=["book", "cup"], event="reading a book",
                                           clock_on_wall=True, shift=0.12, wall=(240, 225, 190))),
    ("o03-quiet-study", S.office, dict(worker=None, items=["cup", "laptop"], event=None, pet="cat",
                                       clock_on_wall=True, place="study room")),
    ("o04-homework", S.office, dict(worker=("girl", "smile"), items=["scissors", "book", "apple"],
                                    event="doing homework", place="study room", shift=-0.12, wall=(215, 200, 230),
                                    floor=(170, 140, 100))),
    ("o05-late-work", S.office, dict(worker=("man", "frown"), items=["laptop", "cup"],
                                     event="working on a laptop", wall=(120, 130, 160), floor=(90, 80, 75))),
    # --- parks (RelativePosition: dog left; NearSameEntity: bench near tree; Layout; events)
    ("p01-playing-ball", S.park, dict(people=[("boy", "smile", "standing", 0.45), ("girl", "smile", "arms_up", 0.7)],
                                      dog_at=0.15, ball_at=(0.57, 0.86), trees=[0.88], events=["playing ball"])),
    ("p02-walking-the-dog", S.park, dict(people=[("woman", "smile", "standing", 0.35)], dog_at=0.15,
                                         trees=[0.7], bench_at=0.85, events=["walking a dog"])),
    ("p03-flying-a-kite", S.park, dict(people=[("girl", "smile", "arms_up", 0.5)], kite=True, trees=[0.12],
                                       events=["flying a kite"])),
    ("p04-sad-on-bench", S.park, dict(people=[("man", "frown", "sitting", 0.5)], bench_at=0.5, trees=[0.82],
                                      bicycle_at=0.16, events=["sitting on a bench"])),
    ("p05-dog-and-ball", S.park, dict(people=[("man", "smile", "arms_up", 0.7)], dog_at=0.2, ball_at=(0.42, 0.85),
                                      trees=[0.1, 0.92], events=["playing ball"])),
    ("p06-quiet-evening", S.park, dict(people=[], bench_at=0.45, trees=[0.18, 0.8], ball_at=(0.7, 0.88), dusk=True,
                                       events=[])),
    ("p07-dog-by-the-bench", S.park, dict(people=[("woman", "neutral", "standing", 0.75)], dog_at=0.18,
                                          bench_at=0.3, trees=[0.55], events=["walking a dog"], place="garden")),
    ("p08-reading-on-bench", S.park, dict(people=[("woman", "smile", "sitting", 0.48)], bench_at=0.48,
                                          trees=[0.15, 0.85], events=["sitting on a bench"])),
    # --- streets (RelativePosition: car right; SimilarEvent: riding a bicycle)
    ("s01-busy-street", S.street_scene, dict(cars=[(0.7, "red", -1)], walkers=[("man", "neutral", 0.15)],
                                             tree_at=0.4, events=["driving a car"])),
    ("s02-cycling-to-work", S.street_scene, dict(cars=[(0.78, "blue", 1)], rider=("woman", "smile", 0.32),
                                                 events=["riding a bicycle"])),
    ("s03-dog-walk-in-town", S.street_scene, dict(cars=[(0.72, "yellow", -1)], walkers=[("woman", "smile", 0.2)],
                                                  dog_at=0.32, events=["walking a dog"])),
    ("s04-parked-bicycle", S.street_scene, dict(cars=[(0.3, "white", 1)], walkers=[("man", "frown", 0.75)],
                                                parked_bicycle=0.55, tree_at=0.62, events=[])),
    ("s05-evening-ride", S.street_scene, dict(cars=[], rider=("man", "neutral", 0.5), tree_at=0.15, dusk=True,
                                              events=["riding a bicycle"])),
    ("s06-two-cars", S.street_scene, dict(cars=[(0.25, "green", 1), (0.75, "red", -1)], tree_at=0.5,
                                          events=["driving a car"])),
    # --- beaches (Environment: beach; SimilarEvent: flying a kite, playing ball)
    ("b01-sailing", S.beach, dict(people=[("man", "smile", "standing", 0.3)], boat_at=0.72, events=["sailing"])),
    ("b02-beach-ball", S.beach, dict(people=[("girl", "smile", "arms_up", 0.3), ("boy", "smile", "standing", 0.7)],
                                     ball_at=(0.5, 0.8), events=["playing ball"])),
    ("b03-dog-on-the-beach", S.beach, dict(people=[], dog_at=0.6, ball_at=(0.3, 0.86), boat_at=0.2,
                                           events=["playing ball"])),
    ("b04-kite-at-the-sea", S.beach, dict(people=[("woman", "smile", "arms_up", 0.25)], kite=True, boat_at=0.8,
                                          events=["flying a kite"])),
    ("b05-sad-at-sunset", S.beach, dict(people=[("boy", "frown", "standing", 0.5)], boat_at=0.2, dusk=True,
                                        events=[])),
    # --- seen from above (ObservationAngle: top-down; Layout; SubEvent: cutting vegetables)
    ("t01-meal-from-above", S.topdown, dict(surface="wood", items=[("plate", 0.5, 0.5, 0.3), ("knife", 0.78, 0.5, 0.18),
                                                                   ("cup", 0.2, 0.3, 0.16)],
                                            events=["eating dinner"], place="dining room")),
    ("t02-chopping-board", S.topdown, dict(surface="wood", items=[("board", 0.48, 0.5, 0.6), ("carrot", 0.38, 0.42, 0.2),
                                                                 ("carrot", 0.4, 0.6, 0.2), ("knife", 0.66, 0.5, 0.22)],
                                           events=["cutting vegetables"])),
    ("t03-desk-from-above", S.topdown, dict(surface="wood", items=[("laptop", 0.4, 0.5, 0.36), ("cup", 0.78, 0.3, 0.15),
                                                                   ("scissors", 0.8, 0.75, 0.18)],
                                            events=["working on a laptop"], place="office")),
    ("t04-crafts", S.topdown, dict(surface="cloth", items=[("book", 0.3, 0.45, 0.34), ("scissors", 0.7, 0.35, 0.2),
                                                           ("apple", 0.72, 0.72, 0.12)],
                                   events=["doing homework"], place="study room")),
    ("t05-picnic-from-above", S.topdown, dict(surface="lawn", items=[("tree", 0.18, 0.3, 0.3), ("plate", 0.55, 0.35, 0.16),
                                                                     ("bottle", 0.72, 0.32, 0.12), ("ball", 0.8, 0.8, 0.1)],
                                              events=["having a picnic"], place="park")),
    ("t06-park-from-above", S.topdown, dict(surface="lawn", items=[("tree", 0.25, 0.3, 0.32), ("tree", 0.75, 0.28, 0.28),
                                                                   ("bench", 0.5, 0.4, 0.22), ("ball", 0.4, 0.82, 0.08)],
                                            events=[], place="park")),
    ("t07-dinner-for-two", S.topdown, dict(surface="cloth", items=[("plate", 0.3, 0.5, 0.26), ("plate", 0.7, 0.5, 0.26),
                                                                   ("cup", 0.5, 0.2, 0.12), ("knife", 0.5, 0.8, 0.2)],
                                           events=["eating dinner"], place="dining room")),
    ("t08-breakfast-from-above", S.topdown, dict(surface="wood", items=[("cup", 0.3, 0.4, 0.16), ("apple", 0.55, 0.6, 0.12),
                                                                        ("book", 0.78, 0.45, 0.26)],
                                                 events=["eating breakfast"], place="kitchen")),
    # --- close-ups (ObservationAngle: close-up; AppearanceSimilarity: round clock/ball/apple; MS faces)
    ("c01-happy-face", S.closeup, dict(subject="person", who="woman", expression="smile")),
    ("c02-sad-face", S.closeup, dict(subject="person", who="man", expression="frown")),
    ("c03-happy-dog", S.closeup, dict(subject="dog", expression="smile", place="park")),
    ("c04-grumpy-cat", S.closeup, dict(subject="cat", expression="frown", place="living room")),
    ("c05-wall-clock", S.closeup, dict(subject="clock", place="living room")),
    ("c06-football", S.closeup, dict(subject="ball", place="park")),
    ("c07-hot-coffee", S.closeup, dict(subject="cup", events=["drinking coffee"], place="kitchen")),
    ("c08-carrot-and-knife", S.closeup, dict(subject="carrot", events=["cutting vegetables"], place="kitchen")),
    ("c09-red-apple", S.closeup, dict(subject="apple", place="kitchen")),
    ("c10-smiling-boy", S.closeup, dict(subject="person", who="boy", expression="smile")),
]


def _seed(name: str) -> int:
    return int(hashlib.sha256(name.encode("utf-8")).hexdigest()[:16], 16)


def draw_scene(name: str, template: Callable[..., tuple], params: dict[str, Any]):
    """Draw one scene; returns (PIL image, Scene with entities and captions)."""
    canvas = Canvas(random.Random(_seed(name)))
    place, setting, view, events = template(canvas, **params)
    scene = Scene(name=name, place=place, setting=setting, view=view, events=list(events),
                  entities=canvas.entities, time_of_day="dusk" if params.get("dusk") else "day")
    scene.captions = write_captions(scene)
    return canvas.result(), scene


# ----------------------------------------------------------------- captions

_A = {"apple": "an", "orange": "an", "office": "an", "outdoor": "an", "indoor": "an", "eye": "an"}
_PLACE_PHRASE = {"kitchen": "in a kitchen", "dining room": "in a dining room", "office": "in an office",
                 "study room": "in a study room", "living room": "in a living room", "park": "in a park",
                 "garden": "in a garden", "street": "on a street", "beach": "on a beach"}
_NUMBER = {2: "two", 3: "three", 4: "four"}


def _a(word: str) -> str:
    return f"{_A.get(word.split()[0], 'a')} {word}"


def _join(parts: list[str]) -> str:
    if len(parts) <= 1:
        return "".join(parts)
    return ", ".join(parts[:-1]) + " and " + parts[-1]


def _living_phrase(e) -> str:
    """'a smiling woman', 'a sad dog', 'a boy'."""
    noun = e.attrs.get("who", e.label)
    mood = {"smile": "smiling" if e.label == "person" else "happy", "frown": "sad"}.get(e.attrs.get("expression"), "")
    return _a(f"{mood} {noun}".strip())


def _counted(labels: list[str]) -> list[str]:
    counts: dict[str, int] = {}
    for label in labels:
        counts[label] = counts.get(label, 0) + 1
    out = []
    for label, n in counts.items():
        plural = label + ("es" if label.endswith(("ch", "sh", "s")) else "s")
        out.append(_a(label) if n == 1 else f"{_NUMBER.get(n, str(n))} {plural}")
    return out


def write_captions(scene: Scene) -> list[str]:
    living = [e for e in scene.entities if e.label in ("person", "dog", "cat")]
    things = [e for e in scene.entities if e.label not in ("person", "dog", "cat")]
    where = _PLACE_PHRASE.get(scene.place, "")
    captions: list[str] = []
    if scene.view == "close-up":
        subject = scene.entities[0]
        noun = _living_phrase(subject) if subject in living else _a(subject.label)
        first = f"A close-up photo of {noun}"
        if scene.events:
            first += f", {scene.events[0]}"
        captions.append(first + ".")
        if subject in living and subject.attrs.get("expression") in ("smile", "frown"):
            mood = "happy" if subject.attrs["expression"] == "smile" else "sad"
            verb = "smiles" if mood == "happy" else "frowns"
            noun_plain = subject.attrs.get("who", subject.label)
            captions.append(f"The {noun_plain} {verb} and looks {mood}; the face fills the frame.")
        else:
            others = _counted([e.label for e in scene.entities[1:]])
            extra = f" next to {_join(others)}" if others else ""
            captions.append(f"{_a(subject.label).capitalize()}{extra} seen from very close, filling the frame.")
        return captions

    # 1: who does what where
    actors = [_living_phrase(e) for e in living]
    if scene.events and actors:
        first = f"{_join(actors)} {scene.events[0]} {where}".strip()
    elif scene.events:
        first = f"{_join(_counted([e.label for e in things])[:3])} {where}, ready for {scene.events[0]}".strip()
    elif actors:
        first = f"{_join(actors)} {where}".strip()
    else:
        first = f"{_join(_counted([e.label for e in things])[:4])} {where}".strip()
    if scene.view == "top-down":
        first = f"A top-down view of {first[0].lower() + first[1:]}"
    captions.append(first[0].upper() + first[1:] + ".")

    # 2: what is where (left / middle / right)
    placed = []
    seen: set[tuple[str, str]] = set()
    for e in scene.entities:
        noun = e.attrs.get("who", e.label)
        if e.attrs.get("colour") and e.label not in ("person", "car"):
            noun = f"{e.attrs['colour']} {noun}"
        if e.label == "car":
            noun = f"{e.attrs['colour']} car"
        key = (noun, e.position_word())
        if key in seen:
            continue
        seen.add(key)
        placed.append(f"{_a(noun)} {e.position_word()}")
    if placed:
        captions.append(f"There is {_join(placed[:5])}.")

    # 3: viewpoint, setting, mood
    if scene.view == "top-down":
        third = "The photo is taken from directly above, looking straight down at the " + \
            ("lawn." if scene.setting == "outdoor" else "table.")
    else:
        third = f"An eye-level photo of {_a(scene.setting)} scene" + (" at dusk" if scene.time_of_day == "dusk" else "")
        moods = [(e.attrs.get("who", e.label), e.attrs.get("expression")) for e in living]
        feel = [f"the {who} looks {'happy' if ex == 'smile' else 'sad'}" for who, ex in moods if ex in ("smile", "frown")]
        third += ("; " + _join(feel[:2]) + ".") if feel else "."
    captions.append(third)
    return captions


# ----------------------------------------------------------------- corpus


# COCO's supercategories (the curation stage reads "person"/"animal" as living beings for MentalitySimilarity).
SUPERCATEGORY = {
    "person": "person", "dog": "animal", "cat": "animal", "car": "vehicle", "bicycle": "vehicle", "boat": "vehicle",
    "bench": "outdoor", "tree": "outdoor", "ball": "sports", "kite": "sports", "cup": "kitchen", "bottle": "kitchen",
    "knife": "kitchen", "plate": "kitchen", "pot": "kitchen", "chair": "furniture", "table": "furniture",
    "laptop": "electronic", "book": "indoor", "clock": "indoor", "scissors": "indoor", "apple": "food",
    "carrot": "food",
}


def scene_record(scene: Scene, path: str) -> dict[str, Any]:
    return {
        "path": path,
        "id": scene.name,
        "width": S.WIDTH,
        "height": S.HEIGHT,
        "entities": scene.labels,
        "boxes": [{"label": e.label, "bbox": list(e.box), "supercategory": SUPERCATEGORY[e.label],
                   **({"attrs": e.attrs} if e.attrs else {})} for e in scene.entities],
        "captions": scene.captions,
        "source": f"{S.SOURCE_PREFIX}:{scene.name}",
        "licence": S.LICENCE,
        "scene": {"place": scene.place, "setting": scene.setting, "view": scene.view, "events": scene.events,
                  "moods": scene.moods, "time_of_day": scene.time_of_day},
    }


def generate_corpus(out_dir: str | Path, *, only: list[str] | None = None, progress=None) -> Path:
    """Draw every scene into `out_dir/images/` and write `out_dir/manifest.jsonl`; returns the manifest path.
    Re-running rewrites identical files (scenes are seeded by name)."""
    out_dir = Path(out_dir)
    (out_dir / "images").mkdir(parents=True, exist_ok=True)
    records = []
    for name, template, params in SCENE_LIST:
        if only and name not in only:
            continue
        image, scene = draw_scene(name, template, params)
        rel = f"images/{name}.png"
        image.save(out_dir / rel, optimize=False)
        records.append(scene_record(scene, rel))
        if progress is not None:
            progress()
    return write_jsonl(out_dir / "manifest.jsonl", records)
