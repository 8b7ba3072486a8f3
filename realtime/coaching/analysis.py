"""Offline coaching: a person's recorded exercise scored against a benchmark, repetition by repetition.

1. Both motions are smoothed (the live path's One-Euro filter, at their own frame rates) and turned
   into features (``score.features``) over the COCO-17 keypoints that both show in most frames
   (layouts compare by keypoint name).
2. Repetitions are segmented in each from its own joint angles (``reps.segment_reps``).
3. Each person rep is aligned by DTW (``dtw.dtw``, cost = 1 - score / 100) with every benchmark
   rep and matched with the one it aligns best with; its score is the mean pair score along the
   path, its tempo ratio its duration over the matched benchmark rep's.
4. The overall score is the mean of the rep scores (a person clip without reps: the whole clip is
   aligned with the whole benchmark); with ``mirror`` the benchmark is also tried mirrored and the
   better result kept.
"""
from __future__ import annotations

from dataclasses import dataclass, field, replace

import numpy as np

from realtime.coaching.dtw import dtw
from realtime.coaching.motion import Motion
from realtime.coaching.reps import Rep, RepOptions, segment_reps
from realtime.coaching.score import JOINT_NAMES, Features, coco_arrays, features, pair_scores, score_matrix
from realtime.errors import InputError
from realtime.layouts import COCO17
from realtime.matching import advice_for
from realtime.pose import Pose


@dataclass
class CoachOptions:
    mirror: bool = False                 #: also try the benchmark mirrored, keep the better
    band: float = 0.4                    #: DTW band, share of the benchmark rep's length
    smooth: bool = True                  #: One-Euro smoothing of both motions first
    reps: RepOptions = field(default_factory=RepOptions)
    worst_n: int = 3                     #: joints reported per rep
    advice_min_deg: float = 10.0         #: a joint is named in advice from this mean error on
    tempo_advice: tuple[float, float] = (0.8, 1.25)   #: tempo ratios outside this get a tempo hint
    min_shared_keypoints: int = 6        #: fewer shared keypoints: the layouts do not match


@dataclass
class RepResult:
    """One person rep matched with one benchmark rep. Frames are indices into each motion."""

    rep: Rep
    bench_index: int
    bench_rep: Rep
    score: float
    tempo_ratio: float
    worst_joints: dict[str, float]
    advice: list[str]
    path: np.ndarray              #: (P, 2) (person frame, benchmark frame)
    worst_pair: tuple[int, int]   #: the path's lowest-scoring pair
    worst_score: float            #: and its score


@dataclass
class CoachReport:
    score: float
    tempo_ratio: float | None
    reps: list[RepResult]
    mirrored: bool
    person: Motion
    benchmark: Motion
    person_reps: list[Rep]
    bench_reps: list[Rep]
    path: np.ndarray              #: (P, 2) whole alignment (rep paths joined; whole clip without reps)
    frame_map: np.ndarray         #: (N,) benchmark frame shown with each person frame
    frame_scores: np.ndarray      #: (N,) score of each person frame against it
    person_angles: np.ndarray     #: (N, 8) smoothed joint angles, degrees
    bench_angles: np.ndarray      #: (M, 8) benchmark joint angles (mirrored when ``mirrored``)
    notice: str | None = None

    def to_dict(self, max_path: int = 200) -> dict:
        fp, fb = self.person.fps, self.benchmark.fps
        step = max(1, int(np.ceil(len(self.path) / max_path)))
        path = self.path[::step]
        if len(path) and (path[-1] != self.path[-1]).any():
            path = np.vstack([path, self.path[-1:]])
        return {
            "score": round(self.score, 1),
            "tempo_ratio": None if self.tempo_ratio is None else round(self.tempo_ratio, 3),
            "mirrored": self.mirrored,
            "reps": [{
                "start_s": round(r.rep.start / fp, 3), "end_s": round(r.rep.end / fp, 3),
                "score": round(r.score, 1), "tempo_ratio": round(r.tempo_ratio, 3),
                "worst_joints": {k: round(v, 1) for k, v in r.worst_joints.items()}, "advice": r.advice,
                "benchmark_rep": r.bench_index + 1, "benchmark_start_s": round(r.bench_rep.start / fb, 3),
                "benchmark_end_s": round(r.bench_rep.end / fb, 3),
            } for r in self.reps],
            "alignment": [[round(i / fp, 3), round(j / fb, 3)] for i, j in path.tolist()],
            "person": {"source": self.person.source, "frames": len(self.person.poses), "fps": fp},
            "benchmark": {"source": self.benchmark.source, "frames": len(self.benchmark.poses), "fps": fb,
                          "reps": [[round(r.start / fb, 3), round(r.end / fb, 3)] for r in self.bench_reps]},
            "notice": self.notice,
        }


