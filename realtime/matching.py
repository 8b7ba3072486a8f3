"""Pose matching as Move Mirror does it, in pure NumPy (no I/O).

A pose becomes a vector: crop to the bounding box of its keypoints, scale uniformly so the box's
longer side is ``CROP_SIZE``, flatten the (x, y) pairs and L2-normalize. Two unit vectors are then
compared by cosine similarity and by Euclidean distance (sqrt(2 * (1 - cos)), the same ordering).
A confidence-weighted distance (Move Mirror's) weighs each keypoint's distance by its confidence.
Only keypoints present in both poses count, and both poses are cropped to the bounding box of those
keypoints, so a keypoint missing in one pose changes neither the crop nor the vectors.

Comparisons run in COCO-17 (the layout every estimator can give): poses in other layouts are
converted by keypoint name first. Joint angles (elbows, shoulders, hips, knees) tell a person what
to fix.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from realtime.layouts import COCO17
from realtime.pose import MIN_SCORE, Pose

CROP_SIZE = 1.0

# joint -> (end, vertex, end): the angle at the vertex, in degrees, in [0, 180].
JOINTS: dict[str, tuple[str, str, str]] = {
    "left_elbow": ("left_shoulder", "left_elbow", "left_wrist"),
    "right_elbow": ("right_shoulder", "right_elbow", "right_wrist"),
    "left_shoulder": ("left_hip", "left_shoulder", "left_elbow"),
    "right_shoulder": ("right_hip", "right_shoulder", "right_elbow"),
    "left_hip": ("left_shoulder", "left_hip", "left_knee"),
    "right_hip": ("right_shoulder", "right_hip", "right_knee"),
    "left_knee": ("left_hip", "left_knee", "left_ankle"),
    "right_knee": ("right_hip", "right_knee", "right_ankle"),
}

# What to say when the person's angle is larger / smaller than the benchmark's.
_ADVICE: dict[str, tuple[str, str]] = {
    "elbow": ("bend {side} elbow {deg:.0f}°", "straighten {side} elbow {deg:.0f}°"),
    "knee": ("bend {side} knee {deg:.0f}°", "straighten {side} knee {deg:.0f}°"),
    "shoulder": ("lower {side} arm {deg:.0f}°", "raise {side} arm {deg:.0f}°"),
    "hip": ("bend {side} hip {deg:.0f}°", "open {side} hip {deg:.0f}°"),
}


def _coco(pose: Pose) -> Pose:
    return pose.to_layout(COCO17)


def crop_normalize(xy: np.ndarray, mask: np.ndarray, size: float = CROP_SIZE) -> np.ndarray:
    """Move Mirror's vector of the masked keypoints: bbox crop, uniform scale to ``size``, flatten, L2.

    xy: (K, 2) pixels; mask: (K,) bool. Returns a unit vector of length 2 * mask.sum() (all zeros
    when fewer than two keypoints or a degenerate box make it undefined).
    """
    p = np.asarray(xy, np.float64)[np.asarray(mask, bool)]
    if len(p) < 2:
        return np.zeros(2 * len(p))
    lo = p.min(axis=0)
    extent = float((p.max(axis=0) - lo).max())
    if extent <= 1e-9:
        return np.zeros(p.size)
    v = ((p - lo) * (size / extent)).ravel()
    n = np.linalg.norm(v)
    return v / n if n > 0 else v


def cosine_similarity(u: np.ndarray, v: np.ndarray) -> float:
    """Cosine of the angle between two vectors (0 when either is zero), clipped to [-1, 1]."""
    nu, nv = np.linalg.norm(u), np.linalg.norm(v)
    if nu == 0 or nv == 0:
        return 0.0
    return float(np.clip(np.dot(u, v) / (nu * nv), -1.0, 1.0))


def euclidean_from_cosine(cos: float) -> float:
    """Distance between two unit vectors with the given cosine: sqrt(2 * (1 - cos))."""
    return float(np.sqrt(max(0.0, 2.0 * (1.0 - cos))))


def weighted_distance(u: np.ndarray, v: np.ndarray, conf: np.ndarray) -> float:
    """Move Mirror's confidence-weighted distance of two (2K,) vectors: sum conf_i |u_i - v_i| / sum conf_i.

    |u_i - v_i| is the distance between keypoint i's (x, y) in the two vectors.
    """
    conf = np.asarray(conf, np.float64)
    if conf.size == 0 or conf.sum() <= 0:
        return float("nan")
    d = np.linalg.norm(u.reshape(-1, 2) - v.reshape(-1, 2), axis=1)
    return float((conf * d).sum() / conf.sum())


def joint_angles(pose: Pose, min_score: float = MIN_SCORE) -> dict[str, float]:
    """Angles in degrees at the elbows, shoulders, hips and knees (only those whose 3 points are present).

    Angles are measured in the image plane, in [0, 180].
    """
    p = _coco(pose)
    present = p.present(min_score)
    out: dict[str, float] = {}
    for joint, (a, b, c) in JOINTS.items():
        ia, ib, ic = (p.layout.index[n] for n in (a, b, c))
        if not (present[ia] and present[ib] and present[ic]):
            continue
        v1 = p.xy[ia].astype(np.float64) - p.xy[ib]
        v2 = p.xy[ic].astype(np.float64) - p.xy[ib]
        n1, n2 = np.linalg.norm(v1), np.linalg.norm(v2)
        if n1 < 1e-9 or n2 < 1e-9:
            continue
        out[joint] = float(np.degrees(np.arccos(np.clip(np.dot(v1, v2) / (n1 * n2), -1.0, 1.0))))
    return out


def advice_for(joint: str, error_deg: float) -> str:
    """What to do about one joint, given (person's angle - benchmark's angle) in degrees."""
    side, kind = joint.split("_", 1)
    larger, smaller = _ADVICE[kind]
    return (larger if error_deg > 0 else smaller).format(side=side, deg=abs(error_deg))


@dataclass(frozen=True)
class Comparison:
    """The result of comparing pose A (the person) with pose B (the benchmark).

    joint_angle_errors_deg: A's angle minus B's angle per joint (positive: A's joint is more open).
    mirrored: True when B was compared mirrored (``mirror=True`` and the mirror matched better).
    """

    cosine_similarity: float
    euclidean_distance: float
    weighted_distance: float
    keypoints_used: int
    joint_angle_errors_deg: dict[str, float] = field(default_factory=dict)
    mirrored: bool = False
    used: tuple[str, ...] = ()

    def worst_joints(self, n: int = 2, min_deg: float = 10.0) -> list[tuple[str, float]]:
        """The n joints with the largest angle error of at least ``min_deg`` degrees, worst first."""
        items = [(j, e) for j, e in self.joint_angle_errors_deg.items() if abs(e) >= min_deg]
        return sorted(items, key=lambda je: -abs(je[1]))[:n]

    def advice(self, n: int = 2, min_deg: float = 10.0) -> list[str]:
        """What to fix, worst first, e.g. ``["raise left arm 20°", "bend right knee 15°"]``."""
        return [advice_for(j, e) for j, e in self.worst_joints(n, min_deg)]

    def to_dict(self) -> dict:
        return {
            "cosine_similarity": self.cosine_similarity,
            "euclidean_distance": self.euclidean_distance,
            "weighted_distance": self.weighted_distance,
            "keypoints_used": self.keypoints_used,
            "joint_angle_errors_deg": dict(self.joint_angle_errors_deg),
            "mirrored": self.mirrored,
            "advice": self.advice(),
        }


def _compare_once(a: Pose, b: Pose, min_score: float) -> Comparison:
    both = a.present(min_score) & b.present(min_score)
    n = int(both.sum())
    if n < 2:
        return Comparison(0.0, euclidean_from_cosine(0.0), float("nan"), n)
    u = crop_normalize(a.xy, both)
    v = crop_normalize(b.xy, both)
    cos = cosine_similarity(u, v)
    conf = np.minimum(a.score[both], b.score[both])
    ang_a, ang_b = joint_angles(a, min_score), joint_angles(b, min_score)
    errors = {j: ang_a[j] - ang_b[j] for j in JOINTS if j in ang_a and j in ang_b}
    names = tuple(np.asarray(a.layout.names)[both])
    return Comparison(cos, euclidean_from_cosine(cos), weighted_distance(u, v, conf), n, errors, False, names)


def compare(a: Pose, b: Pose, *, mirror: bool = False, min_score: float = MIN_SCORE) -> Comparison:
    """Compare person pose A with benchmark pose B (any layouts; compared in COCO-17).

    With ``mirror=True`` B is also compared mirrored (left and right swapped) and the better match
    is returned, so a person facing the camera can copy a benchmark filmed as a mirror image.
    """
    ca, cb = _coco(a), _coco(b)
    result = _compare_once(ca, cb, min_score)
    if mirror:
        flipped = _compare_once(ca, cb.flipped(width=0.0), min_score)
        if flipped.keypoints_used >= 2 and flipped.cosine_similarity > result.cosine_similarity:
            result = Comparison(**{**flipped.__dict__, "mirrored": True})
    return result


def shared_cosine(a: Pose, b: Pose, min_score: float = MIN_SCORE) -> float:
    """Just the cosine similarity of ``compare(a, b)`` (no distances, no angles): for ranking."""
    ca, cb = _coco(a), _coco(b)
    both = ca.present(min_score) & cb.present(min_score)
    if both.sum() < 2:
        return 0.0
    return cosine_similarity(crop_normalize(ca.xy, both), crop_normalize(cb.xy, both))


def pose_vector(pose: Pose, min_score: float = MIN_SCORE) -> np.ndarray:
    """A fixed-length (34,) unit vector of a pose for indexing (COCO-17).

    Present keypoints are cropped and normalized as in ``crop_normalize``; a missing keypoint is put at
    the centroid of the present ones, so it pulls the vector as little as a fixed placement can.
    """
    p = _coco(pose)
    m = p.present(min_score)
    if m.sum() < 2:
        return np.zeros(2 * len(p.layout))
    xy = p.xy.astype(np.float64).copy()
    xy[~m] = xy[m].mean(axis=0)
    return crop_normalize(xy, m | ~m)
