"""The driver's face: MediaPipe Face Mesh (468 landmarks + 10 iris points) on the face region the
pose gives, and the expression (the face's displacement from its own neutral face, in face units).

Coordinates: `Face.xy` in pixels of the frame it was found in (x right, y down); `Face.z` relative
depth in the same pixel scale (smaller = nearer). The *face frame* normalizes a face: origin at
the mean of the eye corners and the nose bridge, x along the line from the right eye's outer corner
(landmark 33) to the left eye's (263), unit = the 3-D distance between the cheek points 234 and 454
(the face width; turning the head leaves it unchanged).

Measures (Face Mesh indices; the README's evaluation section uses them):
- mouth opening: inner-lip distance 13-14 over the face width 234-454;
- eye opening: mean of the lid distances 159-145 and 386-374 over the face width;
- roll: angle of the eye line 33 -> 263 in degrees (image y down: clockwise positive).

`FaceTracker` (estimator + neutral + mirror) gives one `Expression` per driver frame: the delta of
every landmark in the face frame from the neutral face (captured at calibration, or the mean of the
first `neutral_frames` faces found), with head yaw/pitch beyond ``max_turn_deg`` taken out (a single
photo cannot bear more: the face would tear).
"""
from __future__ import annotations

import logging
import time
from dataclasses import dataclass, replace

import numpy as np

from realtime.pose import MIN_SCORE, Pose

log = logging.getLogger(__name__)

N_LANDMARKS = 478
CHEEKS = (234, 454)
EYE_LINE = (33, 263)
INNER_LIPS = (13, 14)
LIDS = ((159, 145), (386, 374))
FRAME_POINTS = (33, 133, 362, 263, 168, 6)
#: the inner-lip loop (the mouth opening), in order
INNER_LIP_LOOP = (78, 191, 80, 81, 82, 13, 312, 311, 310, 415, 308, 324, 318, 402, 317, 14, 87, 178, 88, 95)
FACE_KEYPOINTS = ("nose", "left_eye", "right_eye", "left_ear", "right_ear")


@dataclass(frozen=True, eq=False)
class Face:
    """One face's landmarks: xy (478, 2) float32 px, z (478,) float32 px, in a frame of width x height."""

    xy: np.ndarray
    z: np.ndarray
    width: int
    height: int
    timestamp_s: float | None = None

    def flipped(self) -> "Face":
        """The mirror image (x -> width - x, left and right landmarks swapped)."""
        perm = mirror_permutation()
        xy = self.xy[perm].copy()
        xy[:, 0] = self.width - xy[:, 0]
        return replace(self, xy=xy, z=self.z[perm].copy())


# -- measures ---------------------------------------------------------------------------------------
def face_width(xy: np.ndarray, z: np.ndarray | None = None) -> float:
    """3-D distance between the cheek points 234 and 454 (2-D when z is None), px."""
    d = xy[CHEEKS[1]] - xy[CHEEKS[0]]
    dz = 0.0 if z is None else float(z[CHEEKS[1]] - z[CHEEKS[0]])
    return float(np.sqrt(d @ d + dz * dz))


def mouth_opening(face: Face) -> float:
    """Inner-lip distance 13-14 over the 2-D face width 234-454."""
    return float(np.linalg.norm(face.xy[INNER_LIPS[0]] - face.xy[INNER_LIPS[1]])) / max(face_width(face.xy), 1e-6)


def eye_opening(face: Face) -> float:
    """Mean lid distance (159-145, 386-374) over the 2-D face width."""
    d = np.mean([np.linalg.norm(face.xy[a] - face.xy[b]) for a, b in LIDS])
    return float(d) / max(face_width(face.xy), 1e-6)


def roll_deg(face: Face) -> float:
    """Angle of the eye line 33 -> 263, degrees (0 = level; positive = clockwise in the image)."""
    v = face.xy[EYE_LINE[1]] - face.xy[EYE_LINE[0]]
    return float(np.degrees(np.arctan2(v[1], v[0])))


def face_frame(xy: np.ndarray, z: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray, float]:
    """(origin (2,), rotation R (2x2, face frame -> image), unit px) of a face: see the module doc."""
    origin = xy[list(FRAME_POINTS)].mean(axis=0)
    v = xy[EYE_LINE[1]] - xy[EYE_LINE[0]]
    a = float(np.arctan2(v[1], v[0]))
    rot = np.array([[np.cos(a), -np.sin(a)], [np.sin(a), np.cos(a)]])
    return origin, rot, max(face_width(xy, z), 1e-6)


def normalize(xy: np.ndarray, z: np.ndarray | None = None) -> np.ndarray:
    """Landmarks in the face frame, (N, 2) float64 (face widths)."""
    origin, rot, unit = face_frame(xy, z)
    return (np.asarray(xy, np.float64) - origin) @ rot / unit


def denormalize(nxy: np.ndarray, origin: np.ndarray, rot: np.ndarray, unit: float) -> np.ndarray:
    """Face-frame points back to pixels of the frame (origin, rot, unit) describes."""
    return np.asarray(nxy, np.float64) * unit @ rot.T + origin


