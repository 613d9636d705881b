"""Flat-shaded PIL painters for the demo's procedural scenes: backgrounds and one function per entity.

Every painter draws inside a box `(x0, y0, x1, y1)` in canvas pixels, so the scene generator knows exactly
where each entity is. Scenes are drawn at twice the output size and downsampled, which smooths the edges.
Nothing here is random unless an `rng` is passed in (the generator seeds it per scene).
"""

from __future__ import annotations

import math
import random

from PIL import ImageDraw

Box = tuple[float, float, float, float]
RGB = tuple[int, int, int]

OUTLINE = (40, 36, 34)
SKIN_TONES = [(241, 200, 170), (224, 172, 130), (190, 135, 95), (141, 94, 62), (250, 214, 190)]
HAIR = [(45, 32, 25), (110, 70, 35), (200, 160, 90), (20, 20, 20), (150, 60, 30)]


def shade(color: RGB, factor: float) -> RGB:
    """Lighter (>1) or darker (<1) version of a colour."""
    if factor >= 1:
        return tuple(int(c + (255 - c) * (factor - 1)) for c in color)  # type: ignore[return-value]
    return tuple(int(c * factor) for c in color)  # type: ignore[return-value]


def mix(a: RGB, b: RGB, t: float) -> RGB:
    return tuple(int(a[i] + (b[i] - a[i]) * t) for i in range(3))  # type: ignore[return-value]


def lw(box: Box, frac: float = 0.02, lo: int = 2) -> int:
    """Outline width proportional to the entity's size."""
    return max(lo, int(min(box[2] - box[0], box[3] - box[1]) * frac))


# ---------------------------------------------------------------- backgrounds


def gradient(draw: ImageDraw.ImageDraw, box: Box, top: RGB, bottom: RGB) -> None:
    x0, y0, x1, y1 = (int(v) for v in box)
    h = max(1, y1 - y0)
    for y in range(y0, y1):
        draw.line([(x0, y), (x1, y)], fill=mix(top, bottom, (y - y0) / h))


def sky(draw, w, horizon, rng: random.Random, *, dusk: bool = False, sun: bool = True, clouds: int = 2) -> None:
    top, bottom = ((70, 80, 150), (250, 170, 120)) if dusk else ((90, 150, 225), (200, 225, 245))
    gradient(draw, (0, 0, w, horizon), top, bottom)
    if sun:
        sx, sy, r = rng.uniform(0.1, 0.9) * w, rng.uniform(0.12, 0.3) * horizon, w * 0.045
        draw.ellipse([sx - r, sy - r, sx + r, sy + r], fill=(255, 200, 90) if dusk else (255, 236, 140))
    for _ in range(clouds):
        cx, cy, s = rng.uniform(0.05, 0.95) * w, rng.uniform(0.1, 0.45) * horizon, rng.uniform(0.04, 0.07) * w
        for dx, dy, k in ((-1.1, 0.2, 0.8), (0, 0, 1.0), (1.1, 0.2, 0.85), (0.5, -0.45, 0.75)):
            r = s * k
            draw.ellipse([cx + dx * s - r, cy + dy * s - r, cx + dx * s + r, cy + dy * s + r], fill=(250, 250, 252))


def hills(draw, w, horizon, rng, color: RGB = (120, 170, 110)) -> None:
    pts = [(0, horizon)]
    n = 6
    for i in range(n + 1):
        pts.append((w * i / n, horizon - rng.uniform(0.04, 0.14) * horizon))
    pts.append((w, horizon))
    draw.polygon(pts, fill=color)


def grass(draw, w, h, horizon, rng, color: RGB = (96, 168, 72)) -> None:
    gradient(draw, (0, horizon, w, h), shade(color, 1.1), shade(color, 0.85))
    for _ in range(int(w * 0.25)):
        x, y = rng.uniform(0, w), rng.uniform(horizon + 4, h)
        tuft = 3 + (y - horizon) / (h - horizon) * 9
        draw.line([(x, y), (x + rng.uniform(-2, 2), y - tuft)], fill=shade(color, rng.uniform(0.7, 0.95)), width=2)


def sand_and_sea(draw, w, h, horizon, rng) -> None:
    shore = horizon + (h - horizon) * 0.45
    gradient(draw, (0, horizon, w, shore), (60, 130, 190), (90, 170, 205))
    for i in range(5):
        y = horizon + (shore - horizon) * (i + 0.6) / 5.5
        for x in range(int(rng.uniform(0, 60)), w, 90):
            draw.arc([x, y - 5, x + 40, y + 5], 200, 340, fill=(200, 230, 245), width=2)
    draw.polygon([(0, shore + 12), (w * 0.3, shore - 6), (w * 0.7, shore + 4), (w, shore - 8), (w, h), (0, h)],
                 fill=(233, 210, 160))
    for _ in range(int(w * 0.15)):
        x, y = rng.uniform(0, w), rng.uniform(shore + 14, h)
        draw.point((x, y), fill=(205, 180, 130))


def street(draw, w, h, horizon, rng) -> None:
    # houses behind the pavement, the road in front
    x = -rng.uniform(0, 60)
    while x < w:
        bw, bh = rng.uniform(0.16, 0.26) * w, rng.uniform(0.35, 0.75) * horizon
        color = rng.choice([(200, 120, 100), (230, 205, 160), (170, 180, 200), (215, 175, 120), (190, 200, 170)])
        draw.rectangle([x, horizon - bh, x + bw, horizon], fill=color, outline=shade(color, 0.7), width=2)
        draw.polygon([(x - 4, horizon - bh), (x + bw / 2, horizon - bh - bw * 0.3), (x + bw + 4, horizon - bh)],
                     fill=(140, 70, 60))
        for wy in range(int(horizon - bh + 20), int(horizon - 30), 46):
            for wx in range(int(x + 14), int(x + bw - 30), 40):
                draw.rectangle([wx, wy, wx + 20, wy + 24], fill=(150, 200, 230), outline=(250, 250, 250), width=2)
        x += bw + rng.uniform(4, 16)
    pave = horizon + (h - horizon) * 0.22
    draw.rectangle([0, horizon, w, pave], fill=(190, 185, 175))
    for px in range(0, w, 60):
        draw.line([(px, horizon), (px - 20, pave)], fill=(165, 160, 150), width=2)
    gradient(draw, (0, pave, w, h), (95, 95, 100), (70, 70, 75))
    mid = pave + (h - pave) * 0.55
    for dx in range(int(-rng.uniform(0, 80)), w, 110):
        draw.rectangle([dx, mid - 4, dx + 60, mid + 4], fill=(245, 235, 180))


