"""18-channel OpenPose keypoint maps, the pose input of the PATN generator (Zhu et al., CVPR 2019).

One channel per OpenPose-18 keypoint (COCO-18 order: nose, neck, right_shoulder, ... left_ear).
A present keypoint is drawn either as a single 1 at its pixel ("points", what the thesis seed
describes: 0 everywhere but 1 where the keypoint is) or as a Gaussian bump exp(-d^2 / 2 sigma^2)
("gaussian", sigma in pixels of the map). A missing keypoint (score below the threshold, or
outside the map) leaves its channel empty: it is never a point in the corner.

Keypoints are given in pixels of the map (x right, y down, origin top-left).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from realtime.layouts import OPENPOSE18
from realtime.pose import MIN_SCORE, Pose

N_CHANNELS = len(OPENPOSE18)  # 18


@dataclass(frozen=True)
class PoseMapOptions:
    """How keypoints become map channels. sigma is in map pixels (gaussian mode only)."""

    mode: str = "gaussian"
    sigma: float = 2.0
    min_score: float = MIN_SCORE

    def __post_init__(self) -> None:
        if self.mode not in _DRAWERS:
            raise ValueError(f"pose map mode must be one of {', '.join(_DRAWERS)}, got {self.mode!r}")
        if self.mode == "gaussian" and not self.sigma > 0:
            raise ValueError(f"gaussian pose maps need sigma > 0 pixels, got {self.sigma}")


def keypoints18(pose: Pose, min_score: float = MIN_SCORE) -> np.ndarray:
    """(18, 2) float32 OpenPose-18 coordinates of ``pose``; missing keypoints are -1 (PATN's convention)."""
    p = pose.to_layout(OPENPOSE18)
    xy = p.xy.astype(np.float32).copy()
    xy[~p.present(min_score)] = -1.0
    return xy


def _draw_points(xy: np.ndarray, valid: np.ndarray, height: int, width: int, sigma: float) -> np.ndarray:
    maps = np.zeros((len(xy), height, width), np.float32)
    ix = np.floor(xy[:, 0]).astype(np.int64)
    iy = np.floor(xy[:, 1]).astype(np.int64)
    k = np.nonzero(valid)[0]
    maps[k, iy[k], ix[k]] = 1.0
    return maps


def _draw_gaussian(xy: np.ndarray, valid: np.ndarray, height: int, width: int, sigma: float) -> np.ndarray:
    ys = np.arange(height, dtype=np.float32)[None, :] + 0.5
    xs = np.arange(width, dtype=np.float32)[None, :] + 0.5
    gy = np.exp(-((ys - xy[:, 1:2]) ** 2) / (2 * sigma * sigma))  # (K, H)
    gx = np.exp(-((xs - xy[:, 0:1]) ** 2) / (2 * sigma * sigma))  # (K, W)
    maps = gy[:, :, None] * gx[:, None, :]
    maps[~valid] = 0.0
    return maps.astype(np.float32, copy=False)


_DRAWERS = {"points": _draw_points, "gaussian": _draw_gaussian}


def pose_maps(keypoints_xy: np.ndarray, height: int, width: int,
              options: PoseMapOptions = PoseMapOptions()) -> np.ndarray:
    """(18, height, width) float32 maps from (18, 2) keypoints in map pixels (-1 or NaN = missing).

    A keypoint outside the map is treated as missing (its channel stays empty).
    """
    xy = np.asarray(keypoints_xy, np.float32)
    if xy.shape != (N_CHANNELS, 2):
        raise ValueError(f"pose maps need (18, 2) OpenPose-18 keypoints, got {xy.shape}")
    finite = np.isfinite(xy).all(axis=1)
    safe = np.where(finite[:, None], xy, -1.0)
    valid = finite & (safe[:, 0] >= 0) & (safe[:, 1] >= 0) & (safe[:, 0] < width) & (safe[:, 1] < height)
    return _DRAWERS[options.mode](safe, valid, height, width, options.sigma)


def flip_keypoints18(xy: np.ndarray, width: int) -> np.ndarray:
    """OpenPose-18 keypoints of the horizontally mirrored image: x -> width - x, left/right swapped.

    Missing keypoints (-1) stay missing.
    """
    xy = np.asarray(xy, np.float32)
    out = xy[OPENPOSE18.flip_indices].copy()
    present = (out >= 0).all(axis=1)
    out[present, 0] = width - out[present, 0]
    out[~present] = -1.0
    return out
