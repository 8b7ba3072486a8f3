"""Benchmark suite `render`: warp renderer speed per frame at several output sizes.

The drawn demo figure is resized to each size (its known pose and mask scaled with it) and driven
through the built-in motions; the time of ``render()`` alone is measured (median and 95th
percentile over all frames, after 5 warm-up frames), plus the one-off ``prepare()``.

``--render-against DIR`` (DIR: a checkout of an older commit, e.g. ``git archive COMMIT | tar -x -C DIR``)
instead measures the two versions in one interleaved run: one worker process per version, each frame
rendered by both in turn (the order alternating), one OpenCV thread each, and prints each version's
median ms and their ratio per size. On a shared machine only that ratio means anything.
It then times the face (engines.warp.face) the same way on the shared clips, as CPU ms a render
(time.process_time: other work on a shared machine inflates wall clock, not CPU time): the
reference a clip's first frame (webcam_talking.mp4) or a still (webcam_still.jpg, 1920x1080),
the targets, expressions and hands those of a driver clip's later frames (MediaPipe, estimated once
in this process), each rendered face off, then face on (and hands), by both versions in turn.
``--render-media DIR``: the folder of the shared clips (those rows are skipped where it is absent).

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
# face cases: (name, reference: a clip's first frame or a still, driver clip)
FACE_CASES = (("webcam_talking 1080x720", "webcam_talking.mp4", "webcam_talking.mp4"),
              ("webcam_still 1920x1080 <- presenter_desk", "webcam_still.jpg", "presenter_desk.mp4"))
FACE_FRAMES = 50    # driver frames (every 3rd from frame 10): targets, expressions, hands


def add_arguments(parser) -> None:
    parser.add_argument("--render-frames", type=int, default=120, help="frames per size (suite render)")
    parser.add_argument("--render-against", metavar="DIR", default=None,
                        help="a checkout of an older commit: time both versions in one interleaved run")
    parser.add_argument("--render-media", metavar="DIR", default=str(_media()),
                        help="folder of the shared clips, for the face rows of --render-against")


def _media() -> Path:
    for d in Path(__file__).resolve().parents:
        if (d / "shared" / "data" / "media").is_dir():
            return d / "shared" / "data" / "media"
    return Path(__file__).resolve().parent.parent.parent / "shared" / "data" / "media"


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
        return _compare(Path(args.render_against), frames, Path(getattr(args, "render_media", _media())))
    rows = [_case(s, frames) for s in SIZES]
    rows.append(_case((512, 512), frames, alpha=True, background="transparent"))
    rows.append(_case((512, 512), frames, background="green"))
    rows.append(_case((512, 512), frames, blend="skin"))
    rows.append(_case((1280, 720), frames, blend="skin"))
    return f"warp renderer, ms per frame (render only, {cv2.getNumThreads()} OpenCV threads)", rows


# -- two versions in one interleaved run -------------------------------------------------------------
def _worker() -> int:
    """One version's renderer behind a line protocol on stdin/stdout (JSON a line): a size and options
    prepare the drawn figure, a ``drive`` file (pickled reference and driver frames: _face_drive)
    prepares that reference with its face; a frame index renders that frame (``face``: with its
    expression and hands) and answers its wall and CPU ms."""
    import pickle

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
            seq = [(p, None, None) for _, p in motion_poses(r.rest_pose, fps=15)]
            reply = {"ok": True}
        elif "drive" in msg:
            with open(msg["drive"], "rb") as f:
                reference, seq = pickle.load(f)
            r = create_renderer("warp")
            r.prepare(reference)
            reply = {"ok": bool(r.has_face)}
        else:
            target, expression, hands = seq[msg["frame"] % len(seq)]
            if not msg.get("face"):
                expression = hands = None
            t0, c0 = time.perf_counter(), time.process_time()
            r.render(target, expression, hands) if expression is not None else r.render(target)
            reply = {"ms": (time.perf_counter() - t0) * 1000, "cpu_ms": (time.process_time() - c0) * 1000}
        print(json.dumps(reply), flush=True)
    return 0


def _face_drive(media: Path, reference: str, driver: str, path: Path) -> bool:
    """Pickle (reference BGR, [(target pose, expression, hands)]) of FACE_FRAMES driver frames to
    ``path``: MediaPipe Pose, Face Mesh and Hands in video mode, as the live loop runs them (the
    targets unretargeted: the renderer's cost does not depend on it). False where a file is absent."""
    import pickle

    from realtime import quiet
    from realtime.estimator import create_estimator
    from realtime.face import FaceTracker
    from realtime.hands import HandTracker
    from realtime.media import VideoReader

    if not ((media / reference).is_file() and (media / driver).is_file()):
        return False
    ref = None if reference.endswith(".mp4") else cv2.imread(str(media / reference))
    seq = []
    with quiet.StderrFilter(), create_estimator("video") as est, VideoReader(media / driver) as reader:
        faces, hands = FaceTracker(), HandTracker()
        for i, t, img in reader:
            ref = img if ref is None else ref
            pose = est.estimate(img, t)
            expression, hand = faces(img, pose, t), hands(img, pose, t)
            if i >= 10 and i % 3 == 0 and pose is not None:
                seq.append((pose, expression, hand))
            if len(seq) >= FACE_FRAMES:
                break
        faces.close()
        hands.close()
    with open(path, "wb") as f:
        pickle.dump((ref, seq), f)
    return True


def _interleaved(ask, frames: int, face: bool) -> dict:
    """Both versions render each frame in turn (the order alternating); medians and ratios."""
    ms: dict[str, list[float]] = {"old": [], "new": []}
    cpu: dict[str, list[float]] = {"old": [], "new": []}
    for i in range(frames + 5):
        for name in (("old", "new") if i % 2 else ("new", "old")):
            got = ask(name, {"frame": i, "face": face})
            if i >= 5:
                ms[name].append(got["ms"])
                cpu[name].append(got["cpu_ms"])
    o, n = float(np.median(cpu["old"])), float(np.median(cpu["new"]))
    return {"old CPU ms": o, "new CPU ms": n, "CPU new/old": n / o,
            "old wall ms": float(np.median(ms["old"])), "new wall ms": float(np.median(ms["new"])),
            "wall new/old per frame (median)": float(np.median(np.array(ms["new"]) / np.array(ms["old"]))),
            "frames": len(ms["old"])}


def _compare(old: Path, frames: int, media: Path | None = None):
    import tempfile

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
            rows.append({"case": f"drawn figure {size[0]}x{size[1]}", "face": "off",
                         **_interleaved(ask, frames, False)})
        with tempfile.TemporaryDirectory() as tmp:
            for case, reference, driver in FACE_CASES:
                drive = Path(tmp) / "drive.pkl"
                if media is None or not _face_drive(media, reference, driver, drive):
                    continue
                if not all([ask(name, {"drive": str(drive)})["ok"] for name in procs]):
                    continue
                for face in (False, True):
                    rows.append({"case": case, "face": "on (+hands)" if face else "off",
                                 **_interleaved(ask, frames, face)})
    finally:
        for p in procs.values():
            p.stdin.close()
            p.wait(timeout=30)
    return (f"warp renderer: {new.name} against {old} (interleaved, 1 OpenCV thread each; "
            "CPU ms a render, process time)", rows)


if __name__ == "__main__" and "--worker" in sys.argv:
    sys.exit(_worker())