def room(draw, w, h, floor_y, rng, *, wall: RGB, floor: RGB, window: bool = True, tiles: bool = False,
         planks: bool = True, shelf: bool = False) -> None:
    gradient(draw, (0, 0, w, floor_y), shade(wall, 1.06), shade(wall, 0.94))
    if tiles:
        for ty in range(int(floor_y * 0.35), int(floor_y), 36):
            draw.line([(0, ty), (w, ty)], fill=shade(wall, 0.85), width=2)
        for tx in range(0, w, 36):
            draw.line([(tx, floor_y * 0.35), (tx, floor_y)], fill=shade(wall, 0.85), width=2)
    if window:
        wx = rng.uniform(0.08, 0.62) * w
        ww, wh = w * 0.26, floor_y * 0.42
        wy = floor_y * 0.12
        draw.rectangle([wx - 8, wy - 8, wx + ww + 8, wy + wh + 8], fill=(245, 240, 230))
        gradient(draw, (wx, wy, wx + ww, wy + wh), (120, 175, 235), (205, 230, 250))
        draw.line([(wx + ww / 2, wy), (wx + ww / 2, wy + wh)], fill=(245, 240, 230), width=6)
        draw.line([(wx, wy + wh / 2), (wx + ww, wy + wh / 2)], fill=(245, 240, 230), width=6)
    if shelf:
        sx, sy = rng.uniform(0.55, 0.75) * w, floor_y * 0.3
        draw.rectangle([sx, sy, sx + w * 0.22, sy + 10], fill=(120, 80, 50))
        bx = sx + 6
        for _ in range(7):
            bw = rng.uniform(10, 18)
            bh = rng.uniform(32, 50)
            draw.rectangle([bx, sy - bh, bx + bw, sy], fill=rng.choice([(170, 50, 50), (50, 90, 160), (60, 130, 80),
                                                                        (200, 160, 60), (120, 70, 130)]))
            bx += bw + 2
    gradient(draw, (0, floor_y, w, h), shade(floor, 1.05), shade(floor, 0.85))
    draw.line([(0, floor_y), (w, floor_y)], fill=shade(wall, 0.7), width=4)
    if planks:
        for i in range(1, 9):
            y = floor_y + (h - floor_y) * (i / 9) ** 1.3
            draw.line([(0, y), (w, y)], fill=shade(floor, 0.78), width=2)


def tabletop(draw, w, h, rng, color: RGB = (176, 124, 78), cloth: RGB | None = None) -> None:
    """A surface seen from straight above (top-down scenes)."""
    if cloth:
        draw.rectangle([0, 0, w, h], fill=cloth)
        for x in range(0, w, 48):
            draw.rectangle([x, 0, x + 23, h], fill=shade(cloth, 0.9))
        for y in range(0, h, 48):
            draw.rectangle([0, y, w, y + 23], fill=shade(cloth, 0.9))
        return
    plank = h / 6
    for i in range(6):
        c = shade(color, rng.uniform(0.9, 1.08))
        draw.rectangle([0, i * plank, w, (i + 1) * plank], fill=c)
        draw.line([(0, i * plank), (w, i * plank)], fill=shade(color, 0.7), width=3)
        for _ in range(5):
            y = i * plank + rng.uniform(6, plank - 6)
            x = rng.uniform(0, w * 0.8)
            draw.line([(x, y), (x + rng.uniform(40, 160), y + rng.uniform(-3, 3))], fill=shade(c, 0.88), width=2)


def lawn_topdown(draw, w, h, rng) -> None:
    draw.rectangle([0, 0, w, h], fill=(104, 170, 78))
    for _ in range(int(w * 0.8)):
        x, y = rng.uniform(0, w), rng.uniform(0, h)
        draw.line([(x, y), (x + rng.uniform(-3, 3), y + rng.uniform(-5, 5))], fill=(84, 148, 62), width=2)
    # a gravel path across the lawn
    path_y = rng.uniform(0.55, 0.75) * h
    draw.polygon([(0, path_y), (w, path_y - 60), (w, path_y + 10), (0, path_y + 70)], fill=(214, 198, 160))


def blurred_backdrop(draw, w, h, rng, base: RGB) -> None:
    """Close-ups: a soft, nearly uniform background with a few out-of-focus blobs."""
    gradient(draw, (0, 0, w, h), shade(base, 1.15), shade(base, 0.8))
    for _ in range(6):
        r = rng.uniform(0.08, 0.2) * w
        x, y = rng.uniform(0, w), rng.uniform(0, h)
        draw.ellipse([x - r, y - r, x + r, y + r], fill=shade(base, rng.uniform(0.9, 1.12)))


# ---------------------------------------------------------------- faces


def face(draw, cx, cy, r, expression: str, *, eye_color: RGB = (30, 30, 30)) -> None:
    """Eyes, brows and a mouth that reads as a smile, a frown or neutral at a glance."""
    ex, ey, er = r * 0.38, cy - r * 0.12, max(2.0, r * 0.11)
    for sx in (-1, 1):
        draw.ellipse([cx + sx * ex - er, ey - er, cx + sx * ex + er, ey + er], fill=eye_color)
    bw = max(2, int(r * 0.08))
    if expression == "frown":  # inner ends of the brows raised: a sad face
        for sx in (-1, 1):
            draw.line([(cx + sx * ex * 1.5, ey - r * 0.22), (cx + sx * ex * 0.45, ey - r * 0.4)], fill=eye_color, width=bw)
        draw.arc([cx - r * 0.38, cy + r * 0.32, cx + r * 0.38, cy + r * 0.8], 200, 340, fill=(120, 30, 30),
                 width=max(2, int(r * 0.1)))
    elif expression == "smile":
        for sx in (-1, 1):
            draw.arc([cx + sx * ex - er * 2, ey - r * 0.45, cx + sx * ex + er * 2, ey - r * 0.15], 200, 340,
                     fill=eye_color, width=bw)
        draw.chord([cx - r * 0.45, cy - r * 0.05, cx + r * 0.45, cy + r * 0.62], 10, 170, fill=(150, 40, 40))
        draw.chord([cx - r * 0.38, cy + r * 0.05, cx + r * 0.38, cy + r * 0.3], 0, 180, fill=(255, 255, 255))
        for sx in (-1, 1):
            draw.ellipse([cx + sx * r * 0.62 - r * 0.12, cy + r * 0.12, cx + sx * r * 0.62 + r * 0.12,
                          cy + r * 0.3], fill=(240, 150, 140))
    else:
        draw.line([(cx - r * 0.25, cy + r * 0.42), (cx + r * 0.25, cy + r * 0.42)], fill=(120, 30, 30),
                  width=max(2, int(r * 0.08)))


# ---------------------------------------------------------------- entities


