"""Temporal smoothing of keypoints with the One-Euro filter.

The One-Euro filter (Casiez, Roussel and Vogel, "1€ Filter: A Simple Speed-based Low-pass Filter
for Noisy Input in Interactive Systems", CHI 2012) is a first-order low-pass filter whose cutoff
frequency rises with the signal's speed: still keypoints are smoothed hard (no jitter), moving
ones lightly (little lag). Per sample, with ``dt`` the time since the previous sample::

    alpha(fc)  = 1 / (1 + 1 / (2 pi fc dt))
    dx_hat     = lowpass(dx / dt, alpha(d_cutoff))
    fc         = min_cutoff + beta * |dx_hat| / scale
    x_hat      = lowpass(x, alpha(fc))

Speeds are measured in body sizes per second (``scale`` = mean of the width and height of the
pose's bounding box, in pixels), so one setting works at any resolution and distance from the
camera, the way MediaPipe scales its landmark filter by object size.

Default tuning (``OneEuroOptions()``): ``min_cutoff=1.0`` Hz, ``beta=10`` Hz per body size/s,
``d_cutoff=1.0`` Hz. Reasoning, at 30 fps: landmark jitter of about 1% of the body size moves at
~0.1 body/s after the derivative filter, giving a cutoff near 2 Hz (alpha ~0.3: the jitter's
standard deviation drops to ~40%); a limb swung at 2 body/s gets ~21 Hz (alpha ~0.8, a frame's
lag at most); a slow 0.3 body/s movement (4 Hz) trails by ~1% of the body. Lower ``min_cutoff``
for a steadier still pose; raise ``beta`` if fast movements lag.

Pose stride (``PoseStride``): the live loop may estimate the pose on every n-th frame only and give
the frames between a prediction: the last estimate moved on along its last step at half speed
(damped constant velocity; full speed overshoots, since the step carries the estimate's jitter).
Every other frame this way halves the pose stage's CPU (the live loop's largest, ~24 ms a frame)
and moves the smoothed pose from the every-frame reading by 2.9 / 1.5 / 3.6 px and 0.74 / 0.80 /
1.27 degrees of bone direction on webcam_talking / webcam_signing / presenter_desk, where MediaPipe's
own reading moves by 2.0 / 0.4 / 3.9 px and 0.50 / 0.21 / 1.48 degrees when its tracking starts one
frame later (README, Presenter framing: Speed).
"""
from __future__ import annotations

import math
from dataclasses import dataclass, replace

import numpy as np

from realtime.pose import MIN_SCORE, Pose


@dataclass
class OneEuroOptions:
    """One-Euro settings. min_cutoff and d_cutoff in Hz; beta in Hz per (body size / s)."""

    min_cutoff: float = 1.0
    beta: float = 10.0
    d_cutoff: float = 1.0
    min_score: float = MIN_SCORE  #: keypoints scored below this bypass the filter and reset it
    reset_after_s: float = 0.5    #: a gap longer than this between poses restarts the filter

    def __post_init__(self) -> None:
        if self.min_cutoff <= 0 or self.d_cutoff <= 0 or self.beta < 0:
            raise ValueError(f"One-Euro needs min_cutoff > 0, d_cutoff > 0, beta >= 0; got "
                             f"min_cutoff={self.min_cutoff}, beta={self.beta}, d_cutoff={self.d_cutoff}")


def _alpha(cutoff: np.ndarray | float, dt: float) -> np.ndarray | float:
    tau = 1.0 / (2.0 * math.pi * cutoff)
    return 1.0 / (1.0 + tau / dt)


class OneEuroFilter:
    """One-Euro filter over an array of independent channels (any shape, float)."""

    def __init__(self, options: OneEuroOptions | None = None) -> None:
        self.options = options or OneEuroOptions()
        self._x: np.ndarray | None = None
        self._dx: np.ndarray | None = None
        self._t: float | None = None

    def reset(self) -> None:
        self._x = self._dx = self._t = None

    def __call__(self, x: np.ndarray, t: float, scale: float = 1.0,
                 valid: np.ndarray | None = None) -> np.ndarray:
        """Filter one sample taken at time ``t`` (seconds).

        ``scale`` divides speeds before they raise the cutoff (body size in the units of x).
        ``valid`` (broadcastable to x) marks channels to filter; the others pass through unchanged
        and restart from their next valid sample.
        """
        x = np.asarray(x, dtype=np.float64)
        o = self.options
        if self._x is None or self._t is None or self._x.shape != x.shape:
            self._x, self._dx, self._t = x.copy(), np.zeros_like(x), t
            return x.copy()
        dt = t - self._t
        if dt <= 0:          # same or older timestamp: nothing new to integrate
            return self._x.copy()
        if dt > o.reset_after_s:
            self._x, self._dx, self._t = x.copy(), np.zeros_like(x), t
            return x.copy()
        dx = (x - self._x) / dt
        dx_hat = self._dx + _alpha(o.d_cutoff, dt) * (dx - self._dx)
        cutoff = o.min_cutoff + o.beta * np.abs(dx_hat) / max(scale, 1e-6)
        x_hat = self._x + _alpha(cutoff, dt) * (x - self._x)
        if valid is not None:
            keep = np.broadcast_to(np.asarray(valid, bool), x.shape)
            x_hat = np.where(keep, x_hat, x)
            dx_hat = np.where(keep, dx_hat, 0.0)
        self._x, self._dx, self._t = x_hat, dx_hat, t
        return x_hat.copy()


