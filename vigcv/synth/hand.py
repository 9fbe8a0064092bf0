"""A drawn hand (palm, four fingers, thumb, wrist) for synthetic scenes and tests.

Skin colour shaded towards the edges, with creases, nails and a little noise: MediaPipe's palm
detector and hand landmark model both take it for a hand held up, fingers together (checked
against MediaPipe's own hand solution in ``tests/vision/test_hands.py``).
"""

from __future__ import annotations

import numpy as np
from PIL import Image, ImageDraw, ImageFilter

from vigcv.synth.render import composite

SKIN = (224, 172, 140)


def draw_hand(
    size: int, *, rng: np.random.Generator, skin: tuple[int, int, int] = SKIN, spread: float = 12.0
) -> np.ndarray:
    """An RGBA image ``size`` x ``size`` of an upright hand (transparent around it); the palm's
    centre lies at about (0.5, 0.62) of the image, the fingertips near the top. The finger
    joints' and palm's creases and the nails are drawn: without them MediaPipe's hand landmark
    model is only 0.84-0.87 sure it is a hand (0.98-0.99 with them)."""
    s = 4  # drawn at four times the size, then reduced (smooth edges)
    w = size * s
    mask = Image.new("L", (w, w), 0)
    d = ImageDraw.Draw(mask)
    creases = Image.new("L", (w, w), 0)  # darker lines
    dc = ImageDraw.Draw(creases)
    nails = Image.new("L", (w, w), 0)  # lighter patches
    dn = ImageDraw.Draw(nails)
    line = max(1, int(w * 0.006))
    cx, cy, pw, ph = w * 0.5, w * 0.62, w * 0.30, w * 0.32
    d.rounded_rectangle(
        [cx - pw / 2, cy - ph / 2, cx + pw / 2, cy + ph / 2], radius=w * 0.08, fill=255
    )
    finger = w * 0.065
    for k, length in enumerate((0.27, 0.30, 0.28, 0.22)):  # index to little finger
        angle = np.radians((k - 1.5) * spread)
        x0, y0 = cx - pw / 2 + pw * (0.14 + 0.24 * k), cy - ph / 2 + w * 0.02
        x1, y1 = x0 + np.sin(angle) * length * w, y0 - np.cos(angle) * length * w
        d.line([x0, y0, x1, y1], fill=255, width=int(finger))
        d.ellipse([x1 - finger / 2, y1 - finger / 2, x1 + finger / 2, y1 + finger / 2], fill=255)
        across = np.array([np.cos(angle), np.sin(angle)]) * finger * 0.35
        for frac in (0.35, 0.65):  # the finger joints
            px, py = x0 + (x1 - x0) * frac, y0 + (y1 - y0) * frac
            dc.line([px - across[0], py - across[1], px + across[0], py + across[1]], 120, line)
        nx, ny = x1 - np.sin(angle) * finger * 0.15, y1 + np.cos(angle) * finger * 0.15
        dn.ellipse(
            [nx - finger * 0.28, ny - finger * 0.35, nx + finger * 0.28, ny + finger * 0.35], 90
        )
    tx0, ty0 = cx - pw / 2 + w * 0.02, cy + ph * 0.1
    tx1, ty1 = tx0 - w * 0.17, ty0 - w * 0.14
    d.line([tx0, ty0, tx1, ty1], fill=255, width=int(w * 0.075))
    d.ellipse([tx1 - w * 0.037, ty1 - w * 0.037, tx1 + w * 0.037, ty1 + w * 0.037], fill=255)
    d.rectangle([cx - pw * 0.4, cy + ph * 0.3, cx + pw * 0.4, w], fill=255)  # the wrist
    dc.arc([cx - pw * 0.45, cy - ph * 0.3, cx + pw * 0.35, cy + ph * 0.5], 200, 300, 100, line)
    dc.line([cx - pw * 0.4, cy - ph * 0.15, cx + pw * 0.45, cy - ph * 0.22], 100, line)
    edge = np.asarray(mask.filter(ImageFilter.GaussianBlur(w * 0.02)), dtype=float) / 255.0
    colour = np.empty((w, w, 3))
    colour[:] = skin
    colour *= (0.75 + 0.25 * edge)[..., None]  # darker towards the outline
    dark = np.asarray(creases.filter(ImageFilter.GaussianBlur(w * 0.003)), dtype=float) / 255.0
    colour *= (1.0 - 0.5 * dark)[..., None]
    lit = np.asarray(nails.filter(ImageFilter.GaussianBlur(w * 0.003)), dtype=float) / 255.0
    colour += 60.0 * lit[..., None]
    colour += rng.normal(0.0, 4.0, colour.shape)
    rgba = np.dstack([np.clip(colour, 0, 255), np.asarray(mask, dtype=float)]).astype(np.uint8)
    image = Image.fromarray(rgba, "RGBA").resize((size, size), Image.Resampling.LANCZOS)
    return np.asarray(image)


def paste(frame: np.ndarray, rgba: np.ndarray, centre: tuple[float, float]) -> np.ndarray:
    """``frame`` (RGB) with ``rgba`` laid over it, centred at ``centre`` (x, y); a copy."""
    out = frame.copy()
    h, w = rgba.shape[:2]
    x0, y0 = round(centre[0] - w / 2), round(centre[1] - h / 2)
    composite(out, rgba[..., :3].astype(np.float32), rgba[..., 3] / 255.0, x0, y0)
    return out