def person(draw, box: Box, *, shirt: RGB, skin: RGB, hair: RGB, expression: str = "neutral",
           pose: str = "standing", trousers: RGB = (50, 60, 90), long_hair: bool = False) -> None:
    """pose: standing | sitting (legs left for the furniture to hide) | riding | arms_up | cooking."""
    x0, y0, x1, y1 = box
    w, h = x1 - x0, y1 - y0
    cx = (x0 + x1) / 2
    r = min(w * 0.3, h * 0.12)
    hy = y0 + r
    neck_y = hy + r * 0.95
    torso_bottom = y0 + h * (0.62 if pose in ("standing", "arms_up", "cooking") else 0.7)
    tw = min(w * 0.62, r * 2.4)
    arm_w = max(3, int(r * 0.38))
    # legs
    if pose in ("standing", "arms_up", "cooking"):
        for sx in (-1, 1):
            draw.rectangle([cx + sx * tw * 0.06 - (tw * 0.22 if sx < 0 else 0), torso_bottom - 4,
                            cx + sx * tw * 0.06 + (tw * 0.22 if sx > 0 else 0), y1 - r * 0.25], fill=trousers)
            draw.ellipse([cx + sx * tw * 0.18 - r * 0.42, y1 - r * 0.42, cx + sx * tw * 0.18 + r * 0.42, y1],
                         fill=(35, 30, 30))
    elif pose == "riding":
        draw.line([(cx, torso_bottom - 6), (cx + tw * 0.45, y1 - h * 0.12), (cx + tw * 0.3, y1)], fill=trousers,
                  width=int(tw * 0.3))
    # torso
    draw.rounded_rectangle([cx - tw / 2, neck_y, cx + tw / 2, torso_bottom], radius=int(tw * 0.3), fill=shirt,
                           outline=shade(shirt, 0.7), width=2)
    sh_y = neck_y + r * 0.35
    # arms
    if pose == "arms_up":
        for sx in (-1, 1):
            hand = (cx + sx * tw * 0.95, y0 + r * 0.2)
            draw.line([(cx + sx * tw * 0.42, sh_y), (cx + sx * tw * 0.8, sh_y - r * 0.6), hand], fill=shirt,
                      width=arm_w, joint="curve")
            draw.ellipse([hand[0] - arm_w * 0.7, hand[1] - arm_w * 0.7, hand[0] + arm_w * 0.7, hand[1] + arm_w * 0.7],
                         fill=skin)
    elif pose in ("sitting", "cooking", "riding"):
        for sx in (-1, 1):
            hand = (cx + sx * tw * 0.62, torso_bottom - (h * 0.02 if pose == "sitting" else -r * 0.1))
            if pose == "riding":
                hand = (cx + tw * 0.95, neck_y + r * 0.9)
            draw.line([(cx + sx * tw * 0.42, sh_y), (cx + sx * tw * 0.6, sh_y + r * 0.9), hand], fill=shirt,
                      width=arm_w, joint="curve")
            draw.ellipse([hand[0] - arm_w * 0.7, hand[1] - arm_w * 0.7, hand[0] + arm_w * 0.7, hand[1] + arm_w * 0.7],
                         fill=skin)
    else:
        for sx in (-1, 1):
            hand = (cx + sx * tw * 0.62, torso_bottom + r * 0.2)
            draw.line([(cx + sx * tw * 0.45, sh_y), hand], fill=shirt, width=arm_w)
            draw.ellipse([hand[0] - arm_w * 0.7, hand[1] - arm_w * 0.7, hand[0] + arm_w * 0.7, hand[1] + arm_w * 0.7],
                         fill=skin)
    # neck, head, hair
    draw.rectangle([cx - r * 0.3, hy + r * 0.7, cx + r * 0.3, neck_y + 4], fill=skin)
    if long_hair:
        draw.rounded_rectangle([cx - r * 1.08, hy - r * 0.9, cx + r * 1.08, hy + r * 1.35], radius=int(r * 0.6),
                               fill=hair)
    draw.ellipse([cx - r, hy - r, cx + r, hy + r], fill=skin, outline=shade(skin, 0.75), width=2)
    draw.chord([cx - r * 1.03, hy - r * 1.08, cx + r * 1.03, hy + r * 0.5], 180, 360, fill=hair)
    face(draw, cx, hy + r * 0.1, r * 0.9, expression)


def dog(draw, box: Box, *, coat: RGB = (170, 120, 70), facing: int = 1, expression: str = "smile") -> None:
    """A dog seen from the side; facing 1 = right, -1 = left."""
    x0, y0, x1, y1 = box
    w, h = x1 - x0, y1 - y0

    def X(f: float) -> float:  # mirror for facing left
        return x0 + (f if facing > 0 else 1 - f) * w

    leg_top, leg_w = y0 + h * 0.55, w * 0.08
    dark = shade(coat, 0.72)
    for f in (0.2, 0.32, 0.62, 0.74):
        c = dark if f in (0.32, 0.74) else coat
        draw.rounded_rectangle([min(X(f), X(f + 0.08)), leg_top, max(X(f), X(f + 0.08)), y1],
                               radius=int(leg_w * 0.4), fill=c)
    # tail
    draw.line([(X(0.14), y0 + h * 0.5), (X(0.04), y0 + h * 0.28), (X(0.0), y0 + h * 0.18)], fill=coat,
              width=int(w * 0.05), joint="curve")
    draw.ellipse([min(X(0.1), X(0.85)), y0 + h * 0.35, max(X(0.1), X(0.85)), y0 + h * 0.72], fill=coat,
                 outline=dark, width=2)
    # head
    hx, hy, hr = X(0.8), y0 + h * 0.3, min(w, h) * 0.2
    draw.ellipse([hx - hr, hy - hr, hx + hr, hy + hr], fill=coat, outline=dark, width=2)
    sx0, sx1 = sorted((hx, X(0.99)))
    draw.rounded_rectangle([sx0, hy, sx1, hy + hr * 0.85], radius=int(hr * 0.35), fill=shade(coat, 1.15))
    nose_x = X(0.97)
    draw.ellipse([nose_x - hr * 0.16, hy - hr * 0.02, nose_x + hr * 0.16, hy + hr * 0.28], fill=(30, 25, 25))
    ear_x = X(0.74)
    draw.ellipse([ear_x - hr * 0.35, hy - hr * 0.85, ear_x + hr * 0.35, hy + hr * 0.55], fill=dark)
    eye_x = X(0.86)
    draw.ellipse([eye_x - hr * 0.13, hy - hr * 0.4, eye_x + hr * 0.13, hy - hr * 0.14], fill=(25, 20, 20))
    mx = X(0.9)
    if expression == "smile":  # open mouth, tongue out
        draw.chord([mx - hr * 0.4, hy + hr * 0.45, mx + hr * 0.4, hy + hr * 1.05], 0, 180, fill=(120, 30, 35))
        draw.ellipse([mx - hr * 0.16, hy + hr * 0.7, mx + hr * 0.16, hy + hr * 1.25], fill=(235, 110, 130))
    elif expression == "frown":
        draw.arc([mx - hr * 0.35, hy + hr * 0.65, mx + hr * 0.35, hy + hr * 1.05], 200, 340, fill=(40, 25, 25),
                 width=max(2, int(hr * 0.1)))
        draw.line([(eye_x - hr * 0.25, hy - hr * 0.52), (eye_x + hr * 0.2, hy - hr * 0.62)], fill=(40, 25, 25),
                  width=max(2, int(hr * 0.08)))


