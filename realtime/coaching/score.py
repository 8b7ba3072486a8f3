"""The coach's one matcher: per-frame pose features and the 0-100 score of a person pose against a
benchmark pose. Offline (`repose coach`) and live coach mode both score with ``score_matrix``.

Features of a pose (compared in COCO-17, by keypoint name):
- Move Mirror's vector: the chosen keypoints cropped to their bounding box, scaled so the box's
  longer side is 1, flattened and L2-normalized (``matching.crop_normalize``, here vectorized over
  frames); a keypoint missing in a frame is put at the centroid of the present ones
  (``matching.pose_vector``'s rule);
- the joint angles of ``matching.JOINTS`` (elbows, shoulders, hips, knees) in degrees, NaN where a
  joint's three points are not all present.

Score of a pair (person frame, benchmark frame), with d the Euclidean distance of the two unit
vectors (sqrt(2 (1 - cosine))) and e the mean absolute angle difference over the joints present in
both, in degrees::

    score = 100 * exp(-((d / SIGMA_VECTOR) ** 2 + (e / SIGMA_ANGLE_DEG) ** 2) / 2)

SIGMA_VECTOR = 0.2 and SIGMA_ANGLE_DEG = 25: the same squat estimated twice (frames of one clip and
its half-speed copy) differs by d ~0.03 and e ~4 deg (score ~97); a standing pose against a deep
squat by d ~0.3 and e ~70 deg (score ~0); a basketball dribble against the nearest squat frame by
d ~0.28, e ~12 deg (score ~33).
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import Sequence

import numpy as np

from realtime.layouts import COCO17, KeypointLayout
from realtime.matching import JOINTS
from realtime.pose import MIN_SCORE, Pose

SIGMA_VECTOR = 0.2
SIGMA_ANGLE_DEG = 25.0
JOINT_NAMES: tuple[str, ...] = tuple(JOINTS)
_JOINT_IDX = np.array([[COCO17.index[n] for n in JOINTS[j]] for j in JOINT_NAMES])  # (8, 3)


def _angles(xy: np.ndarray, present: np.ndarray) -> np.ndarray:
    """(T, 8) joint angles in degrees from (T, 17, 2) COCO-17 points, NaN where a point is missing."""
    a, b, c = (xy[:, _JOINT_IDX[:, k]] for k in range(3))           # (T, 8, 2) each
    v1, v2 = a - b, c - b
    n1, n2 = np.linalg.norm(v1, axis=2), np.linalg.norm(v2, axis=2)
    with np.errstate(invalid="ignore", divide="ignore"):
        cos = np.einsum("tjk,tjk->tj", v1, v2) / (n1 * n2)
    ang = np.degrees(np.arccos(np.clip(cos, -1.0, 1.0)))
    ok = present[:, _JOINT_IDX].all(axis=2) & (n1 > 1e-9) & (n2 > 1e-9)
    return np.where(ok, ang, np.nan)


@dataclass(frozen=True)
class Features:
    """Per-frame features of a sequence of poses.

    vectors: (T, 2K) Move Mirror unit vectors of the chosen K keypoints (rows of zeros where no pose).
    angles: (T, 8) joint angles in degrees (``JOINT_NAMES`` order), NaN where missing.
    found: (T,) bool, a pose was there.
    """

    vectors: np.ndarray
    angles: np.ndarray
    found: np.ndarray

    def __len__(self) -> int:
        return len(self.found)

    def __getitem__(self, s: slice) -> "Features":
        return Features(self.vectors[s], self.angles[s], self.found[s])


def coco_arrays(poses: Sequence[Pose | None], mirror: bool = False,
                min_score: float = MIN_SCORE) -> tuple[np.ndarray, np.ndarray]:
    """(T, 17, 2) COCO-17 points and (T, 17) presence of poses, matched by keypoint name (a keypoint
    the pose's layout lacks is absent); mirrored: x negated, left and right swapped."""
    xy = np.zeros((len(poses), len(COCO17), 2))
    score = np.zeros((len(poses), len(COCO17)))
    for t, p in enumerate(poses):
        if p is None:
            continue
        idx = _coco_index(p.layout)
        have = idx >= 0                     # COCO-17 keypoints the layout lacks stay absent
        xy[t, have], score[t, have] = p.xy[idx[have]], p.score[idx[have]]
    if mirror:
        flip = COCO17.flip_indices
        xy, score = xy[:, flip] * np.array([-1.0, 1.0]), score[:, flip]
    return xy, score >= min_score


@lru_cache(maxsize=None)
def _coco_index(layout: KeypointLayout) -> np.ndarray:
    """(17,) index of each COCO-17 keypoint in ``layout`` by name, -1 where the layout has none."""
    return np.array([layout.index.get(name, -1) for name in COCO17.names])


def features(poses: Sequence[Pose | None], keypoints: np.ndarray | None = None, mirror: bool = False,
             min_score: float = MIN_SCORE) -> Features:
    """Features of each pose; ``keypoints`` (17,) bool chooses the COCO-17 keypoints of the vector
    (default: all). ``mirror`` mirrors every pose first (x negated, left and right swapped)."""
    xy, present = coco_arrays(poses, mirror, min_score)
    keep = np.ones(len(COCO17), bool) if keypoints is None else np.asarray(keypoints, bool)
    p, m = xy[:, keep], present[:, keep]                                  # (T, K, 2), (T, K)
    found = m.sum(axis=1) >= 2
    w = m[..., None]
    centroid = (p * w).sum(axis=1) / np.maximum(w.sum(axis=1), 1)          # (T, 2)
    p = np.where(w, p, centroid[:, None, :])            # a missing keypoint sits at the centroid
    lo = np.where(w, p, np.inf).min(axis=1)
    hi = np.where(w, p, -np.inf).max(axis=1)
    lo, hi = np.where(found[:, None], lo, 0.0), np.where(found[:, None], hi, 0.0)
    extent = (hi - lo).max(axis=1)
    found &= extent > 1e-9
    v = ((p - lo[:, None, :]) / np.where(found, extent, 1.0)[:, None, None]).reshape(len(p), -1)
    norm = np.linalg.norm(v, axis=1, keepdims=True)
    vectors = np.where(found[:, None], v / np.where(norm > 0, norm, 1.0), 0.0)   # = crop_normalize
    angles = _angles(xy, present)
    angles[~found] = np.nan
    return Features(vectors, angles, found)


def score_matrix(a: Features, b: Features) -> np.ndarray:
    """(len(a), len(b)) scores in [0, 100] of every pair of frames (0 where either has no pose)."""
    out = np.empty((len(a), len(b)))
    rows = max(1, 2_000_000 // max(1, len(b) * len(JOINT_NAMES)))              # bounded memory
    for i in range(0, len(a), rows):
        ai = a[i:i + rows]
        d2 = np.clip(2.0 - 2.0 * ai.vectors @ b.vectors.T, 0.0, None)         # |u - v|^2 of unit vectors
        diff = np.abs(ai.angles[:, None, :] - b.angles[None, :, :])             # (n, M, 8), NaN missing
        n = np.sum(~np.isnan(diff), axis=2)
        e = np.where(n > 0, np.nansum(diff, axis=2) / np.maximum(n, 1), 0.0)
        s = 100.0 * np.exp(-0.5 * (d2 / SIGMA_VECTOR ** 2 + (e / SIGMA_ANGLE_DEG) ** 2))
        out[i:i + rows] = np.where(ai.found[:, None] & b.found[None, :], s, 0.0)
    return out


def pair_scores(a: Features, b: Features) -> np.ndarray:
    """Scores of row-aligned pairs (a[i] with b[i]): the diagonal of ``score_matrix``, in O(T)."""
    d2 = np.clip(2.0 - 2.0 * np.einsum("ij,ij->i", a.vectors, b.vectors), 0.0, None)
    diff = np.abs(a.angles - b.angles)
    n = np.sum(~np.isnan(diff), axis=1)
    e = np.where(n > 0, np.nansum(diff, axis=1) / np.maximum(n, 1), 0.0)
    s = 100.0 * np.exp(-0.5 * (d2 / SIGMA_VECTOR ** 2 + (e / SIGMA_ANGLE_DEG) ** 2))
    return np.where(a.found & b.found, s, 0.0)


def pose_score(person: Pose, benchmark: Pose, mirror: bool = False, min_score: float = MIN_SCORE) -> float:
    """The score of one pose against one benchmark pose (live coach mode), over the keypoints present
    in both; with ``mirror`` the benchmark is also tried mirrored and the better score kept."""
    xa, pa = coco_arrays([person], min_score=min_score)
    best = 0.0
    for flip in ((False, True) if mirror else (False,)):
        xb, pb = coco_arrays([benchmark], flip, min_score)
        both = pa[0] & pb[0]
        if both.sum() < 2:
            continue
        fa = features([person], both, min_score=min_score)
        fb = features([benchmark], both, mirror=flip, min_score=min_score)
        best = max(best, float(pair_scores(fa, fb)[0]))
    return best
