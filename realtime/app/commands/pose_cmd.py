"""Estimate the pose of the person in an image or a video (MediaPipe Pose, offline).

Formats: repose (default; printed to stdout when -o is absent), openpose (for a video, -o names a
folder that receives one <name>_<frame>_keypoints.json per frame, as OpenPose writes), coco.
--draw writes the skeleton over the image (for a video: a contact sheet of frames as .png, or the
whole video with skeletons as .mp4).
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

from realtime.app.commands.common import output_suffix, progress
from realtime.errors import InputError
from realtime.inputs import estimate_image, kind_of_input
from realtime.layouts import LAYOUTS

# Formats whose files always hold one layout.
FIXED_LAYOUT = {"openpose": "openpose18", "coco": "coco17"}


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("input", metavar="INPUT", help="an image or a video file")
    p.add_argument("--layout", choices=list(LAYOUTS), default="coco17", help="keypoint layout (default coco17)")
    p.add_argument("--format", choices=["repose", "openpose", "coco"], default="repose",
                   help="output format (default repose)")
    p.add_argument("-o", "--output", metavar="OUT.json", help="write here instead of stdout")
    p.add_argument("--draw", metavar="OUT.png", help="also draw the skeleton (image: .png/.jpg; video: .png or .mp4)")


def run(args: argparse.Namespace) -> int:
    kind = kind_of_input(args.input)
    if kind not in ("image", "video"):
        raise InputError(f"{args.input}: expected an image or a video file, got a {kind}")
    fixed = FIXED_LAYOUT.get(args.format)
    if fixed and args.layout not in ("coco17", fixed):  # coco17 is the default: ignored here
        raise InputError(f"--layout {args.layout} does not apply to --format {args.format} "
                         f"(OpenPose files are openpose18, COCO files coco17); drop --layout")
    if args.draw:
        allowed = (".png", ".jpg", ".jpeg") if kind == "image" else (".png", ".jpg", ".jpeg", ".mp4")
        output_suffix(args.draw, allowed, "--draw")
    if kind == "video" and args.format == "openpose" and not args.output:
        raise InputError("OpenPose output of a video is one file per frame: give a folder with -o DIR")
    return _run_image(args) if kind == "image" else _run_video(args)


def _emit(args: argparse.Namespace, data: dict) -> None:
    from realtime.fileio import write_json

    if args.output:
        write_json(args.output, data)
    else:
        json.dump(data, sys.stdout, indent=1)
        sys.stdout.write("\n")


def _run_image(args: argparse.Namespace) -> int:
    from realtime import poseio
    from realtime.drawing import draw_skeleton
    from realtime.fileio import write_image

    image, found = estimate_image(args.input)
    h, w = image.shape[:2]
    pose = found.pose
    if args.format == "repose":
        data = poseio.pose_to_dict(pose, args.layout, w, h)
    elif args.format == "openpose":
        data = poseio.openpose_dict(pose, w, h)
    else:
        data = poseio.coco_dict([pose], w, h, [Path(args.input).name])
    _emit(args, data)
    if args.draw:
        write_image(args.draw, draw_skeleton(image, pose))
    if pose is None:
        print(f"repose pose: no person found in {args.input}", file=sys.stderr)
    return 0


def _run_video(args: argparse.Namespace) -> int:
    from realtime import poseio
    from realtime.drawing import draw_skeleton
    from realtime.fileio import atomic_path, write_image, write_json
    from realtime.inputs import open_input
    from realtime.videoio import H264Writer

    draw_mp4 = bool(args.draw) and Path(args.draw).suffix.lower() == ".mp4"
    poses, sheet = [], []
    with open_input(args.input) as video:
        writer = H264Writer(args.draw, video.fps, (video.width, video.height)) if draw_mp4 else None
        try:
            for f in progress(video, video.total, "pose"):
                i, frame, pose = f.index, f.image, f.pose
                poses.append(pose)
                if writer is not None:
                    writer.write(draw_skeleton(frame, pose))
                elif args.draw:
                    sheet.append((i, frame, pose))
            if writer is not None:
                writer.close()
        except BaseException:
            if writer is not None:
                writer.abort()
            raise
    h, w = video.height, video.width
    stem = Path(args.input).stem
    if args.format == "repose":
        _emit(args, poseio.video_to_dict(poses, video.fps, w, h, args.layout))
    elif args.format == "coco":
        names = [f"{stem}_{i:06d}.jpg" for i in range(len(poses))]
        _emit(args, poseio.coco_dict(poses, w, h, names))
    else:
        out = Path(args.output)
        if out.exists() and not out.is_dir():
            raise InputError(f"{out}: exists and is not a folder; OpenPose video output needs a folder")
        for i, pose in enumerate(poses):
            write_json(out / f"{stem}_{i:012d}_keypoints.json", poseio.openpose_dict(pose, w, h))
    if args.draw and not draw_mp4:
        write_image(args.draw, _contact_sheet(sheet, draw_skeleton))
    found = sum(p is not None for p in poses)
    print(f"repose pose: {found}/{len(poses)} frames with a person", file=sys.stderr)
    return 0


def _contact_sheet(frames: list, draw, n: int = 6, cell_h: int = 320) -> np.ndarray:
    """Up to n evenly spaced frames with their skeletons, in one row, labelled with the frame index."""
    import cv2

    from realtime.drawing import put_label, side_by_side

    pick = np.unique(np.linspace(0, len(frames) - 1, min(n, len(frames))).round().astype(int))
    cells = []
    for k in pick:
        i, frame, pose = frames[k]
        cell = draw(frame, pose)
        cell = cv2.resize(cell, (max(1, round(cell.shape[1] * cell_h / cell.shape[0])), cell_h))
        put_label(cell, f"frame {i}" + ("" if pose is not None else " (no person)"))
        cells.append(cell)
    return side_by_side(*cells)
