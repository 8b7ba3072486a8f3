"""Repetitions from a person's own motion: a periodic joint-angle signal, its peaks and the rests
between them. Offline (`repose coach`, person and benchmark alike) and live coach mode both count
with ``segment_reps``.

1. The joint angles (elbows, shoulders, hips, knees; degrees, gaps interpolated) are smoothed over
   time (Gaussian, sigma ``smooth_s``) and projected on their first principal component: the one
   direction in joint-angle space along which the body moves most (a squat moves knees, hips and
   arms together). The signal is in degrees: the weighted mean of the joints' angle changes, with
   the component's loadings (scaled to sum to 1 in absolute value) as weights.
2. Its rest side is the more neutral body: straighter elbows, hips and knees and lower arms (a
   squat bends knees and hips and raises the arms, a push-up bends the elbows, a jumping jack
   raises the arms); where the main direction is neither (weight under 10% of its length), the
   side the clip starts on. The signal is turned so that rest is low and effort high.
3. The period is the first peak of the signal's autocorrelation (when there is one).
4. A repetition is a peak that rises at least ``min_amplitude_deg`` and ``min_prominence`` of the
   signal's range above the dips around it, at least half a period (or ``min_period_s``) from the
   next. It starts where the signal last left rest before the peak (``rest_level`` of the range
   above the rest level) and ends where it next comes back, or at the lowest point between two
   peaks when the person does not rest in between, or at the clip's end.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Rep:
    """One repetition: frame indices of its start, its peak (deepest point) and its end (inclusive)."""

    start: int
    peak: int
    end: int

    @property
    def span(self) -> int:
        """Frames from start to end (the duration is span / fps)."""
        return self.end - self.start


@dataclass
class RepOptions:
    min_amplitude_deg: float = 20.0   #: a repetition moves the signal at least this much
    min_prominence: float = 0.25      #: ... and at least this share of the signal's range
    min_period_s: float = 0.6         #: repetitions at least this far apart (when no period is found)
    rest_level: float = 0.2           #: share of the range above rest that still counts as rest
    smooth_s: float = 0.1             #: Gaussian smoothing of the angles, seconds (sigma)


def fill_gaps(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """((T, J') values, (J',) indices of the kept columns): NaN runs of each column filled by linear
    interpolation (held at the ends); columns with fewer than two values are dropped."""
    x = np.asarray(x, np.float64)
    if x.ndim == 1:
        x = x[:, None]
    t = np.arange(len(x))
    cols, kept = [], []
    for c, col in enumerate(x.T):
        ok = np.isfinite(col)
        if ok.all():
            cols.append(col)
            kept.append(c)
        elif ok.sum() >= 2:
            cols.append(np.interp(t, t[ok], col[ok]))
            kept.append(c)
    values = np.stack(cols, axis=1) if cols else np.zeros((len(x), 0))
    return values, np.asarray(kept, np.int64)


def _flexion_weights(n: int) -> np.ndarray:
    """+1 where a larger angle means a less neutral body (shoulders: arm raised), -1 where smaller
    does (elbows, hips, knees bent), in ``score.JOINT_NAMES`` order (8 joints)."""
    from realtime.coaching.score import JOINT_NAMES

    w = np.array([1.0 if j.endswith("shoulder") else -1.0 for j in JOINT_NAMES])
    return w if n == len(w) else np.zeros(n)


def rep_signal(angles: np.ndarray, fps: float, options: RepOptions | None = None) -> np.ndarray:
    """(T,) the motion's main joint-angle signal in degrees, turned so that rest is low (zeros when
    no joint is seen in at least two frames)."""
    from scipy.ndimage import gaussian_filter1d

    o = options or RepOptions()
    angles = np.asarray(angles, np.float64)
    x, kept = fill_gaps(angles)
    if x.shape[1] == 0 or len(x) < 3:
        return np.zeros(len(x))
    sigma = o.smooth_s * fps
    if sigma >= 0.3:
        x = gaussian_filter1d(x, sigma, axis=0, mode="nearest")
    x = x - x.mean(axis=0)
    _, _, vt = np.linalg.svd(x, full_matrices=False)
    direction = vt[0] / np.abs(vt[0]).sum()      # a weighted mean of the joints' angle changes
    s = x @ direction
    lo, hi = np.percentile(s, [5, 95])
    if hi - lo <= 1e-9:
        return np.zeros(len(s))
    flexion = float(direction @ _flexion_weights(angles.shape[1])[kept])   # > 0: s grows with effort
    if abs(flexion) < 0.1:
        start = np.median(s[: max(1, int(round(0.3 * fps)))])
        flexion = -1.0 if start > (lo + hi) / 2 else 1.0
    if flexion < 0:
        s, lo = -s, -hi
    return s - lo


def estimate_period(signal: np.ndarray, fps: float, min_period_s: float = 0.6) -> float | None:
    """Seconds per cycle: the first autocorrelation peak after ``min_period_s`` (None without one)."""
    from scipy.signal import find_peaks

    s = np.asarray(signal, np.float64) - np.mean(signal)
    n = len(s)
    if n < 4 or not np.any(s):
        return None
    f = np.fft.rfft(s, 2 * n)
    ac = np.fft.irfft(f * np.conj(f))[:n]
    ac = ac / ac[0] / (1.0 - np.arange(n) / n)            # unbiased, 1 at lag 0
    lo = max(1, int(min_period_s * fps))
    peaks, _ = find_peaks(ac[: max(lo + 2, int(0.75 * n))], height=0.2)
    peaks = peaks[peaks >= lo]
    return None if len(peaks) == 0 else float(peaks[0]) / fps


def segment_reps(angles: np.ndarray, fps: float, options: RepOptions | None = None) -> list[Rep]:
    """Repetitions in a (T, 8) joint-angle series (degrees, NaN where missing) sampled at ``fps``."""
    from scipy.signal import find_peaks

    o = options or RepOptions()
    s = rep_signal(angles, fps, o)
    if len(s) < 3:
        return []
    amp = float(np.percentile(s, 95) - np.percentile(s, 5))
    if amp < o.min_amplitude_deg:
        return []
    period = estimate_period(s, fps, o.min_period_s)
    distance = max(1, int(0.5 * period * fps) if period else int(o.min_period_s * fps))
    prominence = max(o.min_amplitude_deg, o.min_prominence * amp)
    peaks, _ = find_peaks(np.concatenate([s, [-np.inf]]), prominence=prominence, distance=distance)
    peaks = peaks[peaks < len(s) - 1]                      # a peak at the very last frame is unfinished
    rest = float(np.percentile(s, 5)) + o.rest_level * amp
    reps: list[Rep] = []
    for k, p in enumerate(peaks):
        left = 0 if k == 0 else int(peaks[k - 1])
        right = len(s) - 1 if k == len(peaks) - 1 else int(peaks[k + 1])
        before = np.flatnonzero(s[left:p] <= rest)
        start = left + int(before[-1]) if before.size else left + int(np.argmin(s[left:p + 1]))
        after = np.flatnonzero(s[p:right + 1] <= rest)
        end = p + int(after[0]) if after.size else p + int(np.argmin(s[p:right + 1]))
        if reps and start < reps[-1].end:                  # no rest in between: split at the dip
            start = reps[-1].end
        reps.append(Rep(start, int(p), max(end, int(p))))
    return reps
