"""The demo's procedural image corpus: ~45 drawn scenes with a scene graph each (entities at known boxes,
place, viewpoint, events, moods) and 2-3 captions written from that graph.

Everything is generated at run time from a fixed seed, so the same code always draws the same pixels and the
project ships no image files. Scenes are composed from a handful of templates (dining, cooking, office, park,
street, beach, top-down, close-up) with per-scene parameters chosen so every MMRA subtask has material:
repeated entities at similar positions (RelativePosition, NearSameEntity, Layout), shared places
(Environment), events and their steps (SimilarEvent, SubEvent: cooking / cutting vegetables, ...),
smiling or frowning people and animals (MentalitySimilarity) and three viewpoints (ObservationAngle).
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from PIL import Image, ImageDraw

from . import painters as P

WIDTH, HEIGHT = 448, 336  # output size
SCALE = 2  # drawn at twice the size, then downsampled (anti-aliasing)
W, H = WIDTH * SCALE, HEIGHT * SCALE
SOURCE_PREFIX = "generated:mmra-demo"
LICENCE = "CC0-1.0"

COLOR_NAMES: dict[str, P.RGB] = {
    "red": (200, 45, 45), "blue": (45, 90, 190), "green": (60, 140, 75), "yellow": (235, 195, 50),
    "white": (236, 236, 240), "orange": (235, 130, 40), "purple": (120, 70, 150), "brown": (150, 100, 55),
    "grey": (130, 130, 135), "black": (45, 45, 50), "pink": (230, 130, 160),
}


@dataclass
class Entity:
    label: str  # the entity word the curation stage reads ("person", "dog", "cup", ...)
    box: tuple[float, float, float, float]  # x, y, width, height in output pixels (COCO convention)
    attrs: dict[str, Any] = field(default_factory=dict)  # expression, who, colour, pose ...

    @property
    def centre(self) -> tuple[float, float]:
        x, y, w, h = self.box
        return x + w / 2, y + h / 2

    def position_word(self) -> str:
        cx = self.centre[0] / WIDTH
        return "on the left" if cx < 0.36 else "on the right" if cx > 0.64 else "in the middle"


@dataclass
class Scene:
    """One generated image's scene graph."""

    name: str
    place: str  # kitchen, dining room, office, living room, park, street, beach, garden
    setting: str  # indoor | outdoor
    view: str  # eye level | top-down | close-up
    events: list[str] = field(default_factory=list)
    entities: list[Entity] = field(default_factory=list)
    captions: list[str] = field(default_factory=list)
    time_of_day: str = "day"

    @property
    def labels(self) -> list[str]:
        seen: list[str] = []
        for e in self.entities:
            if e.label not in seen:
                seen.append(e.label)
        return seen

    @property
    def moods(self) -> list[str]:
        return sorted({MOOD_WORD[e.attrs["expression"]] for e in self.entities
                       if e.attrs.get("expression") in ("smile", "frown")})


MOOD_WORD = {"smile": "happy", "frown": "sad"}


class Canvas:
    """A render-size canvas that records every entity it draws (boxes stored at output size)."""

    def __init__(self, rng: random.Random) -> None:
        self.image = Image.new("RGB", (W, H), (255, 255, 255))
        self.draw = ImageDraw.Draw(self.image)
        self.rng = rng
        self.entities: list[Entity] = []

    def put(self, label: str, painter: Callable[..., None], box: tuple[float, float, float, float],
            record: bool = True, **kwargs: Any) -> tuple[float, float, float, float]:
        """Paint `painter` inside `box` (fractions of the canvas: x0, y0, x1, y1) and record the entity."""
        x0, y0, x1, y1 = box[0] * W, box[1] * H, box[2] * W, box[3] * H
        attrs = kwargs.pop("attrs", {})
        if painter in (P.tree, P.tree_topdown):
            painter(self.draw, (x0, y0, x1, y1), self.rng, **kwargs)
        else:
            painter(self.draw, (x0, y0, x1, y1), **kwargs)
        if record:
            self.record(label, (x0, y0, x1, y1), attrs)
        return (x0, y0, x1, y1)

    def record(self, label: str, box: tuple[float, float, float, float], attrs: dict[str, Any]) -> None:
        """Store the visible part of a render-size box, at output size (COCO x, y, width, height)."""
        x0, y0 = max(0.0, box[0]) / SCALE, max(0.0, box[1]) / SCALE
        x1, y1 = min(float(W), box[2]) / SCALE, min(float(H), box[3]) / SCALE
        self.entities.append(Entity(label, (round(x0, 1), round(y0, 1), round(x1 - x0, 1), round(y1 - y0, 1)), attrs))

    def result(self) -> Image.Image:
        return self.image.resize((WIDTH, HEIGHT), Image.Resampling.LANCZOS)


