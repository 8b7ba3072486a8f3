"""Compare two poses, Move Mirror style: cosine similarity and Euclidean distance of the
bounding-box-cropped, L2-normalized keypoint vectors, the confidence-weighted distance, how many
keypoints both poses share, and per-joint angle differences (A minus B, in degrees) with advice on
what A should change to match B.

A and B are images (the pose is estimated) or pose JSON files (repose, OpenPose or COCO).
"""
from __future__ import annotations

import argparse
import json
import sys


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("a", metavar="A", help="the person's pose: an image or a pose .json")
    p.add_argument("b", metavar="B", help="the benchmark pose: an image or a pose .json")
    p.add_argument("--mirror", action="store_true", help="also compare B mirrored and keep the better match")
    p.add_argument("-o", "--output", metavar="OUT.json", help="write the result here too")
    p.add_argument("--draw", metavar="OUT.png", help="both skeletons side by side, worst joints marked")


def run(args: argparse.Namespace) -> int:
    from realtime.app.commands.common import output_suffix
    from realtime.fileio import write_image, write_json
    from realtime.inputs import pose_from_path
    from realtime.matching import compare

    if args.draw:
        output_suffix(args.draw, (".png", ".jpg", ".jpeg"), "--draw")
    a, b = pose_from_path(args.a), pose_from_path(args.b)
    result = compare(a, b, mirror=args.mirror)
    data = result.to_dict()
    if args.output != "-":   # -o - is stdout already
        json.dump(data, sys.stdout, indent=1, ensure_ascii=False)
        sys.stdout.write("\n")
    if args.output:
        write_json(args.output, data)
    if args.draw:
        write_image(args.draw, draw_comparison(a, b, result))
    return 0


def draw_comparison(a, b, result):
    """Skeletons of A and B on black, side by side, the worst joints ringed in red."""
    import numpy as np

    from realtime.drawing import put_label, side_by_side, skeleton_image

    def panel(pose, flip: bool, title: str):
        p = pose.flipped(width=0.0) if flip else pose
        x0, y0, x1, y1 = p.bbox() or (0, 0, 1, 1)
        size = 512
        scale = 0.8 * size / max(x1 - x0, y1 - y0, 1.0)
        off = (size / 2 - scale * (x0 + x1) / 2, size / 2 - scale * (y0 + y1) / 2)
        p = p.transformed(scale, off, size, size)
        worst = {j: (0, 0, 255) for j, _ in result.worst_joints(3)}
        img = skeleton_image(p, size, size, highlight=worst)
        put_label(img, title)
        return img

    left = panel(a, False, "A")
    right = panel(b, result.mirrored, "B (mirrored)" if result.mirrored else "B")
    out = side_by_side(left, right)
    put_label(out, f"cosine {result.cosine_similarity:.4f}   " + "; ".join(result.advice(3)),
              org=(10, out.shape[0] - 15))
    return np.ascontiguousarray(out)
