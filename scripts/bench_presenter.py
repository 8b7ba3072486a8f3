#!/usr/bin/env python3
"""Benchmark: the live pipeline paced in real time on a webcam clip with the face and hands off/on.

The clip (default webcam_talking.mp4, 1080x720 at 30 fps) plays at its own rate through the live
pipeline (the reference is the clip's first frame, the warp renderer, retargeting on, the HUD on,
a null sink), three times in one run: face off, face on, face and hands on (hands on every other
frame, as `repose live` runs them; Face Mesh and Hands on the pipeline's cue thread). The pose is
estimated on every ``--pose-every``-th frame (default: the pipeline's, as `repose live` runs it) and
predicted between. Prints one
table: output/input frame rate and that figure over the same run's face-off one, capture-to-output
latency p50/p95, the mean ms of each stage (estimate: MediaPipe Pose on the frames it runs on;
predict: the pose of the frames between, see PipelineOptions.pose_every; face, hands, retarget,
render, overlay) and how many frames of each pose kind ran (estimated / predicted), the CPU the
process used (cores, and ms per input frame: a 2-core machine has 66 ms at 30 fps) and the load
average of the machine around each run (other work running on a shared machine slows every stage:
read ratios within one run). ``--json PATH`` also
writes the rows. A benchmark, never a timed test.

  python scripts/bench_presenter.py [--clip webcam_signing.mp4] [--seconds 8] [--json out.json]
"""
from __future__ import annotations

import argparse
import json
import os
import resource
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

STAGES = ("estimate", "predict", "face", "hands", "retarget", "render", "overlay")
RUNS = (("face off", False, False), ("face on", True, False), ("face + hands", True, True))


def _media() -> Path:
    for d in HERE.parents:
        if (d / "shared" / "data" / "media").is_dir():
            return d / "shared" / "data" / "media"
    return HERE.parent.parent / "shared" / "data" / "media"


def _cpu_s() -> float:
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def run(clip: Path, seconds: float, face: bool, hands: bool, pose_every: int | None = None) -> dict:
    """One paced run of the live pipeline; the table's row."""
    from calibration.live import LiveRetarget
    from engines.reenact import face_tracker, hand_tracker
    from engines.warp.renderer import WarpRenderer
    from realtime.inputs import open_source
    from realtime.media import VideoReader
    from realtime.pipeline import Pipeline, PipelineOptions
    from realtime.sources import SourceOptions

    with VideoReader(clip) as reader:
        reference = next(iter(reader))[2]
    renderer = WarpRenderer()
    renderer.prepare(reference)
    tracker = face_tracker(renderer, True) if face else None
    hand = hand_tracker(renderer, None, every=2) if hands else None
    if hands and hand is None:   # the reference shows no open hand: measure the driver's hands anyway
        from realtime.hands import HandTracker

        hand = HandTracker(every=2)
    source = open_source(str(clip), SourceOptions(realtime=True, loop=True))
    retarget = LiveRetarget(renderer.rest_pose, None, mirrored=lambda: False)
    options = PipelineOptions(realtime=True, duration_s=seconds)
    options.pose_every = pose_every or options.pose_every
    pipeline = Pipeline(source, renderer, ["null"], options,
                        retarget=retarget, face=tracker, hands=hand)
    load0, cpu0, t0 = os.getloadavg()[0], _cpu_s(), time.perf_counter()
    with pipeline:
        pipeline.wait()
    cores = (_cpu_s() - cpu0) / (time.perf_counter() - t0)
    pipeline.raise_error()
    s = pipeline.stats_dict()
    lat = s["latency_capture_to_output"]
    row = {"out/in": s["fps_out"] / max(s["fps_in"], 1e-9), "fps in": s["fps_in"], "fps out": s["fps_out"],
           "latency p50 ms": lat["p50_ms"], "latency p95 ms": lat["p95_ms"]}
    for st in STAGES:
        got = s["stages"].get(st)
        row[f"{st} ms"] = None if got is None else got["mean_ms"]
    row["estimated/predicted"] = "/".join(str(s["stages"].get(k, {}).get("count", 0)) for k in ("estimate", "predict"))
    row["cpu cores"] = cores
    row["cpu ms a frame in"] = cores * 1000.0 / max(s["fps_in"], 1e-9)
    row["load avg"] = f"{load0:.1f}-{os.getloadavg()[0]:.1f}"
    return row


def _cell(v) -> str:
    if v is None:
        return ""
    return f"{v:.3g}" if isinstance(v, float) else str(v)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--media", default=str(_media()), help="folder of the shared clips")
    p.add_argument("--clip", default="webcam_talking.mp4")
    p.add_argument("--seconds", type=float, default=8.0, help="length of each paced run")
    p.add_argument("--pose-every", type=int, default=None, metavar="N",
                   help="estimate the pose on every N-th frame (default: the pipeline's, as `repose live`)")
    p.add_argument("--json", default=None, metavar="PATH", help="also write the rows as JSON")
    args = p.parse_args(argv)
    clip = Path(args.media) / args.clip
    from realtime import quiet

    quiet.configure(False)
    with quiet.StderrFilter():   # MediaPipe's start-up lines, as the commands drop them
        rows = {name: run(clip, args.seconds, face, hands, args.pose_every) for name, face, hands in RUNS}
    from realtime.pipeline import PipelineOptions

    pose_every = args.pose_every or PipelineOptions().pose_every
    base = rows["face off"]["out/in"]
    for r in rows.values():
        r["out/in over face off"] = r["out/in"] / max(base, 1e-9)
    keys = ["out/in", "out/in over face off", *[k for k in next(iter(rows.values())) if k != "out/in"
                                                  and k != "out/in over face off"]]
    print(f"live pipeline paced at the clip's rate: {args.clip}, {args.seconds:g} s a run, "
          f"{os.cpu_count()} CPUs, pose estimated on 1 frame in {pose_every}")
    print("| run | " + " | ".join(keys) + " |")
    print("|---|" + "---|" * len(keys))
    for name, r in rows.items():
        print(f"| {name} | " + " | ".join(_cell(r[k]) for k in keys) + " |")
    if args.json:
        Path(args.json).write_text(json.dumps({"clip": args.clip, "seconds": args.seconds, "cpus": os.cpu_count(),
                                               "pose_every": pose_every, "rows": rows}, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
