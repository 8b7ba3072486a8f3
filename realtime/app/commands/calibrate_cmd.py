"""Capture the driver's neutral pose into a calibration profile (versioned JSON).

Stand still, facing the camera, whole body in view. The command waits until the pose is steady,
averages --seconds of frames robustly (per-keypoint median), reports each joint's jitter (px) and
the similarity thresholds derived from it, and writes the profile for `repose render/live
--calibration`. SOURCE: a camera index (0, 1, ...), a video file or a folder of images (read at
--folder-fps).
"""
from __future__ import annotations

import argparse
import sys
import time


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--source", required=True, metavar="SRC", help="camera index, video file or image folder")
    p.add_argument("-o", "--output", required=True, metavar="PROFILE.json", help="where to write the profile")
    p.add_argument("--seconds", type=float, default=2.0, help="how long to average once steady (default 2)")
    p.add_argument("--steady", type=float, default=0.03,
                   help="steadiness limit: largest keypoint spread over 0.7 s, as a fraction of the torso size "
                        "(default 0.03)")
    p.add_argument("--timeout", type=float, default=30.0, help="give up after this many seconds (default 30)")
    p.add_argument("--mirror", action="store_true", help="store that this driver is to be mirrored")
    p.add_argument("--folder-fps", type=float, default=10.0, help="frame rate assumed for an image folder")


def _frames(source: str, folder_fps: float):
    """(time_s, BGR image) pairs from a camera, a video or an image folder."""
    import cv2

    from realtime.app.commands.common import kind_of_input
    from realtime.errors import InputError
    from realtime.media import VideoReader, list_images, read_image

    if source.isdigit():
        cap = cv2.VideoCapture(int(source))
        if not cap.isOpened():
            raise InputError(f"camera {source} cannot be opened: check that a webcam is connected and free, "
                             "or give a video file")
        t0 = time.perf_counter()
        try:
            while True:
                ok, img = cap.read()
                if not ok:
                    raise InputError(f"camera {source} stopped delivering frames")
                yield time.perf_counter() - t0, img
        finally:
            cap.release()
    kind = kind_of_input(source)
    if kind == "video":
        with VideoReader(source) as reader:
            for _, t, img in reader:
                yield t, img
    elif kind == "folder":
        for i, path in enumerate(list_images(source)):
            yield i / folder_fps, read_image(path)
    else:
        raise InputError(f"{source}: --source must be a camera index, a video file or a folder of images")


def run(args: argparse.Namespace) -> int:
    from calibration.neutral import CAPTURING, DONE, CaptureOptions, NeutralCapture
    from calibration.profile import profile_from_capture
    from realtime.app.commands.common import output_suffix
    from realtime.errors import InputError
    from realtime.estimator import EstimatorOptions, MediaPipeEstimator
    from realtime.face import FaceMeshEstimator, mean_face

    output_suffix(args.output, (".json",), "-o")
    if not 0.2 <= args.seconds <= 60:
        raise InputError(f"--seconds must be between 0.2 and 60, got {args.seconds}")
    if not 0 < args.steady < 1:
        raise InputError(f"--steady must be a fraction between 0 and 1, got {args.steady}")
    capture = NeutralCapture(CaptureOptions(seconds=args.seconds, steady_fraction=args.steady))
    state = None
    faces: list = []   # the driver's face while the pose holds steady: the neutral face
    with MediaPipeEstimator(EstimatorOptions(mode="video")) as est, FaceMeshEstimator("video") as face_est:
        for t, img in _frames(str(args.source), args.folder_fps):
            if t > args.timeout:
                break
            pose = est.estimate(img, t)
            new = capture.feed(pose, t)
            if new == CAPTURING:
                face = face_est.detect(img, pose, t)
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
        raise InputError(f"{args.source}: no neutral pose captured ({hint}); stand still facing the camera with "
                         "your whole body in view, or raise --steady")
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
