"""Keypoint layouts as data: names, bones and left/right pairs, and conversions between layouts.

Three layouts are defined: MediaPipe-33 (BlazePose), COCO-17 and OpenPose-18 (COCO-18: the COCO
keypoints in OpenPose's order plus a neck at the shoulder midpoint). Keypoints are matched across
layouts by name; a keypoint a layout lacks can be *derived* (the neck) from others.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache

import numpy as np


@dataclass(frozen=True)
class KeypointLayout:
    """A named keypoint layout.

    ``bones`` are pairs of keypoint names; ``swap_pairs`` are (left, right) name pairs that a
    horizontal flip exchanges.
    """

    name: str
    names: tuple[str, ...]
    bones: tuple[tuple[str, str], ...]
    swap_pairs: tuple[tuple[str, str], ...]
    index: dict[str, int] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        index = {n: i for i, n in enumerate(self.names)}
        if len(index) != len(self.names):
            raise ValueError(f"layout {self.name}: duplicate keypoint names")
        for a, b in self.bones + self.swap_pairs:
            if a not in index or b not in index:
                raise ValueError(f"layout {self.name}: unknown keypoint in pair ({a}, {b})")
        object.__setattr__(self, "index", index)

    def __len__(self) -> int:
        return len(self.names)

    @property
    def bone_indices(self) -> np.ndarray:
        """(B, 2) int array of bone endpoints."""
        return np.array([(self.index[a], self.index[b]) for a, b in self.bones], dtype=np.int64)

    @property
    def flip_indices(self) -> np.ndarray:
        """Permutation that maps keypoint i to its mirror twin after a horizontal flip."""
        perm = np.arange(len(self.names))
        for a, b in self.swap_pairs:
            ia, ib = self.index[a], self.index[b]
            perm[ia], perm[ib] = ib, ia
        return perm


def _sym(*pairs: tuple[str, str]) -> tuple[tuple[str, str], ...]:
    return tuple(pairs)


MEDIAPIPE33 = KeypointLayout(
    name="mediapipe33",
    names=(
        "nose", "left_eye_inner", "left_eye", "left_eye_outer", "right_eye_inner", "right_eye",
        "right_eye_outer", "left_ear", "right_ear", "mouth_left", "mouth_right", "left_shoulder",
        "right_shoulder", "left_elbow", "right_elbow", "left_wrist", "right_wrist", "left_pinky",
        "right_pinky", "left_index", "right_index", "left_thumb", "right_thumb", "left_hip",
        "right_hip", "left_knee", "right_knee", "left_ankle", "right_ankle", "left_heel",
        "right_heel", "left_foot_index", "right_foot_index",
    ),
    bones=(
        ("nose", "left_eye_inner"), ("left_eye_inner", "left_eye"), ("left_eye", "left_eye_outer"),
        ("left_eye_outer", "left_ear"), ("nose", "right_eye_inner"), ("right_eye_inner", "right_eye"),
        ("right_eye", "right_eye_outer"), ("right_eye_outer", "right_ear"), ("mouth_left", "mouth_right"),
        ("left_shoulder", "right_shoulder"), ("left_shoulder", "left_elbow"), ("left_elbow", "left_wrist"),
        ("left_wrist", "left_pinky"), ("left_wrist", "left_index"), ("left_pinky", "left_index"),
        ("left_wrist", "left_thumb"), ("right_shoulder", "right_elbow"), ("right_elbow", "right_wrist"),
        ("right_wrist", "right_pinky"), ("right_wrist", "right_index"), ("right_pinky", "right_index"),
        ("right_wrist", "right_thumb"), ("left_shoulder", "left_hip"), ("right_shoulder", "right_hip"),
        ("left_hip", "right_hip"), ("left_hip", "left_knee"), ("left_knee", "left_ankle"),
        ("left_ankle", "left_heel"), ("left_heel", "left_foot_index"), ("left_ankle", "left_foot_index"),
        ("right_hip", "right_knee"), ("right_knee", "right_ankle"), ("right_ankle", "right_heel"),
        ("right_heel", "right_foot_index"), ("right_ankle", "right_foot_index"),
    ),
    swap_pairs=_sym(
        ("left_eye_inner", "right_eye_inner"), ("left_eye", "right_eye"), ("left_eye_outer", "right_eye_outer"),
        ("left_ear", "right_ear"), ("mouth_left", "mouth_right"), ("left_shoulder", "right_shoulder"),
        ("left_elbow", "right_elbow"), ("left_wrist", "right_wrist"), ("left_pinky", "right_pinky"),
        ("left_index", "right_index"), ("left_thumb", "right_thumb"), ("left_hip", "right_hip"),
        ("left_knee", "right_knee"), ("left_ankle", "right_ankle"), ("left_heel", "right_heel"),
        ("left_foot_index", "right_foot_index"),
    ),
)

COCO17 = KeypointLayout(
    name="coco17",
    names=(
        "nose", "left_eye", "right_eye", "left_ear", "right_ear", "left_shoulder", "right_shoulder",
        "left_elbow", "right_elbow", "left_wrist", "right_wrist", "left_hip", "right_hip",
        "left_knee", "right_knee", "left_ankle", "right_ankle",
    ),
    bones=(
        ("left_ankle", "left_knee"), ("left_knee", "left_hip"), ("right_ankle", "right_knee"),
        ("right_knee", "right_hip"), ("left_hip", "right_hip"), ("left_shoulder", "left_hip"),
        ("right_shoulder", "right_hip"), ("left_shoulder", "right_shoulder"), ("left_shoulder", "left_elbow"),
        ("right_shoulder", "right_elbow"), ("left_elbow", "left_wrist"), ("right_elbow", "right_wrist"),
        ("left_eye", "right_eye"), ("nose", "left_eye"), ("nose", "right_eye"), ("left_eye", "left_ear"),
        ("right_eye", "right_ear"), ("left_ear", "left_shoulder"), ("right_ear", "right_shoulder"),
    ),
    swap_pairs=_sym(
        ("left_eye", "right_eye"), ("left_ear", "right_ear"), ("left_shoulder", "right_shoulder"),
        ("left_elbow", "right_elbow"), ("left_wrist", "right_wrist"), ("left_hip", "right_hip"),
        ("left_knee", "right_knee"), ("left_ankle", "right_ankle"),
    ),
)

# OpenPose's COCO-18 order. Bones follow OpenPose's limb sequence (the first 17 are drawn).
OPENPOSE18 = KeypointLayout(
    name="openpose18",
    names=(
        "nose", "neck", "right_shoulder", "right_elbow", "right_wrist", "left_shoulder", "left_elbow",
        "left_wrist", "right_hip", "right_knee", "right_ankle", "left_hip", "left_knee", "left_ankle",
        "right_eye", "left_eye", "right_ear", "left_ear",
    ),
    bones=(
        ("neck", "right_shoulder"), ("neck", "left_shoulder"), ("right_shoulder", "right_elbow"),
        ("right_elbow", "right_wrist"), ("left_shoulder", "left_elbow"), ("left_elbow", "left_wrist"),
        ("neck", "right_hip"), ("right_hip", "right_knee"), ("right_knee", "right_ankle"),
        ("neck", "left_hip"), ("left_hip", "left_knee"), ("left_knee", "left_ankle"),
        ("neck", "nose"), ("nose", "right_eye"), ("right_eye", "right_ear"), ("nose", "left_eye"),
        ("left_eye", "left_ear"),
    ),
    swap_pairs=_sym(
        ("right_shoulder", "left_shoulder"), ("right_elbow", "left_elbow"), ("right_wrist", "left_wrist"),
        ("right_hip", "left_hip"), ("right_knee", "left_knee"), ("right_ankle", "left_ankle"),
        ("right_eye", "left_eye"), ("right_ear", "left_ear"),
    ),
)

LAYOUTS: dict[str, KeypointLayout] = {l.name: l for l in (MEDIAPIPE33, COCO17, OPENPOSE18)}

# Keypoints a layout may lack but can be computed from others: the mean of the sources,
# scored with the lowest source score (a derived point is only as sure as its weakest source).
DERIVED: dict[str, tuple[str, ...]] = {"neck": ("left_shoulder", "right_shoulder")}


def get_layout(name: str) -> KeypointLayout:
    """Layout by name, with an error that lists the known names."""
    try:
        return LAYOUTS[name]
    except KeyError:
        raise ValueError(f"unknown keypoint layout {name!r}: expected one of {', '.join(LAYOUTS)}") from None


def conversion_plan(src: KeypointLayout, dst: KeypointLayout) -> list[tuple[int, ...]]:
    """For each destination keypoint, the source indices it is the mean of.

    Raises ValueError when ``dst`` needs a keypoint that ``src`` neither has nor can derive.
    """
    plan: list[tuple[int, ...]] = []
    missing: list[str] = []
    for name in dst.names:
        if name in src.index:
            plan.append((src.index[name],))
        elif name in DERIVED and all(s in src.index for s in DERIVED[name]):
            plan.append(tuple(src.index[s] for s in DERIVED[name]))
        else:
            missing.append(name)
    if missing:
        raise ValueError(
            f"cannot convert {src.name} to {dst.name}: {src.name} has no {', '.join(missing)}"
        )
    return plan


def convert_arrays(
    xy: np.ndarray, score: np.ndarray, z: np.ndarray | None, src: KeypointLayout, dst: KeypointLayout
) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    """Convert (K,2) coordinates, (K,) scores and optional (K,) depths from ``src`` to ``dst``."""
    direct_dst, direct_src, derived = _indexed_plan(src, dst)
    out_xy = np.empty((len(dst), 2), dtype=np.float32)
    out_s = np.empty(len(dst), dtype=np.float32)
    out_z = None if z is None else np.empty(len(dst), dtype=np.float32)
    out_xy[direct_dst], out_s[direct_dst] = xy[direct_src], score[direct_src]
    if out_z is not None:
        out_z[direct_dst] = z[direct_src]
    for i, sel in derived:
        out_xy[i] = xy[sel].mean(axis=0)
        out_s[i] = score[sel].min()
        if out_z is not None:
            out_z[i] = z[sel].mean()
    return out_xy, out_s, out_z


@lru_cache(maxsize=None)
def _indexed_plan(src: KeypointLayout, dst: KeypointLayout):
    """``conversion_plan`` split into one-to-one index arrays and the derived points (cached)."""
    plan = conversion_plan(src, dst)
    direct = [(i, idx[0]) for i, idx in enumerate(plan) if len(idx) == 1]
    derived = [(i, list(idx)) for i, idx in enumerate(plan) if len(idx) != 1]
    return (np.array([d for d, _ in direct], np.int64), np.array([s for _, s in direct], np.int64), derived)
