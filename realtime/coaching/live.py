"""Live coach mode: the driver compared with a benchmark pose, image or video, frame by frame.

A still benchmark (pose JSON or image) is one target pose. A video benchmark (a video file or a
``repose pose`` video JSON) plays along in time: at media time t the driver is compared with the
benchmark frame at t (looping). Each reading has the cosine similarity of the two poses' Move Mirror
vectors (``realtime.matching.compare``; 1 = same shape), the coach's 0-100 score
(``coaching.score.pose_score``, the same matcher `repose coach` scores with) and advice naming the
joints whose angles differ most ("raise left elbow 20°").

Repetitions are counted from the driver's own motion, whatever the benchmark is: the driver's joint
angles go through ``coaching.reps.segment_reps``, the segmentation `repose coach` uses.
"""
from __future__ import annotations

import csv
import logging
import math
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from realtime.coaching.reps import RepOptions, segment_reps
from realtime.pose import Pose

log = logging.getLogger(__name__)


@dataclass
class Benchmark:
    """Benchmark poses at ``fps`` (one pose for a still). Poses may be None where nobody was found."""

    poses: list[Pose | None]
    fps: float = 1.0
    source: str = ""

    @property
    def is_video(self) -> bool:
        return len(self.poses) > 1

    @property
    def duration_s(self) -> float:
        return len(self.poses) / self.fps

    def pose_at(self, t_s: float) -> Pose | None:
        """The benchmark pose at media time t (seconds; a video loops)."""
        if not self.is_video:
            return self.poses[0]
        return self.poses[int(math.floor(max(t_s, 0.0) * self.fps)) % len(self.poses)]


def load_benchmark(path: str | Path, progress: bool = True) -> Benchmark:
    """A benchmark from a pose JSON (image or video), an image, or a video (estimated here)."""
    from realtime.coaching.motion import read_motion

    m = read_motion(path, "benchmark", progress)
    return Benchmark(m.poses, m.fps, m.source)


@dataclass(frozen=True)
class CoachReading:
    """One comparison: similarity (cosine), score (0-100; both None when either pose is missing), advice."""

    t_s: float
    similarity: float | None
    advice: tuple[str, ...] = ()
    score: float | None = None


