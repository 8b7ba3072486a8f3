"""Coach mode: live similarity to a benchmark pose, image or video, its curve, and repetitions.

A still benchmark (pose JSON or image) is one target pose. A video benchmark (a video file or a
``repose pose`` video JSON) plays along in time: at media time t the driver is compared with the
benchmark frame at t (looping). Similarity is the cosine similarity of the two poses' normalized
keypoint vectors (``realtime.matching.compare``; 1 = same shape); advice names the joints whose
angles differ most ("raise left elbow 20°").

Repetitions are peaks of the similarity curve above a threshold (``count_reps``): each time the
person reaches the benchmark pose and leaves it again counts once.
"""
from __future__ import annotations

import csv
import logging
import math
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from realtime.errors import InputError
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
    from tqdm import tqdm

    from realtime.inputs import open_input

    with open_input(path, accept=("json", "image", "video"), what="benchmark",
                    expected="a pose JSON, an image or a video", need_person=True) as bench:
        frames = bench if bench.kind != "video" else tqdm(bench, total=bench.total, disable=not progress,
                                                          desc="benchmark poses", unit="frame")
        poses = [f.pose for f in frames]
    if all(q is None for q in poses):
        raise InputError(f"benchmark {path}: " + ("holds no person" if bench.kind == "json"
                                                  else "no person found in any frame"))
    return Benchmark(poses, bench.fps, str(Path(path)))


@dataclass(frozen=True)
class CoachReading:
    """One comparison: similarity (cosine, None when either pose is missing) and advice lines."""

    t_s: float
    similarity: float | None
    advice: tuple[str, ...] = ()


def count_reps(similarity: np.ndarray | list[float], times_s: np.ndarray | list[float] | None = None,
               threshold: float = 0.9, min_interval_s: float = 0.8, prominence: float = 0.05) -> int:
    """Repetitions: peaks of the similarity curve at or above ``threshold`` that rise at least
    ``prominence`` above the dips around them and are at least ``min_interval_s`` apart.

    Missing samples (NaN) count as 0. Times default to one sample per second.
    """
    from scipy.signal import find_peaks

    y = np.nan_to_num(np.asarray(similarity, np.float64), nan=0.0)
    if y.size == 0:
        return 0
    t = np.arange(y.size, dtype=np.float64) if times_s is None else np.asarray(times_s, np.float64)
    dt = float(np.median(np.diff(t))) if y.size > 1 else 1.0
    distance = max(1, int(round(min_interval_s / dt))) if dt > 0 else 1
    # pad with zeros so a curve that starts or ends at a peak still counts it
    peaks, _ = find_peaks(np.concatenate([[0.0], y, [0.0]]), height=threshold, prominence=prominence,
                          distance=distance)
    return int(len(peaks))


@dataclass
class Coach:
    """Compares driver poses with a benchmark and keeps the similarity curve."""

    benchmark: Benchmark
    mirror: bool = True         #: also try the benchmark mirrored (a person copying a screen)
    advice_n: int = 2
    advice_min_deg: float = 15.0
    rep_threshold: float = 0.9
    show_reps: bool = False     #: show the running repetition count in the HUD
    times_s: list[float] = field(default_factory=list)
    values: list[float] = field(default_factory=list)

    def update(self, driver: Pose | None, t_s: float) -> CoachReading:
        """Compare the driver's pose at media time t with the benchmark and record it."""
        from realtime.matching import compare

        target = self.benchmark.pose_at(t_s)
        sim: float | None = None
        advice: tuple[str, ...] = ()
        if driver is not None and target is not None:
            c = compare(driver, target, mirror=self.mirror)
            if c.keypoints_used >= 4:
                sim = float(c.cosine_similarity)
                advice = tuple(c.advice(self.advice_n, self.advice_min_deg))
        self.times_s.append(float(t_s))
        self.values.append(float("nan") if sim is None else sim)
        return CoachReading(float(t_s), sim, advice)

    def reps(self) -> int:
        """Repetitions in the whole curve so far (safe to call while another thread updates)."""
        n = min(len(self.values), len(self.times_s))
        return count_reps(self.values[:n], self.times_s[:n], threshold=self.rep_threshold)

    def live_reps(self, every_s: float = 0.5) -> int:
        """``reps()`` recomputed at most every ``every_s`` media seconds (cheap enough per frame)."""
        t = self.times_s[-1] if self.times_s else 0.0
        if not hasattr(self, "_live") or t - self._live[0] >= every_s or t < self._live[0]:
            self._live = (t, self.reps())
        return self._live[1]

    def summary(self) -> dict:
        v = np.asarray(self.values, np.float64)
        ok = v[np.isfinite(v)]
        return {"samples": int(v.size), "matched": int(ok.size),
                "mean_similarity": None if ok.size == 0 else round(float(ok.mean()), 4),
                "max_similarity": None if ok.size == 0 else round(float(ok.max()), 4),
                "reps": self.reps()}

    def write_csv(self, path: str | Path) -> None:
        """``time_s,similarity`` rows (empty similarity where no comparison was possible)."""
        from realtime.fileio import atomic_path

        with atomic_path(path) as tmp, open(tmp, "w", newline="", encoding="utf-8") as fh:
            w = csv.writer(fh)
            w.writerow(["time_s", "similarity"])
            for t, s in zip(self.times_s, self.values):
                w.writerow([f"{t:.3f}", "" if math.isnan(s) else f"{s:.4f}"])

    def write_plot(self, path: str | Path, count_reps_too: bool = False) -> None:
        """Similarity over time as a PNG (threshold line; rep count in the title when asked)."""
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        from realtime.fileio import atomic_path

        fig, ax = plt.subplots(figsize=(9, 3.2), dpi=110)
        ax.plot(self.times_s, self.values, lw=1.5, color="tab:blue", label="similarity")
        ax.axhline(self.rep_threshold, color="tab:red", lw=0.8, ls="--", label=f"threshold {self.rep_threshold:g}")
        ax.set_xlabel("time (s)")
        ax.set_ylabel("cosine similarity")
        lo = np.nanmin(self.values) if np.isfinite(self.values).any() else 0.0
        ax.set_ylim(min(0.5, float(lo) - 0.02), 1.01)
        title = f"similarity to {Path(self.benchmark.source).name or 'benchmark'}"
        if count_reps_too:
            title += f": {self.reps()} reps"
        ax.set_title(title)
        ax.grid(alpha=0.3)
        ax.legend(loc="lower right", fontsize=8)
        fig.tight_layout()
        with atomic_path(path) as tmp:
            fig.savefig(tmp, format="png")
        plt.close(fig)
