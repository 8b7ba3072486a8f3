"""Neutral-pose capture: wait until the driver stands still, then average a few seconds robustly.

Feed poses in time order to ``NeutralCapture.feed``. It waits until the pose has been steady for
``steady_s`` (every tracked keypoint's spread over that window below ``steady_fraction`` of the
torso size), then collects ``seconds`` of frames. A burst of movement during collection (a keypoint
further than 3x the steadiness limit from the running median) restarts the wait. The result:
- the neutral pose: per-keypoint median position (and depth), mean score;
- per-joint jitter: robust spread of each keypoint around its median, 1.4826 * MAD of the
  distance, in pixels (a Gaussian's sigma per axis would read about 0.85 of this);
- body size (torso size in px) and the frame count.
"""
from __future__ import annotations

import logging
from collections import deque
from dataclasses import dataclass, field

import numpy as np

from calibration.neutral_check import neutral_problems
from calibration.retarget import torso_size
from realtime.pose import MIN_SCORE, Pose

log = logging.getLogger(__name__)

WAITING, CAPTURING, DONE = "waiting", "capturing", "done"


@dataclass
class CaptureOptions:
    """seconds: how long to average once steady. steady_s: how long the pose must be still first.
    steady_fraction: allowed spread over the steady window, as a fraction of the torso size.
    min_score: presence threshold; keypoints present in fewer than half the frames are dropped.
    require_neutral: accept only neutral frames (calibration.neutral_check)."""

    seconds: float = 2.0
    steady_s: float = 0.7
    steady_fraction: float = 0.03
    min_score: float = MIN_SCORE
    min_frames: int = 5
    require_neutral: bool = True


@dataclass
class NeutralResult:
    pose: Pose
    jitter_px: dict[str, float]
    body_size_px: float
    frames: int
    poses: list[Pose] = field(default_factory=list, repr=False)


def robust_average(poses: list[Pose], min_score: float = MIN_SCORE) -> tuple[Pose, dict[str, float]]:
    """Median pose of ``poses`` (same layout) and each keypoint's jitter in px (1.4826 * MAD)."""
    if not poses:
        raise ValueError("robust_average needs at least one pose")
    lay = poses[0].layout
    xy = np.stack([p.xy for p in poses]).astype(np.float64)        # (T, K, 2)
    sc = np.stack([p.score for p in poses]).astype(np.float64)     # (T, K)
    ok = sc >= min_score
    med = np.zeros((len(lay), 2))
    jitter: dict[str, float] = {}
    score = np.zeros(len(lay), np.float32)
    for k, name in enumerate(lay.names):
        sel = ok[:, k]
        if sel.sum() < max(1, len(poses) // 2):
            score[k] = float(sc[:, k].mean()) * float(sel.mean())  # mostly absent: stays below min
            score[k] = min(score[k], min_score * 0.99)
            med[k] = np.median(xy[:, k], axis=0)
            continue
        pts = xy[sel, k]
        m = np.median(pts, axis=0)
        d = np.linalg.norm(pts - m, axis=1)
        med[k] = m
        jitter[name] = float(1.4826 * np.median(d)) if len(d) > 1 else 0.0
        score[k] = float(sc[sel, k].mean())
    z = None
    if all(p.z is not None for p in poses):
        z = np.median(np.stack([p.z for p in poses]), axis=0).astype(np.float32)
    first = poses[0]
    pose = Pose(xy=med.astype(np.float32), score=score, layout=lay, width=first.width, height=first.height, z=z)
    return pose, jitter


class NeutralCapture:
    """Streaming capture: ``feed(pose, t)`` returns the state (waiting, capturing, done)."""

    def __init__(self, options: CaptureOptions | None = None) -> None:
        self.options = options or CaptureOptions()
        self.state = WAITING
        self._window: deque[tuple[float, Pose]] = deque()
        self._frames: list[Pose] = []
        self._t0: float | None = None
        self.result: NeutralResult | None = None
        self.restarts = 0
        self.last_problems: list[str] = []

    def _size(self, pose: Pose) -> float:
        s = torso_size(pose, self.options.min_score)
        return s if np.isfinite(s) and s > 1 else float("nan")

    def _spread(self, poses: list[Pose]) -> float:
        """Largest per-keypoint spread (max distance from the median) over poses, / torso size."""
        ok = np.all([p.present(self.options.min_score) for p in poses], axis=0)
        if ok.sum() < 4:
            return float("inf")
        xy = np.stack([p.xy[ok] for p in poses]).astype(np.float64)
        med = np.median(xy, axis=0)
        size = self._size(poses[-1])
        if not np.isfinite(size):
            return float("inf")
        return float(np.linalg.norm(xy - med, axis=2).max() / size)

    def feed(self, pose: Pose | None, t: float) -> str:
        o = self.options
        if self.state == DONE:
            return DONE
        if pose is None or not np.isfinite(self._size(pose)):
            self._reset()
            return self.state
        if o.require_neutral:
            problems = neutral_problems(pose, o.min_score)
            if problems:
                if self.state == CAPTURING:
                    log.info("not a neutral pose at %.2f s (%s): waiting again", t, "; ".join(problems))
                    self.restarts += 1
                self.last_problems = problems
                self._reset()
                return self.state
        if self.state == WAITING:
            self._window.append((t, pose))
            while self._window and t - self._window[0][0] > o.steady_s:
                self._window.popleft()
            span = t - self._window[0][0]
            poses = [p for _, p in self._window]
            if len(poses) >= 2 and span >= 0.8 * o.steady_s and self._spread(poses) <= o.steady_fraction:
                self.state = CAPTURING
                self._frames = poses
                self._t0 = self._window[0][0]
                log.info("steady at %.2f s: capturing the neutral pose", t)
            return self.state
        # capturing
        med, _ = robust_average(self._frames, o.min_score)
        ok = pose.present(o.min_score) & med.present(o.min_score)
        size = self._size(med)
        if ok.any() and np.linalg.norm(pose.xy[ok] - med.xy[ok], axis=1).max() > 3 * o.steady_fraction * size:
            log.info("moved at %.2f s: waiting for a steady pose again", t)
            self.restarts += 1
            self._reset()
            self._window.append((t, pose))
            return self.state
        self._frames.append(pose)
        if t - self._t0 >= o.seconds and len(self._frames) >= o.min_frames:
            self._finish()
        return self.state

    def _reset(self) -> None:
        self.state = WAITING
        self._window.clear()
        self._frames = []
        self._t0 = None

    def _finish(self) -> None:
        pose, jitter = robust_average(self._frames, self.options.min_score)
        self.result = NeutralResult(pose, jitter, self._size(pose), len(self._frames), list(self._frames))
        self.state = DONE

    def finish_early(self) -> NeutralResult | None:
        """End of input: accept a capture that has at least ``min_frames`` steady frames."""
        if self.state == CAPTURING and len(self._frames) >= self.options.min_frames:
            self._finish()
        return self.result