# ----------------------------------------------------------------- people helpers

def _person(c: Canvas, box, who: str, expression: str = "neutral", pose: str = "standing",
            shirt: str | None = None) -> None:
    rng = c.rng
    colour = shirt or rng.choice(["red", "blue", "green", "yellow", "orange", "purple", "pink"])
    c.put("person", P.person, box, shirt=COLOR_NAMES[colour], skin=rng.choice(P.SKIN_TONES),
          hair=rng.choice(P.HAIR), expression=expression, pose=pose, long_hair=who in ("woman", "girl"),
          trousers=rng.choice([(50, 60, 90), (70, 70, 75), (90, 70, 50), (40, 40, 45)]),
          attrs={"who": who, "expression": expression, "pose": pose, "colour": colour})


def _portrait(c: Canvas, who: str, expression: str) -> None:
    """Head and shoulders filling the frame (close-up of a face)."""
    rng = c.rng
    skin, hair = rng.choice(P.SKIN_TONES), rng.choice(P.HAIR)
    colour = rng.choice(["red", "blue", "green", "purple"])
    d = c.draw
    cx, cy, r = W * 0.5, H * 0.42, H * 0.27
    if who in ("woman", "girl"):
        d.rounded_rectangle([cx - r * 1.15, cy - r * 1.1, cx + r * 1.15, cy + r * 1.5], radius=int(r * 0.6), fill=hair)
    d.rounded_rectangle([cx - r * 1.9, cy + r * 1.05, cx + r * 1.9, H + 40], radius=int(r * 0.8),
                        fill=COLOR_NAMES[colour])
    d.rectangle([cx - r * 0.35, cy + r * 0.7, cx + r * 0.35, cy + r * 1.2], fill=skin)
    d.ellipse([cx - r, cy - r * 1.1, cx + r, cy + r * 1.05], fill=skin, outline=P.shade(skin, 0.75), width=3)
    d.chord([cx - r * 1.04, cy - r * 1.2, cx + r * 1.04, cy + r * 0.35], 180, 360, fill=hair)
    for sx in (-1, 1):
        d.ellipse([cx + sx * r - r * 0.14, cy - r * 0.05, cx + sx * r + r * 0.14, cy + r * 0.3], fill=skin)
    P.face(d, cx, cy + r * 0.12, r * 0.92, expression)
    c.record("person", (cx - r * 1.9, cy - r * 1.2, cx + r * 1.9, H),
             {"who": who, "expression": expression, "pose": "portrait", "colour": colour})


# ----------------------------------------------------------------- scene templates
# Each template paints a background, then entities back to front, and returns (place, setting, view, events).


