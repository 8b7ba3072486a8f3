#!/usr/bin/env python3
"""Benchmark: the live pipeline paced in real time on a webcam clip with the face and hands off/on.

The clip (default webcam_talking.mp4, 30 fps) plays at its own rate through the live pipeline (the
reference is the clip's first frame, the warp renderer, retargeting on, a null sink), three times:
face off, face on, face and hands on (hands on every other frame, as `repose live` runs them).
Prints a table: output/input frame rate, capture-to-output latency p50/p95, and the mean ms of each
stage (estimate, face, hands, retarget, render, overlay). A benchmark, never a timed test: run it
on an idle machine, and read ratios within one run.

  python scripts/bench_presenter.py [--clip webcam_signing.mp4] [--seconds 8]
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

STAGES = ("estimate", "face", "hands", "retarget", "render", "overlay")


def _media() -> Path:
    for d in HERE.parents:
        if (d / "shared" / "data" / "media").is_dir():
            return d / "shared" / "data" / "media"
    return HERE.parent.parent / "shared" / "data" / "media"


def run(clip: Path, seconds: float, face: bool, hands: bool) -> dict:
    from calibration.live import LiveRetarget
    from engines.reenact import face_tracker, hand_tracker
    from engines.warp.renderer import WarpRenderer
    from realtime.media import VideoReader
    from realtime.pipeline import Pipeline, PipelineOptions
    from realtime.inputs import open_source
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
    pipeline = Pipeline(source, renderer, ["null"], PipelineOptions(realtime=True, duration_s=seconds),
                        retarget=retarget, face=tracker, hands=hand)
    with pipeline:
        pipeline.wait()
    s = pipeline.stats_dict()
    lat = s["latency_capture_to_output"]
    row = {"out/in": s["fps_out"] / max(s["fps_in"], 1e-9), "fps_in": s["fps_in"], "fps_out": s["fps_out"],
           "lat_p50": lat["p50_ms"], "lat_p95": lat["p95_ms"]}
    for st in STAGES:
        row[st] = s["stages"].get(st, {}).get("mean_ms", float("nan"))
    return row


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--media", default=str(_media()))
    p.add_argument("--clip", default="webcam_talking.mp4")
    p.add_argument("--seconds", type=float, default=8.0)
    args = p.parse_args(argv)
    clip = Path(args.media) / args.clip
    rows = {}
    for name, face, hands in (("face off", False, False), ("face on", True, False), ("face + hands", True, True)):
        rows[name] = run(clip, args.seconds, face, hands)
    keys = list(next(iter(rows.values())))
    print(f"live pipeline paced at the clip's rate: {args.clip}, {args.seconds:g} s per run")
    print("| run | " + " | ".join(keys) + " |")
    print("|---|" + "---|" * len(keys))
    for name, r in rows.items():
        print(f"| {name} | " + " | ".join(f"{v:.3g}" if isinstance(v, float) else str(v) for v in r.values()) + " |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
