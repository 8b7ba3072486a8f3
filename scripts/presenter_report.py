#!/usr/bin/env python3
"""Presenter report: the warp renderer on the webcam clips (upper body, talking, signing), face on.

Self-reenactment (the clip's first frame is the reference, `repose evaluate --self`) on
presenter_desk.mp4, webcam_talking.mp4 and webcam_signing.mp4, and cross-identity runs
(webcam_still.jpg driven by presenter_desk and webcam_signing, pose.jpg driven by webcam_talking).
Measures: AKD (256-px height), bone-direction error, L1 (self only), and the face: mouth-opening
and eye-opening correlation with the driver, the output's mouth range over the driver's, head-roll
error, share of frames where the output shows no face. Writes under --out (default runs/presenter):
- presenter.md: the tables (also printed);
- <run>.jpg: a contact sheet per run: driver | face and hands off | face and hands on, at four
  moments (the "off" column is the renderer as it was before the face and fingers followed).
Hands: share of driver frames with a hand where the output shows one, finger-bend correlation.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

SELF = ("presenter_desk.mp4", "webcam_talking.mp4", "webcam_signing.mp4")
CROSS = (("webcam_still.jpg", "presenter_desk.mp4"), ("webcam_still.jpg", "webcam_signing.mp4"),
         ("pose.jpg", "webcam_talking.mp4"), ("pose.jpg", "webcam_signing.mp4"))
COLUMNS = ("akd_256", "bone_deg", "l1", "mouth_corr", "mouth_range_ratio", "eye_corr",
           "head_roll_err_deg", "face_not_found", "hands_found", "finger_bend_corr", "render_ms")


def run_one(media: Path, reference: str | None, driver: str, max_frames: int | None, face: bool,
            moments: int = 4):
    """face: the face and the fingers follow the driver (else both stay as photographed; the driver's
    face and hands are measured either way)."""
    """(summary, {frame index: (driver image, output as photographed, output)}) of one run."""
    import itertools

    import numpy as np

    from calibration.retargeter import Retargeter
    from engines.evaluation import FaceScores, HandScores
    from engines.reenact import driver_cues, evaluate_sequence, face_tracker
    from realtime.inputs import open_input
    from realtime.hands import HandTracker
    from engines.warp.renderer import WarpRenderer
    from realtime.app.commands.common import progress
    from realtime.media import read_image

    renderer = WarpRenderer()
    shots: dict[int, tuple] = {}
    with open_input(media / driver, max_frames=max_frames) as video:
        total = video.total or 1
        pick = set(np.linspace(1, total - 1, moments).astype(int).tolist())
        frames = iter(video)
        first = next(frames)
        images: dict[int, np.ndarray] = {}

        def cues(tracker, f):
            if f.index in pick:
                images[f.index] = f.image
            c = driver_cues(f, tracker, hands, use_hands=face and renderer.has_hands)
            if c is not None and not face:
                c.expression = None
            return c

        hands = HandTracker()
        if reference is None:
            renderer.prepare(first.image)
            tracker = face_tracker(renderer, None, neutral_frames=1)   # measures even with the face off
            if tracker is not None:
                tracker(first.image, first.pose, first.time_s)
            items = ((f.index, f.pose, f.image, cues(tracker, f)) for f in frames)
        else:
            renderer.prepare(read_image(media / reference))
            retarget = Retargeter(renderer.rest_pose)
            tracker = face_tracker(renderer, None)
            items = ((f.index, retarget(f.pose, f.time_s), None, cues(tracker, f))
                     for f in itertools.chain([first], frames))

        def keep(i, out, target, real, res):
            if i in pick:   # the same target with the face and hands as photographed: "before"
                before = renderer.render(target)[..., :3]
                shots[i] = (images.pop(i), before, out.copy())

        scores = FaceScores(relative_roll=reference is not None) if tracker is not None else None
        res = evaluate_sequence(renderer, items, total, progress=progress, keep=keep, face=scores,
                                hands=HandScores(), reestimate=video.mode, floor=reference is None)
        for t in (tracker, hands):
            if t is not None:
                t.close()
    renderer.close()
    return res.summary(), shots


def sheet(rows: list[list], height: int = 240):
    """Rows of images side by side, each scaled to ``height``, stacked (BGR)."""
    import cv2
    import numpy as np

    lines = []
    for row in rows:
        tiles = [cv2.resize(im, (int(im.shape[1] * height / im.shape[0]), height), interpolation=cv2.INTER_AREA)
                 for im in row]
        lines.append(np.hstack(tiles))
    w = max(line.shape[1] for line in lines)
    return np.vstack([np.pad(line, ((0, 0), (0, w - line.shape[1]), (0, 0))) for line in lines])


def _media() -> Path:
    for d in HERE.parents:
        if (d / "shared" / "data" / "media").is_dir():
            return d / "shared" / "data" / "media"
    return HERE.parent.parent / "shared" / "data" / "media"


def main(argv: list[str] | None = None) -> int:
    from realtime.fileio import atomic_path, write_image

    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--media", default=str(_media()), help="the shared clips (default: ../shared/data/media "
                   "beside the checkout, searched upwards)")
    p.add_argument("--out", default="runs/presenter")
    p.add_argument("--max-frames", type=int, default=None)
    p.add_argument("--off", action="store_true", help="also measure every run with the face and hands off")
    p.add_argument("--only", default="", help="comma-separated run names to do (e.g. self:presenter_desk.mp4)")
    args = p.parse_args(argv)
    media, out_dir = Path(args.media), Path(args.out)
    out_dir.mkdir(parents=True, exist_ok=True)
    runs = [(f"self:{c}", None, c) for c in SELF] + [(f"{r}<-{d}", r, d) for r, d in CROSS]
    only = {s for s in args.only.split(",") if s}
    tables = []
    for name, ref, drv in runs:
        if only and name not in only:
            continue
        on, shots = run_one(media, ref, drv, args.max_frames, face=True)
        off = run_one(media, ref, drv, args.max_frames, face=False)[0] if args.off else {}
        tables.append((name, on, off))
        rows = [list(shots[i]) for i in sorted(shots)]
        if rows:
            write_image(out_dir / (name.replace(":", "_").replace("<-", "_by_").replace(".", "_") + ".jpg"),
                        sheet(rows))
    head = "| run | face | " + " | ".join(COLUMNS) + " |"
    lines = [head, "|" + "---|" * (len(COLUMNS) + 2)]
    for name, on, off in tables:
        for label, s in (("on", on), ("off", off)) if off else (("on", on),):
            vals = [s.get(k) for k in COLUMNS]
            lines.append(f"| {name} | {label} | " + " | ".join(
                "" if v is None else (f"{v:.3g}" if isinstance(v, float) else str(v)) for v in vals) + " |")
    table = "\n".join(lines)
    print(table)
    with atomic_path(out_dir / "presenter.md") as tmp:
        tmp.write_text(f"Presenter framing, warp renderer\n\n{table}\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
