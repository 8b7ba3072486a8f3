#!/usr/bin/env python3
"""Bone-direction error broken down per bone and per frame, on the path `repose evaluate` takes.

For each run (``--self CLIP``: self-reenactment, the clip's first frame is the reference; ``--cross
IMAGE:CLIP``: the photo driven by the clip), the renderer is driven exactly as `repose evaluate`
does (retargeting on unless ``--no-retarget``, the face and hands where the reference shows them,
outputs re-read in the driver's mode) and every (frame, bone) angle between the target and the
re-estimated output is kept; with --self the real frames' angles too (the estimator's floor).
Prints, per run, the mean error of each COCO-17 bone (output and floor, and its share of the total),
the head's share, and the worst frames; writes ``<out>/<run>_head.jpg``, a contact sheet of the
worst frames by head-bone error: real frame (or the target drawn) | output, cropped to the head and
shoulders, target face points in green, those found on the output in red.

    PYTHONPATH=$PWD python scripts/bone_report.py --self pose_squats.mp4 --max-frames 60
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

HEAD_BONES = (("left_eye", "right_eye"), ("nose", "left_eye"), ("nose", "right_eye"), ("left_eye", "left_ear"),
              ("right_eye", "right_ear"), ("left_ear", "left_shoulder"), ("right_ear", "right_shoulder"))
FACE = ("nose", "left_eye", "right_eye", "left_ear", "right_ear", "left_shoulder", "right_shoulder")


def per_bone(target, found, min_score: float = 0.5):
    """(19,) angle of every COCO-17 bone (degrees), NaN where either pose lacks an end."""
    import numpy as np

    from realtime.layouts import COCO17

    pairs = COCO17.bone_indices
    out = np.full(len(pairs), np.nan)
    if found is None:
        return out
    t, f = target.to_layout(COCO17), found.to_layout(COCO17)
    ok = t.present(min_score) & f.present(min_score)
    for k, (a, b) in enumerate(pairs):
        if ok[a] and ok[b]:
            vt, vf = (t.xy[b] - t.xy[a]).astype(np.float64), (f.xy[b] - f.xy[a]).astype(np.float64)
            nt, nf = np.linalg.norm(vt), np.linalg.norm(vf)
            if nt > 1e-6 and nf > 1e-6:
                out[k] = np.degrees(np.arccos(np.clip(vt @ vf / (nt * nf), -1.0, 1.0)))
    return out


class Recorder:
    """Wraps engines.reenact's bone_angles_deg and evaluate_sequence: keeps (target, found) of every
    output (and real frame) re-read, and a small head crop of every frame."""

    def __init__(self) -> None:
        self.calls: list = []
        self.rows: list[dict] = []

    def install(self):
        import engines.reenact as er

        orig_angles, orig_eval = er.bone_angles_deg, er.evaluate_sequence

        def angles(target, found, *a, **kw):
            self.calls.append((target, found))
            return orig_angles(target, found, *a, **kw)

        def evaluate(renderer, items, *a, keep=None, **kw):
            self.renderer = renderer
            return orig_eval(renderer, items, *a, keep=self.keep, **kw)

        er.bone_angles_deg, er.evaluate_sequence = angles, evaluate
        return lambda: (setattr(er, "bone_angles_deg", orig_angles), setattr(er, "evaluate_sequence", orig_eval))

    def keep(self, i, out, target, real, res) -> None:
        calls, self.calls = self.calls, []
        (t, found), floor = calls[0], (calls[1][1] if len(calls) > 1 else None)
        self.rows.append({"i": i, "out": per_bone(t, found), "floor": per_bone(t, floor) if floor is not None else None,
                          "crop": _head_crop(out, real, t, found), "poses": [_coco(p) for p in (t, found, floor)],
                          "pred": self._predicted(t)})

    def _predicted(self, target):
        """The reference's face points moved by the head's transform for this target (px), or None."""
        from engines.warp.parts import apply, part_transforms
        from realtime.layouts import COCO17

        r = getattr(self, "renderer", None)
        if r is None or not hasattr(r, "_ref_xy"):
            return None
        t = target.to_layout(COCO17)
        mats = part_transforms(r._ref_xy, r._ref_ok, t.xy.astype(float), t.present(0.5), COCO17.index)
        return apply(mats["head"], r._ref_xy)


def _coco(pose):
    """(xy (17, 2), score (17,)) of a pose in COCO-17, or None."""
    from realtime.layouts import COCO17

    if pose is None:
        return None
    c = pose.to_layout(COCO17)
    return c.xy.copy(), c.score.copy()


def _head_crop(out, real, target, found, size: int = 200):
    """real | output around the target's head and shoulders, face points drawn (BGR)."""
    import cv2
    import numpy as np

    from realtime.layouts import COCO17

    t = target.to_layout(COCO17)
    ix = [COCO17.index[n] for n in FACE]
    ok = t.present(0.5)[ix]
    pts = t.xy[ix][ok]
    if len(pts) < 2:
        return None
    c = pts.mean(0)
    r = max(float(np.ptp(pts, axis=0).max()) * 0.7, 20.0)
    x0, y0 = int(max(c[0] - r, 0)), int(max(c[1] - r, 0))
    x1, y1 = int(min(c[0] + r, out.shape[1])), int(min(c[1] + r, out.shape[0]))
    tiles = []
    for img, draw in ((real, False), (out, True)):
        if img is None:
            img = np.zeros_like(out)
        tile = np.ascontiguousarray(img[y0:y1, x0:x1])
        s = size / max(tile.shape[:2])
        tile = cv2.resize(tile, (max(int(tile.shape[1] * s), 1), max(int(tile.shape[0] * s), 1)))
        for pose, col in ((t, (0, 255, 0)), (found.to_layout(COCO17) if (draw and found is not None) else None,
                                              (0, 0, 255))):
            if pose is None:
                continue
            okp = pose.present(0.5)
            for a, b in COCO17.bone_indices:
                if okp[a] and okp[b] and COCO17.names[a] in FACE and COCO17.names[b] in FACE:
                    p = ((pose.xy[[a, b]] - (x0, y0)) * s).astype(int)
                    cv2.line(tile, tuple(p[0]), tuple(p[1]), col, 1, cv2.LINE_AA)
        tiles.append(np.pad(tile, ((0, size - tile.shape[0]), (0, size - tile.shape[1]), (0, 0))))
    return np.hstack(tiles)