def dining(c: Canvas, *, diners: list[tuple[str, str]], items: list[str], place: str = "dining room",
           clock_on_wall: bool = False, pet: str | None = None, event: str = "eating dinner",
           wall: str = "yellow") -> tuple:
    rng = c.rng
    P.room(c.draw, W, H, H * 0.58, rng, wall=P.mix(COLOR_NAMES[wall], (255, 255, 255), 0.6),
           floor=(165, 120, 80), tiles=place == "kitchen", window=not clock_on_wall, shelf=place == "dining room")
    if clock_on_wall:
        c.put("clock", P.clock, (0.44, 0.06, 0.56, 0.22), hour=rng.randint(1, 11))
    n = len(diners)
    slots = {1: [0.5], 2: [0.33, 0.67], 3: [0.25, 0.5, 0.75]}[n]
    c.put("chair", P.chair, (0.06, 0.42, 0.16, 0.8))
    for (who, expression), sx in zip(diners, slots, strict=True):
        size = 0.11 if who in ("boy", "girl") else 0.13
        _person(c, (sx - size, 0.24 if size > 0.12 else 0.32, sx + size, 0.8), who, expression, pose="sitting")
    c.put("table", P.table, (0.12, 0.56, 0.88, 0.95), wood=(150, 100, 60), cloth=rng.choice([(240, 240, 245), None]))
    xs = [0.2 + i * (0.6 / max(1, len(items) - 1)) for i in range(len(items))] if len(items) > 1 else [0.48]
    for item, x in zip(items, xs, strict=True):
        _table_item(c, item, x, 0.58)
    if pet == "cat":
        c.put("cat", P.cat, (0.84, 0.62, 0.97, 0.92), coat=(230, 150, 70), expression="smile",
              attrs={"expression": "smile"})
    if pet == "dog":
        c.put("dog", P.dog, (0.01, 0.7, 0.21, 0.97), coat=(160, 110, 60), facing=1, expression="smile",
              attrs={"expression": "smile"})
    return place, "indoor", "eye level", [event]


def _table_item(c: Canvas, item: str, x: float, top: float) -> None:
    rng = c.rng
    colour = rng.choice(["red", "blue", "white", "yellow", "green"])
    if item == "cup":
        c.put("cup", P.cup, (x - 0.04, top - 0.09, x + 0.04, top + 0.01), color=COLOR_NAMES[colour],
              steam=rng.random() < 0.5, attrs={"colour": colour})
    elif item == "plate":
        c.put("plate", P.plate, (x - 0.07, top - 0.03, x + 0.07, top + 0.04), food="meal")
    elif item == "bottle":
        c.put("bottle", P.bottle, (x - 0.025, top - 0.17, x + 0.025, top + 0.01),
              glass=rng.choice([(60, 140, 80), (110, 70, 40), (70, 120, 170)]))
    elif item == "knife":
        c.put("knife", P.knife, (x - 0.06, top - 0.01, x + 0.06, top + 0.025))
    elif item == "book":
        c.put("book", P.book, (x - 0.05, top - 0.1, x + 0.04, top + 0.01), cover=COLOR_NAMES[colour],
              attrs={"colour": colour})
    elif item == "laptop":
        c.put("laptop", P.laptop, (x - 0.09, top - 0.15, x + 0.09, top + 0.01))
    elif item == "apple":
        c.put("apple", P.apple, (x - 0.025, top - 0.05, x + 0.025, top + 0.005))
    elif item == "scissors":
        c.put("scissors", P.scissors, (x - 0.05, top - 0.03, x + 0.05, top + 0.02))
    else:  # pragma: no cover - a typo in the scene list
        raise ValueError(f"unknown table item {item!r}")


def cooking(c: Canvas, *, cook: tuple[str, str] | None, board: bool, pot_on: bool, extras: list[str],
            pet: str | None = None, event: str = "cooking dinner", mirror: bool = False,
            wall: P.RGB = (235, 235, 225), front: P.RGB = (120, 150, 180)) -> tuple:
    """A kitchen counter; `mirror` puts the stove on the left and the chopping board on the right."""
    rng = c.rng

    def mx(a: float, b: float) -> tuple[float, float]:
        return (1 - b, 1 - a) if mirror else (a, b)

    P.room(c.draw, W, H, H * 0.78, rng, wall=wall, floor=(150, 150, 155), tiles=True, window=True, planks=False)
    if cook:
        x0, x1 = mx(0.36, 0.62)
        _person(c, (x0, 0.14, x1, 0.9), cook[0], cook[1], pose="cooking", shirt="white")
    P.counter(c.draw, (0, H * 0.6, W, H * 0.95), front=front)
    if pot_on:
        x0, x1 = mx(0.62, 0.94)
        c.put("stove", P.stove, (x0, 0.56, x1, 0.66), record=False)
        x0, x1 = mx(0.68, 0.86)
        c.put("pot", P.pot, (x0, 0.42, x1, 0.6), steam=True)
    if board:
        x0, x1 = mx(0.08, 0.36)
        c.put("cutting board", P.cutting_board, (x0, 0.56, x1, 0.64), record=False)
        for k in range(3):
            a, b = mx(0.1 + k * 0.07, 0.17 + k * 0.07)
            c.put("carrot", P.carrot, (a, 0.565 + 0.02 * (k % 2), b, 0.6 + 0.02 * (k % 2)))
        a, b = mx(0.2, 0.34)
        c.put("knife", P.knife, (a, 0.58, b, 0.62))
    for i, item in enumerate(extras):
        x = 0.45 + i * 0.1 if not pot_on else 0.08 + i * 0.1
        _table_item(c, item, 1 - x if mirror else x, 0.6)
    if pet == "cat":
        c.put("cat", P.cat, (0.02, 0.7, 0.16, 0.97), coat=(90, 90, 95), expression="neutral",
              attrs={"expression": "neutral"})
    return "kitchen", "indoor", "eye level", [event]


