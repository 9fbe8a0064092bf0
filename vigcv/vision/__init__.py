"""Vision: find, track and measure the parent's and the child's faces; write the overlay video.

How it works (one streaming pass, then cheap array work; numbers from scripts/bench_vision.py on
the 28 real clips of ../shared/eval/parent-child, 7.1 min, 640x480):

1. ``detect``: CenterFace on the whole frame at 256 px wide (4 ms/frame on one core; at full
   640 px it is 25 ms and finds both faces no more often), plus a second look at 160 px with a
   lower threshold around the two main faces when this frame's detection missed one (``roi_*``;
   all regions of a frame in one batched call). ``detect_every`` > 1 runs the whole-frame
   detector on every Nth frame only and follows the faces by region search in between (falling
   back to the whole frame when a face slips out of its region): 5-20% less CPU, but on the
   real clips both faces are found in 93-94% of frames instead of 96% and identities swap more,
   so the default stays 1.
2. ``track``: Hungarian matching on centre distance (in face sizes) + log size ratio, with a
   gate that widens while a face is missing; afterwards tracks are linked into two
   identities (the two longest co-occurring tracks seed them; others join the one they do not
   co-occur with and are closest to), and stray detections fill an identity's empty frames.
   Gaps up to 1 s are interpolated (``visible`` = 0.6 there).
3. ``landmarks``: the face mesh and blendshape models of MediaPipe's FaceLandmarker bundle,
   rebuilt for onnxruntime, on an upright square crop of each face (1.5x its box, turned so that
   CenterFace's eye points are level) every 4th analysed frame (every 8th while the mesh model
   sees no face there), alternately the crop and its mirror image (their errors differ; averaged
   over time), giving head pose (Procrustes fit of the canonical face), eye direction from the
   eyeLook blendshapes (or the iris in the mesh), mouthSmile, jawOpen and mouth geometry. The
   bundle's own detector, which found the parent in only ~35% of labelled frames, is not used:
   the mesh also measures 3/4 views and most profiles. Where it still fails, yaw comes from
   CenterFace's five points (a linear fit to the landmarker's yaw) and the smile is held for up
   to 5 s.
4. ``roles``: the face that is larger in most frames with both faces is the parent (confidence
   from the consistency and the size ratio), or the side the user gives (``parent_side``).
   Stretches (>= 0.5 s) where, with both faces detected, the parent is on the child's usual side
   *and* has the smaller face are taken as identity swaps and swapped back (a child who really
   crosses over keeps her smaller face); on the real clips this halves the swaps (4 -> 2).
5. ``signals`` / ``social``: smile = logistic in the logit of the smile blendshape, averaged
   over neighbouring measurements, corrected for head turn, relative to the person's own resting
   level (a low quantile over the session, shrunk to a prior for short clips); heads placed in
   3-D from face size; looking at the other = logistic in the angle between gaze and the
   direction to the other's head (or, ``looks_at_model = "towards"``, in the gaze yaw towards
   the other's side); mutual gaze = min of the two.

Sign conventions (checked on the real clips): yaw > 0 turns towards image left, pitch > 0 up;
gaze vectors are in camera coordinates, x right, y down, z into the scene.
"""

from vigcv.vision.extract import EXTRA_DYAD_COLUMNS, EXTRA_PERSON_COLUMNS, extract_vision
from vigcv.vision.overlay import write_overlay

__all__ = ["EXTRA_DYAD_COLUMNS", "EXTRA_PERSON_COLUMNS", "extract_vision", "write_overlay"]
