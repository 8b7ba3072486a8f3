"""Benchmark suite `smoothing`: how much keypoint jitter the One-Euro filter removes, and at what cost.

MediaPipe runs in video mode on real clips twice: without its own landmark smoothing (raw, what
the live pipeline feeds the One-Euro filter) and with it (for comparison). Jitter is the mean
absolute second difference of keypoint positions between frames (|x[t+1] - 2 x[t] + x[t-1]|),
a proxy that also contains real accelerations; the cost is the mean distance of the output from
the raw estimate (lag and flattening). Both in % of the body size (mean of the pose's bbox sides),
over keypoints present in every frame.
"""
from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

SETTINGS = ((1.0, 10.0), (0.5, 10.0), (1.0, 30.0), (1.0, 0.0))


def add_arguments(parser: argparse.ArgumentParser) -> None:
    g = parser.add_argument_group("smoothing suite")
    g.add_argument("--smoothing-clips", default="pose_1.mp4,basketball_dribble.mp4",
                   help="comma-separated clips in --media")


def _estimate(path: Path, smooth: bool) -> list:
    from realtime.inputs import open_input

    with open_input(path, accept=("video",), estimator_options={"smooth_landmarks": smooth}) as video:
        return [f.pose for f in video]


def run(args: argparse.Namespace) -> tuple[str, list[dict]]:
    from realtime.smoothing import OneEuroOptions, PoseSmoother

    rows = []
    for clip in [c for c in args.smoothing_clips.split(",") if c]:
        path = Path(args.media) / clip
        raw, mp = _estimate(path, False), _estimate(path, True)
        ok = [i for i in range(len(raw)) if raw[i] is not None and mp[i] is not None]
        if len(ok) < 3:
            rows.append({"clip": clip, "filter": "(too few frames with a person)"})
            continue
        raw_xy = np.stack([raw[i].xy for i in ok])
        present = np.stack([raw[i].present() for i in ok]).all(axis=0)
        box = raw[ok[0]].bbox()
        scale = 0.5 * ((box[2] - box[0]) + (box[3] - box[1]))

        def row(name: str, seq: list) -> dict:
            xy = np.stack([seq[i].xy for i in ok])[:, present]
            jitter = np.abs(xy[2:] - 2 * xy[1:-1] + xy[:-2]).mean() / scale * 100
            dev = np.abs(xy - raw_xy[:, present]).mean() / scale * 100
            return {"clip": clip, "filter": name, "jitter_%body": jitter, "vs_raw_%body": dev}

        rows.append(row("raw (MediaPipe, no smoothing)", raw))
        rows.append(row("MediaPipe smooth_landmarks", mp))
        for mc, beta in SETTINGS:
            sm = PoseSmoother(OneEuroOptions(min_cutoff=mc, beta=beta))
            name = f"One-Euro min_cutoff={mc:g} beta={beta:g}" + (" (default)" if (mc, beta) == (1.0, 10.0) else "")
            rows.append(row(name, [None if p is None else sm(p) for p in raw]))
    return "smoothing: keypoint jitter vs distance from the raw estimate (% of body size)", rows