def office(c: Canvas, *, worker: tuple[str, str] | None, items: list[str], event: str | None,
           clock_on_wall: bool = False, pet: str | None = None, place: str = "office", shift: float = 0.0,
           wall: P.RGB = (200, 215, 225), floor: P.RGB = (120, 100, 90)) -> tuple:
    """A desk scene; `shift` moves desk and worker sideways (fractions of the width)."""
    rng = c.rng
    P.room(c.draw, W, H, H * 0.62, rng, wall=wall, floor=floor, shelf=True, window=not clock_on_wall)
    if clock_on_wall:
        c.put("clock", P.clock, (0.1, 0.08, 0.22, 0.24), hour=rng.randint(1, 11))
    if worker:
        c.put("chair", P.chair, (0.38 + shift, 0.45, 0.6 + shift, 0.95), wood=(60, 60, 70))
        _person(c, (0.38 + shift, 0.22, 0.62 + shift, 0.8), worker[0], worker[1], pose="sitting")
    else:
        c.put("chair", P.chair, (0.42 + shift, 0.48, 0.58 + shift, 0.92), wood=(60, 60, 70))
    c.put("table", P.table, (0.15 + shift, 0.6, 0.85 + shift, 0.97), wood=(120, 85, 55))
    xs = {1: [0.5], 2: [0.32, 0.68], 3: [0.28, 0.5, 0.72]}[len(items)]
    for item, x in zip(items, xs, strict=True):
        _table_item(c, item, x + shift, 0.62)
    if pet == "cat":
        c.put("cat", P.cat, (0.85, 0.68, 0.98, 0.96), coat=(240, 240, 240), expression="frown",
              attrs={"expression": "frown"})
    return place, "indoor", "eye level", [event] if event else []


