"""Where people sit and what the room looks like (all drawn once per session, seeded).

The room: a wall with a window or pictures, a floor with grain, a sofa and a shelf, a low table
in front with a ball on it (the "toy" people look at), lighting with a colour cast, a gradient and
a vignette. Bodies (torso and neck) are drawn into the background; heads are rendered per frame.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from vigcv.synth.script import Script


@dataclass(frozen=True)
class Place:
    """Where one person's face sits: centre (pixels) and face height (pixels)."""

    cx: float
    cy: float
    size: float


@dataclass(frozen=True)
class Layout:
    """Placement and lighting of one session.

    Attributes
    ----------
    width, height : int
        Frame size, pixels.
    places : dict of str to Place
        ``"parent"``, ``"child"`` and the third person if the script has one.
    toy : tuple of float
        Image position of the toy, pixels (on the table, or in the parent's hand).
    gain : float
        Overall brightness factor.
    tint : ndarray, shape (3,)
        RGB colour cast factors.
    light : ndarray, shape (3,)
        Direction towards the key light (camera coordinates).
    shirts : dict of str to tuple of int
        Shirt colours, RGB.
    """

    width: int
    height: int
    places: dict[str, Place]
    toy: tuple[float, float]
    gain: float
    tint: np.ndarray
    light: np.ndarray
    shirts: dict[str, tuple[int, int, int]]
    toy_held: bool = False


def make_layout(script: Script, *, size: tuple[int, int], rng: np.random.Generator) -> Layout:
    """Seeded placement: parent face about a quarter of the frame high, child's 60-70 % of it.

    A scene of two draws exactly what it always drew (same seed, same session). A third person
    (``script.extras``) is drawn after everything else: the three sit at the left (20-23 % of the
    width), middle (48-52 %) and right (77-80 %); their face heights relative to the parent's are
    the person's ``size`` or the role's default (sibling 0.72-0.8, second parent 0.95-1.05).
    A face's height in the frame follows its size, from the parent's (size 1) down to the
    child's usual place (size 0.65 or less).
    """
    width, height = size
    parent_size = height * rng.uniform(0.2, 0.24)
    child_size = parent_size * rng.uniform(0.6, 0.7)
    px = width * rng.uniform(0.26, 0.33)
    cx = width * rng.uniform(0.67, 0.74)
    if script.parent.side == "right":
        px, cx = width - px, width - cx
    parent_cy, child_cy = height * rng.uniform(0.31, 0.38), height * rng.uniform(0.5, 0.56)
    places = {
        "parent": Place(px, parent_cy, parent_size),
        "child": Place(cx, child_cy, child_size),
    }
    toy = (width * 0.5 + rng.uniform(-30, 30), height * rng.uniform(0.83, 0.88))
    held = script.toy == "held"
    palette = [(70, 90, 160), (160, 60, 60), (60, 130, 90), (200, 170, 60), (120, 70, 140)]
    picks = rng.choice(len(palette), size=2, replace=False)
    gain = float(rng.uniform(0.85, 1.08))
    tint = np.array([rng.uniform(0.95, 1.06), 1.0, rng.uniform(0.88, 1.02)], np.float32)
    light = np.array([rng.uniform(-0.6, 0.6), rng.uniform(-0.6, -0.2), -1.0])
    shirts = {"parent": palette[picks[0]], "child": palette[picks[1]]}

    def height_at(rel: float) -> float:  # from the parent's face centre down to a child's
        return parent_cy + (child_cy - parent_cy) * float(np.clip((1.0 - rel) / 0.35, 0.0, 1.0))

    if script.child.size is not None:
        rel = script.child.size
        places["child"] = Place(cx, height_at(rel), parent_size * rel)
    if script.extras:  # three people: drawn after all of the above, so two-person scenes keep
        slots = {  # their seeded layout
            "left": width * rng.uniform(0.2, 0.23),
            "middle": width * rng.uniform(0.48, 0.52),
            "right": width * rng.uniform(0.77, 0.8),
        }
        for role in script.roles:
            person = script.person(role)
            default = {"parent": 1.0, "child": child_size / parent_size}.get(role)
            if default is None:
                lo, hi = (0.72, 0.8) if role == "sibling" else (0.95, 1.05)
                default = float(rng.uniform(lo, hi))
            rel = person.size if person.size is not None else default
            places[role] = Place(slots[person.side], height_at(rel), parent_size * rel)
        left = [i for i in range(len(palette)) if i not in picks]
        for role, _ in script.extras:
            shirts[role] = palette[left[int(rng.integers(len(left)))]]
    if held:  # just below the parent's chin, a little towards the child
        par = places["parent"]
        toward = 1.0 if places["child"].cx > par.cx else -1.0
        toy = (par.cx + toward * 0.45 * par.size, par.cy + 1.0 * par.size)
    return Layout(
        width=width,
        height=height,
        places=places,
        toy=toy,
        gain=gain,
        tint=tint,
        light=light,
        shirts=shirts,
        toy_held=held,
    )


