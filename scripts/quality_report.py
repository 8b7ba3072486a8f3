#!/usr/bin/env python3
"""Quality report of a renderer on the shared clips: self-reenactment and cross-identity figures,
per-frame plots and contact sheets of the worst frames.

Self-reenactment (each clip): the reference is its first frame and the targets are the MediaPipe
poses of the later frames, retargeted onto it as `repose evaluate --self` does (calibrated on the
first steady neutral frames as `repose render` does without a profile; ``--neutral reference``: the
reference frame is the driver's neutral, so the targets are the driver's poses; ``--no-retarget``
for the raw poses). Measures: AKD, MKR, bone-direction error (degrees), L1 / SSIM /
PSNR over the whole frame and the person box, and the ghost L1 (engines.evaluation.ghost_region).
Cross-identity (``--cross IMAGE``, default the shared pose.jpg): that photo driven by each clip
(retargeted): AKD, MKR, bone-direction error.

Writes, under --out (default runs/quality):
- quality.md (the tables, also printed) and quality.json (the same numbers, for before/after);
- per_frame.png: per-frame bone error, person-box L1 and ghost L1 of every clip (matplotlib);
- self_<clip>.jpg: contact sheet of the worst frames by person-box L1: driver | output;
- cross_<clip>.jpg: contact sheet of the worst frames by bone error: driver | output.
Pictures go to runs/ (git-ignored); the README shows downscaled copies (docs/).
"""
from __future__ import annotations

import argparse
import heapq
import json
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

CLIPS = ("pose_1.mp4", "pose_squats.mp4", "basketball_dribble.mp4")
SHEET_FRAMES = 6
PANEL_H = 320


class WorstFrames:
    """The ``n`` worst frames by a score, each kept as a small driver | output panel (memory flat)."""

    def __init__(self, n: int = SHEET_FRAMES) -> None:
        self.n = n
        self._heap: list = []
        self._count = 0

    def offer(self, score: float, label: str, driver, output, box=None) -> None:
        """Keep this frame if it is among the worst; ``box`` (x0, y0, x1, y1): crop the output (and a
        driver frame of the same size) to it, so the person fills the panel."""
        import numpy as np

        from realtime.drawing import put_label, side_by_side

        if not np.isfinite(score):
            return
        self._count += 1
        if len(self._heap) >= self.n and score <= self._heap[0][0]:
            return
        if box is not None:
            x0, y0, x1, y1 = box
            if driver.shape == output.shape:        # a real frame of the same scene: the same crop
                driver = driver[y0:y1, x0:x1]
            output = output[y0:y1, x0:x1]
        panel = np.ascontiguousarray(side_by_side(driver, output, height=PANEL_H))
        put_label(panel, label, org=(6, 18))
        item = (score, self._count, panel)
        if len(self._heap) < self.n:
            heapq.heappush(self._heap, item)
        else:
            heapq.heapreplace(self._heap, item)

    def sheet(self):
        """Panels worst first, two per row (None when empty)."""
        import numpy as np

        panels = [p for _, _, p in sorted(self._heap, key=lambda t: -t[0])]
        if not panels:
            return None
        w = max(p.shape[1] for p in panels)
        panels = [np.pad(p, ((0, 0), (0, w - p.shape[1]), (0, 0))) for p in panels]
        if len(panels) % 2:
            panels.append(np.zeros_like(panels[0]))
        rows = [np.concatenate(panels[i:i + 2], axis=1) for i in range(0, len(panels), 2)]
        return np.concatenate(rows, axis=0)


def _find_media() -> Path:
    """``../shared/data/media`` beside the checkout, searched upwards (git worktrees sit deeper)."""
    for d in HERE.parents:
        if (d / "shared" / "data" / "media").is_dir():
            return d / "shared" / "data" / "media"
    return HERE.parent.parent / "shared" / "data" / "media"


def _renderer(args):
    from engines.renderer import create_renderer

    return create_renderer(args.renderer, **dict(o.split("=", 1) for o in args.option))


def self_reenact(path: Path, args, progress):
    """Self-reenactment of one clip: (row, curves, sheet)."""
    from engines.reenact import self_reenactment
    from realtime.app.commands.evaluate_cmd import RETARGET_FOR
    from realtime.inputs import open_input

    worst = WorstFrames()
    renderer = _renderer(args)

    def keep(i, out, target, real, res):
        worst.offer(res.l1_box[-1], f"{path.stem} {i + 1}: box L1 {res.l1_box[-1]:.3f} "
                    f"bone {res.bone_deg[-1]:.1f}deg", real, out, _box(target, out, 0.3))

    with open_input(path, accept=("video",), max_frames=args.max_frames) as video:
        frames = iter(video)
        first = next(frames)
        h, w = first.image.shape[:2]
        res = self_reenactment(renderer, first, frames, (video.total or 1) - 1, progress=progress, keep=keep,
                               retarget_for=None if args.no_retarget else
                               RETARGET_FOR[args.neutral])
    renderer.close()
    s = res.summary()
    row = {"clip": path.name, "size": f"{w}x{h}", "frames": s["rendered"], "akd_256": s["akd_256"],
           "mkr": s["mkr"], "bone_deg": s["bone_deg"], "l1": s["l1"], "l1_box": s["l1_box"],
           "l1_ghost": s.get("l1_ghost", float("nan")), "ssim": s["ssim"], "ssim_box": s["ssim_box"],
           "psnr": s["psnr"], "psnr_box": s["psnr_box"], "render_ms": s["render_ms"]}
    curves = (res.frame_index, res.bone_deg, res.l1_box, res.l1_ghost)
    return row, curves, worst.sheet()