def cat(draw, box: Box, *, coat: RGB = (120, 120, 125), expression: str = "neutral") -> None:
    """A sitting cat seen from the front."""
    x0, y0, x1, y1 = box
    w, h = x1 - x0, y1 - y0
    cx = (x0 + x1) / 2
    dark = shade(coat, 0.7)
    draw.line([(cx + w * 0.3, y1 - h * 0.08), (x1, y1 - h * 0.3), (x1 - w * 0.05, y0 + h * 0.45)], fill=coat,
              width=int(w * 0.08), joint="curve")
    draw.ellipse([x0 + w * 0.12, y0 + h * 0.38, x1 - w * 0.12, y1], fill=coat, outline=dark, width=2)
    draw.ellipse([cx - w * 0.18, y0 + h * 0.55, cx + w * 0.18, y1 - h * 0.05], fill=shade(coat, 1.25))
    hr = min(w * 0.3, h * 0.22)
    hy = y0 + hr * 1.25
    for sx in (-1, 1):  # pointed ears
        draw.polygon([(cx + sx * hr * 0.95, hy - hr * 0.2), (cx + sx * hr * 0.85, hy - hr * 1.3),
                      (cx + sx * hr * 0.25, hy - hr * 0.8)], fill=coat, outline=dark)
        draw.polygon([(cx + sx * hr * 0.8, hy - hr * 0.35), (cx + sx * hr * 0.78, hy - hr * 1.0),
                      (cx + sx * hr * 0.4, hy - hr * 0.72)], fill=(235, 170, 170))
    draw.ellipse([cx - hr, hy - hr * 0.9, cx + hr, hy + hr * 0.85], fill=coat, outline=dark, width=2)
    for sx in (-1, 1):
        draw.ellipse([cx + sx * hr * 0.42 - hr * 0.2, hy - hr * 0.35, cx + sx * hr * 0.42 + hr * 0.2, hy + hr * 0.02],
                     fill=(150, 200, 80))
        draw.ellipse([cx + sx * hr * 0.42 - hr * 0.05, hy - hr * 0.33, cx + sx * hr * 0.42 + hr * 0.05, hy],
                     fill=(20, 20, 20))
        for dy in (-0.05, 0.12):
            draw.line([(cx + sx * hr * 0.3, hy + hr * 0.3), (cx + sx * hr * 1.3, hy + hr * (0.2 + dy * 2))],
                      fill=(240, 240, 240), width=2)
    draw.polygon([(cx - hr * 0.12, hy + hr * 0.15), (cx + hr * 0.12, hy + hr * 0.15), (cx, hy + hr * 0.3)],
                 fill=(230, 120, 140))
    mw = max(2, int(hr * 0.07))
    if expression == "smile":
        draw.arc([cx - hr * 0.3, hy + hr * 0.15, cx, hy + hr * 0.5], 0, 180, fill=(40, 30, 30), width=mw)
        draw.arc([cx, hy + hr * 0.15, cx + hr * 0.3, hy + hr * 0.5], 0, 180, fill=(40, 30, 30), width=mw)
    elif expression == "frown":
        draw.arc([cx - hr * 0.25, hy + hr * 0.45, cx + hr * 0.25, hy + hr * 0.75], 200, 340, fill=(40, 30, 30),
                 width=mw)
    else:
        draw.line([(cx, hy + hr * 0.3), (cx, hy + hr * 0.45)], fill=(40, 30, 30), width=mw)


def car(draw, box: Box, *, body: RGB = (200, 40, 40), facing: int = 1) -> None:
    x0, y0, x1, y1 = box
    w, h = x1 - x0, y1 - y0

    def X(f: float) -> float:
        return x0 + (f if facing > 0 else 1 - f) * w

    dark = shade(body, 0.7)
    cabin = [(X(0.22), y0 + h * 0.45), (X(0.32), y0 + h * 0.05), (X(0.68), y0 + h * 0.05), (X(0.82), y0 + h * 0.45)]
    draw.polygon(cabin, fill=body, outline=dark)
    for a, b in ((0.27, 0.48), (0.52, 0.74)):
        win = [(X(a), y0 + h * 0.42), (X(a + 0.06 if a < 0.5 else a), y0 + h * 0.12),
               (X(b if a < 0.5 else b - 0.06), y0 + h * 0.12), (X(b), y0 + h * 0.42)]
        draw.polygon(win, fill=(170, 210, 235), outline=dark)
    draw.rounded_rectangle([x0, y0 + h * 0.4, x1, y0 + h * 0.8], radius=int(h * 0.14), fill=body, outline=dark,
                           width=3)
    draw.line([(X(0.5), y0 + h * 0.45), (X(0.5), y0 + h * 0.75)], fill=dark, width=3)
    hl = X(0.96)
    draw.ellipse([hl - w * 0.03, y0 + h * 0.48, hl + w * 0.03, y0 + h * 0.58], fill=(255, 240, 160))
    draw.rectangle([min(X(0.0), X(0.03)), y0 + h * 0.5, max(X(0.0), X(0.03)), y0 + h * 0.6], fill=(220, 60, 40))
    for f in (0.22, 0.78):
        cx, cy, r = X(f), y0 + h * 0.78, h * 0.2
        draw.ellipse([cx - r, cy - r, cx + r, cy + r], fill=(30, 30, 32))
        draw.ellipse([cx - r * 0.5, cy - r * 0.5, cx + r * 0.5, cy + r * 0.5], fill=(190, 190, 195))


def bicycle(draw, box: Box, *, frame: RGB = (30, 110, 190)) -> None:
    x0, y0, x1, y1 = box
    w, h = x1 - x0, y1 - y0
    r = min(w * 0.22, h * 0.42)
    back, front = (x0 + r, y1 - r), (x1 - r, y1 - r)
    width = max(3, int(r * 0.09))
    for cx, cy in (back, front):
        draw.ellipse([cx - r, cy - r, cx + r, cy + r], outline=(30, 30, 30), width=width)
        for a in range(0, 180, 30):
            dx, dy = r * math.cos(math.radians(a)), r * math.sin(math.radians(a))
            draw.line([(cx - dx, cy - dy), (cx + dx, cy + dy)], fill=(150, 150, 150), width=1)
    crank = (x0 + w * 0.45, y1 - r)
    seat = (x0 + w * 0.38, y1 - r - h * 0.5)
    head = (x1 - r - w * 0.08, y1 - r - h * 0.52)
    fw = max(3, int(r * 0.12))
    draw.line([back, crank, head, front], fill=frame, width=fw, joint="curve")
    draw.line([back, seat, crank], fill=frame, width=fw)
    draw.line([seat, (head[0] - w * 0.02, head[1] + h * 0.05)], fill=frame, width=fw)
    draw.rounded_rectangle([seat[0] - w * 0.07, seat[1] - h * 0.06, seat[0] + w * 0.06, seat[1]], radius=4,
                           fill=(30, 30, 30))
    draw.line([head, (head[0] + w * 0.03, head[1] - h * 0.14), (head[0] - w * 0.05, head[1] - h * 0.16)],
              fill=(40, 40, 40), width=fw)
    draw.ellipse([crank[0] - r * 0.15, crank[1] - r * 0.15, crank[0] + r * 0.15, crank[1] + r * 0.15],
                 fill=(60, 60, 60))


