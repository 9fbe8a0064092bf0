"""Vision: find, track and measure the parent's and the child's faces; write the overlay video.

How it works (one streaming pass, then cheap array work; numbers from scripts/bench_vision.py on
the 28 real clips of ../shared/eval/parent-child, 7.1 min, 640x480):

1. ``detect``: CenterFace on the whole frame at 256 px wide (5 ms/frame on one core; at full
   640 px it is 26 ms and finds both faces no more often), plus a second look at 160 px with a
   lower threshold around the two main faces when this frame's detection missed one (``roi_*``).
2. ``track``: Hungarian matching on centre distance (in face sizes) + log size ratio, with a gate
   that widens while a face is missing; afterwards tracks are linked into two identities (the two
   longest co-occurring tracks seed them; others join the one they do not co-occur with and are
   closest to), and stray detections fill an identity's empty frames. Gaps up to 1 s are
   interpolated (``visible`` = 0.6 there).
3. ``landmarks``: FaceLandmarker (IMAGE mode) on a square crop of each face every 4th analysed
   frame (every 8th while it keeps failing: strong profiles), giving head pose from the
   transformation matrix, eye direction from the eyeLook blendshapes, mouthSmile and jawOpen.
   Where it fails, yaw comes from CenterFace's five points (a linear fit to the landmarker's yaw).
4. ``roles``: the face that is larger in most frames with both faces is the parent (confidence
   from the consistency and the size ratio), or the side the user gives (``parent_side``).
5. ``social``: heads placed in 3-D from face size; looking at the other = logistic in the angle
   between gaze and the direction to the other's head; mutual gaze = min of the two.

Sign conventions (checked on the real clips): yaw > 0 turns towards image left, pitch > 0 up;
gaze vectors are in camera coordinates, x right, y down, z into the scene.
"""

from vigcv.vision.extract import EXTRA_DYAD_COLUMNS, EXTRA_PERSON_COLUMNS, extract_vision
from vigcv.vision.overlay import write_overlay

__all__ = ["EXTRA_DYAD_COLUMNS", "EXTRA_PERSON_COLUMNS", "extract_vision", "write_overlay"]
