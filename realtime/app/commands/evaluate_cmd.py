"""Measure a renderer on a driver video: AKD, MKR, bone-direction error, render fps; with --self
also L1, SSIM, PSNR and the ghost L1.

AKD: mean distance (px, and normalized to a 256-px output height) between the target keypoints and
the keypoints MediaPipe finds again on the rendered frame; MKR: share of target keypoints it no
longer finds; bone_deg: mean angle between target and re-estimated bones (all COCO-17, keypoints
with score >= 0.5). The outputs are re-read the way the driver was (tracking over the clip;
--reestimate image detects on every output instead); with --self the real frames are re-read the
same way against the same targets: floor_akd_256, floor_mkr, floor_bone_deg, the estimator's own
floor (what a renderer that reproduced each real frame exactly would score). The hands (MediaPipe
Hands) are re-read in the same mode, and with --self on the real frames too: floor_hands_found.
The driver's poses are retargeted as `repose render` does (auto-calibrated on the driver's first
steady neutral frames, or --calibration); --no-retarget takes them unchanged (the raw comparison).
With --self, --neutral says which of the driver's own frames is its neutral: 'auto' (the default,
the path of `repose render` without a profile, so a bad auto-calibration shows in the figures) or
'reference': the reference frame, whose pose is the avatar's; the correspondence is then exact (the
driver is the avatar's own body), the bone bounds are off (calibration.Retargeter.onto_itself) and
every target is the driver's pose itself, whatever the reference frame shows (hands clasped under
the chin, arms raised): the measure of the renderer alone. `repose render` takes that path with a
profile of that frame (`repose calibrate --source CLIP --frame N`, then `render --calibration`), up
to the bone bounds a profile keeps.
Without --self: the reference photo is driven by the video's poses.
--self (self-reenactment): the reference is the video's first frame (--reference-frame N: frame N,
e.g. one that shows the hands) and the targets are the poses of the other frames, in clip order; each output is compared with the real frame, over the full frame and inside the
person's box (the target's keypoint box plus 10%), and over the ghost region (where the first frame
showed the person and the real frame shows background: engines.evaluation.ghost_region).
"""
from __future__ import annotations

import argparse
import itertools
import json
import math
import sys

from realtime.app.commands.presenter_args import add_presenter_arguments
from realtime.app.commands.renderer_args import add_renderer_arguments, build_renderer


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--reference", metavar="IMAGE", help="the avatar photo (not needed with --self)")
    p.add_argument("--driver", metavar="VIDEO", required=True, help="the driver video")
    p.add_argument("--self", dest="self_reenact", action="store_true",
                   help="self-reenactment: reference = first frame, compare outputs with the real frames")
    p.add_argument("--reference-frame", type=int, default=0, metavar="N",
                   help="with --self: frame N (0-based) is the reference and every other frame a target "
                        "(default 0, the first frame)")
    p.add_argument("--neutral", choices=("reference", "auto"), default=None,
                   help="with --self: the driver's neutral pose. 'auto' (default): calibrated on the driver's first "
                        "steady neutral frames, as `repose render` does without a profile; 'reference': the "
                        "reference frame (the avatar's own pose: the targets are the driver's poses; `repose "
                        "render` gets it from `repose calibrate --frame N`)")
    p.add_argument("--no-retarget", action="store_true",
                   help="use the driver's poses unchanged as targets (the raw comparison)")
    p.add_argument("--calibration", metavar="PROFILE.json", help="driver calibration profile (not with --self)")
    p.add_argument("--mirror", action="store_true", help="mirror the driver (not with --self)")
    p.add_argument("--max-frames", type=int, default=None, metavar="N", help="use at most N driver frames")
    p.add_argument("--reestimate", choices=("driver", "image"), default="driver",
                   help="how the outputs are re-read for AKD/MKR/bone error: 'driver' (default) the way the "
                        "driver's poses were estimated (tracking over the clip), 'image' detecting on every "
                        "output (has a floor of 2-3.5 degrees of bone error on real clips)")
    p.add_argument("--json", action="store_true", help="print the measures as JSON")
    add_renderer_arguments(p)
    add_presenter_arguments(p)