def tree(draw, box: Box, rng: random.Random, *, leaves: RGB = (60, 140, 60)) -> None:
    x0, y0, x1, y1 = box
    w, h = x1 - x0, y1 - y0
    cx = (x0 + x1) / 2
    draw.polygon([(cx - w * 0.08, y1), (cx - w * 0.05, y0 + h * 0.45), (cx + w * 0.05, y0 + h * 0.45),
                  (cx + w * 0.08, y1)], fill=(110, 75, 45))
    blobs = [(0.5, 0.3, 0.32), (0.3, 0.4, 0.24), (0.7, 0.4, 0.24), (0.38, 0.2, 0.22), (0.62, 0.2, 0.22),
             (0.5, 0.5, 0.22)]
    for fx, fy, fr in blobs:
        r = fr * w * rng.uniform(0.9, 1.1)
        bx, by = x0 + fx * w, y0 + fy * h * 1.1
        draw.ellipse([bx - r, by - r, bx + r, by + r], fill=shade(leaves, rng.uniform(0.85, 1.1)))


def tree_topdown(draw, box: Box, rng: random.Random) -> None:
    x0, y0, x1, y1 = box
    cx, cy, r = (x0 + x1) / 2, (y0 + y1) / 2, (x1 - x0) / 2
    draw.ellipse([cx - r + 8, cy - r + 12, cx + r + 8, cy + r + 12], fill=(60, 100, 50))  # shadow
    for _ in range(7):
        a, d = rng.uniform(0, 2 * math.pi), rng.uniform(0, r * 0.45)
        rr = r * rng.uniform(0.45, 0.6)
        bx, by = cx + d * math.cos(a), cy + d * math.sin(a)
        draw.ellipse([bx - rr, by - rr, bx + rr, by + rr], fill=shade((60, 140, 60), rng.uniform(0.85, 1.15)))


def bench(draw, box: Box, *, wood: RGB = (150, 100, 55)) -> None:
    x0, y0, x1, y1 = box
    w, h = x1 - x0, y1 - y0
    dark = shade(wood, 0.65)
    for f in (0.08, 0.86):
        draw.rectangle([x0 + w * f, y0 + h * 0.5, x0 + w * (f + 0.06), y1], fill=(60, 60, 60))
    for i in range(2):
        yy = y0 + h * (0.05 + i * 0.2)
        draw.rounded_rectangle([x0, yy, x1, yy + h * 0.13], radius=4, fill=wood, outline=dark, width=2)
    draw.rounded_rectangle([x0 - w * 0.02, y0 + h * 0.5, x1 + w * 0.02, y0 + h * 0.64], radius=4, fill=wood,
                           outline=dark, width=2)


def bench_topdown(draw, box: Box, *, wood: RGB = (150, 100, 55)) -> None:
    x0, y0, x1, y1 = box
    h = y1 - y0
    for i in range(4):
        yy = y0 + h * i / 4
        draw.rectangle([x0, yy + 2, x1, yy + h / 4 - 3], fill=shade(wood, 1.0 - 0.04 * i), outline=shade(wood, 0.6),
                       width=2)


def cup(draw, box: Box, *, color: RGB = (230, 230, 235), steam: bool = False) -> None:
    x0, y0, x1, y1 = box
    w, h = x1 - x0, y1 - y0
    bx1 = x0 + w * 0.75
    dark = shade(color, 0.75)
    draw.arc([bx1 - w * 0.2, y0 + h * 0.2, x1, y0 + h * 0.7], 270, 90, fill=dark, width=max(3, int(w * 0.08)))
    draw.polygon([(x0, y0 + h * 0.1), (bx1, y0 + h * 0.1), (bx1 - w * 0.07, y1), (x0 + w * 0.07, y1)], fill=color,
                 outline=dark)
    draw.ellipse([x0, y0, bx1, y0 + h * 0.2], fill=shade(color, 0.9), outline=dark, width=2)
    draw.ellipse([x0 + w * 0.05, y0 + h * 0.03, bx1 - w * 0.05, y0 + h * 0.17], fill=(110, 70, 40))
    if steam:
        for k in (0.25, 0.5):
            sx = x0 + w * k
            draw.line([(sx, y0 - 2), (sx + 6, y0 - h * 0.2), (sx - 4, y0 - h * 0.4)], fill=(235, 235, 235),
                      width=3, joint="curve")


def cup_topdown(draw, box: Box, *, color: RGB = (230, 230, 235)) -> None:
    x0, y0, x1, y1 = box
    w, h = x1 - x0, y1 - y0
    r = min(w * 0.4, h / 2)
    cx, cy = x0 + r, (y0 + y1) / 2
    draw.rounded_rectangle([cx + r * 0.8, cy - r * 0.18, x1, cy + r * 0.18], radius=int(r * 0.15), fill=color,
                           outline=shade(color, 0.7), width=2)
    draw.ellipse([cx - r, cy - r, cx + r, cy + r], fill=color, outline=shade(color, 0.7), width=3)
    draw.ellipse([cx - r * 0.78, cy - r * 0.78, cx + r * 0.78, cy + r * 0.78], fill=(110, 70, 40))
    draw.ellipse([cx - r * 0.3, cy - r * 0.45, cx - r * 0.05, cy - r * 0.2], fill=(170, 130, 95))


def bottle(draw, box: Box, *, glass: RGB = (60, 140, 80), label: RGB = (240, 230, 200)) -> None:
    x0, y0, x1, y1 = box
    w, h = x1 - x0, y1 - y0
    cx = (x0 + x1) / 2
    draw.rectangle([cx - w * 0.18, y0, cx + w * 0.18, y0 + h * 0.07], fill=(200, 170, 60))
    draw.polygon([(cx - w * 0.15, y0 + h * 0.06), (cx + w * 0.15, y0 + h * 0.06), (cx + w * 0.15, y0 + h * 0.25),
                  (x1, y0 + h * 0.42), (x1, y1), (x0, y1), (x0, y0 + h * 0.42), (cx - w * 0.15, y0 + h * 0.25)],
                 fill=glass, outline=shade(glass, 0.6))
    draw.rectangle([x0, y0 + h * 0.55, x1, y0 + h * 0.8], fill=label)
    draw.line([(x0 + w * 0.2, y0 + h * 0.45), (x0 + w * 0.2, y1 - h * 0.05)], fill=shade(glass, 1.5), width=3)