def run(spec: str, args) -> dict:
    """Drive one run the way `repose evaluate` does; the recorded rows and its summary."""
    from realtime.app.cli import build_parser
    from realtime.app.commands import evaluate_cmd
    from realtime.inputs import open_input

    media = Path(args.media)
    argv = ["evaluate", "--max-frames", str(args.max_frames)]
    if ":" in spec:
        photo, clip = spec.split(":", 1)
        argv += ["--reference", str(media / photo), "--driver", str(media / clip)]
    else:
        argv += ["--self", "--driver", str(media / spec)]
    if args.no_retarget:
        argv.append("--no-retarget")
    ns = build_parser().parse_args(argv + [a for o in args.option for a in ("--" + o,)])
    rec = Recorder()
    undo = rec.install()
    try:
        renderer = evaluate_cmd.build_renderer(ns)
        with open_input(ns.driver, max_frames=ns.max_frames) as video:
            frames = iter(video)
            first = next(frames)
            res = evaluate_cmd._drive(ns, renderer, None, first, frames, video.total, video.mode)
        renderer.close()
    finally:
        undo()
    return {"rows": rec.rows, "summary": res.summary()}


def report(name: str, got: dict, out_dir: Path, worst: int = 8) -> str:
    import cv2
    import numpy as np

    from realtime.layouts import COCO17

    names = [f"{a}-{b}" for a, b in COCO17.bones]
    head = np.array([(a, b) in HEAD_BONES or (b, a) in HEAD_BONES for a, b in COCO17.bones])
    out = np.array([r["out"] for r in got["rows"]])
    floor = np.array([r["floor"] for r in got["rows"] if r["floor"] is not None])
    s = got["summary"]
    total = np.nansum(out)
    lines = [f"## {name}: bone {s['bone_deg']:.2f} (floor {s.get('floor_bone_deg', float('nan')):.2f}), "
             f"AKD@256 {s['akd_256']:.2f} (floor {s.get('floor_akd_256', float('nan')):.2f}), "
             f"L1 {s.get('l1', float('nan')):.4f}, frames {len(out)}",
             f"head share of the summed error: {np.nansum(out[:, head]) / total:.2f}; "
             f"mean without the head bones: {np.nanmean(out[:, ~head]):.2f}, head bones only: "
             f"{np.nanmean(out[:, head]):.2f}",
             "| bone | mean | floor | count | share |", "|---|---|---|---|---|"]
    for k in np.argsort(-np.nansum(out, axis=0)):
        n = int(np.isfinite(out[:, k]).sum())
        if n == 0:
            continue
        fl = np.nanmean(floor[:, k]) if floor.size and np.isfinite(floor[:, k]).any() else float("nan")
        lines.append(f"| {names[k]} | {np.nanmean(out[:, k]):.2f} | {fl:.2f} | {n} | "
                     f"{np.nansum(out[:, k]) / total:.2f} |")
    head_err = np.nanmean(np.where(head, out, np.nan), axis=1)
    order = np.argsort(-np.nan_to_num(head_err, nan=-1))[:worst]
    lines.append("worst head frames: " + ", ".join(f"{got['rows'][j]['i'] + 1}: {head_err[j]:.1f}" for j in order))
    crops = [got["rows"][j]["crop"] for j in order if got["rows"][j]["crop"] is not None]
    if crops:
        for j, c in zip(order, crops):
            cv2.putText(c, f"{got['rows'][j]['i'] + 1}: {head_err[j]:.1f}", (4, 14), cv2.FONT_HERSHEY_SIMPLEX,
                        0.45, (255, 255, 255), 1, cv2.LINE_AA)
        if len(crops) % 2:
            crops.append(np.zeros_like(crops[0]))
        sheet = np.vstack([np.hstack(crops[i:i + 2]) for i in range(0, len(crops), 2)])
        cv2.imwrite(str(out_dir / f"{name}_head.png"), sheet)
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    import logging
    import pickle

    from scripts.quality_report import _find_media

    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--self", dest="selfs", action="append", default=[], metavar="CLIP")
    p.add_argument("--cross", action="append", default=[], metavar="IMAGE:CLIP")
    p.add_argument("--media", default=str(_find_media()))
    p.add_argument("--max-frames", type=int, default=60)
    p.add_argument("--no-retarget", action="store_true")
    p.add_argument("--option", action="append", default=[], help="an evaluate flag without its --, e.g. no-face")
    p.add_argument("--head-limit", type=float, default=None,
                   help="engines.warp.parts.HEAD_TURN_LIMIT for this run (0: the head's similarity alone)")
    p.add_argument("--out", default="runs/bones")
    args = p.parse_args(argv)
    logging.basicConfig(level=logging.WARNING)
    out_dir = Path(args.out)
    out_dir.mkdir(parents=True, exist_ok=True)
    if args.head_limit is not None:
        import engines.warp.parts as parts

        parts.HEAD_TURN_LIMIT = args.head_limit
    for spec in [*args.selfs, *args.cross]:
        got = run(spec, args)
        name = spec.replace(".mp4", "").replace(".jpg", "").replace(":", "_by_")
        text = report(name, got, out_dir)
        print(text, flush=True)
        with open(out_dir / f"{name}.pkl", "wb") as f:
            pickle.dump({"summary": got["summary"], "out": [r["out"] for r in got["rows"]],
                         "floor": [r["floor"] for r in got["rows"]], "i": [r["i"] for r in got["rows"]],
                         "poses": [r["poses"] for r in got["rows"]],
                         "pred": [r["pred"] for r in got["rows"]]}, f)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