def check_args(args: argparse.Namespace) -> None:
    """InputError (one line) for a combination of evaluate's flags that cannot run; used by `run` and by
    scripts that drive evaluate's path (scripts/bone_report.py)."""
    from realtime.errors import InputError
    from realtime.inputs import kind_of_input

    if kind_of_input(args.driver) != "video":
        raise InputError(f"{args.driver}: --driver must be a video file (mp4, avi, mov, ...)")
    if args.max_frames is not None and args.max_frames < 2:
        raise InputError(f"--max-frames must be at least 2, got {args.max_frames}")
    if args.self_reenact and (args.calibration or args.mirror):
        raise InputError("--self uses the driver's own poses: drop --calibration and --mirror")
    if args.no_retarget and (args.calibration or args.mirror):
        raise InputError("--no-retarget uses the driver's poses unchanged: drop --calibration and --mirror")
    if args.neutral and not args.self_reenact:
        raise InputError("--neutral picks the driver's neutral among its own frames: add --self "
                         "(for a reference photo give --calibration PROFILE.json)")
    if args.neutral and args.no_retarget:
        raise InputError("--neutral is the retargeting's neutral pose: drop it with --no-retarget")
    if args.reference_frame and not args.self_reenact:
        raise InputError("--reference-frame picks the reference among the driver's frames: add --self")
    if args.reference_frame < 0:
        raise InputError(f"--reference-frame must be 0 or more, got {args.reference_frame}")
    if not args.self_reenact and not args.reference:
        raise InputError("give --reference IMAGE (the avatar photo), or --self to reenact the driver's first frame")
    if not args.self_reenact and kind_of_input(args.reference) != "image":
        raise InputError(f"{args.reference}: --reference must be an image")


def run(args: argparse.Namespace) -> int:
    from realtime.errors import InputError

    check_args(args)
    profile = None
    if args.calibration:
        from calibration.profile import CalibrationProfile

        profile = CalibrationProfile.load(args.calibration)
    renderer = build_renderer(args)   # prepared below, once the reference is known
    res = drive_clip(args, renderer, profile)
    renderer.close()
    if res.frames == 0:
        raise InputError(f"{args.driver}: holds only one frame; --self needs at least 2")
    if res.rendered == 0:
        raise InputError(f"{args.driver}: no person found in any frame; expected a video of one person")
    summary = {"driver": str(args.driver), "reference": f"frame {args.reference_frame}" if args.self_reenact else str(args.reference),
               "renderer": args.renderer, "retarget": not args.no_retarget,
               **({"neutral": args.neutral or "auto"} if args.self_reenact and not args.no_retarget else {}),
               **res.summary()}
    if args.json:
        print(json.dumps({k: (None if isinstance(v, float) and not math.isfinite(v) else v)
                          for k, v in summary.items()}, indent=1))
    else:
        for k, v in summary.items():
            print(f"{k:>12}: {v:.4g}" if isinstance(v, float) else f"{k:>12}: {v}", file=sys.stdout)
    return 0


def drive_clip(args: argparse.Namespace, renderer, profile=None):
    """Stream the driver (its frames estimated, rendered and scored one at a time), with --self
    frame --reference-frame as the reference and every other frame, the earlier ones too, a target;
    outputs re-read in the driver's mode (--reestimate driver) or in image mode: ``_drive``'s
    EvalResult. The one way `repose evaluate` and the report scripts (scripts/bone_report.py,
    scripts/noise_band.py) read a clip."""
    from realtime.errors import InputError
    from realtime.inputs import open_input

    with open_input(args.driver, max_frames=args.max_frames) as video:
        frames = iter(video)
        first = next(itertools.islice(frames, args.reference_frame, None), None)
        if first is None:
            raise InputError(f"{args.driver}: holds no frame {args.reference_frame}; expected --reference-frame "
                             "below the number of frames (and --max-frames)")
        reestimate = video.mode if args.reestimate == "driver" else "image"
        if not args.reference_frame:
            return _drive(args, renderer, profile, first, frames, video.total, reestimate)
        # every other frame is a target, the earlier ones too: the clip read again, in order
        with open_input(args.driver, max_frames=args.max_frames) as again:
            others = (f for f in again if f.index != first.index)
            return _drive(args, renderer, profile, first, others, video.total, reestimate)


