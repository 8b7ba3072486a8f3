"""The `Pose` type: keypoints of one person in pixel coordinates of a stated image size."""
from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from realtime.layouts import COCO17, KeypointLayout, convert_arrays, get_layout

#: A keypoint counts as present when its score is at least this (MediaPipe's visibility,
#: OpenPose's confidence). Callers may pass another threshold where it matters.
MIN_SCORE = 0.5


@dataclass(frozen=True, eq=False)
class Pose:
    """One person's keypoints.

    xy: (K, 2) float32, pixels, origin at the top-left corner, x right, y down.
    score: (K,) float32 in [0, 1]; a missing keypoint has score 0 (its xy is then meaningless).
    z: (K,) float32 relative depth in pixels (smaller = nearer the camera, MediaPipe's convention,
       origin at the hips), or None when the estimator gives none.
    width, height: the image the coordinates refer to, or None when unknown (e.g. OpenPose JSON).
    timestamp_s: capture time in seconds, or None.
    """

    xy: np.ndarray
    score: np.ndarray
    layout: KeypointLayout = COCO17
    width: int | None = None
    height: int | None = None
    z: np.ndarray | None = None
    timestamp_s: float | None = None

    def __post_init__(self) -> None:
        xy = np.asarray(self.xy, dtype=np.float32).reshape(-1, 2)
        score = np.asarray(self.score, dtype=np.float32).reshape(-1)
        k = len(self.layout)
        if xy.shape != (k, 2) or score.shape != (k,):
            raise ValueError(
                f"{self.layout.name} pose needs {k} keypoints: got xy {xy.shape}, score {score.shape}"
            )
        if not np.all(np.isfinite(xy[score > 0])):
            raise ValueError("pose has non-finite coordinates for scored keypoints")
        object.__setattr__(self, "xy", xy)
        object.__setattr__(self, "score", score)
        if self.z is not None:
            z = np.asarray(self.z, dtype=np.float32).reshape(-1)
            if z.shape != (k,):
                raise ValueError(f"{self.layout.name} pose needs {k} depths, got {z.shape}")
            object.__setattr__(self, "z", z)

    # -- construction ------------------------------------------------------------------------
    @classmethod
    def from_keypoints(
        cls, keypoints: np.ndarray | list, layout: KeypointLayout | str = COCO17, **kw
    ) -> "Pose":
        """From a (K, 3) array of ``[x, y, score]`` rows."""
        lay = get_layout(layout) if isinstance(layout, str) else layout
        arr = np.asarray(keypoints, dtype=np.float32)
        if arr.ndim != 2 or arr.shape[1] != 3:
            raise ValueError(f"keypoints must be rows of [x, y, score], got shape {arr.shape}")
        return cls(xy=arr[:, :2], score=arr[:, 2], layout=lay, **kw)

    # -- views -------------------------------------------------------------------------------
    @property
    def keypoints(self) -> np.ndarray:
        """(K, 3) array of ``[x, y, score]``."""
        return np.concatenate([self.xy, self.score[:, None]], axis=1)

    def present(self, min_score: float = MIN_SCORE) -> np.ndarray:
        """(K,) bool mask of keypoints with score >= min_score."""
        return self.score >= min_score

    def __getitem__(self, name: str) -> np.ndarray:
        """xy of a keypoint by name."""
        return self.xy[self.layout.index[name]]

    def bbox(self, min_score: float = MIN_SCORE) -> tuple[float, float, float, float] | None:
        """(x0, y0, x1, y1) of the present keypoints, or None when none is present."""
        m = self.present(min_score)
        if not m.any():
            return None
        p = self.xy[m]
        return float(p[:, 0].min()), float(p[:, 1].min()), float(p[:, 0].max()), float(p[:, 1].max())

    # -- transforms --------------------------------------------------------------------------
    def to_layout(self, layout: KeypointLayout | str) -> "Pose":
        """The same pose in another layout (scores and depths kept; derived points scored by min)."""
        dst = get_layout(layout) if isinstance(layout, str) else layout
        if dst is self.layout:
            return self
        xy, score, z = convert_arrays(self.xy, self.score, self.z, self.layout, dst)
        return replace(self, xy=xy, score=score, z=z, layout=dst)

    def flipped(self, width: float | None = None) -> "Pose":
        """Horizontal mirror image: x -> width - x, left and right keypoints swapped.

        ``width`` defaults to the pose's image width (or the right edge of its bbox if unknown).
        """
        if width is None:
            width = self.width if self.width is not None else float(self.xy[:, 0].max())
        perm = self.layout.flip_indices
        xy = self.xy[perm].copy()
        xy[:, 0] = width - xy[:, 0]
        z = None if self.z is None else self.z[perm]
        return replace(self, xy=xy, score=self.score[perm], z=z)

    def transformed(self, scale: float = 1.0, offset: tuple[float, float] = (0.0, 0.0),
                    width: int | None = None, height: int | None = None) -> "Pose":
        """xy * scale + offset (z scaled too); optionally a new image size."""
        xy = self.xy * np.float32(scale) + np.asarray(offset, np.float32)
        z = None if self.z is None else self.z * np.float32(scale)
        return replace(self, xy=xy, z=z,
                       width=self.width if width is None else width,
                       height=self.height if height is None else height)

    def with_scores(self, score: np.ndarray) -> "Pose":
        return replace(self, score=np.asarray(score, np.float32))

    def __repr__(self) -> str:
        n = int(self.present().sum())
        return (f"Pose({self.layout.name}, {n}/{len(self.layout)} present, "
                f"size={self.width}x{self.height}, t={self.timestamp_s})")
