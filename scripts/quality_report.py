#!/usr/bin/env python3
"""Quality report of a renderer on the shared clips: self-reenactment AKD, MKR, L1, SSIM, PSNR.

For each clip the reference is its first frame and the targets are the MediaPipe poses of the later
frames (see `repose evaluate --self`). Writes, under --out (default runs/quality):
- quality.md: the table (also printed);
- per_frame.png: per-frame AKD (256-px scale) and person-box L1 of every clip (matplotlib);
- worst.png: the worst frame of all clips by person-box L1: real frame | target skeleton | output.
Pictures go to runs/ (git-ignored); the README shows a downscaled copy of worst.png (docs/).
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

CLIPS = ("pose_1.mp4", "pose_squats.mp4", "basketball_dribble.mp4")


def main(argv: list[str] | None = None) -> int:
    import numpy as np

    from engines.reenact import self_reenactment
    from engines.renderer import create_renderer
    from realtime.app.commands.common import progress
    from realtime.drawing import put_label, side_by_side, skeleton_image
    from realtime.fileio import atomic_path, write_image
    from realtime.inputs import open_input

    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--media", default=str(HERE.parent.parent / "shared" / "data" / "media"))
    p.add_argument("--clips", default=",".join(CLIPS))
    p.add_argument("--renderer", default="warp")
    p.add_argument("--option", action="append", default=[], metavar="KEY=VALUE",
                   help="renderer option, e.g. blend=rigid (repeatable)")
    p.add_argument("--out", default="runs/quality")
    p.add_argument("--max-frames", type=int, default=None)
    args = p.parse_args(argv)
    out_dir = Path(args.out)
    out_dir.mkdir(parents=True, exist_ok=True)

    rows, curves = [], {}
    worst: dict = {"l1": -1.0, "panel": None}
    for clip in [c for c in args.clips.split(",") if c]:
        path = Path(args.media) / clip
        renderer = create_renderer(args.renderer, **dict(o.split("=", 1) for o in args.option))

        def keep(i, out, target, real, res, clip=clip):
            """Remember only the worst frame so far (by person-box L1): memory stays flat."""
            score = res.l1_box[-1]
            if np.isfinite(score) and score > worst["l1"]:
                h, w = out.shape[:2]
                panel = np.ascontiguousarray(side_by_side(real, skeleton_image(target, w, h), out))
                put_label(panel, f"{clip} frame {i + 1}: real | target | {args.renderer} (box L1 {score:.3f})")
                worst.update(l1=score, panel=panel)

        with open_input(path, accept=("video",), max_frames=args.max_frames) as video:
            frames = iter(video)
            first = next(frames)
            w, h = first.image.shape[1], first.image.shape[0]
            res = self_reenactment(renderer, first, frames, (video.total or 1) - 1, progress=progress, keep=keep)
        renderer.close()
        s = res.summary()
        rows.append({"clip": clip, "size": f"{w}x{h}", "frames": s["rendered"], "akd_px": s["akd_px"],
                     "akd_256": s["akd_256"], "mkr": s["mkr"], "l1": s["l1"], "ssim": s["ssim"], "psnr": s["psnr"],
                     "l1_box": s["l1_box"], "ssim_box": s["ssim_box"], "psnr_box": s["psnr_box"],
                     "render_ms": s["render_ms"]})
        curves[clip] = (res.frame_index, res.keypoints.per_frame_akd_norm, res.l1_box)

    keys = list(rows[0])
    lines = ["| " + " | ".join(keys) + " |", "|" + "|".join("---" for _ in keys) + "|"]
    for r in rows:
        lines.append("| " + " | ".join(f"{v:.3g}" if isinstance(v, float) else str(v) for v in r.values()) + " |")
    table = "\n".join(lines)
    print(table)
    with atomic_path(out_dir / "quality.md") as tmp:
        tmp.write_text(f"Self-reenactment with the {args.renderer} renderer\n\n{table}\n", encoding="utf-8")
    if worst["panel"] is not None:
        write_image(out_dir / "worst.png", worst["panel"])
    _plot(curves, out_dir / "per_frame.png")
    print(f"wrote {out_dir}/quality.md, per_frame.png, worst.png")
    return 0


def _plot(curves, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from realtime.fileio import atomic_path

    fig, axes = plt.subplots(2, 1, figsize=(9, 6), sharex=False)
    for clip, (idx, akd, l1b) in curves.items():
        axes[0].plot(idx, akd, label=clip)
        axes[1].plot(idx, l1b, label=clip)
    axes[0].set_ylabel("AKD (px at 256-px height)")
    axes[1].set_ylabel("L1 in person box")
    axes[1].set_xlabel("frame (after the reference frame)")
    axes[0].legend()
    for ax in axes:
        ax.grid(alpha=0.3)
    fig.tight_layout()
    with atomic_path(path) as tmp:
        fig.savefig(tmp, dpi=100, format="png")
    plt.close(fig)


if __name__ == "__main__":
    sys.exit(main())
