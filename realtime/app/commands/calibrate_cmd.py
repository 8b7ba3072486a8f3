"""Capture the driver's neutral pose into a calibration profile (versioned JSON).

Stand still, facing the camera, whole body in view. The command waits until the pose is steady,
averages --seconds of frames robustly (per-keypoint median), reports each joint's jitter (px) and
the similarity thresholds derived from it, and writes the profile for `repose render/live
--calibration`. --frame N takes the source's frame N as the neutral pose instead, as it is, without
waiting for a steady stretch: for an avatar photo that is this frame (or the driver in the same
pose), the exact correspondence, e.g. a presenter whose photo has the hands clasped under the chin;
a frame that fails the neutral checks is said so on the output. SOURCE: webcam:N (or a bare camera index), a video file, a folder of images (read
at --folder-fps) or a stream URL, as `repose live --source` takes them.
"""
from __future__ import annotations

import argparse
import sys

SOURCE_KINDS = ("webcam", "url", "video", "folder")


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--source", required=True, metavar="SRC",
                   help="webcam:N (or a bare camera index), a video file, an image folder or a stream URL")
    p.add_argument("-o", "--output", required=True, metavar="PROFILE.json", help="where to write the profile")
    p.add_argument("--seconds", type=float, default=2.0, help="how long to average once steady (default 2)")
    p.add_argument("--steady", type=float, default=0.03,
                   help="steadiness limit: largest keypoint spread over 0.7 s, as a fraction of the torso size "
                        "(default 0.03)")
    p.add_argument("--timeout", type=float, default=30.0, help="give up after this many seconds (default 30)")
    p.add_argument("--mirror", action="store_true", help="store that this driver is to be mirrored")
    p.add_argument("--frame", type=int, default=None, metavar="N",
                   help="take frame N (0-based) of the source as the neutral pose, as it is (no steadiness "
                        "wait): for an avatar photo of the driver in that pose, e.g. that very frame")
    p.add_argument("--folder-fps", type=float, default=10.0, help="frame rate assumed for an image folder")


def run(args: argparse.Namespace) -> int:
    from calibration.neutral import CAPTURING, DONE, CaptureOptions, NeutralCapture
    from calibration.profile import profile_from_capture
    from realtime.app.commands.common import output_suffix
    from realtime.errors import InputError
    from realtime.face import FaceMeshEstimator, mean_face
    from realtime.inputs import open_input

    output_suffix(args.output, (".json",), "-o")
    if not 0.2 <= args.seconds <= 60:
        raise InputError(f"--seconds must be between 0.2 and 60, got {args.seconds}")
    if not 0 < args.steady < 1:
        raise InputError(f"--steady must be a fraction between 0 and 1, got {args.steady}")
    if args.frame is not None:
        return _calibrate_on_frame(args)
    capture = NeutralCapture(CaptureOptions(seconds=args.seconds, steady_fraction=args.steady))
    state = None
    faces: list = []   # the driver's face while the pose holds steady: the neutral face
    with open_input(args.source, accept=SOURCE_KINDS, what="--source", mode="video",
                    folder_fps=args.folder_fps) as frames, FaceMeshEstimator("video") as face_est:
        for frame in frames:
            t = frame.time_s
            if t > args.timeout:
                break
            new = capture.feed(frame.pose, t)
            if new == CAPTURING and frame.image is not None:
                face = face_est.detect(frame.image, frame.pose, t)
                if face is not None:
                    faces.append(face)
            if new != state:
                print(f"{t:6.2f} s: {new}", file=sys.stderr)
                state = new
            if new == DONE:
                break
    result = capture.result or capture.finish_early()
    if result is None:
        hint = "the pose never held steady" if state != CAPTURING else "the steady stretch was too short"
        if capture.last_problems:
            hint += "; last pose not neutral: " + "; ".join(capture.last_problems)
        raise InputError(f"{args.source}: no neutral pose captured ({hint}); stand still facing the camera, "
                         "head up, arms down (what the camera shows of them), or raise --steady")
    neutral_face = mean_face(faces[-30:]) if faces else None
    profile = profile_from_capture(result, mirror=args.mirror, source=str(args.source), neutral_face=neutral_face)
    profile.save(args.output)
    print(f"neutral pose from {result.frames} frames, torso size {result.body_size_px:.1f} px")
    print(f"neutral face from {min(len(faces), 30)} frames" if faces else
          "no face seen while steady: the face's neutral comes from the first frames of each run")
    print("jitter (px, 1.4826 x MAD):")
    for name, j in sorted(result.jitter_px.items(), key=lambda kv: -kv[1]):
        print(f"  {name:>18}: {j:6.2f}")
    print("thresholds: " + ", ".join(f"{k} {v:.4g}" for k, v in profile.thresholds.items()))
    print(f"wrote {args.output}")
    return 0


def _calibrate_on_frame(args: argparse.Namespace) -> int:
    """--frame N: the source's frame N is the neutral pose (and its face the neutral face)."""
    from calibration.neutral_check import neutral_problems
    from calibration.profile import profile_from_pose
    from realtime.errors import InputError
    from realtime.face import FaceMeshEstimator
    from realtime.inputs import open_input

    frame = None
    with open_input(args.source, accept=SOURCE_KINDS, what="--source", mode="video",
                    folder_fps=args.folder_fps) as frames:
        for f in frames:
            if f.index == args.frame:
                frame = f
                break
    if frame is None:
        raise InputError(f"{args.source}: holds no frame {args.frame}; expected --frame below its number of frames")
    if frame.pose is None:
        raise InputError(f"{args.source}: nobody found in frame {args.frame}; pick a frame that shows the driver")
    face = None
    if frame.image is not None:
        with FaceMeshEstimator("image") as face_est:
            face = face_est.detect(frame.image, frame.pose, frame.time_s)
    profile = profile_from_pose(frame.pose, mirror=args.mirror, source=f"{args.source} frame {args.frame}",
                                neutral_face=face)
    profile.save(args.output)
    print(f"neutral pose from frame {args.frame}, torso size {profile.body_size_px:.1f} px")
    problems = neutral_problems(frame.pose)
    if problems:
        print("not a neutral pose (" + "; ".join(problems) + "): right for an avatar photo in this same pose, "
              "e.g. this frame; for any other avatar calibrate on steady neutral frames (no --frame)")
    print("neutral face from that frame" if face is not None else
          "no face in that frame: the face's neutral comes from the first frames of each run")
    print(f"wrote {args.output}")
    return 0