class PoseSmoother:
    """Smooths successive poses of one person (xy and z), keypoint by keypoint.

    Poses must carry ``timestamp_s``; when missing, ``fallback_fps`` spaces them evenly.
    """

    def __init__(self, options: OneEuroOptions | None = None, fallback_fps: float = 30.0) -> None:
        self.options = options or OneEuroOptions()
        self._filter = OneEuroFilter(self.options)
        self._fallback_dt = 1.0 / fallback_fps
        self._t = 0.0

    def reset(self) -> None:
        self._filter.reset()

    def __call__(self, pose: Pose) -> Pose:
        t = pose.timestamp_s if pose.timestamp_s is not None else self._t + self._fallback_dt
        self._t = t
        valid = pose.present(self.options.min_score)
        box = pose.bbox(self.options.min_score)
        scale = 1.0 if box is None else max(0.5 * ((box[2] - box[0]) + (box[3] - box[1])), 1.0)
        z = pose.z if pose.z is not None else np.zeros(len(pose.xy), np.float32)
        data = np.concatenate([pose.xy, z[:, None]], axis=1)
        out = self._filter(data, t, scale=scale, valid=valid[:, None])
        return replace(pose, xy=out[:, :2].astype(np.float32),
                       z=None if pose.z is None else out[:, 2].astype(np.float32))


class PoseStride:
    """Which frames get a pose estimate, and the pose of the frames between (one per run).

    every: estimate on every n-th frame (1: every frame, no prediction). Between estimates,
    ``predict(t)`` moves the last estimate by ``damping`` times its last velocity (pixels per
    second, from the last two estimates) over the time since it; keypoints absent from either of
    those estimates, or estimates more than ``max_gap_s`` apart, are held instead. While nobody is in
    view every frame is estimated, so a person who steps in is found at once.
    """

    def __init__(self, every: int = 1, damping: float = 0.5, max_gap_s: float = 0.25,
                 min_score: float = MIN_SCORE) -> None:
        if every < 1:
            raise ValueError(f"pose stride must be >= 1 frame, got {every}")
        self.every, self.damping, self.max_gap_s, self.min_score = int(every), damping, max_gap_s, min_score
        self._since = 0                      # frames since the last estimate
        self._last: Pose | None = None
        self._velocity: np.ndarray | None = None   # (K, 2) px/s, 0 where held

    def due(self) -> bool:
        """True when this frame needs an estimate (call once per frame, before estimating)."""
        due = self._last is None or self._since + 1 >= self.every
        self._since = 0 if due else self._since + 1
        return due

    def seen(self, pose: Pose | None) -> None:
        """Record the estimate of a frame ``due()`` asked for (None: nobody in view)."""
        last, self._last, self._velocity = self._last, pose, None
        if pose is None or last is None or pose.timestamp_s is None or last.timestamp_s is None:
            return
        dt = pose.timestamp_s - last.timestamp_s
        if not 0 < dt <= self.max_gap_s or last.xy.shape != pose.xy.shape or last.width != pose.width:
            return
        ok = (pose.score >= self.min_score) & (last.score >= self.min_score)
        self._velocity = np.where(ok[:, None], (pose.xy - last.xy) / dt, 0.0).astype(np.float32)

    def predict(self, t: float | None) -> Pose | None:
        """The pose at time ``t`` (seconds, the frame's) from the last estimates; None when nobody
        was in view at the last estimate."""
        last = self._last
        if last is None:
            return None
        if self._velocity is None or t is None or last.timestamp_s is None:
            return replace(last, timestamp_s=t)
        step = self.damping * max(0.0, t - last.timestamp_s)
        return replace(last, xy=last.xy + self._velocity * np.float32(step), timestamp_s=t)
