"""Benchmark suite `render`: warp renderer speed per frame at several output sizes.

The drawn demo figure is resized to each size (its known pose and mask scaled with it) and driven
through the built-in motions; the time of ``render()`` alone is measured (median and 95th
percentile over all frames, after 5 warm-up frames), plus the one-off ``prepare()``.
"""
from __future__ import annotations

import time

import cv2
import numpy as np

SIZES = ((256, 256), (512, 512), (640, 480), (1280, 720), (1920, 1080), (1080, 1920))


def add_arguments(parser) -> None:
    parser.add_argument("--render-frames", type=int, default=120, help="frames per size (suite render)")


def _case(size, frames: int, **options) -> dict:
    from realtime.app.demo.figure import draw_figure
    from realtime.app.demo.motions import motion_poses
    from engines.renderer import create_renderer
    from engines.warp.renderer import resize_reference

    fig = draw_figure()
    img, pose = resize_reference(fig.image, fig.pose, size)
    mask = cv2.resize(fig.mask, size, interpolation=cv2.INTER_LINEAR)
    r = create_renderer("warp", **options)
    t0 = time.perf_counter()
    r.prepare(img, pose, mask)
    prep = time.perf_counter() - t0
    seq = [p for _, p in motion_poses(r.rest_pose, fps=15)]
    seq = (seq * (frames // len(seq) + 1))[: frames + 5]
    times = []
    for i, p in enumerate(seq):
        t0 = time.perf_counter()
        r.render(p)
        if i >= 5:
            times.append((time.perf_counter() - t0) * 1000)
    ms = float(np.median(times))
    return {"size": f"{size[0]}x{size[1]}", "options": ", ".join(f"{k}={v}" for k, v in options.items()) or "-",
            "prepare_s": prep, "ms_median": ms, "ms_p95": float(np.percentile(times, 95)),
            "fps": 1000.0 / ms, "frames": len(times)}


def run(args):
    frames = getattr(args, "render_frames", 120)
    rows = [_case(s, frames) for s in SIZES]
    rows.append(_case((512, 512), frames, alpha=True, background="transparent"))
    rows.append(_case((512, 512), frames, background="green"))
    rows.append(_case((512, 512), frames, blend="skin"))
    rows.append(_case((1280, 720), frames, blend="skin"))
    return f"warp renderer, ms per frame (render only, {cv2.getNumThreads()} OpenCV threads)", rows