def knife(draw, box: Box, *, handle: RGB = (40, 40, 45), vertical: bool = False) -> None:
    x0, y0, x1, y1 = box
    w, h = x1 - x0, y1 - y0
    if vertical:
        draw.rounded_rectangle([x0 + w * 0.2, y0 + h * 0.62, x1 - w * 0.2, y1], radius=int(w * 0.2), fill=handle)
        draw.polygon([(x0 + w * 0.15, y0 + h * 0.62), (x1 - w * 0.1, y0 + h * 0.62), (x1 - w * 0.15, y0 + h * 0.2),
                      (x0 + w * 0.5, y0)], fill=(205, 210, 215), outline=(130, 135, 140))
        return
    draw.rounded_rectangle([x0, y0 + h * 0.2, x0 + w * 0.38, y1 - h * 0.2], radius=int(h * 0.2), fill=handle)
    for f in (0.1, 0.28):
        draw.ellipse([x0 + w * f - 3, y0 + h * 0.5 - 3, x0 + w * f + 3, y0 + h * 0.5 + 3], fill=(200, 200, 200))
    draw.polygon([(x0 + w * 0.38, y0 + h * 0.1), (x1 - w * 0.15, y0 + h * 0.1), (x1, y0 + h * 0.6),
                  (x0 + w * 0.38, y1 - h * 0.05)], fill=(205, 210, 215), outline=(130, 135, 140))
    draw.line([(x0 + w * 0.4, y1 - h * 0.1), (x1 - w * 0.02, y0 + h * 0.62)], fill=(240, 240, 245), width=2)


def scissors(draw, box: Box, *, handle: RGB = (220, 60, 60)) -> None:
    x0, y0, x1, y1 = box
    w, h = x1 - x0, y1 - y0
    pivot = (x0 + w * 0.45, y0 + h * 0.5)
    tip1, tip2 = (x1, y0 + h * 0.2), (x1, y0 + h * 0.8)
    bw = max(3, h * 0.07)
    for tip in (tip1, tip2):
        draw.polygon([(pivot[0] - w * 0.05, pivot[1] - bw), tip, (pivot[0] - w * 0.05, pivot[1] + bw)],
                     fill=(200, 205, 210), outline=(120, 125, 130))
    ring = max(4, int(h * 0.09))
    for cy in (y0 + h * 0.22, y0 + h * 0.78):
        draw.line([(x0 + w * 0.2, cy), pivot], fill=handle, width=ring)
        draw.ellipse([x0, cy - h * 0.2, x0 + w * 0.26, cy + h * 0.2], outline=handle, width=ring)
    draw.ellipse([pivot[0] - 4, pivot[1] - 4, pivot[0] + 4, pivot[1] + 4], fill=(80, 80, 80))


def chair(draw, box: Box, *, wood: RGB = (140, 90, 50)) -> None:
    x0, y0, x1, y1 = box
    w, h = x1 - x0, y1 - y0
    dark = shade(wood, 0.7)
    lw_ = max(3, int(w * 0.1))
    draw.rectangle([x0, y0, x0 + lw_, y1], fill=wood, outline=dark)
    draw.rectangle([x1 - lw_, y0 + h * 0.5, x1, y1], fill=wood, outline=dark)
    for f in (0.08, 0.25):
        draw.rectangle([x0, y0 + h * f, x0 + w * 0.3, y0 + h * (f + 0.08)], fill=wood, outline=dark)
    draw.rectangle([x0, y0 + h * 0.48, x1, y0 + h * 0.58], fill=shade(wood, 1.1), outline=dark, width=2)


def table(draw, box: Box, *, wood: RGB = (160, 110, 65), cloth: RGB | None = None) -> None:
    x0, y0, x1, y1 = box
    w, h = x1 - x0, y1 - y0
    dark = shade(wood, 0.65)
    for f in (0.06, 0.88):
        draw.rectangle([x0 + w * f, y0 + h * 0.15, x0 + w * (f + 0.06), y1], fill=dark)
    draw.polygon([(x0 + w * 0.04, y0), (x1 - w * 0.04, y0), (x1, y0 + h * 0.2), (x0, y0 + h * 0.2)],
                 fill=shade(wood, 1.1), outline=dark)
    draw.rectangle([x0, y0 + h * 0.2, x1, y0 + h * 0.28], fill=wood, outline=dark)
    if cloth:
        draw.polygon([(x0 + w * 0.04, y0), (x1 - w * 0.04, y0), (x1, y0 + h * 0.2), (x1, y0 + h * 0.45),
                      (x0, y0 + h * 0.45), (x0, y0 + h * 0.2)], fill=cloth, outline=shade(cloth, 0.8))


def laptop(draw, box: Box, *, shell: RGB = (150, 155, 165)) -> None:
    x0, y0, x1, y1 = box
    w, h = x1 - x0, y1 - y0
    draw.rounded_rectangle([x0 + w * 0.1, y0, x1 - w * 0.1, y0 + h * 0.75], radius=6, fill=shade(shell, 0.5))
    gradient(draw, (x0 + w * 0.15, y0 + h * 0.07, x1 - w * 0.15, y0 + h * 0.68), (70, 120, 200), (140, 190, 235))
    for i in range(3):
        ly = y0 + h * (0.2 + 0.13 * i)
        draw.line([(x0 + w * 0.22, ly), (x0 + w * (0.6 - 0.1 * i), ly)], fill=(235, 240, 250), width=3)
    draw.polygon([(x0 + w * 0.08, y0 + h * 0.75), (x1 - w * 0.08, y0 + h * 0.75), (x1, y1), (x0, y1)], fill=shell,
                 outline=shade(shell, 0.6))


def laptop_topdown(draw, box: Box, *, shell: RGB = (150, 155, 165)) -> None:
    x0, y0, x1, y1 = box
    w, h = x1 - x0, y1 - y0
    draw.rectangle([x0, y0, x1, y0 + h * 0.48], fill=shade(shell, 0.55), outline=shade(shell, 0.4), width=2)
    draw.rectangle([x0, y0 + h * 0.52, x1, y1], fill=shell, outline=shade(shell, 0.6), width=2)
    for r in range(4):
        for c in range(10):
            kx, ky = x0 + w * (0.06 + c * 0.09), y0 + h * (0.57 + r * 0.07)
            draw.rectangle([kx, ky, kx + w * 0.07, ky + h * 0.05], fill=shade(shell, 0.75))
    draw.rectangle([x0 + w * 0.35, y0 + h * 0.86, x0 + w * 0.65, y1 - h * 0.03], fill=shade(shell, 0.85))


