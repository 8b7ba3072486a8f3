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

from realtime.app.commands.learned_args import add_learned_arguments, learned_options
from realtime.app.commands.presenter_args import add_presenter_arguments

log = logging.getLogger(__name__)



def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--reference", metavar="IMAGE", required=True, help="the avatar photo")
    src = p.add_mutually_exclusive_group(required=True)
    src.add_argument("--pose", metavar="POSE.json", help="pose file (repose image/video, OpenPose or COCO JSON)")
    src.add_argument("--driver", metavar="IMAGE_OR_VIDEO", help="a photo or video of the driver")
    p.add_argument("-o", "--output", metavar="OUT.(png|mp4)", required=True, help="output image or H.264 video")
    p.add_argument("--renderer", default="warp", help="renderer name (default warp)")
    add_learned_arguments(p)
    p.add_argument("--background", default="inpaint",
                   help="warp background: inpaint (default), black, white, green, grey, blue or B,G,R")
    p.add_argument("--calibration", metavar="PROFILE.json", help="driver calibration profile (repose calibrate)")
    p.add_argument("--mirror", action="store_true", help="mirror the driver left/right")
    p.add_argument("--no-retarget", action="store_true",
                   help="use pose-file poses as they are (already in reference pixels)")
    p.add_argument("--side-by-side", action="store_true", help="driver | render in one picture")
    p.add_argument("--targets-out", metavar="POSES.json", help="write the target poses (repose video format)")
    add_presenter_arguments(p)


def run(args: argparse.Namespace) -> int:
    import numpy as np

    from calibration.profile import CalibrationProfile
    from calibration.retargeter import Retargeter
    from engines.reenact import (DriverFrame, VideoPoses, driver_cues, estimate_image_frame, face_tracker,
                                 hand_tracker, render_with)
    from engines.renderer import create_renderer
    from realtime.app.commands.common import kind_of_input, output_suffix, progress
    from realtime.drawing import draw_skeleton, side_by_side, skeleton_image
    from realtime.errors import InputError
    from realtime.fileio import write_image, write_json
    from realtime.media import read_image
    from realtime.poseio import load_pose_video, video_to_dict
    from realtime.videoio import H264Writer

    ext = output_suffix(args.output, (".png", ".jpg", ".mp4"), "-o")
    if kind_of_input(args.reference) != "image":
        raise InputError(f"{args.reference}: --reference must be an image (jpg, png, ...)")
    if args.no_retarget and (args.driver or args.calibration or args.mirror):
        raise InputError("--no-retarget applies to --pose files only, without --calibration or --mirror")
    profile = CalibrationProfile.load(args.calibration) if args.calibration else None

    # the driver: streamed frames (video), one frame (image) or the poses of a pose file
    video = None
    if args.driver:
        kind = kind_of_input(args.driver)
        if kind == "video":
            if ext != ".mp4":
                raise InputError(f"{args.driver} is a video: write the result to a video (-o OUT.mp4)")
            video = VideoPoses(args.driver)
            frames, fps, total = video, video.info.fps, video.total
        elif kind == "image":
            frames, fps, total = [estimate_image_frame(args.driver)], 1.0, 1
        else:
            raise InputError(f"{args.driver}: --driver must be an image or a video file")
    else:
        if kind_of_input(args.pose) != "json":
            raise InputError(f"{args.pose}: --pose must be a .json pose file")
        poses = load_pose_video(args.pose)
        fps, total = poses.fps, len(poses.poses)
        frames = [DriverFrame(i, i / fps, None, p) for i, p in enumerate(poses.poses)]
        if ext != ".mp4" and total != 1:
            raise InputError(f"{args.pose} holds {total} poses: write them to a video (-o OUT.mp4)")

    try:
        reference = read_image(args.reference)
        renderer = create_renderer(args.renderer, **({"background": args.background}
                                                      if args.renderer == "warp" else {}), **learned_options(args))
        renderer.prepare(reference)
        rest = renderer.rest_pose
        h, w = reference.shape[:2]
        retarget = None if args.no_retarget else Retargeter(rest, profile, mirror=args.mirror or None)
        tracker = hands = None
        if args.driver:  # face and fingers follow a driver video or photo (a pose file has neither)
            mirror = retarget.options.mirror if retarget else False
            tracker = face_tracker(renderer, args.face, mirror=mirror,
                                   neutral=profile.neutral_face if profile else None)
            hands = hand_tracker(renderer, args.hands, mirror=mirror)

        def compose(frame: DriverFrame, target, out: np.ndarray) -> np.ndarray:
            out = out[..., :3]
            if not args.side_by_side:
                return out
            left = draw_skeleton(frame.image, frame.pose) if frame.image is not None else skeleton_image(target, w, h)
            return np.ascontiguousarray(side_by_side(left, out, height=h))

        t0 = time.perf_counter()
        held: list = []          # the pose rendered for every frame (the last target held over gaps)
        seen = False
        last = rest
        writer = None
        try:
            for frame in progress(frames, total, "rendering"):
                target = frame.pose if retarget is None else retarget(frame.pose, frame.time_s)
                if target is not None:
                    last, seen = target, True
                held.append(last)
                cues = driver_cues(frame, tracker, hands)
                image = compose(frame, last, render_with(renderer, last, cues))
                if ext != ".mp4":
                    write_image(args.output, image)
                    continue
                if writer is None:
                    writer = H264Writer(args.output, fps, (image.shape[1], image.shape[0]))
                writer.write(image)
        except BaseException:
            if writer is not None:
                writer.abort()
            raise
        if writer is not None:
            writer.close()
        elapsed = time.perf_counter() - t0
        renderer.close()
        for t in (tracker, hands):
            if t is not None:
                t.close()
    finally:
        if video is not None:
            video.close()
    if not held:
        raise InputError("the driver holds no frames")
    if not seen:
        log.warning("no person in any driver frame: every output frame shows the reference pose")
    if args.targets_out:
        layout = next((p.layout for p in held if p is not rest), rest.layout)
        write_json(args.targets_out, video_to_dict(held, fps, w, h, layout))
    print(f"wrote {args.output}: {len(held)} frame(s) at {w}x{h}, {len(held) / max(elapsed, 1e-9):.1f} fps "
          "(estimate + render + encode)")
    return 0
