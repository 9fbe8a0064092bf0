"""Textured 3D head meshes fitted to real face photos that packages ship.

MediaPipe FaceLandmarker runs once on the photo and gives 478 landmarks with depth. The mesh is
turned to face the camera (the landmarker's own head pose is undone), extended beyond the face
outline by three rings (hair, ears, neck) that lean backwards so that a turned head shows its side,
triangulated (Delaunay on the mouth-open shape, so the mouth interior has its own triangles), and
given two deformation fields: ``smile_dir`` (mouth corners up and out, cheeks up) and ``jaw_dir``
(lower lip and chin down). The photo's own smile and mouth opening are taken out of the rest shape,
so ``smile=0, mouth_open=0`` is a neutral, closed mouth whatever the photo shows.

Coordinates of the mesh: x right, y down, z away from the camera, in units of the face height
(forehead landmark 10 to chin landmark 152), origin at the middle of those two landmarks.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import cv2
import numpy as np
from scipy.spatial import Delaunay

from vigcv.errors import VigcvError

PHOTOS = ("astronaut", "grace_hopper", "biden", "obama")
# Photos that are reference files of models/manifest.toml (fetched by `vigcv models fetch` from
# the face_recognition 1.3.0 sdist: official US-government portraits, public domain).
_MANIFEST_PHOTOS = {"biden": "photo_biden", "obama": "photo_obama"}
# Hair colour (RGB) where the photo does not show it around the face (Grace Hopper wears a cap:
# her grey hair shows only beside the temples); None = sample above the forehead.
_HAIR_RGB: dict[str, tuple[float, float, float] | None] = {
    "astronaut": None,
    "grace_hopper": (178.0, 172.0, 165.0),
    "biden": (208.0, 204.0, 198.0),  # white hair, mostly outside the crop
    "obama": (62.0, 56.0, 52.0),
}

# MediaPipe face-mesh landmark indices.
FACE_OVAL = (
    10, 338, 297, 332, 284, 251, 389, 356, 454, 323, 361, 288, 397, 365, 379, 378, 400, 377,
    152, 148, 176, 149, 150, 136, 172, 58, 132, 93, 234, 127, 162, 21, 54, 103, 67, 109,
)  # fmt: skip
INNER_UPPER_LIP = (78, 191, 80, 81, 82, 13, 312, 311, 310, 415, 308)
INNER_LOWER_LIP = (324, 318, 402, 317, 14, 87, 178, 88, 95)
OUTER_LOWER_LIP = (375, 321, 405, 314, 17, 84, 181, 91, 146)
LOWER_LIP_MID = (77, 90, 180, 85, 16, 315, 404, 320, 307, 96, 89, 179, 86, 15, 316, 403, 319, 325)
RIGHT_EYE = (33, 246, 161, 160, 159, 158, 157, 173, 133, 155, 154, 153, 145, 144, 163, 7)
LEFT_EYE = (263, 466, 388, 387, 386, 385, 384, 398, 362, 382, 381, 380, 374, 373, 390, 249)
MOUTH_CORNERS = (61, 291)
FOREHEAD, CHIN, NOSE_TIP = 10, 152, 1

# Rings added outside the face oval: (radial scale of the shape, radial scale in the photo,
# backward depth in face heights). The photo scale stays small so that the sides of the head take
# the colours just outside the face (hair, ears, neck), never the photo's background.
_RINGS = ((1.08, 1.04, 0.12), (1.2, 1.08, 0.3), (1.3, 1.11, 0.55))
# Mouth opening (in jaw_dir units) used only to triangulate, so lips get separate triangles.
_TRIANGULATE_OPEN = 0.5
# Displacement per unit of smile, in face heights: corners up, corners out.
_SMILE_UP, _SMILE_OUT = 0.09, 0.055
# A full smile also parts the lips by this much mouth opening (teeth show).
_SMILE_PARTS_LIPS = 0.15
# Jaw rotation per unit of mouth opening, degrees, and width of the part of the face that moves
# with the jaw (in half mouth-widths).
_JAW_DEG = 28.0
# Extra smile taken out of child-like faces so that their neutral reads as neutral.
_CHILD_UNSMILE = 0.6
_JAW_WIDTH = 2.2


class FaceFitError(VigcvError):
    """The face landmarker found no face in a photo."""


@dataclass(frozen=True)
class FaceModel:
    """A textured head mesh.

    Attributes
    ----------
    name : str
        Photo name (and ``+child`` when made child-like).
    texture : ndarray, shape (h, w, 3), uint8
        RGB texture (the photo, cropped around the head).
    uv : ndarray, shape (V, 2), float32
        Texture pixel coordinates of each vertex.
    rest : ndarray, shape (V, 3), float32
        Neutral frontal vertex positions (face-height units, see module docstring).
    triangles : ndarray, shape (T, 3), int32
        Vertex indices, counter-clockwise on screen in the rest pose (x right, y down).
    interior : ndarray, shape (T,), bool
        Triangles inside the lips (drawn as the dark mouth interior).
    smile_dir, jaw_dir : ndarray, shape (V, 3), float32
        Displacement of each vertex per unit of smile and of mouth opening.
    shell : ndarray, shape (T,), bool
        Triangles of the back of the head (outer rings), coloured by interpolating
        ``vertex_rgb`` instead of sampling the photo.
    vertex_rgb : ndarray, shape (V, 3), float32
        Colour of each vertex (hair on top and at the sides, skin below the chin), 0..255.
    """

    name: str
    texture: np.ndarray
    uv: np.ndarray
    rest: np.ndarray
    triangles: np.ndarray
    interior: np.ndarray
    smile_dir: np.ndarray
    jaw_dir: np.ndarray
    shell: np.ndarray
    vertex_rgb: np.ndarray


def load_photo(name: str) -> np.ndarray:
    """RGB uint8 pixels of a public-domain portrait shipped by an installed package.

    ``"astronaut"`` is scikit-image's ``data.astronaut()`` (Eileen Collins); ``"grace_hopper"`` is
    matplotlib's sample ``grace_hopper.jpg``; ``"biden"`` and ``"obama"`` are the official
    portraits in the face_recognition 1.3.0 sdist, read through :func:`vigcv.models.model_path`
    (``photo_biden``, ``photo_obama``: run ``vigcv models fetch`` once).
    """
    if name == "astronaut":
        from skimage import data

        return np.ascontiguousarray(data.astronaut()[:, :, :3])
    if name == "grace_hopper":
        import matplotlib.cbook
        from PIL import Image

        path = matplotlib.cbook.get_sample_data("grace_hopper.jpg", asfileobj=False)
        with Image.open(str(path)) as img:
            return np.asarray(img.convert("RGB")).copy()
    if name in _MANIFEST_PHOTOS:
        from PIL import Image

        from vigcv.models import model_path

        with Image.open(str(model_path(_MANIFEST_PHOTOS[name]))) as img:
            return np.asarray(img.convert("RGB")).copy()
    raise FaceFitError(f"unknown face photo {name!r}; known: {', '.join(PHOTOS)}")


def _landmarks(rgb: np.ndarray, *, name: str = "the photo") -> tuple[np.ndarray, np.ndarray]:
    """(478, 3) landmarks in pixels (z scaled like x) and the 4x4 facial transformation matrix."""
    import mediapipe as mp
    from mediapipe.tasks.python import BaseOptions, vision

    from vigcv.io.quiet import native_stderr_silenced
    from vigcv.models import model_path

    options = vision.FaceLandmarkerOptions(
        base_options=BaseOptions(model_asset_path=str(model_path("face_landmarker"))),
        running_mode=vision.RunningMode.IMAGE,
        num_faces=1,
        output_facial_transformation_matrixes=True,
    )
    with (
        native_stderr_silenced(),
        vision.FaceLandmarker.create_from_options(options) as landmarker,
    ):
        image = mp.Image(image_format=mp.ImageFormat.SRGB, data=np.ascontiguousarray(rgb))
        result = landmarker.detect(image)
    if not result.face_landmarks:
        raise FaceFitError(
            f"the face landmarker found no face in {name}: it cannot be used as a synthetic face"
        )
    h, w = rgb.shape[:2]
    pts = np.array([[p.x * w, p.y * h, p.z * w] for p in result.face_landmarks[0]], np.float64)
    return pts, np.asarray(result.facial_transformation_matrixes[0], np.float64)


def _ring(pts: np.ndarray, center: np.ndarray, scale: float, back: float) -> np.ndarray:
    """The face oval scaled about ``center`` (less below the chin) and pushed back by ``back``."""
    out = pts[list(FACE_OVAL)].copy()
    rel = out[:, :2] - center[:2]
    down = np.clip(rel[:, 1] / np.linalg.norm(rel, axis=1), 0.0, 1.0)
    s = 1.0 + (scale - 1.0) * (1.0 - 0.85 * down**2)
    out[:, :2] = center[:2] + s[:, None] * rel
    out[:, 2] = out[:, 2] + back
    return out


def _smooth_weight(d2: np.ndarray, sigma: float) -> np.ndarray:
    return np.exp(-0.5 * d2 / sigma**2)


def _deformations(rest: np.ndarray, n_face: int) -> tuple[np.ndarray, np.ndarray]:
    """Smile and jaw displacement fields for vertices ``rest`` (face-height units)."""
    smile = np.zeros_like(rest)
    mouth_mid = rest[list(MOUTH_CORNERS)].mean(axis=0)
    for corner, side in zip(MOUTH_CORNERS, (-1.0, 1.0), strict=True):
        c = rest[corner]
        d2 = ((rest[:, :2] - c[:2]) ** 2).sum(axis=1)
        w = _smooth_weight(d2, 0.07)
        smile[:, 1] -= _SMILE_UP * w
        smile[:, 0] += side * _SMILE_OUT * w
        cheek = c[:2] + np.array([side * 0.03, -0.12])
        w_cheek = _smooth_weight(((rest[:, :2] - cheek) ** 2).sum(1), 0.08)
        smile[:, 1] -= 0.02 * w_cheek
    # The lips in the middle stretch sideways a little less; the upper lip rises slightly.
    smile[list(INNER_UPPER_LIP), 1] -= 0.008
    jaw = np.zeros_like(rest)
    y0 = mouth_mid[1]
    below = np.clip((rest[:, 1] - y0) / 0.12, 0.0, 1.0)
    below = below * below * (3 - 2 * below)
    # The jaw turns about a hinge in front of the ears: the chin goes down and back, the jaw line
    # follows, the lower lip goes with the chin.
    half_width = 0.5 * (rest[list(MOUTH_CORNERS), 0].ptp() + 0.25)
    across = np.exp(-(((rest[:, 0] - mouth_mid[0]) / (_JAW_WIDTH * half_width)) ** 4))
    w = below * across
    lower = list(INNER_LOWER_LIP + OUTER_LOWER_LIP + LOWER_LIP_MID)
    w[lower] = 1.0
    w[list(MOUTH_CORNERS)] = 0.5
    w[n_face:] *= 0.6  # rings below the chin (neck) follow less
    hinge_y, hinge_z = float(rest[list(RIGHT_EYE + LEFT_EYE), 1].mean()) + 0.12, 0.35
    angle = np.radians(_JAW_DEG)
    jaw[:, 1] = angle * (hinge_z - rest[:, 2]) * w
    jaw[:, 2] = angle * (rest[:, 1] - hinge_y) * w
    smile += _SMILE_PARTS_LIPS * jaw
    return smile.astype(np.float32), jaw.astype(np.float32)


def _childlike(rest: np.ndarray) -> np.ndarray:
    """Child proportions: larger eyes, higher forehead, shorter lower face, rounder cheeks."""
    out = rest.copy()
    eye_y = rest[list(RIGHT_EYE + LEFT_EYE), 1].mean()
    for ring in (RIGHT_EYE, LEFT_EYE):
        c = rest[list(ring)].mean(axis=0)
        d2 = ((rest[:, :2] - c[:2]) ** 2).sum(axis=1)
        w = _smooth_weight(d2, 0.06)[:, None]
        out[:, :2] += 0.18 * w * (rest[:, :2] - c[:2])
    y = out[:, 1]
    out[:, 1] = np.where(y > eye_y, eye_y + (y - eye_y) * 0.84, eye_y + (y - eye_y) * 1.08)
    cheek = np.exp(-(((out[:, 1] - eye_y - 0.18) / 0.25) ** 2))
    out[:, 0] *= 1.0 + 0.09 * cheek
    nose = out[NOSE_TIP]
    dn = ((rest[:, :2] - rest[NOSE_TIP, :2]) ** 2).sum(axis=1)
    wn = _smooth_weight(dn, 0.06)[:, None]
    out[:, :] -= 0.2 * wn * (out - nose)
    out[:, 2] *= 0.9
    # Re-centre between forehead and chin.
    return out - 0.5 * (out[FOREHEAD] + out[CHIN]) * np.array([1.0, 1.0, 0.0])


def _vertex_colours(
    photo: np.ndarray,
    pts: np.ndarray,
    center: np.ndarray,
    texture: np.ndarray,
    uv: np.ndarray,
    n_face: int,
    hair_rgb: tuple[float, float, float] | None,
) -> np.ndarray:
    """Per-vertex colours: the blurred photo for the face; hair colour (``hair_rgb`` or the
    photo above the forehead) for the rings outside it, fading to skin below the chin."""
    blurred = cv2.GaussianBlur(texture, (0, 0), 2.0).astype(np.float32)
    xy = np.clip(np.round(uv).astype(int), 0, [texture.shape[1] - 1, texture.shape[0] - 1])
    colours = blurred[xy[:, 1], xy[:, 0]]
    top = _ring(pts, center, 1.25, 0.0)
    rel = top[:, :2] - center[:2]
    up = -rel[:, 1] / np.linalg.norm(rel, axis=1)
    hair_xy = np.round(top[up > 0.75, :2]).astype(int)
    hair_xy = np.clip(hair_xy, 0, [photo.shape[1] - 1, photo.shape[0] - 1])
    hair = np.median(photo[hair_xy[:, 1], hair_xy[:, 0]].astype(np.float32), axis=0) * 0.85
    if hair_rgb is not None:
        hair = np.asarray(hair_rgb, np.float32)
    cheeks = np.round(pts[[50, 280, 205, 425], :2]).astype(int)
    skin = np.median(photo[cheeks[:, 1], cheeks[:, 0]].astype(np.float32), axis=0)
    n_ring = len(FACE_OVAL)
    down = np.clip(-up, 0.0, 1.0)
    w_skin = np.clip((down - 0.45) / 0.35, 0.0, 1.0)[:, None]
    outer = (1 - w_skin) * hair + w_skin * skin * 0.8
    for k in (0, 1, 2):
        start = n_face + k * n_ring
        colours[start : start + n_ring] = outer * (1.0 - 0.08 * k)
    return colours.astype(np.float32)


def _point_in_poly(points: np.ndarray, poly: np.ndarray) -> np.ndarray:
    contour = poly.astype(np.float32).reshape(-1, 1, 2)
    return np.array(
        [cv2.pointPolygonTest(contour, (float(x), float(y)), False) > 0 for x, y in points]
    )


@lru_cache(maxsize=8)
def fit_face(name: str, *, child: bool = False) -> FaceModel:
    """Fit a head mesh to one of :data:`PHOTOS` (cached per process).

    Parameters
    ----------
    name : str
        One of :data:`PHOTOS`.
    child : bool
        Make the proportions and skin child-like (see :func:`_childlike`).
    """
    photo = load_photo(name)
    pts, matrix = _landmarks(photo, name=f"face photo {name!r}")
    n_face = len(pts)
    # Undo the head pose of the photo: MediaPipe's metric space has y up and z towards the camera.
    flip = np.diag([1.0, -1.0, -1.0])
    rot = flip @ matrix[:3, :3] @ flip
    face_h = float(np.linalg.norm(pts[FOREHEAD, :2] - pts[CHIN, :2]))
    center = 0.5 * (pts[FOREHEAD] + pts[CHIN])
    center[2] = pts[:, 2].mean()
    rings_px = [_ring(pts, center, s, b * face_h) for s, _, b in _RINGS]
    all_px = np.vstack([pts, *rings_px])
    uv_px = np.vstack([pts, *(_ring(pts, center, s, 0.0) for _, s, _ in _RINGS)])
    frontal = ((all_px - center) @ rot) / face_h  # rows: rot^T (p - c)
    frontal -= 0.5 * (frontal[FOREHEAD] + frontal[CHIN]) * np.array([1.0, 1.0, 0.0])

    # Texture: crop around the outermost ring.
    lo = np.floor(uv_px[:, :2].min(axis=0)).astype(int) - 4
    hi = np.ceil(uv_px[:, :2].max(axis=0)).astype(int) + 4
    lo = np.maximum(lo, 0)
    hi = np.minimum(hi, [photo.shape[1], photo.shape[0]])
    texture = photo[lo[1] : hi[1], lo[0] : hi[0]].copy()
    uv = (uv_px[:, :2] - lo).astype(np.float32)

    rest = frontal
    if child:
        rest = _childlike(rest)
        texture = cv2.bilateralFilter(texture, 7, 30, 5)
        texture = np.clip(texture.astype(np.float32) * [1.04, 1.0, 0.97] + 6, 0, 255).astype(
            np.uint8
        )
    smile_dir, jaw_dir = _deformations(rest, n_face)
    # Take the photo's own smile and mouth opening out of the rest shape.
    gap = float(rest[14, 1] - rest[13, 1])
    corner_lift = float(rest[list(MOUTH_CORNERS), 1].mean() - rest[[13, 14], 1].mean())
    smile0 = float(np.clip(-corner_lift / 0.06, 0.0, 1.0))
    open0 = max(gap, 0.0) / max(float(jaw_dir[14, 1] - jaw_dir[13, 1]), 1e-6)
    open0 = max(0.0, open0 - _SMILE_PARTS_LIPS * smile0)
    # Child proportions (rounder cheeks, shorter chin) read as a slight smile: take it out too.
    rest = rest - open0 * jaw_dir - (smile0 + (_CHILD_UNSMILE if child else 0.0)) * smile_dir

    shape_open = rest + _TRIANGULATE_OPEN * jaw_dir
    tri = Delaunay(shape_open[:, :2]).simplices.astype(np.int32)
    a, b, c = (shape_open[tri[:, k], :2] for k in range(3))
    cross = (b[:, 0] - a[:, 0]) * (c[:, 1] - a[:, 1]) - (b[:, 1] - a[:, 1]) * (c[:, 0] - a[:, 0])
    tri[cross < 0] = tri[cross < 0][:, [0, 2, 1]]
    lips = list(INNER_UPPER_LIP) + list(INNER_LOWER_LIP)
    centroids = shape_open[tri, :2].mean(axis=1)
    interior = _point_in_poly(centroids, shape_open[lips, :2])
    # Drop sliver triangles that bridge the concave gaps between the outer rings.
    edge = np.linalg.norm(shape_open[tri[:, [1, 2, 0]], :2] - shape_open[tri, :2], axis=2).max(1)
    keep = edge < 0.45
    tri, interior = tri[keep], interior[keep]
    shell = (tri >= n_face).any(axis=1)
    vertex_rgb = _vertex_colours(photo, pts, center, texture, uv, n_face, _HAIR_RGB[name])
    return FaceModel(
        name=name + ("+child" if child else ""),
        texture=texture,
        uv=uv,
        rest=rest.astype(np.float32),
        triangles=tri,
        interior=interior,
        smile_dir=smile_dir,
        jaw_dir=jaw_dir,
        shell=shell,
        vertex_rgb=vertex_rgb,
    )