def book(draw, box: Box, *, cover: RGB = (170, 50, 50), open_: bool = False) -> None:
    x0, y0, x1, y1 = box
    w, h = x1 - x0, y1 - y0
    if open_:
        draw.rectangle([x0, y0, x1, y1], fill=shade(cover, 0.8))
        for side in (0, 1):
            px0 = x0 + w * (0.03 + side * 0.49)
            draw.rectangle([px0, y0 + h * 0.04, px0 + w * 0.45, y1 - h * 0.04], fill=(250, 248, 240))
            for i in range(7):
                ly = y0 + h * (0.15 + 0.1 * i)
                draw.line([(px0 + w * 0.04, ly), (px0 + w * 0.41, ly)], fill=(150, 150, 150), width=2)
        draw.line([(x0 + w / 2, y0), (x0 + w / 2, y1)], fill=shade(cover, 0.5), width=3)
        return
    draw.rectangle([x0 + w * 0.06, y0 + h * 0.03, x1, y1], fill=(245, 240, 225))
    draw.rectangle([x0, y0, x1 - w * 0.06, y1 - h * 0.03], fill=cover, outline=shade(cover, 0.6), width=2)
    draw.rectangle([x0, y0, x0 + w * 0.12, y1 - h * 0.03], fill=shade(cover, 0.75))
    draw.rectangle([x0 + w * 0.25, y0 + h * 0.2, x1 - w * 0.18, y0 + h * 0.32], fill=(240, 220, 140))


def ball(draw, box: Box, *, kind: str = "soccer") -> None:
    x0, y0, x1, y1 = box
    cx, cy, r = (x0 + x1) / 2, (y0 + y1) / 2, min(x1 - x0, y1 - y0) / 2
    if kind == "beach":
        colors = [(230, 60, 60), (250, 250, 250), (40, 110, 210), (250, 210, 50), (250, 250, 250), (60, 170, 90)]
        for i, c in enumerate(colors):
            draw.pieslice([cx - r, cy - r, cx + r, cy + r], i * 60, (i + 1) * 60, fill=c)
        draw.ellipse([cx - r * 0.15, cy - r * 0.15, cx + r * 0.15, cy + r * 0.15], fill=(250, 250, 250))
        draw.ellipse([cx - r, cy - r, cx + r, cy + r], outline=(90, 90, 90), width=2)
        return
    draw.ellipse([cx - r, cy - r, cx + r, cy + r], fill=(250, 250, 250), outline=(60, 60, 60), width=2)

    def pent(px: float, py: float, pr: float) -> list[tuple[float, float]]:
        return [(px + pr * math.cos(math.radians(-90 + 72 * k)), py + pr * math.sin(math.radians(-90 + 72 * k)))
                for k in range(5)]

    draw.polygon(pent(cx, cy, r * 0.3), fill=(30, 30, 30))
    for k in range(5):
        a = math.radians(-90 + 72 * k)
        px, py = cx + r * 0.72 * math.cos(a), cy + r * 0.72 * math.sin(a)
        draw.line([(cx + r * 0.3 * math.cos(a), cy + r * 0.3 * math.sin(a)), (px, py)], fill=(60, 60, 60), width=2)
        draw.polygon(pent(cx + r * 0.86 * math.cos(a), cy + r * 0.86 * math.sin(a), r * 0.16), fill=(30, 30, 30))


def clock(draw, box: Box, *, rim: RGB = (60, 60, 70), hour: int = 3) -> None:
    x0, y0, x1, y1 = box
    cx, cy, r = (x0 + x1) / 2, (y0 + y1) / 2, min(x1 - x0, y1 - y0) / 2
    draw.ellipse([cx - r, cy - r, cx + r, cy + r], fill=rim)
    draw.ellipse([cx - r * 0.86, cy - r * 0.86, cx + r * 0.86, cy + r * 0.86], fill=(252, 250, 240))
    for k in range(12):
        a = math.radians(k * 30)
        inner = 0.68 if k % 3 == 0 else 0.74
        draw.line([(cx + r * inner * math.sin(a), cy - r * inner * math.cos(a)),
                   (cx + r * 0.8 * math.sin(a), cy - r * 0.8 * math.cos(a))], fill=(40, 40, 40),
                  width=max(2, int(r * (0.06 if k % 3 == 0 else 0.03))))
    ha, ma = math.radians(hour * 30 + 10), math.radians(60)
    draw.line([(cx, cy), (cx + r * 0.42 * math.sin(ha), cy - r * 0.42 * math.cos(ha))], fill=(30, 30, 30),
              width=max(3, int(r * 0.07)))
    draw.line([(cx, cy), (cx + r * 0.62 * math.sin(ma), cy - r * 0.62 * math.cos(ma))], fill=(30, 30, 30),
              width=max(2, int(r * 0.045)))
    draw.ellipse([cx - r * 0.06, cy - r * 0.06, cx + r * 0.06, cy + r * 0.06], fill=(200, 40, 40))


def kite(draw, box: Box, *, colors: tuple[RGB, RGB] = ((230, 60, 60), (250, 210, 50)),
         string_to: tuple[float, float] | None = None) -> None:
    x0, y0, x1, y1 = box
    w, h = x1 - x0, y1 - y0
    cx = (x0 + x1) / 2
    top, left, right, bottom = (cx, y0), (x0, y0 + h * 0.35), (x1, y0 + h * 0.35), (cx, y0 + h * 0.75)
    centre = (cx, y0 + h * 0.35)
    draw.polygon([top, left, centre], fill=colors[0])
    draw.polygon([top, right, centre], fill=colors[1])
    draw.polygon([left, bottom, centre], fill=colors[1])
    draw.polygon([right, bottom, centre], fill=colors[0])
    draw.line([top, bottom], fill=(60, 40, 30), width=2)
    draw.line([left, right], fill=(60, 40, 30), width=2)
    tail = [bottom, (cx - w * 0.1, y0 + h * 0.85), (cx + w * 0.05, y1)]
    draw.line(tail, fill=(60, 40, 30), width=2)
    for tx, ty in tail[1:]:
        draw.polygon([(tx - 8, ty - 5), (tx + 8, ty + 5), (tx + 8, ty - 5), (tx - 8, ty + 5)], fill=colors[0])
    if string_to:
        draw.line([centre, string_to], fill=(80, 80, 80), width=1)


def boat(draw, box: Box, *, hull: RGB = (180, 60, 50), sail: RGB = (250, 248, 240)) -> None:
    x0, y0, x1, y1 = box
    w, h = x1 - x0, y1 - y0
    mast = x0 + w * 0.48
    draw.line([(mast, y0), (mast, y0 + h * 0.72)], fill=(90, 60, 40), width=max(3, int(w * 0.02)))
    draw.polygon([(mast + 4, y0 + h * 0.04), (mast + 4, y0 + h * 0.66), (x1 - w * 0.08, y0 + h * 0.66)], fill=sail,
                 outline=(180, 180, 180))
    draw.polygon([(mast - 4, y0 + h * 0.12), (mast - 4, y0 + h * 0.66), (x0 + w * 0.14, y0 + h * 0.66)],
                 fill=shade(sail, 0.92), outline=(180, 180, 180))
    draw.polygon([(x0, y0 + h * 0.7), (x1, y0 + h * 0.7), (x1 - w * 0.12, y1), (x0 + w * 0.1, y1)], fill=hull,
                 outline=shade(hull, 0.6))
    draw.line([(x0 + w * 0.05, y0 + h * 0.78), (x1 - w * 0.05, y0 + h * 0.78)], fill=(250, 250, 250), width=3)