@dataclass
class Coach:
    """Compares driver poses with a benchmark, keeps the similarity and score curves and counts the
    driver's repetitions."""

    benchmark: Benchmark
    mirror: bool = True         #: also try the benchmark mirrored (a person copying a screen)
    advice_n: int = 2
    advice_min_deg: float = 15.0
    show_reps: bool = False     #: show the running repetition count in the HUD
    rep_options: RepOptions = field(default_factory=RepOptions)
    rep_window_s: float = 30.0  #: reps are counted in this much of the latest motion
    times_s: list[float] = field(default_factory=list)
    values: list[float] = field(default_factory=list)
    scores: list[float] = field(default_factory=list)
    angles: list[np.ndarray] = field(default_factory=list)   #: the driver's joint angles per update
    _counted: int = field(default=0, init=False, repr=False)
    _last_peak: int = field(default=0, init=False, repr=False)

    def update(self, driver: Pose | None, t_s: float) -> CoachReading:
        """Compare the driver's pose at media time t with the benchmark and record it."""
        from realtime.coaching.score import features, pose_score
        from realtime.matching import compare

        target = self.benchmark.pose_at(t_s)
        sim: float | None = None
        score: float | None = None
        advice: tuple[str, ...] = ()
        if driver is not None and target is not None:
            c = compare(driver, target, mirror=self.mirror)
            if c.keypoints_used >= 4:
                sim = float(c.cosine_similarity)
                score = pose_score(driver, target, mirror=self.mirror)
                advice = tuple(c.advice(self.advice_n, self.advice_min_deg))
        angles = features([driver]).angles[0]
        self.angles.append(angles)
        self.scores.append(float("nan") if score is None else score)
        self.values.append(float("nan") if sim is None else sim)
        self.times_s.append(float(t_s))   # last: readers take min(len) of the lists
        return CoachReading(float(t_s), sim, advice, score)

    def reps(self) -> int:
        """The driver's repetitions so far (safe to call while another thread updates).

        Each call segments the last ``rep_window_s`` of motion and adds the reps that start after
        the last counted rep's peak, so the cost stays bounded however long the session runs.
        """
        n = len(self.times_s)
        if n < 3:
            return self._counted
        t = np.asarray(self.times_s[:n])
        w0 = int(np.searchsorted(t, t[-1] - self.rep_window_s))
        span = t[-1] - t[w0]
        fps = (n - 1 - w0) / span if span > 0 else 30.0
        for r in segment_reps(np.stack(self.angles[w0:n]), fps, self.rep_options):
            if w0 + r.start >= self._last_peak:
                self._counted += 1
                self._last_peak = w0 + r.peak
        return self._counted

    def live_reps(self, every_s: float = 0.5) -> int:
        """``reps()`` recomputed at most every ``every_s`` media seconds (cheap enough per frame)."""
        t = self.times_s[-1] if self.times_s else 0.0
        if not hasattr(self, "_live") or t - self._live[0] >= every_s or t < self._live[0]:
            self._live = (t, self.reps())
        return self._live[1]

    def summary(self) -> dict:
        n = len(self.times_s)
        v, sc = np.asarray(self.values[:n], np.float64), np.asarray(self.scores[:n], np.float64)
        ok, ok_s = v[np.isfinite(v)], sc[np.isfinite(sc)]
        return {"samples": int(v.size), "matched": int(ok.size),
                "mean_similarity": None if ok.size == 0 else round(float(ok.mean()), 4),
                "max_similarity": None if ok.size == 0 else round(float(ok.max()), 4),
                "mean_score": None if ok_s.size == 0 else round(float(ok_s.mean()), 1),
                "reps": self.reps()}

    def write_csv(self, path: str | Path) -> None:
        """``time_s,similarity,score`` rows (empty values where no comparison was possible)."""
        from realtime.fileio import atomic_path

        with atomic_path(path) as tmp, open(tmp, "w", newline="", encoding="utf-8") as fh:
            w = csv.writer(fh)
            w.writerow(["time_s", "similarity", "score"])
            for t, s, sc in zip(self.times_s, self.values, self.scores):
                w.writerow([f"{t:.3f}", "" if math.isnan(s) else f"{s:.4f}", "" if math.isnan(sc) else f"{sc:.1f}"])

    def write_plot(self, path: str | Path, count_reps_too: bool = False) -> None:
        """Similarity and score over time as a PNG (rep count in the title when asked)."""
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        from realtime.fileio import atomic_path

        n = len(self.times_s)
        fig, ax = plt.subplots(figsize=(9, 3.2), dpi=110)
        ax.plot(self.times_s[:n], self.values[:n], lw=1.5, color="tab:blue", label="similarity (cosine)")
        ax.set_xlabel("time (s)")
        ax.set_ylabel("cosine similarity")
        lo = np.nanmin(self.values[:n]) if np.isfinite(self.values[:n]).any() else 0.0
        ax.set_ylim(min(0.5, float(lo) - 0.02), 1.01)
        ax2 = ax.twinx()
        ax2.plot(self.times_s[:n], self.scores[:n], lw=1.0, color="tab:orange", label="score")
        ax2.set_ylim(0, 101)
        ax2.set_ylabel("score (0-100)")
        title = f"similarity to {Path(self.benchmark.source).name or 'benchmark'}"
        if count_reps_too:
            title += f": {self.reps()} reps"
        ax.set_title(title)
        ax.grid(alpha=0.3)
        fig.legend(loc="lower right", fontsize=8)
        fig.tight_layout()
        with atomic_path(path) as tmp:
            fig.savefig(tmp, format="png")
        plt.close(fig)