def _noise(shape: tuple[int, int], *, rng: np.random.Generator, sigma: float) -> np.ndarray:
    return cv2.GaussianBlur(rng.standard_normal(shape).astype(np.float32), (0, 0), sigma)


def _body(
    img: np.ndarray, place: Place, shirt: tuple[int, int, int], skin: tuple, *, width: float
) -> None:
    """Neck and shoulders (half-width ``width`` face heights) under the face at ``place``."""
    s = place.size
    cx, chin = place.cx, place.cy + 0.5 * s
    half_neck = 0.26 * s
    neck = [(cx - half_neck, chin - 0.25 * s), (cx + half_neck, chin - 0.25 * s)]
    neck += [(cx + 1.2 * half_neck, chin + 0.45 * s), (cx - 1.2 * half_neck, chin + 0.45 * s)]
    cv2.fillConvexPoly(img, np.array(neck, np.int32), skin, cv2.LINE_AA)
    shoulders = (int(cx), int(chin + 0.78 * s))
    axes = (int(width * s), int(0.62 * s))
    cv2.ellipse(img, shoulders, axes, 0, 180, 360, shirt, -1, cv2.LINE_AA)
    cv2.rectangle(
        img, (int(cx - width * s), shoulders[1]), (int(cx + width * s), img.shape[0]), shirt, -1
    )
    collar = tuple(int(c * 0.7) for c in shirt)
    cv2.ellipse(
        img,
        (int(cx), int(chin + 0.36 * s)),
        (int(0.3 * s), int(0.16 * s)),
        0,
        0,
        180,
        collar,
        -1,
        cv2.LINE_AA,
    )


def _arms(
    img: np.ndarray,
    place: Place,
    shirt: tuple[int, int, int],
    skin: tuple,
    *,
    width: float,
    table_y: int,
) -> None:
    """Sleeves down the sides of the torso, forearms forward onto the table, hands on it."""
    s = place.size
    cx, chin = place.cx, place.cy + 0.5 * s
    sleeve = tuple(int(c * 0.82) for c in shirt)
    thick = max(2, int(0.34 * s))
    for side in (-1.0, 1.0):
        shoulder = (int(cx + side * 0.78 * width * s), int(chin + 0.45 * s))
        elbow = (int(cx + side * 0.92 * width * s), int(table_y - 0.15 * s))
        hand = (int(cx + side * 0.42 * s), int(table_y + 0.18 * s))
        cv2.line(img, shoulder, elbow, sleeve, thick, cv2.LINE_AA)
        cv2.line(img, elbow, hand, sleeve, thick, cv2.LINE_AA)
        cv2.ellipse(img, hand, (int(0.17 * s), int(0.12 * s)), 0, 0, 360, skin, -1, cv2.LINE_AA)


def _width(layout: Layout, role: str) -> float:
    """Half the shoulders' width in face heights: 1.1 for a parent, 0.85 for a child; narrower
    with three people (0.9 and 0.75) so that neighbours' shoulders hardly overlap."""
    adult = role.startswith("parent")
    if len(layout.places) > 2:
        return 0.9 if adult else 0.75
    return 1.1 if adult else 0.85