def park(c: Canvas, *, people: list[tuple[str, str, str, float]], dog_at: float | None = None,
         dog_mood: str = "smile", trees: list[float] = (0.85,), bench_at: float | None = None,
         ball_at: tuple[float, float] | None = None, kite: bool = False, bicycle_at: float | None = None,
         events: list[str] = (), dusk: bool = False, place: str = "park") -> tuple:
    """people: (who, expression, pose, x-centre)."""
    rng = c.rng
    horizon = H * rng.uniform(0.42, 0.5)
    P.sky(c.draw, W, horizon, rng, dusk=dusk, clouds=rng.randint(1, 3))
    P.hills(c.draw, W, horizon, rng, color=(110, 160, 105))
    P.grass(c.draw, W, H, horizon, rng)
    hy = horizon / H
    for tx in trees:
        c.put("tree", P.tree, (tx - 0.1, hy - 0.3, tx + 0.1, hy + 0.12))
    if bench_at is not None:
        c.put("bench", P.bench, (bench_at - 0.12, hy + 0.12, bench_at + 0.12, hy + 0.3))
    if bicycle_at is not None:
        c.put("bicycle", P.bicycle, (bicycle_at - 0.1, hy + 0.1, bicycle_at + 0.1, hy + 0.3),
              frame=rng.choice([(30, 110, 190), (200, 50, 50), (40, 150, 80)]))
    if kite:
        holder = next((p for p in people if p[2] == "arms_up"), None)
        string_to = ((holder[3] + 0.08) * W, (hy + 0.1) * H) if holder else None
        c.put("kite", P.kite, (0.62, 0.05, 0.76, 0.3), string_to=string_to)
    for who, expression, pose, x in people:
        s = 0.085 if who in ("boy", "girl") else 0.1
        top = hy + (0.04 if s > 0.09 else 0.12)
        if pose == "sitting" and bench_at is not None:
            _person(c, (x - s, hy - 0.02, x + s, hy + 0.3), who, expression, pose="sitting")
            c.put("bench", P.bench, (bench_at - 0.12, hy + 0.2, bench_at + 0.12, hy + 0.34), record=False)
        else:
            _person(c, (x - s, top, x + s, min(0.97, top + (0.52 if s > 0.09 else 0.42))), who, expression, pose=pose)
    if dog_at is not None:
        c.put("dog", P.dog, (dog_at - 0.1, 0.72, dog_at + 0.1, 0.92), coat=rng.choice([(170, 120, 70), (60, 55, 50),
                                                                                     (230, 220, 200)]),
              facing=1 if dog_at < 0.5 else -1, expression=dog_mood, attrs={"expression": dog_mood})
    if ball_at is not None:
        c.put("ball", P.ball, (ball_at[0] - 0.035, ball_at[1] - 0.047, ball_at[0] + 0.035, ball_at[1] + 0.047),
              kind="soccer")
    return place, "outdoor", "eye level", list(events)


def street_scene(c: Canvas, *, cars: list[tuple[float, str, int]], rider: tuple[str, str, float] | None = None,
                 walkers: list[tuple[str, str, float]] = (), dog_at: float | None = None,
                 parked_bicycle: float | None = None, tree_at: float | None = None, events: list[str] = (),
                 dusk: bool = False) -> tuple:
    rng = c.rng
    horizon = H * rng.uniform(0.42, 0.5)
    P.sky(c.draw, W, horizon, rng, dusk=dusk, sun=not dusk, clouds=1)
    P.street(c.draw, W, H, horizon, rng)
    hy = horizon / H
    pave = hy + (1 - hy) * 0.22
    if tree_at is not None:
        c.put("tree", P.tree, (tree_at - 0.09, hy - 0.28, tree_at + 0.09, pave + 0.02), leaves=(70, 150, 70))
    if parked_bicycle is not None:
        c.put("bicycle", P.bicycle, (parked_bicycle - 0.09, pave - 0.13, parked_bicycle + 0.09, pave + 0.03),
              frame=(40, 150, 80))
    for who, expression, x in walkers:
        _person(c, (x - 0.07, hy - 0.1, x + 0.07, pave + 0.04), who, expression)
    if dog_at is not None:
        c.put("dog", P.dog, (dog_at - 0.07, pave - 0.09, dog_at + 0.07, pave + 0.04), coat=(60, 55, 50), facing=1,
              expression="smile", attrs={"expression": "smile"})
    for x, colour, facing in cars:
        c.put("car", P.car, (x - 0.17, pave + 0.06, x + 0.17, pave + 0.3), body=COLOR_NAMES[colour], facing=facing,
              attrs={"colour": colour})
    if rider:  # the rider's hips sit on the saddle: the person box is derived from the bicycle's geometry
        who, expression, x = rider
        bottom = 0.95
        c.put("bicycle", P.bicycle, (x - 0.13, bottom - 0.26, x + 0.13, bottom), frame=(30, 110, 190))
        seat_x, seat_y, hp = x - 0.13 + 0.26 * 0.38, bottom - 0.205, 0.36
        _person(c, (seat_x - 0.05, seat_y - 0.7 * hp, seat_x + 0.09, seat_y + 0.3 * hp), who, expression,
                pose="riding")
    return "street", "outdoor", "eye level", list(events)


