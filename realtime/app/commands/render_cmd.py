"""Render the reference person in the poses of a driver image/video or a pose file.

The output holds exactly one frame per driver frame, in order, at the reference image's size (where
the driver shows nobody, the last target pose is held; before the first one, the reference's own
pose). Driver poses are retargeted onto the reference's body (calibration: --calibration profile,
else the driver's first steady frames); --no-retarget takes pose-file poses as targets already in
reference pixels (e.g. from the pose editor). --side-by-side puts the driver (frame with skeleton,
or the skeleton alone for a pose file) left of the render. --targets-out writes the target poses the
renderer was given, in the `repose pose` video format.
"""
from __future__ import annotations

import argparse
import logging
import time
from dataclasses import dataclass, field
from typing import Any

from realtime.app.commands.presenter_args import add_presenter_arguments
from realtime.app.commands.renderer_args import add_renderer_arguments, build_renderer

log = logging.getLogger(__name__)



def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--reference", metavar="IMAGE", required=True, help="the avatar photo")
    src = p.add_mutually_exclusive_group(required=True)
    src.add_argument("--pose", metavar="POSE.json", help="pose file (repose image/video, OpenPose or COCO JSON)")
    src.add_argument("--driver", metavar="IMAGE_OR_VIDEO", help="a photo or video of the driver")
    p.add_argument("-o", "--output", metavar="OUT.(png|mp4)", required=True, help="output image or H.264 video")
    p.add_argument("--calibration", metavar="PROFILE.json", help="driver calibration profile (repose calibrate)")
    p.add_argument("--mirror", action="store_true", help="mirror the driver left/right")
    p.add_argument("--no-retarget", action="store_true",
                   help="use pose-file poses as they are (already in reference pixels)")
    p.add_argument("--side-by-side", action="store_true", help="driver | render in one picture")
    p.add_argument("--targets-out", metavar="POSES.json", help="write the target poses (repose video format)")
    add_renderer_arguments(p)
    add_presenter_arguments(p)


@dataclass
class _Driver:
    """What drives the render: frames (streamed from a video, one image, or a pose file's poses)."""

    frames: Any
    fps: float
    total: int
    video: Any = None     # the realtime.inputs.PoseInput to close


@dataclass
class _Result:
    held: list = field(default_factory=list)   # the pose rendered for every frame (last target held over gaps)
    seen: bool = False                         # whether any driver frame gave a target
    elapsed: float = 0.0


def run(args: argparse.Namespace) -> int:
    from calibration.profile import CalibrationProfile
    from realtime.media import read_image

    ext = _check_flags(args)
    profile = CalibrationProfile.load(args.calibration) if args.calibration else None
    driver = _open_driver(args, ext)
    try:
        reference = read_image(args.reference)
        renderer = build_renderer(args, reference)
        try:
            result = _render_all(args, ext, renderer, driver, profile)
        finally:
            renderer.close()
        rest = renderer.rest_pose
    finally:
        if driver.video is not None:
            driver.video.close()
    _finish(args, result, rest, driver.fps, reference.shape[1], reference.shape[0])
    return 0


def _check_flags(args: argparse.Namespace) -> str:
    """The output's extension, after the flag checks that need no file read."""
    from realtime.app.commands.common import output_suffix
    from realtime.errors import InputError
    from realtime.inputs import kind_of_input

    ext = output_suffix(args.output, (".png", ".jpg", ".mp4"), "-o")
    if kind_of_input(args.reference) != "image":
        raise InputError(f"{args.reference}: --reference must be an image (jpg, png, ...)")
    if args.no_retarget and (args.driver or args.calibration or args.mirror):
        raise InputError("--no-retarget applies to --pose files only, without --calibration or --mirror")
    return ext