def smoothed(motion: Motion) -> list[Pose | None]:
    """The motion's poses through the One-Euro filter (timestamps i / fps)."""
    from realtime.smoothing import PoseSmoother

    smoother = PoseSmoother(fallback_fps=motion.fps)
    out: list[Pose | None] = []
    for i, p in enumerate(motion.poses):
        if p is None:
            smoother.reset()
            out.append(None)
        else:
            out.append(smoother(replace(p, timestamp_s=i / motion.fps)))
    return out


def shared_keypoints(a: list[Pose | None], b: list[Pose | None], min_share: float = 0.5) -> np.ndarray:
    """(17,) bool: COCO-17 keypoints present in at least ``min_share`` of the frames with a pose, in both."""
    def share(poses):
        _, present = coco_arrays(poses)
        found = present.any(axis=1)
        return present[found].mean(axis=0) if found.any() else np.zeros(len(COCO17))

    return (share(a) >= min_share) & (share(b) >= min_share)


def _worst_joints(pa: Features, pb: Features, o: CoachOptions) -> tuple[dict[str, float], list[str]]:
    err = pa.angles - pb.angles                                   # person minus benchmark, degrees
    ok = ~np.isnan(err)
    n = ok.sum(axis=0)
    mean_abs = np.where(n > 0, np.nansum(np.abs(err), axis=0) / np.maximum(n, 1), np.nan)
    mean_signed = np.where(n > 0, np.nansum(err, axis=0) / np.maximum(n, 1), np.nan)
    order = [k for k in np.argsort(-np.nan_to_num(mean_abs, nan=-1.0)) if n[k] > 0][: o.worst_n]
    worst = {JOINT_NAMES[k]: float(mean_abs[k]) for k in order}
    advice = [advice_for(JOINT_NAMES[k], float(mean_signed[k])) for k in order
              if abs(mean_signed[k]) >= o.advice_min_deg][:2]
    return worst, advice


def _tempo_advice(ratio: float, o: CoachOptions) -> list[str]:
    lo, hi = o.tempo_advice
    if ratio > hi:
        return [f"speed up: {ratio:.1f}x the benchmark's time"]
    if ratio < lo:
        return [f"slow down: {ratio:.1f}x the benchmark's time"]
    return []


def _align_rep(fp: Features, fb: Features, rep: Rep, bench_reps: list[Rep], o: CoachOptions,
               fps_p: float, fps_b: float) -> RepResult:
    best = None
    for q, br in enumerate(bench_reps):
        a, b = fp[rep.start:rep.end + 1], fb[br.start:br.end + 1]
        s = score_matrix(a, b)
        al = dtw(1.0 - s / 100.0, o.band)
        if best is None or al.mean_cost < best[0].mean_cost:
            best = (al, q, br, s)
    al, q, br, s = best
    along = s[al.path[:, 0], al.path[:, 1]]
    path = al.path + np.array([rep.start, br.start])
    worst, advice = _worst_joints(fp[path[:, 0]], fb[path[:, 1]], o)
    tempo = (rep.span / fps_p) / max(br.span / fps_b, 1e-9)
    k = int(np.argmin(along))
    return RepResult(rep, q, br, float(along.mean()), tempo, worst, advice + _tempo_advice(tempo, o), path,
                     (int(path[k, 0]), int(path[k, 1])), float(along[k]))