def beach(c: Canvas, *, people: list[tuple[str, str, str, float]], boat_at: float | None = None,
          kite: bool = False, ball_at: tuple[float, float] | None = None, dog_at: float | None = None,
          events: list[str] = (), dusk: bool = False) -> tuple:
    rng = c.rng
    horizon = H * rng.uniform(0.36, 0.44)
    P.sky(c.draw, W, horizon, rng, dusk=dusk, clouds=rng.randint(0, 2))
    P.sand_and_sea(c.draw, W, H, horizon, rng)
    hy = horizon / H
    if boat_at is not None:
        c.put("boat", P.boat, (boat_at - 0.09, hy - 0.14, boat_at + 0.09, hy + 0.12),
              hull=rng.choice([(180, 60, 50), (40, 80, 150), (230, 230, 230)]))
    if kite:
        holder = next((p for p in people if p[2] == "arms_up"), None)
        string_to = ((holder[3] + 0.08) * W, (hy + 0.3) * H) if holder else None
        c.put("kite", P.kite, (0.12, 0.04, 0.26, 0.28), colors=((60, 90, 200), (250, 250, 250)), string_to=string_to)
    for who, expression, pose, x in people:
        s = 0.085 if who in ("boy", "girl") else 0.1
        bottom = 0.96
        _person(c, (x - s, bottom - (0.4 if s < 0.09 else 0.5), x + s, bottom), who, expression, pose=pose)
    if dog_at is not None:
        c.put("dog", P.dog, (dog_at - 0.1, 0.74, dog_at + 0.1, 0.94), coat=(230, 200, 140), facing=-1,
              expression="smile", attrs={"expression": "smile"})
    if ball_at is not None:
        c.put("ball", P.ball, (ball_at[0] - 0.04, ball_at[1] - 0.053, ball_at[0] + 0.04, ball_at[1] + 0.053),
              kind="beach")
    return "beach", "outdoor", "eye level", list(events)


def topdown(c: Canvas, *, surface: str, items: list[tuple[str, float, float, float]], events: list[str] = (),
            place: str = "kitchen") -> tuple:
    """items: (kind, x-centre, y-centre, size) in canvas fractions; drawn as seen from straight above."""
    rng = c.rng
    if surface == "lawn":
        P.lawn_topdown(c.draw, W, H, rng)
    elif surface == "cloth":
        P.tabletop(c.draw, W, H, rng, cloth=rng.choice([(200, 70, 70), (70, 110, 190), (90, 160, 100)]))
    else:
        P.tabletop(c.draw, W, H, rng, color=rng.choice([(176, 124, 78), (196, 150, 100), (140, 95, 60)]))
    for kind, x, y, s in items:
        hw, hh = s / 2, s / 2 * W / H
        box = (x - hw, y - hh, x + hw, y + hh)
        colour = rng.choice(["red", "blue", "white", "yellow", "green", "purple"])
        if kind == "cup":
            c.put("cup", P.cup_topdown, (x - hw, y - hh * 0.7, x + hw, y + hh * 0.7), color=COLOR_NAMES[colour],
                  attrs={"colour": colour})
        elif kind == "plate":
            c.put("plate", P.plate, box, food="meal", topdown=True)
        elif kind == "vegetable plate":
            c.put("plate", P.plate, box, food="vegetables", topdown=True)
        elif kind == "knife":
            c.put("knife", P.knife, (x - hw, y - hh * 0.18, x + hw, y + hh * 0.18))
        elif kind == "scissors":
            c.put("scissors", P.scissors, (x - hw, y - hh * 0.45, x + hw, y + hh * 0.45),
                  handle=COLOR_NAMES[colour], attrs={"colour": colour})
        elif kind == "book":
            c.put("book", P.book, (x - hw, y - hh * 0.65, x + hw, y + hh * 0.65), cover=COLOR_NAMES[colour],
                  open_=True, attrs={"colour": colour})
        elif kind == "laptop":
            c.put("laptop", P.laptop_topdown, (x - hw, y - hh * 0.8, x + hw, y + hh * 0.8))
        elif kind == "apple":
            c.put("apple", P.apple, box)
        elif kind == "board":
            c.put("cutting board", P.cutting_board, (x - hw, y - hh * 0.6, x + hw, y + hh * 0.6), record=False)
        elif kind == "carrot":
            c.put("carrot", P.carrot, (x - hw, y - hh * 0.25, x + hw, y + hh * 0.25))
        elif kind == "ball":
            c.put("ball", P.ball, box, kind="soccer")
        elif kind == "tree":
            c.put("tree", P.tree_topdown, box)
        elif kind == "bench":
            c.put("bench", P.bench_topdown, (x - hw, y - hh * 0.3, x + hw, y + hh * 0.3))
        elif kind == "bottle":  # lying on its side
            c.put("bottle", _bottle_lying, (x - hw, y - hh * 0.25, x + hw, y + hh * 0.25))
        elif kind == "clock":
            c.put("clock", P.clock, box, hour=rng.randint(1, 11))
        else:  # pragma: no cover
            raise ValueError(f"unknown top-down item {kind!r}")
    return place, "indoor" if surface != "lawn" else "outdoor", "top-down", list(events)


