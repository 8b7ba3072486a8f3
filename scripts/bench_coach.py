"""Suite `coach`: what `repose coach` costs on a 1-minute video against the squat benchmark.

The 1-minute person video is `pose_squats.mp4` (720x1280, 5 fps, 13 s, 3 squats) looped and each
frame shown 6 times: 1,800 frames at 30 fps, 14 squats at a sixth of the speed. It is written once,
and its poses estimated once, into ``--coach-cache`` (the estimation time is kept with the poses, so
a later run reports the time measured when they were made). Then, timed separately: the analysis
(smoothing, features, reps, DTW, scores) against the 65-frame clip, the same with ``--mirror``, the
analysis against the 1-minute video itself (every rep against all 14), one whole-clip DTW of
1,800 x 1,800 frames, the plot, the HTML page and the side-by-side video.
"""
from __future__ import annotations

import json
import time
from pathlib import Path


MINUTE_FPS, REPEAT = 30.0, 6


def add_arguments(parser) -> None:
    parser.add_argument("--coach-cache", default="/tmp/repose-bench-coach", metavar="DIR",
                        help="where suite coach keeps its 1-minute video and its poses")


def _minute_video(media: Path, cache: Path) -> Path:
    from realtime.media import VideoReader
    from realtime.videoio import H264Writer

    path = cache / "squats_1min_30fps.mp4"
    if path.exists():
        return path
    with VideoReader(media / "pose_squats.mp4") as r:
        frames = [f for _, _, f in r]
    n = int(60 * MINUTE_FPS)
    h, w = frames[0].shape[:2]
    with H264Writer(path, MINUTE_FPS, (w, h)) as out:
        for i in range(n):
            out.write(frames[(i // REPEAT) % len(frames)])
    return path


def _poses(video: Path, cache: Path):
    """(Motion, seconds the estimation took, frames) of a video, estimated once and cached."""
    from realtime.coaching.motion import Motion, read_motion
    from realtime.poseio import load_pose_video, video_to_dict
    from realtime.fileio import write_json

    path, meta = cache / (video.stem + ".poses.json"), cache / (video.stem + ".meta.json")
    if path.exists() and meta.exists():
        v = load_pose_video(path)
        m = json.loads(meta.read_text())
        return Motion(v.poses, v.fps, str(video), "video", v.width, v.height), m["estimate_s"]
    t0 = time.perf_counter()
    motion = read_motion(video, "video")
    took = time.perf_counter() - t0
    write_json(path, video_to_dict(motion.poses, motion.fps, motion.width, motion.height, "mediapipe33"))
    write_json(meta, {"estimate_s": took, "frames": len(motion.poses)})
    return motion, took


def _timed(fn, *args, **kw):
    t0 = time.perf_counter()
    out = fn(*args, **kw)
    return out, time.perf_counter() - t0


def run(args) -> tuple[str, list[dict]]:
    from realtime.coaching.analysis import CoachOptions, analyze
    from realtime.coaching.dtw import dtw
    from realtime.coaching.page import write_html
    from realtime.coaching.plot import plot_png, write_plot
    from realtime.coaching.score import features, score_matrix
    from realtime.coaching.video import write_video

    media, cache = Path(args.media), Path(args.coach_cache)
    cache.mkdir(parents=True, exist_ok=True)
    minute = _minute_video(media, cache)
    person, est_s = _poses(minute, cache)
    bench, bench_s = _poses(media / "pose_squats.mp4", cache)
    n = len(person.poses)
    rows = [{"what": "estimate the 1-minute video (MediaPipe, video mode)", "frames": f"{n}x720x1280",
             "seconds": est_s, "ms/frame": 1e3 * est_s / n}]
    analyze(bench, bench)                                  # warm-up: imports, first calls
    report, s = _timed(analyze, person, bench)
    rows.append({"what": f"analyze vs the 13 s clip: {len(report.reps)} reps, score {report.score:.1f}",
                 "frames": f"{n} vs {len(bench.poses)}", "seconds": s, "ms/frame": 1e3 * s / n})
    _, s = _timed(analyze, person, bench, CoachOptions(mirror=True))
    rows.append({"what": "analyze, --mirror", "frames": f"{n} vs {len(bench.poses)}", "seconds": s, "ms/frame": 1e3 * s / n})
    self_report, s = _timed(analyze, person, person)
    rows.append({"what": f"analyze vs itself ({len(self_report.bench_reps)} benchmark reps)", "frames": f"{n} vs {n}",
                 "seconds": s, "ms/frame": 1e3 * s / n})
    f = features(person.poses)
    t0 = time.perf_counter()
    cost = 1.0 - score_matrix(f, f[::-1]) / 100.0
    dtw(cost, band=0.4)
    s = time.perf_counter() - t0
    rows.append({"what": "whole-clip score matrix + banded DTW", "frames": f"{n} x {n}", "seconds": s, "ms/frame": 1e3 * s / n})
    out = cache / "out"
    _, s = _timed(write_plot, report, out / "plot.png")
    rows.append({"what": "--plot", "frames": n, "seconds": s, "ms/frame": 1e3 * s / n})
    _, s = _timed(lambda: write_html(report, out / "report.html", plot_png(report)))
    rows.append({"what": f"--html ({len(report.reps)} key frames)", "frames": n, "seconds": s, "ms/frame": 1e3 * s / n})
    _, s = _timed(write_video, report, out / "side_by_side.mp4", progress=False)
    rows.append({"what": "--video (side by side, 480 px high)", "frames": n, "seconds": s, "ms/frame": 1e3 * s / n})
    return "coach: a 1-minute video (1,800 frames) against a benchmark", rows
