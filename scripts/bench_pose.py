"""Suite `pose`: estimator ms/frame at 640x480 (image and video mode, with and without the person
mask), comparisons per second, and pose search over 10,000 indexed poses."""
from __future__ import annotations

import time
from pathlib import Path

import numpy as np


def add_arguments(parser) -> None:
    parser.add_argument("--pose-frames", type=int, default=60, help="frames per estimator setting (pose suite)")


def _frames(media: Path, n: int) -> list[np.ndarray]:
    import cv2

    from realtime.inputs import open_input

    with open_input(media / "pose_1.mp4", estimate=False) as video:
        frames = [cv2.resize(f.image, (640, 480)) for f in video]
    return [frames[i % len(frames)] for i in range(n)]


def _estimator_rows(frames: list[np.ndarray]) -> list[dict]:
    from realtime.estimator import create_estimator

    rows = []
    for mode in ("image", "video"):
        for seg in (False, True):
            with create_estimator(mode, segmentation=seg) as est:
                for f in frames[:5]:  # warm-up (first-frame graph set-up)
                    est.estimate(f)
                times = []
                for i, f in enumerate(frames):
                    t0 = time.perf_counter()
                    est.detect(f, i / 30)
                    times.append(time.perf_counter() - t0)
            ms = np.array(times) * 1e3
            rows.append({"what": f"estimator {mode} mode" + (" + mask" if seg else ""), "size": "640x480",
                         "ms (median)": float(np.median(ms)), "ms (p95)": float(np.percentile(ms, 95)),
                         "per second": 1e3 / float(np.median(ms))})
    return rows


def _matching_rows() -> list[dict]:
    from realtime.layouts import COCO17
    from realtime.matching import compare, pose_vector
    from realtime.pose import Pose
    from realtime.search import PoseIndex

    rng = np.random.default_rng(0)
    base = rng.uniform(0, 400, (17, 2))

    def random_pose():
        return Pose(xy=base + rng.normal(0, 40, (17, 2)), score=rng.uniform(0.3, 1, 17), layout=COCO17)

    a, b = random_pose(), random_pose()
    n = 3000
    t0 = time.perf_counter()
    for _ in range(n):
        compare(a, b)
    per = (time.perf_counter() - t0) / n
    rows = [{"what": "compare (cosine, distances, joint angles)", "size": "coco17",
             "ms (median)": per * 1e3, "ms (p95)": None, "per second": 1 / per}]

    lib = [random_pose() for _ in range(10_000)]
    t0 = time.perf_counter()
    index = PoseIndex(lib, list(range(len(lib))))
    build = time.perf_counter() - t0
    rows.append({"what": "search index build", "size": "10,000 poses", "ms (median)": build * 1e3,
                 "ms (p95)": None, "per second": None})
    queries = [random_pose() for _ in range(200)]
    times = []
    for q in queries:
        t0 = time.perf_counter()
        index.search(q, k=5)
        times.append(time.perf_counter() - t0)
    ms = np.array(times) * 1e3
    rows.append({"what": "search k=5 (k-d tree + re-rank)", "size": "10,000 poses",
                 "ms (median)": float(np.median(ms)), "ms (p95)": float(np.percentile(ms, 95)),
                 "per second": 1e3 / float(np.median(ms))})
    qv = np.stack([pose_vector(q) for q in queries])
    t0 = time.perf_counter()
    for v in qv:
        np.argpartition(np.linalg.norm(index.vectors - v, axis=1), 20)[:20]
    brute = (time.perf_counter() - t0) / len(qv)
    rows.append({"what": "candidate scan without the tree, for scale", "size": "10,000 poses", "ms (median)": brute * 1e3,
                 "ms (p95)": None, "per second": 1 / brute})
    return rows


def run(args) -> tuple[str, list[dict]]:
    frames = _frames(Path(args.media), args.pose_frames)
    return "pose: estimation, matching, search", _estimator_rows(frames) + _matching_rows()