def _bottle_lying(draw, box, **_: Any) -> None:
    x0, y0, x1, y1 = box
    img = Image.new("RGBA", (int(y1 - y0) + 1, int(x1 - x0) + 1), (0, 0, 0, 0))
    P.bottle(ImageDraw.Draw(img), (0, 0, img.width - 1, img.height - 1), glass=(70, 120, 170))
    rotated = img.rotate(90, expand=True)
    draw._image.paste(rotated, (int(x0), int(y0)), rotated)  # noqa: SLF001 - ImageDraw keeps its image here


def closeup(c: Canvas, *, subject: str, expression: str = "neutral", who: str = "man",
            events: list[str] = (), place: str | None = None) -> tuple:
    rng = c.rng
    backdrop = {"person": (170, 190, 210), "dog": (120, 170, 110), "cat": (200, 185, 170), "clock": (225, 215, 200),
                "ball": (100, 170, 80), "cup": (185, 150, 120), "bottle": (210, 200, 190), "carrot": (190, 150, 110),
                "book": (160, 130, 100), "apple": (225, 225, 215)}[subject]
    P.blurred_backdrop(c.draw, W, H, rng, backdrop)
    if subject == "person":
        _portrait(c, who, expression)
    elif subject == "dog":
        c.put("dog", P.dog, (0.1, 0.08, 0.92, 0.98), coat=(190, 140, 80), facing=1, expression=expression,
              attrs={"expression": expression})
    elif subject == "cat":
        c.put("cat", P.cat, (0.25, 0.05, 0.75, 0.99), coat=(110, 110, 115), expression=expression,
              attrs={"expression": expression})
    elif subject == "clock":
        c.put("clock", P.clock, (0.24, 0.05, 0.76, 0.95), rim=(150, 40, 40), hour=rng.randint(1, 11))
    elif subject == "ball":
        c.put("ball", P.ball, (0.26, 0.08, 0.74, 0.92), kind="soccer")
    elif subject == "cup":
        c.put("cup", P.cup, (0.26, 0.2, 0.76, 0.9), color=COLOR_NAMES["blue"], steam=True, attrs={"colour": "blue"})
    elif subject == "bottle":
        c.put("bottle", P.bottle, (0.4, 0.04, 0.6, 0.96), glass=(60, 140, 80))
    elif subject == "carrot":
        c.put("cutting board", P.cutting_board, (0.05, 0.3, 0.95, 0.9), record=False)
        c.put("carrot", P.carrot, (0.12, 0.4, 0.6, 0.6))
        c.put("knife", P.knife, (0.4, 0.66, 0.92, 0.8))
    elif subject == "book":
        c.put("book", P.book, (0.25, 0.1, 0.72, 0.92), cover=COLOR_NAMES["green"], attrs={"colour": "green"})
    elif subject == "apple":
        c.put("apple", P.apple, (0.3, 0.12, 0.7, 0.88))
    setting = "outdoor" if subject in ("dog", "ball") else "indoor"
    return place or "", setting, "close-up", list(events)