def make_background(
    layout: Layout, *, rng: np.random.Generator, skins: dict[str, tuple[int, int, int]]
) -> np.ndarray:
    """The room with both bodies, float32 (H, W, 3) RGB 0..255, before lighting."""
    w, h = layout.width, layout.height
    img = np.zeros((h, w, 3), np.uint8)
    wall = np.array([rng.uniform(170, 225), rng.uniform(160, 215), rng.uniform(140, 200)])
    img[:] = wall.astype(np.uint8)
    floor_y = int(h * rng.uniform(0.6, 0.68))
    floor = (int(rng.uniform(110, 160)), int(rng.uniform(80, 110)), int(rng.uniform(50, 80)))
    img[floor_y:] = floor
    # floorboards
    for x in range(-w, 2 * w, int(rng.uniform(40, 60))):
        cv2.line(
            img,
            (w // 2 + (x - w // 2) // 3, floor_y),
            (x, h),
            tuple(int(c * 0.8) for c in floor),
            1,
        )
    # window or pictures on the wall
    if rng.random() < 0.5:
        x0 = int(w * rng.uniform(0.38, 0.5))
        cv2.rectangle(
            img, (x0, int(h * 0.06)), (x0 + int(w * 0.18), int(h * 0.36)), (235, 240, 245), -1
        )
        cv2.rectangle(
            img, (x0, int(h * 0.06)), (x0 + int(w * 0.18), int(h * 0.36)), (250, 250, 250), 4
        )
        cv2.line(
            img,
            (x0 + int(w * 0.09), int(h * 0.06)),
            (x0 + int(w * 0.09), int(h * 0.36)),
            (250, 250, 250),
            3,
        )
    else:
        for _ in range(2):
            x0, y0 = int(w * rng.uniform(0.05, 0.85)), int(h * rng.uniform(0.05, 0.2))
            colour = tuple(int(c) for c in rng.uniform(40, 200, 3))
            cv2.rectangle(img, (x0, y0), (x0 + int(w * 0.1), y0 + int(h * 0.12)), colour, -1)
            cv2.rectangle(img, (x0, y0), (x0 + int(w * 0.1), y0 + int(h * 0.12)), (60, 45, 30), 3)
    # sofa behind the people
    sofa = tuple(int(c) for c in rng.uniform(60, 160, 3))
    sy = int(h * rng.uniform(0.42, 0.5))
    cv2.rectangle(img, (int(w * 0.02), sy), (int(w * 0.98), floor_y + 30), sofa, -1)
    cv2.rectangle(
        img,
        (int(w * 0.02), sy),
        (int(w * 0.98), sy + 14),
        tuple(int(c * 1.1) % 256 for c in sofa),
        -1,
    )
    # shelf at one side
    sx = int(w * (0.86 if rng.random() < 0.5 else 0.02))
    cv2.rectangle(img, (sx, int(h * 0.1)), (sx + int(w * 0.12), sy), (120, 85, 55), -1)
    for k in range(3):
        yk = int(h * 0.1) + (k + 1) * (sy - int(h * 0.1)) // 4
        cv2.line(img, (sx, yk), (sx + int(w * 0.12), yk), (90, 60, 40), 3)
        for j in range(4):
            colour = tuple(int(c) for c in rng.uniform(30, 230, 3))
            bx = sx + 4 + j * int(w * 0.028)
            cv2.rectangle(
                img, (bx, yk - int(rng.uniform(18, 30))), (bx + int(w * 0.02), yk - 2), colour, -1
            )
    roles = list(layout.places)
    if len(roles) > 2:  # the one in the middle last (in front)
        roles.sort(key=lambda r: -abs(layout.places[r].cx - w / 2))
    for role in roles:
        _body(
            img, layout.places[role], layout.shirts[role], skins[role], width=_width(layout, role)
        )
    # low table and the toy (a ball)
    ty = int(h * 0.8)
    cv2.rectangle(img, (int(w * 0.25), ty), (int(w * 0.75), h), (150, 110, 70), -1)
    cv2.rectangle(img, (int(w * 0.25), ty), (int(w * 0.75), ty + 6), (175, 135, 90), -1)
    for role in roles:
        place = layout.places[role]
        width = _width(layout, role)
        _arms(img, place, layout.shirts[role], skins[role], width=width, table_y=ty)
    tx, tyy = (int(v) for v in layout.toy)
    if layout.toy_held:  # the parent's hand under the ball, her forearm reaching up to it
        par = layout.places["parent"]
        s = par.size
        sleeve = tuple(int(c * 0.82) for c in layout.shirts["parent"])
        elbow = (int(par.cx), int(par.cy + 1.9 * s))
        cv2.line(img, elbow, (tx, tyy + 10), sleeve, max(2, int(0.3 * s)), cv2.LINE_AA)
        hand = (tx, tyy + int(0.12 * s))
        cv2.ellipse(img, hand, (int(0.2 * s), int(0.13 * s)), 0, 0, 360, skins["parent"], -1)
        radius = int(0.22 * s)
        cv2.circle(img, (tx, tyy - radius // 3), radius, (220, 40, 40), -1, cv2.LINE_AA)
        cv2.circle(img, (tx - radius // 3, tyy - radius * 2 // 3), radius // 3, (250, 140, 140),
                   -1, cv2.LINE_AA)  # fmt: skip
    else:
        cv2.circle(img, (tx, tyy - 14), 16, (220, 40, 40), -1, cv2.LINE_AA)
        cv2.circle(img, (tx - 5, tyy - 19), 5, (250, 140, 140), -1, cv2.LINE_AA)

    out = img.astype(np.float32)
    out *= 1.0 + 0.06 * _noise((h, w), rng=rng, sigma=1.2)[..., None]  # texture
    return np.asarray(cv2.GaussianBlur(out, (0, 0), 0.8), np.float32)


def lighting(layout: Layout) -> np.ndarray:
    """Per-pixel light factor (H, W, 3) float32: gain, tint, side gradient and vignette."""
    w, h = layout.width, layout.height
    xs = np.linspace(-1, 1, w, dtype=np.float32)[None, :]
    ys = np.linspace(-1, 1, h, dtype=np.float32)[:, None]
    side = 1.0 + 0.12 * xs * float(np.sign(layout.light[0]) or 1.0)
    vignette = 1.0 - 0.18 * (xs**2 + ys**2) / 2
    factor = (layout.gain * side * vignette)[..., None] * layout.tint
    return factor.astype(np.float32)
