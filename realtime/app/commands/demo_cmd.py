"""Drive a reference with built-in motions and write demo.mp4 (driver skeleton | rendered avatar).

Needs no camera, GPU or data: the default reference is a figure the project draws itself
(realtime.app.demo.figure); --reference PHOTO uses your own full-body photo instead. The motions
(realtime.app.demo.motions: wave, raise_arms, squat, jumping_jack, sway) are built on the reference's own
pose, so no retargeting is involved. Prints the render speed and the keypoint measures: AKD (px and
at 256-px height) and MKR, from MediaPipe run again on every rendered frame.
"""
from __future__ import annotations

import argparse
import time

from realtime.app.commands.renderer_args import add_renderer_arguments, build_renderer


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--reference", metavar="PHOTO", help="a full-body photo of one person (default: the drawn figure)")
    p.add_argument("-o", "--output", default="demo.mp4", metavar="OUT.mp4", help="output video (default demo.mp4)")
    p.add_argument("--motions", default="wave,raise_arms,squat,jumping_jack",
                   help="comma-separated motions (wave, raise_arms, squat, jumping_jack, sway)")
    p.add_argument("--fps", type=float, default=15.0, help="frames per second of the motions and video (default 15)")
    p.add_argument("--no-score", action="store_true", help="skip AKD/MKR (no MediaPipe on the outputs)")
    add_renderer_arguments(p)


def run(args: argparse.Namespace) -> int:
    import numpy as np

    from engines.evaluation import KeypointScores
    from realtime.app.demo.motions import motion_poses
    from realtime.app.commands.common import output_suffix, progress
    from realtime.drawing import put_label, side_by_side, skeleton_image
    from realtime.errors import InputError
    from realtime.videoio import H264Writer

    output_suffix(args.output, (".mp4",), "-o")
    if not 1 <= args.fps <= 60:
        raise InputError(f"--fps must be between 1 and 60, got {args.fps}")
    names = [m.strip() for m in args.motions.split(",") if m.strip()]
    if not names:
        raise InputError("--motions is empty: name at least one of wave, raise_arms, squat, jumping_jack, sway")

    t_start = time.perf_counter()
    renderer, reference, source = _prepared_renderer(args)
    seq = motion_poses(renderer.rest_pose, names, fps=args.fps)
    h, w = reference.shape[:2]

    scores = KeypointScores()
    est = None
    if not args.no_score:
        from realtime.estimator import create_estimator

        est = create_estimator("image")
    render_s = 0.0
    try:
        with H264Writer(args.output, args.fps, (2 * w, h)) as writer:
            for name, target in progress(seq, len(seq), "demo"):
                t0 = time.perf_counter()
                out = np.ascontiguousarray(renderer.render(target)[..., :3])
                render_s += time.perf_counter() - t0
                if est is not None:
                    scores.add(target, est.estimate(out), h)
                left = skeleton_image(target, w, h)
                put_label(left, name)
                writer.write(np.ascontiguousarray(side_by_side(left, out)))
    finally:
        if est is not None:
            est.close()
        renderer.close()
    fps = len(seq) / render_s if render_s > 0 else float("inf")
    print(f"wrote {args.output}: {len(seq)} frames ({', '.join(names)}) of {source} at {w}x{h}")
    print(f"render: {fps:.0f} fps ({1000 * render_s / len(seq):.1f} ms/frame, {args.renderer})")
    if est is not None:
        print(f"AKD: {scores.akd_px:.2f} px ({scores.akd_256:.2f} at 256-px height)   MKR: {scores.mkr:.3f}")
    print(f"total: {time.perf_counter() - t_start:.1f} s")
    return 0


def _prepared_renderer(args: argparse.Namespace):
    """(renderer prepared for the reference, reference image, what the reference is)."""
    from realtime.app.demo.figure import draw_figure
    from realtime.errors import InputError
    from realtime.media import read_image

    if args.reference:
        reference = read_image(args.reference)
        return build_renderer(args, reference), reference, str(args.reference)
    fig = draw_figure()
    renderer = build_renderer(args)
    try:
        try:  # MediaPipe's own reading of the figure, as for a photo
            renderer.prepare(fig.image, None, fig.mask)
        except InputError:
            renderer.prepare(fig.image, fig.pose, fig.mask)
    except BaseException:
        renderer.close()
        raise
    return renderer, fig.image, "drawn figure"