def auto_retarget(rest_pose):
    """The retargeting of `repose render` without a profile (auto-calibrated), for a prepared
    renderer's rest pose: the ``retarget_for`` of engines.reenact.self_reenactment with --neutral auto."""
    from calibration.retargeter import Retargeter

    return Retargeter(rest_pose)


def self_retarget(rest_pose):
    """Self-reenactment's retargeting (--neutral reference): the reference frame's pose, the avatar's,
    is the driver's neutral, so each target is the driver's pose (calibration.Retargeter.onto_itself)."""
    from calibration.retargeter import Retargeter

    return Retargeter.onto_itself(rest_pose)


RETARGET_FOR = {"reference": self_retarget, "auto": auto_retarget}


def _drive(args: argparse.Namespace, renderer, profile, first, frames, total, reestimate: str):
    """Prepare, drive and score the renderer (self-reenactment or a reference photo), retargeted as
    `repose render` does unless --no-retarget, with the face and hands where the reference shows them
    (--face/--hands) and their measures; outputs re-read in the ``reestimate`` mode (with --self the
    real frames too: the estimator's floor)."""

    from engines.evaluation import FaceScores, HandScores
    from engines.reenact import driver_cues, evaluate_sequence, face_tracker, self_reenactment
    from realtime.app.commands.common import progress

    if args.self_reenact:
        renderer.prepare(first.image)
        mirror = False
        # the first frame is the reference: its face is the driver's neutral face
        faces = face_tracker(renderer, args.face, neutral_frames=1)
        if faces is not None:
            faces(first.image, first.pose, first.time_s)
    else:
        from calibration.retargeter import Retargeter
        from realtime.media import read_image

        renderer.prepare(read_image(args.reference))
        mirror = args.mirror or bool(profile and profile.mirror)
        retarget = (None if args.no_retarget
                    else Retargeter(renderer.rest_pose, profile, mirror=args.mirror or None))
        faces = face_tracker(renderer, args.face, mirror=mirror, neutral=profile.neutral_face if profile else None)
    hands, use_hands = _hands(renderer, args.hands, mirror)
    face_scores = FaceScores(relative_roll=not args.self_reenact, mirror=mirror) if faces is not None else None
    hand_scores = HandScores() if hands is not None else None
    try:
        if args.self_reenact:
            return self_reenactment(renderer, first, frames, total - 1 if total else None, progress=progress,
                                    retarget_for=None if args.no_retarget else RETARGET_FOR[args.neutral or "auto"],
                                    cues=lambda f: driver_cues(f, faces, hands, use_hands),
                                    face=face_scores, hands=hand_scores, prepared=True,
                                    reestimate=reestimate, floor=True)
        items = ((f.index, f.pose if retarget is None else retarget(f.pose, f.time_s), None,
                  driver_cues(f, faces, hands, use_hands)) for f in itertools.chain([first], frames))
        return evaluate_sequence(renderer, items, total, progress=progress, face=face_scores, hands=hand_scores,
                                 reestimate=reestimate)
    finally:
        for t in (faces, hands):
            if t is not None:
                t.close()


def _hands(renderer, enabled, mirror):
    """(HandTracker or None, whether the renderer gets the hands): the driver's hands are measured
    unless --no-hands; the renderer moves fingers where the reference shows an open hand."""
    if enabled is False:
        return None, False
    from engines.reenact import hand_tracker
    from realtime.hands import HandTracker

    use = hand_tracker(renderer, enabled, mirror)
    if use is not None:
        return use, True
    return HandTracker(mirror=mirror), False
