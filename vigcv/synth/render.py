"""Rasterise a :class:`~vigcv.synth.facemesh.FaceModel` in a pose, with smile and mouth opening.

Vectorised: triangles are painted far to near into an id map (one ``cv2.fillConvexPoly`` per
visible triangle), then every pixel maps through its triangle's affine transform to texture
coordinates and one ``cv2.remap`` samples the photo. Flat Lambert shading relative to the
frontal pose darkens faces that turn away from the light.

Angles (degrees): ``yaw > 0`` turns the face towards image left (the person's right), ``pitch > 0``
raises the face (looks up), ``roll > 0`` tilts the top of the head towards image right (clockwise
on screen).
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from vigcv.synth.facemesh import FaceModel

_MOUTH_RGB = np.array([70, 22, 28], np.float32)
_TEETH_RGB = np.array([225, 220, 205], np.float32)
_SUBPIXEL = 4  # fillConvexPoly fractional bits


@dataclass(frozen=True)
class HeadPose:
    """Pose and expression of one head in one frame.

    Attributes
    ----------
    cx, cy : float
        Image position of the face centre (middle of forehead and chin), pixels.
    size : float
        Face height (forehead to chin) in pixels.
    yaw, pitch, roll : float
        Degrees, signs as in the module docstring.
    smile, mouth_open : float
        0..1.
    """

    cx: float
    cy: float
    size: float
    yaw: float = 0.0
    pitch: float = 0.0
    roll: float = 0.0
    smile: float = 0.0
    mouth_open: float = 0.0


def rotation(yaw: float, pitch: float, roll: float) -> np.ndarray:
    """3x3 rotation (x right, y down, z away from the camera) for angles in degrees."""
    a, b, c = np.radians([yaw, pitch, roll])
    # yaw: nose (0, 0, -1) moves to -x for yaw > 0.
    ry = np.array([[np.cos(a), 0, np.sin(a)], [0, 1, 0], [-np.sin(a), 0, np.cos(a)]])
    # pitch: nose moves to -y (up) for pitch > 0.
    rx = np.array([[1, 0, 0], [0, np.cos(b), np.sin(b)], [0, -np.sin(b), np.cos(b)]])
    # roll: the top (0, -1, 0) moves to +x for roll > 0.
    rz = np.array([[np.cos(c), np.sin(c), 0], [-np.sin(c), np.cos(c), 0], [0, 0, 1]])
    return rz @ rx @ ry


def _inv3(m: np.ndarray) -> np.ndarray:
    """Inverse of a stack of 3x3 matrices (T, 3, 3) by the adjugate (much faster than LAPACK
    for many small matrices)."""
    r0, r1, r2 = m[:, 0], m[:, 1], m[:, 2]
    cols = np.stack([np.cross(r1, r2), np.cross(r2, r0), np.cross(r0, r1)], axis=2)
    det = np.einsum("ti,ti->t", r0, cols[:, :, 0])
    return cols / det[:, None, None]


def _normals(v: np.ndarray, tri: np.ndarray) -> np.ndarray:
    n = np.cross(v[tri[:, 1]] - v[tri[:, 0]], v[tri[:, 2]] - v[tri[:, 0]])
    return n / np.maximum(np.linalg.norm(n, axis=1, keepdims=True), 1e-9)


def render_head(
    model: FaceModel, pose: HeadPose, *, light: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray, int, int]:
    """Render one head.

    Parameters
    ----------
    model : FaceModel
        The mesh.
    pose : HeadPose
        Where and how.
    light : ndarray, shape (3,), optional
        Direction towards the light (camera coordinates); default from the front, above left.

    Returns
    -------
    rgb : ndarray, shape (h, w, 3), float32
        Colours 0..255 of the patch.
    alpha : ndarray, shape (h, w), float32
        Coverage 0..1 (edges feathered by one pixel).
    x0, y0 : int
        Image position of the patch's top-left pixel (may be negative).
    """
    light_dir = np.array([-0.3, -0.4, -1.0]) if light is None else np.asarray(light, float)
    light_dir = light_dir / np.linalg.norm(light_dir)
    verts = model.rest + pose.smile * model.smile_dir + pose.mouth_open * model.jaw_dir
    rot = rotation(pose.yaw, pose.pitch, pose.roll)
    v3 = verts @ rot.T
    xy = v3[:, :2] * pose.size + [pose.cx, pose.cy]
    lo = np.floor(xy.min(axis=0)).astype(int) - 2
    hi = np.ceil(xy.max(axis=0)).astype(int) + 2
    w, h = int(hi[0] - lo[0]), int(hi[1] - lo[1])
    local = (xy - lo).astype(np.float64)

    tri = model.triangles
    p = local[tri]  # (T, 3, 2)
    area2 = (p[:, 1, 0] - p[:, 0, 0]) * (p[:, 2, 1] - p[:, 0, 1]) - (p[:, 1, 1] - p[:, 0, 1]) * (
        p[:, 2, 0] - p[:, 0, 0]
    )
    visible = np.flatnonzero(area2 > 0.05)
    # Turned round (|yaw| > 90 deg) the camera sees the mesh from behind: its far side stands in
    # for the back of the head, painted in the colour of the hair and scalp (below), no face.
    behind = abs((pose.yaw + 180.0) % 360.0 - 180.0) > 90.0
    if behind:
        visible = np.union1d(visible, np.flatnonzero(area2 < -0.05))
    depth = v3[tri[visible], 2].mean(axis=1)
    order = visible[np.argsort(-depth, kind="stable")]  # far first
    ids = np.full((h, w), -1, np.int32)
    fixed = np.round(p * (1 << _SUBPIXEL)).astype(np.int32)
    for t in order.tolist():
        cv2.fillConvexPoly(ids, fixed[t], t, lineType=cv2.LINE_8, shift=_SUBPIXEL)

    # Affine map from patch pixels to texture pixels, per triangle: [x y 1] @ M = uv.
    ones = np.ones((len(tri), 3, 1))
    dst_h = np.concatenate([p, ones], axis=2)
    dst_h[area2 <= 0.05] = np.eye(3)  # never sampled; keeps inv finite
    bary = _inv3(dst_h)  # [x y 1] @ bary = barycentric coordinates
    mats = bary @ model.uv[tri].astype(np.float64)  # (T, 3, 2)

    covered = ids >= 0
    tid = np.where(covered, ids, 0)
    py, px = np.nonzero(covered)  # only covered pixels are mapped
    pt = ids[py, px]
    fx, fy = px.astype(np.float32), py.astype(np.float32)
    m = mats[pt].astype(np.float32)  # (N, 3, 2)
    map_x = np.full((h, w), -1.0, np.float32)
    map_y = np.full((h, w), -1.0, np.float32)
    map_x[py, px] = fx * m[:, 0, 0] + fy * m[:, 1, 0] + m[:, 2, 0]
    map_y[py, px] = fx * m[:, 0, 1] + fy * m[:, 1, 1] + m[:, 2, 1]
    rgb = cv2.remap(
        model.texture, map_x, map_y, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE
    ).astype(np.float32)

    # Back of the head: interpolated vertex colours with a little strand-like noise.
    on_shell = model.shell[pt]
    if on_shell.any():
        sx, sy, st = fx[on_shell], fy[on_shell], pt[on_shell]
        b = bary[st].astype(np.float32)  # (n, 3, 3)
        lam = sx[:, None] * b[:, 0] + sy[:, None] * b[:, 1] + b[:, 2]  # (n, 3)
        col = np.einsum("nj,njc->nc", lam, model.vertex_rgb[tri[st]])
        grain = 1.0 + 0.06 * np.sin(sx * 1.7 + sy * 0.4) * np.cos(sy * 0.9 - sx * 0.2)
        rgb[py[on_shell], px[on_shell]] = col * grain[:, None]

    if behind:
        from_back = area2[pt] < -0.05
        hair = (
            model.vertex_rgb[np.unique(tri[model.shell])].mean(axis=0)
            if model.shell.any()
            else (np.array([90.0, 70.0, 55.0]))
        )
        bx, by = fx[from_back], fy[from_back]
        grain = 1.0 + 0.08 * np.sin(bx * 1.3 + by * 0.5) * np.cos(by * 1.1 - bx * 0.3)
        rgb[py[from_back], px[from_back]] = hair.astype(np.float32) * grain[:, None]

    # Flat shading relative to the frontal pose.
    n_now = _normals(v3, tri)
    n_rest = _normals(verts, tri)
    lit_now = 0.55 + 0.45 * np.clip(-(n_now @ light_dir), 0.0, 1.0)
    lit_rest = 0.55 + 0.45 * np.clip(-(n_rest @ light_dir), 0.0, 1.0)
    shade = np.clip(lit_now / lit_rest, 0.55, 1.25).astype(np.float32)
    shade_px = cv2.GaussianBlur(shade[tid], (0, 0), 1.0)
    if behind:  # the face's relief would show through the hair: shade the back of the head flat
        shade_px[py[from_back], px[from_back]] = 0.9
    rgb *= shade_px[..., None]

    # Mouth interior: dark, with upper teeth near the upper lip.
    in_mouth = model.interior[pt] & (area2[pt] > 0.05)
    if in_mouth.any():
        # Upper teeth: mouth pixels less than 0.03 face heights below the upper inner lip,
        # measured along the head's own downward axis.
        upper = v3[13, :2] * pose.size + [pose.cx, pose.cy] - lo
        down = rot[:2, 1]
        mx, my = fx[in_mouth], fy[in_mouth]
        below = (mx - upper[0]) * down[0] + (my - upper[1]) * down[1]
        colour = np.where((below < 0.03 * pose.size)[:, None], _TEETH_RGB, _MOUTH_RGB)
        rgb[py[in_mouth], px[in_mouth]] = colour
    alpha = cv2.GaussianBlur(covered.astype(np.float32), (3, 3), 0.7)
    return rgb, alpha, int(lo[0]), int(lo[1])


def composite(
    frame: np.ndarray,
    rgb: np.ndarray,
    alpha: np.ndarray,
    x0: int,
    y0: int,
    *,
    light: np.ndarray | None = None,
    noise: np.ndarray | None = None,
) -> None:
    """Blend a patch into ``frame`` (H, W, 3) in place, clipping at the borders.

    ``frame`` may be float32 (0..255) or uint8. ``light`` (H, W, 3) multiplies the patch and
    ``noise`` (H, W, 1 or 3) is added to it, both taken at the patch's place in the frame.
    """
    height, width = frame.shape[:2]
    h, w = alpha.shape
    fx0, fy0 = max(x0, 0), max(y0, 0)
    fx1, fy1 = min(x0 + w, width), min(y0 + h, height)
    if fx1 <= fx0 or fy1 <= fy0:
        return
    a = alpha[fy0 - y0 : fy1 - y0, fx0 - x0 : fx1 - x0, None]
    src = rgb[fy0 - y0 : fy1 - y0, fx0 - x0 : fx1 - x0]
    if light is not None:
        src = src * light[fy0:fy1, fx0:fx1]
    if noise is not None:
        src = src + noise[fy0:fy1, fx0:fx1]
    dst = frame[fy0:fy1, fx0:fx1]
    if dst.dtype == np.uint8:
        blended = dst.astype(np.float32)
        blended += a * (src - blended)
        dst[:] = np.clip(blended, 0, 255).astype(np.uint8)
    else:
        dst += a * (src - dst)