def cross_identity(photo: Path, path: Path, args, progress):
    """``photo`` driven by one clip (retargeted): (row, sheet)."""
    from calibration.retargeter import Retargeter
    from engines.reenact import evaluate_sequence
    from realtime.inputs import open_input
    from realtime.media import read_image

    worst = WorstFrames()
    renderer = _renderer(args)
    renderer.prepare(read_image(photo))
    drivers: dict[int, object] = {}

    def keep(i, out, target, real, res):
        worst.offer(res.bone_deg[-1], f"{photo.stem} by {path.stem} {i}: bone {res.bone_deg[-1]:.1f}deg",
                    drivers.pop(i), out, _box(target, out, 0.3))

    with open_input(path, accept=("video",), max_frames=args.max_frames) as video:
        rt = Retargeter(renderer.rest_pose)

        def items():
            for f in video:
                drivers.clear()
                drivers[f.index] = f.image
                yield f.index, rt(f.pose, f.time_s), None

        res = evaluate_sequence(renderer, items(), video.total, progress=progress, keep=keep, reestimate=video.mode)
    renderer.close()
    s = res.summary()
    row = {"photo": photo.name, "driver": path.name, "frames": s["rendered"], "akd_256": s["akd_256"],
           "mkr": s["mkr"], "bone_deg": s["bone_deg"], "render_ms": s["render_ms"]}
    return row, worst.sheet()


def _box(target, out, pad: float):
    from engines.reenact import person_box

    return person_box(target, out.shape[1], out.shape[0], pad=pad)


def _table(rows: list[dict]) -> str:
    keys = list(rows[0])
    lines = ["| " + " | ".join(keys) + " |", "|" + "|".join("---" for _ in keys) + "|"]
    for r in rows:
        lines.append("| " + " | ".join(f"{v:.3g}" if isinstance(v, float) else str(v) for v in r.values()) + " |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    import math

    from realtime.app.commands.common import progress
    from realtime.fileio import atomic_path, write_image

    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--media", default=str(_find_media()))
    p.add_argument("--clips", default=",".join(CLIPS))
    p.add_argument("--cross", default="pose.jpg", metavar="IMAGE",
                   help="photo (in --media, or a path) driven by each clip; '' to skip")
    p.add_argument("--renderer", default="warp")
    p.add_argument("--option", action="append", default=[], metavar="KEY=VALUE",
                   help="renderer option, e.g. blend=rigid (repeatable)")
    p.add_argument("--no-retarget", action="store_true", help="self-reenactment with the raw poses")
    p.add_argument("--neutral", choices=("auto", "reference"), default="auto",
                   help="self-reenactment's neutral, as `repose evaluate --neutral`: 'auto' (default) calibrated "
                        "as `repose render` is, 'reference' the reference frame")
    p.add_argument("--out", default="runs/quality")
    p.add_argument("--max-frames", type=int, default=None)
    args = p.parse_args(argv)
    out_dir = Path(args.out)
    out_dir.mkdir(parents=True, exist_ok=True)
    clips = [Path(args.media) / c for c in args.clips.split(",") if c]

    rows, cross_rows, curves = [], [], {}
    for path in clips:
        row, curve, sheet = self_reenact(path, args, progress)
        rows.append(row)
        curves[path.name] = curve
        if sheet is not None:
            write_image(out_dir / f"self_{path.stem}.jpg", sheet)
    if args.cross:
        photo = Path(args.cross) if Path(args.cross).is_file() else Path(args.media) / args.cross
        for path in clips:
            row, sheet = cross_identity(photo, path, args, progress)
            cross_rows.append(row)
            if sheet is not None:
                write_image(out_dir / f"cross_{path.stem}.jpg", sheet)

    opts = ", ".join(args.option) or "defaults"
    text = (f"Self-reenactment with the {args.renderer} renderer ({opts}; "
            f"{'raw poses' if args.no_retarget else 'retargeted'})\n\n{_table(rows)}\n")
    if cross_rows:
        text += f"\nCross-identity ({args.cross} driven by each clip, retargeted)\n\n{_table(cross_rows)}\n"
    print(text)
    with atomic_path(out_dir / "quality.md") as tmp:
        tmp.write_text(text, encoding="utf-8")
    clean = [{k: (None if isinstance(v, float) and not math.isfinite(v) else v) for k, v in r.items()}
             for r in rows + cross_rows]
    with atomic_path(out_dir / "quality.json") as tmp:
        tmp.write_text(json.dumps(clean, indent=1), encoding="utf-8")
    _plot(curves, out_dir / "per_frame.png")
    print(f"wrote {out_dir}/quality.md, quality.json, per_frame.png and the contact sheets")
    return 0


def _plot(curves, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from realtime.fileio import atomic_path

    fig, axes = plt.subplots(3, 1, figsize=(9, 8), sharex=False)
    for clip, (idx, bone, l1b, ghost) in curves.items():
        axes[0].plot(idx, bone, label=clip)
        axes[1].plot(idx, l1b, label=clip)
        if ghost:
            axes[2].plot(idx, ghost, label=clip)
    axes[0].set_ylabel("bone error (deg)")
    axes[1].set_ylabel("L1 in person box")
    axes[2].set_ylabel("ghost L1")
    axes[2].set_xlabel("frame (after the reference frame)")
    axes[0].legend()
    for ax in axes:
        ax.grid(alpha=0.3)
    fig.tight_layout()
    with atomic_path(path) as tmp:
        fig.savefig(tmp, dpi=100, format="png")
    plt.close(fig)


if __name__ == "__main__":
    sys.exit(main())