# -- mirror -----------------------------------------------------------------------------------------
_MIRROR: np.ndarray | None = None


def mirror_permutation() -> np.ndarray:
    """(478,) index of every landmark's mirror twin (the midline maps to itself)."""
    global _MIRROR
    if _MIRROR is None:
        from realtime.face_symmetry import MIRROR

        _MIRROR = np.asarray(MIRROR, np.int64)
    return _MIRROR


# -- expression -------------------------------------------------------------------------------------
@dataclass(frozen=True, eq=False)
class Expression:
    """The driver's face relative to their neutral face.

    delta: (478, 2) float64 displacement of every landmark in the face frame (face widths).
    yaw_deg, pitch_deg: head turn from neutral estimated from the delta (before clamping).
    roll_deg: eye-line angle change from neutral (image degrees, clockwise positive).
    size: the face's 3-D width (``face_width`` with z) over the neutral's: how much nearer the camera
    the head came, whichever way it turns (None: unknown).
    mouth, eyes: the driver's mouth and eye opening (face widths), for the HUD and measures.
    """

    delta: np.ndarray
    yaw_deg: float = 0.0
    pitch_deg: float = 0.0
    roll_deg: float = 0.0
    mouth: float = 0.0
    eyes: float = 0.0
    timestamp_s: float | None = None
    size: float | None = None


def _turn_fit(d: np.ndarray, n: np.ndarray, zn: np.ndarray) -> tuple[float, float]:
    """Least-squares d ~ a * z + b * n + c: a ~ sin(turn), b ~ cos(turn) - 1."""
    a = np.stack([zn, n - n.mean(), np.ones_like(zn)], axis=1)
    sol, *_ = np.linalg.lstsq(a, d, rcond=None)
    return float(sol[0]), float(sol[1])


def expression(face: Face, neutral: Face, max_turn_deg: float = 25.0) -> Expression:
    """The expression of ``face`` relative to ``neutral`` (same person, same camera, same mirror)."""
    nn = normalize(neutral.xy, neutral.z)
    nf = normalize(face.xy, face.z)
    unit = face_width(neutral.xy, neutral.z)
    zn = (neutral.z - neutral.z.mean()) / max(unit, 1e-6)
    d = nf - nn
    turns = []
    lim = np.sin(np.radians(max_turn_deg))
    for axis in (0, 1):  # yaw moves x with depth, pitch moves y
        a, b = _turn_fit(d[:, axis], nn[:, axis], zn)
        turns.append(float(np.degrees(np.arcsin(np.clip(a, -1, 1)))))
        if abs(a) > lim:
            over = a - np.sign(a) * lim
            d[:, axis] -= over * zn
    roll = roll_deg(face) - roll_deg(neutral)
    size = face_width(face.xy, face.z) / max(unit, 1e-6)
    return Expression(d, turns[0], turns[1], roll, mouth_opening(face), eye_opening(face), face.timestamp_s, size)


def mean_face(faces: list[Face]) -> Face:
    """The mean of several faces in the face frame of the first (a steadier neutral)."""
    origin, rot, unit = face_frame(faces[0].xy, faces[0].z)
    nxy = np.mean([normalize(f.xy, f.z) for f in faces], axis=0)
    z = np.mean([(f.z - f.z.mean()) / face_width(f.xy, f.z) for f in faces], axis=0) * unit
    return replace(faces[0], xy=denormalize(nxy, origin, rot, unit).astype(np.float32), z=z.astype(np.float32))


# -- estimation -------------------------------------------------------------------------------------
def face_box(pose: Pose | None, width: int, height: int, min_score: float = MIN_SCORE
             ) -> tuple[int, int, int, int] | None:
    """(x0, y0, x1, y1) px of a square around the head from the pose's face keypoints, or None when
    the pose shows too little of the face (fewer than 3 of nose, eyes, ears)."""
    if pose is None:
        return None
    ix = pose.layout.index
    ok = pose.present(min_score)
    pts = np.array([pose.xy[ix[n]] for n in FACE_KEYPOINTS if n in ix and ok[ix[n]]], np.float64)
    if len(pts) < 3:
        return None
    centre = pts.mean(axis=0)
    span = float(np.ptp(pts, axis=0).max())
    side = max(2.6 * span, 48.0)
    if all(n in ix and ok[ix[n]] for n in ("left_shoulder", "right_shoulder")):
        sw = float(np.linalg.norm(pose.xy[ix["left_shoulder"]] - pose.xy[ix["right_shoulder"]]))
        side = max(side, 0.9 * sw)
    x0, y0 = int(centre[0] - side / 2), int(centre[1] - side / 2)
    x1, y1 = int(centre[0] + side / 2), int(centre[1] + side / 2)
    x0, y0, x1, y1 = max(0, x0), max(0, y0), min(width, x1), min(height, y1)
    if x1 - x0 < 32 or y1 - y0 < 32:
        return None
    return x0, y0, x1, y1


