"""Benchmark suite `render`: warp renderer speed per frame at several output sizes.

The drawn demo figure is resized to each size (its known pose and mask scaled with it) and driven
through the built-in motions; the time of ``render()`` alone is measured (median and 95th
percentile over all frames, after 5 warm-up frames), plus the one-off ``prepare()``.

``--render-against DIR`` (DIR: a checkout of an older commit, e.g. ``git archive COMMIT | tar -x -C DIR``)
instead measures the two versions in one interleaved run: one worker process per version, each frame
rendered by both in turn (the order alternating), one OpenCV thread each, and prints each version's
median ms and their ratio per size. On a shared machine only that ratio means anything.

  python scripts/benchmark.py render --render-against /tmp/old
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import cv2
import numpy as np

SIZES = ((256, 256), (512, 512), (640, 480), (1280, 720), (1920, 1080), (1080, 1920))


COMPARE_SIZES = ((512, 512), (1080, 1920))


def add_arguments(parser) -> None:
    parser.add_argument("--render-frames", type=int, default=120, help="frames per size (suite render)")
    parser.add_argument("--render-against", metavar="DIR", default=None,
                        help="a checkout of an older commit: time both versions in one interleaved run")


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
    if getattr(args, "render_against", None):
        return _compare(Path(args.render_against), frames)
    rows = [_case(s, frames) for s in SIZES]
    rows.append(_case((512, 512), frames, alpha=True, background="transparent"))
    rows.append(_case((512, 512), frames, background="green"))
    rows.append(_case((512, 512), frames, blend="skin"))
    rows.append(_case((1280, 720), frames, blend="skin"))
    return f"warp renderer, ms per frame (render only, {cv2.getNumThreads()} OpenCV threads)", rows


# -- two versions in one interleaved run -------------------------------------------------------------
def _worker() -> int:
    """One version's renderer behind a line protocol on stdin/stdout (JSON a line): a size and options
    prepare the drawn figure; a frame index renders that frame of the motions and answers its ms."""
    from realtime.app.demo.figure import draw_figure
    from realtime.app.demo.motions import motion_poses
    from engines.renderer import create_renderer
    from engines.warp.renderer import resize_reference

    cv2.setNumThreads(1)
    fig = draw_figure()
    r = seq = None
    for line in sys.stdin:
        msg = json.loads(line)
        if "size" in msg:
            size = tuple(msg["size"])
            img, pose = resize_reference(fig.image, fig.pose, size)
            r = create_renderer("warp", **msg.get("options", {}))
            r.prepare(img, pose, cv2.resize(fig.mask, size, interpolation=cv2.INTER_LINEAR))
            seq = [p for _, p in motion_poses(r.rest_pose, fps=15)]
            reply = {"ok": True}
        else:
            t0 = time.perf_counter()
            r.render(seq[msg["frame"] % len(seq)])
            reply = {"ms": (time.perf_counter() - t0) * 1000}
        print(json.dumps(reply), flush=True)
    return 0


def _compare(old: Path, frames: int):
    if not (old / "engines" / "warp" / "renderer.py").is_file():
        raise SystemExit(f"--render-against {old}: expected a checkout with engines/warp/renderer.py; "
                         "make one with `git archive COMMIT | tar -x -C DIR`")
    new = Path(__file__).resolve().parent.parent
    procs = {}
    for name, tree in (("old", old), ("new", new)):
        env = dict(os.environ, PYTHONPATH=str(tree))
        procs[name] = subprocess.Popen([sys.executable, __file__, "--worker"], stdin=subprocess.PIPE,
                                       stdout=subprocess.PIPE, text=True, env=env, cwd=str(tree))

    def ask(name: str, msg: dict) -> dict:
        procs[name].stdin.write(json.dumps(msg) + "\n")
        procs[name].stdin.flush()
        return json.loads(procs[name].stdout.readline())

    rows = []
    try:
        for size in COMPARE_SIZES:
            for name in procs:
                ask(name, {"size": size})
            ms: dict[str, list[float]] = {n: [] for n in procs}
            for i in range(frames + 5):
                for name in (("old", "new") if i % 2 else ("new", "old")):
                    t = ask(name, {"frame": i})["ms"]
                    if i >= 5:
                        ms[name].append(t)
            o, n = float(np.median(ms["old"])), float(np.median(ms["new"]))
            ratios = np.array(ms["new"]) / np.array(ms["old"])
            rows.append({"size": f"{size[0]}x{size[1]}", "old ms (median)": o, "new ms (median)": n,
                         "new/old": n / o, "new/old per frame (median)": float(np.median(ratios)),
                         "frames": len(ratios)})
    finally:
        for p in procs.values():
            p.stdin.close()
            p.wait(timeout=30)
    return (f"warp renderer, face and hands off: {new.name} against {old} (interleaved, 1 OpenCV thread each)",
            rows)


if __name__ == "__main__" and "--worker" in sys.argv:
    sys.exit(_worker())