def _open_driver(args: argparse.Namespace, ext: str) -> _Driver:
    """The driver: streamed frames (video), one frame (image) or the poses of a pose file."""
    from realtime.errors import InputError
    from realtime.inputs import kind_of_input, open_input

    if args.driver:
        kind = kind_of_input(args.driver)
        if kind not in ("video", "image"):
            raise InputError(f"{args.driver}: --driver must be an image or a video file")
        if kind == "video" and ext != ".mp4":
            raise InputError(f"{args.driver} is a video: write the result to a video (-o OUT.mp4)")
    elif kind_of_input(args.pose) != "json":
        raise InputError(f"{args.pose}: --pose must be a .json pose file")
    video = open_input(args.driver or args.pose, need_person=True)
    if args.pose and ext != ".mp4" and video.total != 1:
        video.close()
        raise InputError(f"{args.pose} holds {video.total} poses: write them to a video (-o OUT.mp4)")
    return _Driver(video, video.fps, video.total, video)


def _compose(args: argparse.Namespace, frame, target, out):
    """The output picture: the render (BGR), or driver | render with --side-by-side."""
    import numpy as np

    from realtime.drawing import draw_skeleton, side_by_side, skeleton_image

    out = out[..., :3]
    if not args.side_by_side:
        return out
    h, w = out.shape[:2]
    left = draw_skeleton(frame.image, frame.pose) if frame.image is not None else skeleton_image(target, w, h)
    return np.ascontiguousarray(side_by_side(left, out, height=h))


def _render_all(args: argparse.Namespace, ext: str, renderer, driver: _Driver, profile) -> _Result:
    """Render every driver frame into the output (a picture, or an H.264 video)."""
    from calibration.retargeter import Retargeter
    from engines.reenact import driver_cues, hold_last, render_with
    from realtime.app.commands.common import progress
    from realtime.fileio import write_image
    from realtime.videoio import H264Writer

    rest = renderer.rest_pose
    retarget = None if args.no_retarget else Retargeter(rest, profile, mirror=args.mirror or None)
    faces, hands = _presenter(args, renderer, retarget, profile)
    result, writer = _Result(), None
    driven = ((f, f.pose if retarget is None else retarget(f.pose, f.time_s))
              for f in progress(driver.frames, driver.total, "rendering"))
    t0 = time.perf_counter()
    try:
        for frame, last, new in hold_last(driven, rest):
            result.seen = result.seen or new
            result.held.append(last)
            cues = driver_cues(frame, faces, hands)
            image = _compose(args, frame, last, render_with(renderer, last, cues))
            if ext != ".mp4":
                write_image(args.output, image)
                continue
            if writer is None:
                writer = H264Writer(args.output, driver.fps, (image.shape[1], image.shape[0]))
            writer.write(image)
    except BaseException:
        if writer is not None:
            writer.abort()
        raise
    finally:
        for t in (faces, hands):
            if t is not None:
                t.close()
    if writer is not None:
        writer.close()
    result.elapsed = time.perf_counter() - t0
    return result


def _presenter(args: argparse.Namespace, renderer, retarget, profile):
    """(FaceTracker or None, HandTracker or None): face and fingers follow a driver video or photo
    (a pose file has neither); --face/--hands, default: what the reference shows."""
    from engines.reenact import face_tracker, hand_tracker

    if not args.driver:
        return None, None
    mirror = retarget.options.mirror if retarget else False
    return (face_tracker(renderer, args.face, mirror=mirror, neutral=profile.neutral_face if profile else None),
            hand_tracker(renderer, args.hands, mirror=mirror))


def _finish(args: argparse.Namespace, result: _Result, rest, fps: float, w: int, h: int) -> None:
    """Warnings, the --targets-out file and the one-line summary."""
    from realtime.errors import InputError
    from realtime.fileio import write_json
    from realtime.poseio import video_to_dict

    if not result.held:
        raise InputError("the driver holds no frames")
    if not result.seen:
        log.warning("no person in any driver frame: every output frame shows the reference pose")
    if args.targets_out:
        layout = next((p.layout for p in result.held if p is not rest), rest.layout)
        write_json(args.targets_out, video_to_dict(result.held, fps, w, h, layout))
    print(f"wrote {args.output}: {len(result.held)} frame(s) at {w}x{h}, "
          f"{len(result.held) / max(result.elapsed, 1e-9):.1f} fps (estimate + render + encode)")