class FaceMeshEstimator:
    """MediaPipe Face Mesh with iris (refine_landmarks) on a crop around the head.

    mode: "video" (tracks between frames: call with frames in time order) or "image". The crop comes
    from the pose's face keypoints; it is kept while the head stays well inside it (tracking works on
    a steady crop), and the whole frame is used without a pose. ``ms`` is the last call's time.
    """

    def __init__(self, mode: str = "video", min_confidence: float = 0.5) -> None:
        import mediapipe as mp

        if mode not in ("video", "image"):
            raise ValueError(f"face mesh mode must be 'video' or 'image', got {mode!r}")
        self._mesh = mp.solutions.face_mesh.FaceMesh(
            static_image_mode=mode == "image", max_num_faces=1, refine_landmarks=True,
            min_detection_confidence=min_confidence, min_tracking_confidence=min_confidence)
        self._box: tuple[int, int, int, int] | None = None
        self.ms = 0.0

    def _crop(self, pose: Pose | None, w: int, h: int) -> tuple[int, int, int, int]:
        box = face_box(pose, w, h)
        if box is None:
            return self._box or (0, 0, w, h)
        old = self._box
        if old is not None:
            side = old[2] - old[0]
            c_old = np.array([(old[0] + old[2]) / 2, (old[1] + old[3]) / 2])
            c_new = np.array([(box[0] + box[2]) / 2, (box[1] + box[3]) / 2])
            if (np.abs(c_new - c_old).max() < 0.12 * side
                    and 0.85 < (box[2] - box[0]) / max(side, 1) < 1.18):
                return old
        self._box = box
        return box

    def detect(self, image_bgr: np.ndarray, pose: Pose | None = None, t: float | None = None) -> Face | None:
        """The face in a BGR uint8 frame (pose: the frame's pose, for the crop), or None."""
        import cv2

        t0 = time.perf_counter()
        h, w = image_bgr.shape[:2]
        x0, y0, x1, y1 = self._crop(pose, w, h)
        rgb = cv2.cvtColor(image_bgr[y0:y1, x0:x1], cv2.COLOR_BGR2RGB)
        res = self._mesh.process(rgb)
        self.ms = (time.perf_counter() - t0) * 1000.0
        if not res.multi_face_landmarks:
            self._box = None
            return None
        lm = res.multi_face_landmarks[0].landmark
        cw, ch = x1 - x0, y1 - y0
        arr = np.array([(p.x, p.y, p.z) for p in lm], np.float32)
        xy = arr[:, :2] * np.array([cw, ch], np.float32) + np.array([x0, y0], np.float32)
        return Face(xy, arr[:, 2] * np.float32(cw), w, h, t)

    def close(self) -> None:
        self._mesh.close()

    def __enter__(self) -> "FaceMeshEstimator":
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def mirrored(expr: Expression) -> Expression:
    """The expression of the mirror image (left and right landmarks swapped, x negated in the face
    frame, turns and roll reversed)."""
    d = expr.delta[mirror_permutation()].copy()
    d[:, 0] = -d[:, 0]
    return replace(expr, delta=d, yaw_deg=-expr.yaw_deg, roll_deg=-expr.roll_deg)


class FaceTracker:
    """Driver frames -> Expression (one instance per run, frames in time order).

    neutral: the driver's neutral face (a calibration profile's, camera orientation), else the mean
    of the first ``neutral_frames`` faces found. mirror: the driver is mirrored (as the pose is; a
    call may override it). A face lost for up to ``hold_frames`` frames keeps the last expression;
    then None (the photo's own face).
    """

    def __init__(self, neutral: Face | None = None, mirror: bool = False, neutral_frames: int = 5,
                 hold_frames: int = 5, max_turn_deg: float = 25.0, mode: str = "video") -> None:
        self.estimator = FaceMeshEstimator(mode)
        self.mirror = mirror
        self.neutral = neutral
        self._first: list[Face] = []
        self._n = neutral_frames
        self._hold = hold_frames
        self._lost = 0
        self._last: Expression | None = None
        self.max_turn_deg = max_turn_deg
        self.last_face: Face | None = None

    @property
    def ms(self) -> float:
        return self.estimator.ms

    def __call__(self, image_bgr: np.ndarray, pose: Pose | None, t: float | None = None,
                 mirror: bool | None = None) -> Expression | None:
        """The expression in this frame (BGR; pose: its pose in camera orientation, for the crop)."""
        face = self.estimator.detect(image_bgr, pose, t)
        self.last_face = face
        mirror = self.mirror if mirror is None else mirror
        if face is None:
            self._lost += 1
            last = self._last if self._lost <= self._hold else None
        else:
            self._lost = 0
            if self.neutral is None:
                self._first.append(face)
                neutral = mean_face(self._first)
                if len(self._first) >= self._n:
                    self.neutral = neutral
            else:
                neutral = self.neutral
            last = self._last = expression(face, neutral, self.max_turn_deg)
        return mirrored(last) if (mirror and last is not None) else last

    def recalibrate(self) -> None:
        """Forget the neutral face: the next faces found become the new one."""
        self.neutral = None
        self._first = []

    def close(self) -> None:
        self.estimator.close()