def plate(draw, box: Box, *, food: str = "meal", topdown: bool = False) -> None:
    x0, y0, x1, y1 = box
    w, h = x1 - x0, y1 - y0
    cx, cy = (x0 + x1) / 2, (y0 + y1) / 2
    draw.ellipse([x0, y0, x1, y1], fill=(245, 245, 248), outline=(170, 170, 180), width=2)
    draw.ellipse([x0 + w * 0.15, y0 + h * 0.15, x1 - w * 0.15, y1 - h * 0.15], outline=(215, 215, 222), width=2)
    if food == "meal":
        draw.ellipse([cx - w * 0.28, cy - h * 0.22, cx + w * 0.02, cy + h * 0.18], fill=(190, 120, 70))
        for k in range(3):
            px = cx + w * (0.08 + 0.08 * k)
            draw.ellipse([px - w * 0.05, cy - h * 0.12, px + w * 0.05, cy + h * 0.02], fill=(70, 160, 60))
        draw.ellipse([cx - w * 0.02, cy + h * 0.02, cx + w * 0.22, cy + h * 0.25], fill=(240, 210, 110))
    elif food == "vegetables":
        for k in range(4):
            px = cx + w * (-0.24 + 0.15 * k)
            draw.polygon([(px - w * 0.04, cy - h * 0.15), (px + w * 0.04, cy - h * 0.15), (px, cy + h * 0.2)],
                         fill=(240, 130, 40))


def pot(draw, box: Box, *, color: RGB = (70, 70, 80), steam: bool = True) -> None:
    x0, y0, x1, y1 = box
    w, h = x1 - x0, y1 - y0
    draw.rectangle([x0 - w * 0.08, y0 + h * 0.35, x0 + w * 0.05, y0 + h * 0.45], fill=shade(color, 0.6))
    draw.rectangle([x1 - w * 0.05, y0 + h * 0.35, x1 + w * 0.08, y0 + h * 0.45], fill=shade(color, 0.6))
    draw.rounded_rectangle([x0, y0 + h * 0.3, x1, y1], radius=int(w * 0.08), fill=color, outline=shade(color, 0.6))
    draw.ellipse([x0, y0 + h * 0.22, x1, y0 + h * 0.4], fill=shade(color, 1.3), outline=shade(color, 0.6))
    if steam:
        for k in (0.3, 0.5, 0.7):
            sx = x0 + w * k
            draw.line([(sx, y0 + h * 0.2), (sx + 8, y0 + h * 0.1), (sx - 6, y0)], fill=(240, 240, 240), width=3,
                      joint="curve")


def stove(draw, box: Box) -> None:
    x0, y0, x1, y1 = box
    w, h = x1 - x0, y1 - y0
    draw.rectangle([x0, y0, x1, y1], fill=(235, 235, 238), outline=(150, 150, 155), width=3)
    draw.rectangle([x0 + w * 0.1, y0 + h * 0.3, x1 - w * 0.1, y1 - h * 0.1], fill=(60, 60, 65))
    draw.rectangle([x0 + w * 0.14, y0 + h * 0.35, x1 - w * 0.14, y1 - h * 0.15], fill=(90, 90, 95))
    for k in range(4):
        kx = x0 + w * (0.2 + 0.2 * k)
        draw.ellipse([kx - 6, y0 + h * 0.1, kx + 6, y0 + h * 0.2], fill=(40, 40, 40))


def counter(draw, box: Box, *, top: RGB = (200, 200, 205), front: RGB = (120, 150, 180)) -> None:
    x0, y0, x1, y1 = box
    h = y1 - y0
    draw.rectangle([x0, y0, x1, y0 + h * 0.12], fill=top, outline=shade(top, 0.7))
    draw.rectangle([x0, y0 + h * 0.12, x1, y1], fill=front, outline=shade(front, 0.7))
    w = x1 - x0
    n = max(1, int(w / 160))
    for k in range(n + 1):
        dx = x0 + w * k / n
        draw.line([(dx, y0 + h * 0.12), (dx, y1)], fill=shade(front, 0.7), width=3)
    for k in range(n):
        hx = x0 + w * (k + 0.5) / n
        draw.rectangle([hx - 14, y0 + h * 0.25, hx + 14, y0 + h * 0.3], fill=(210, 210, 215))


def cutting_board(draw, box: Box) -> None:
    x0, y0, x1, y1 = box
    w = x1 - x0
    draw.rounded_rectangle([x0, y0, x1, y1], radius=int(w * 0.05), fill=(205, 160, 105), outline=(150, 110, 70),
                           width=3)
    draw.ellipse([x1 - w * 0.12, y0 + (y1 - y0) * 0.4, x1 - w * 0.05, y0 + (y1 - y0) * 0.6], fill=(150, 110, 70))


def carrot(draw, box: Box, *, angle: float = 0.0) -> None:
    x0, y0, x1, y1 = box
    w, h = x1 - x0, y1 - y0
    cy = (y0 + y1) / 2
    draw.polygon([(x0 + w * 0.2, cy - h * 0.35), (x0 + w * 0.2, cy + h * 0.35), (x1, cy + h * 0.05 * angle)],
                 fill=(240, 130, 40), outline=(200, 100, 30))
    for k in (-0.3, 0, 0.3):
        draw.line([(x0 + w * 0.2, cy), (x0, cy + h * k)], fill=(70, 150, 60), width=max(3, int(h * 0.12)))
    for k in (0.45, 0.65):
        draw.line([(x0 + w * k, cy - h * 0.15), (x0 + w * k, cy + h * 0.1)], fill=(200, 100, 30), width=2)


def apple(draw, box: Box, *, color: RGB = (210, 40, 40)) -> None:
    x0, y0, x1, y1 = box
    side = min(x1 - x0, y1 - y0)  # an apple is about as wide as it is tall
    x0, y0 = (x0 + x1 - side) / 2, (y0 + y1 - side) / 2
    x1, y1 = x0 + side, y0 + side
    w, h = side, side
    draw.ellipse([x0, y0 + h * 0.15, x0 + w * 0.62, y1], fill=color)
    draw.ellipse([x0 + w * 0.38, y0 + h * 0.15, x1, y1], fill=color)
    draw.line([(x0 + w * 0.5, y0 + h * 0.2), (x0 + w * 0.55, y0)], fill=(90, 60, 30), width=3)
    draw.ellipse([x0 + w * 0.55, y0, x0 + w * 0.85, y0 + h * 0.18], fill=(70, 150, 60))
    draw.ellipse([x0 + w * 0.2, y0 + h * 0.35, x0 + w * 0.32, y0 + h * 0.5], fill=shade(color, 1.4))