def _fill_map(n: int, m: int, path: np.ndarray, reps: list[RepResult], ratio: float) -> np.ndarray:
    """(n,) benchmark frame per person frame: from the path inside reps; between two reps matched
    with benchmark reps in order, the benchmark's rest between them stretched over the person's;
    before the first and after the last rep, the benchmark's own rest at ``ratio`` benchmark frames
    per person frame."""
    from realtime.coaching.dtw import frame_map

    order = np.argsort(path[:, 0], kind="stable")
    covered = np.unique(path[:, 0])
    out = np.full(n, -1, np.int64)
    out[covered] = frame_map(path[order], n)[covered]
    if not reps:
        return out
    first, last = reps[0], reps[-1]
    i = np.arange(0, first.rep.start)
    out[i] = np.clip(np.round(first.bench_rep.start - (first.rep.start - i) * ratio), 0, m - 1)
    i = np.arange(last.rep.end + 1, n)
    out[i] = np.clip(np.round(last.bench_rep.end + (i - last.rep.end) * ratio), 0, m - 1)
    for r, nxt in zip(reps, reps[1:]):
        i = np.arange(r.rep.end + 1, nxt.rep.start)
        if len(i) == 0:
            continue
        j0, j1 = r.bench_rep.end, nxt.bench_rep.start
        if j1 <= j0:                       # the next benchmark rep comes earlier: hold the rest pose
            out[i] = j0
        else:
            out[i] = np.round(j0 + (i - r.rep.end) * (j1 - j0) / (nxt.rep.start - r.rep.end))
    return out


def analyze(person: Motion, benchmark: Motion, options: CoachOptions | None = None) -> CoachReport:
    """Score ``person`` against ``benchmark`` (see the module's docstring); InputError when the
    benchmark has no repetitions or the two show too few of the same keypoints."""
    o = options or CoachOptions()
    pp = smoothed(person) if o.smooth else list(person.poses)
    bp = smoothed(benchmark) if o.smooth else list(benchmark.poses)
    shared = shared_keypoints(pp, bp)
    if shared.sum() < o.min_shared_keypoints:
        names = ", ".join(np.asarray(COCO17.names)[shared]) or "none"
        raise InputError(f"{person.name} and benchmark {benchmark.name} share {int(shared.sum())} keypoints "
                         f"seen in most frames ({names}); expected at least {o.min_shared_keypoints}: "
                         "both must show the same body parts (layouts are compared by keypoint name)")
    fp = features(pp, shared)
    bench_reps = segment_reps(features(bp, shared).angles, benchmark.fps, o.reps)
    if not bench_reps:
        raise InputError(f"benchmark {benchmark.name}: no repetitions found in its {len(bp)} frames; expected "
                         "a video of at least one whole repetition (rest, effort, rest)")
    person_reps = segment_reps(fp.angles, person.fps, o.reps)
    results = []
    for mirrored in ((False, True) if o.mirror else (False,)):
        fb = features(bp, shared, mirror=mirrored)
        results.append(_score(fp, fb, person_reps, bench_reps, person, benchmark, o) + (mirrored, fb))
    score, tempo, reps, path, mirrored, fb = max(results, key=lambda r: r[0])
    fmap = _fill_map(len(fp), len(fb), path, reps, benchmark.fps / person.fps)
    notice = None if person_reps else (f"no repetitions found in {person.name}: scored the whole clip "
                                       "against the whole benchmark")
    return CoachReport(score, tempo, reps, mirrored, person, benchmark, person_reps, bench_reps, path, fmap,
                       pair_scores(fp, fb[fmap]), fp.angles, fb.angles, notice)


def _score(fp: Features, fb: Features, person_reps: list[Rep], bench_reps: list[Rep], person: Motion,
           benchmark: Motion, o: CoachOptions):
    if not person_reps:
        s = score_matrix(fp, fb)
        al = dtw(1.0 - s / 100.0, o.band)
        return float(s[al.path[:, 0], al.path[:, 1]].mean()), None, [], al.path
    reps = [_align_rep(fp, fb, r, bench_reps, o, person.fps, benchmark.fps) for r in person_reps]
    score = float(np.mean([r.score for r in reps]))
    tempo = (sum(r.rep.span for r in reps) / person.fps) / max(sum(r.bench_rep.span for r in reps) / benchmark.fps, 1e-9)
    return score, tempo, reps, np.vstack([r.path for r in reps])
