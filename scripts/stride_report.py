#!/usr/bin/env python3
"""What the live loop's pose stride costs in accuracy: the pose estimated on every n-th frame and
predicted between (realtime.smoothing.PoseStride, PipelineOptions.pose_every), against every frame
estimated, on whole shared clips.

Per clip, two MediaPipe Pose trackers (video mode, as `repose live` makes them) read the clip: one
on every frame, one on every n-th frame with the prediction between. Both sequences go through the
One-Euro smoother the loop uses. Prints the mean (and 95th percentile) COCO-17 keypoint distance in
pixels of the clip and the bone-direction difference in degrees (engines.evaluation.bone_angles_deg)
of the stride's poses from the every-frame ones: raw on the estimated and on the predicted frames,
and smoothed on all. For scale, the same figures of the every-frame tracker against itself started
one frame later: how far MediaPipe's own reading moves with its tracking history alone.

  PYTHONPATH=$PWD python scripts/stride_report.py [--clips webcam_signing.mp4 ...] [--every 2]
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

CLIPS = ("webcam_talking.mp4", "webcam_signing.mp4", "presenter_desk.mp4")


def _media() -> Path:
    for d in HERE.parents:
        if (d / "shared" / "data" / "media").is_dir():
            return d / "shared" / "data" / "media"
    return HERE.parent.parent / "shared" / "data" / "media"


def difference(pairs) -> str:
    """Mean (p95) keypoint distance px and mean bone-direction difference deg over (a, b) pose pairs."""
    import numpy as np

    from engines.evaluation import bone_angles_deg
    from realtime.layouts import COCO17

    d, a = [np.zeros(0)], [np.zeros(0)]
    for p, q in pairs:
        if p is None or q is None:
            continue
        pc, qc = p.to_layout(COCO17), q.to_layout(COCO17)
        ok = pc.present() & qc.present()
        d.append(np.linalg.norm(pc.xy[ok] - qc.xy[ok], axis=1))
        a.append(bone_angles_deg(p, q))
    d, a = np.concatenate(d), np.concatenate(a)
    if not d.size:
        return "no pose in both"
    return f"{d.mean():.2f} px (p95 {np.percentile(d, 95):.1f}), {a.mean():.2f} deg (p95 {np.percentile(a, 95):.1f})"


def readings(clip: Path, every: int) -> dict[str, list]:
    """Every-frame, strided and history-shifted pose sequences of a clip (raw and smoothed)."""
    from realtime.estimator import create_estimator
    from realtime.media import VideoReader
    from realtime.smoothing import PoseSmoother, PoseStride

    with VideoReader(clip) as reader:
        frames = list(reader)
    ests = [create_estimator("video", smooth_landmarks=False) for _ in range(3)]
    stride = PoseStride(every)
    out: dict[str, list] = {"full": [], "stride": [], "shifted": [], "estimated": []}
    for i, t, image in frames:
        out["full"].append(ests[0].estimate(image, t))
        out["estimated"].append(stride.due())
        if out["estimated"][-1]:
            pose = ests[1].estimate(image, t)
            stride.seen(pose)
        else:
            pose = stride.predict(t)
        out["stride"].append(pose)
        out["shifted"].append(ests[2].estimate(image, t) if i >= 1 else None)
    for e in ests:
        e.close()
    for name in ("full", "stride"):
        sm = PoseSmoother()
        out[f"{name} smoothed"] = [None if p is None else sm(p) for p in out[name]]
    return out


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--media", default=str(_media()), help="folder of the shared clips")
    p.add_argument("--clips", nargs="+", default=list(CLIPS))
    p.add_argument("--every", type=int, default=2, help="estimate on every N-th frame (default 2, as `repose live`)")
    args = p.parse_args(argv)
    from realtime import quiet

    quiet.configure(False)
    print(f"pose every {args.every} frames against every frame (keypoint distance in clip px, bone direction):")
    print("| clip | estimated frames, raw | predicted frames, raw | all, smoothed | MediaPipe one frame later |")
    print("|---|---|---|---|---|")
    with quiet.StderrFilter():
        for name in args.clips:
            r = readings(Path(args.media) / name, args.every)
            pairs = list(zip(r["full"], r["stride"]))
            cells = [difference(pr for pr, e in zip(pairs, r["estimated"]) if e),
                     difference(pr for pr, e in zip(pairs, r["estimated"]) if not e),
                     difference(zip(r["full smoothed"], r["stride smoothed"])),
                     difference(list(zip(r["full"], r["shifted"]))[10:])]
            print(f"| {name} | " + " | ".join(cells) + " |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
