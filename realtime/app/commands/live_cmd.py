"""Drive the reference person live: a webcam (or a video, a folder of images, a stream URL) in,
the reference rendered in the driver's pose out, to a virtual camera, a window, an mp4 file, an
MJPEG HTTP stream or numbered PNGs (several at once). Stop with Ctrl-C (files are finalized).

Examples:
  repose live --reference me.jpg --source webcam:0 --output virtualcam
  repose live --reference me.jpg --source clip.mp4 --output file:out.mp4 --no-realtime
  repose live --reference me.jpg --source webcam:0 --output window --output mjpeg:8080 --benchmark squat.jpg --count-reps
"""
from __future__ import annotations

import argparse
import logging
import signal
import sys
import threading
from pathlib import Path
from typing import Any

from realtime.app.commands.presenter_args import add_presenter_arguments
from realtime.app.commands.renderer_args import add_renderer_arguments, build_renderer, renderer_options
from realtime.errors import InputError

log = logging.getLogger(__name__)


def _size(text: str) -> tuple[int, int]:
    try:
        w, h = (int(v) for v in text.lower().split("x"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected WIDTHxHEIGHT such as 1280x720, got {text!r}") from None
    if w <= 0 or h <= 0:
        raise argparse.ArgumentTypeError(f"expected a positive WIDTHxHEIGHT, got {text!r}")
    return w, h


def _positive(kind):
    def parse(text: str):
        try:
            v = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
        if v <= 0:
            raise argparse.ArgumentTypeError(f"expected a positive number, got {text!r}")
        return v
    return parse


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.formatter_class = argparse.RawDescriptionHelpFormatter
    io = p.add_argument_group("input and output")
    io.add_argument("--reference", required=True, metavar="IMAGE", help="photo of the person to drive (whole body)")
    io.add_argument("--source", default="webcam:0", metavar="SRC",
                    help="webcam:N, a video file, a folder of images, an image, or a URL (default webcam:0)")
    io.add_argument("--output", action="append", metavar="SINK",
                    help="virtualcam | window | file:PATH.mp4 | mjpeg:PORT | frames:DIR | null; repeat for "
                         "several (default virtualcam)")
    io.add_argument("--output-size", type=_size, metavar="WxH",
                    help="output frame size; the render is letterboxed (default: the reference's size)")
    io.add_argument("--fps", type=_positive(float), help="output rate for virtual camera/mp4 (default: the source's)")
    add_renderer_arguments(p)

    cam = p.add_argument_group("source")
    cam.add_argument("--width", type=_positive(int), help="requested webcam width")
    cam.add_argument("--height", type=_positive(int), help="requested webcam height")
    cam.add_argument("--camera-fps", type=_positive(float), help="requested webcam frame rate")
    cam.add_argument("--mjpg", action="store_true", help="ask the webcam for MJPG (often needed for 30 fps at 720p)")
    cam.add_argument("--no-realtime", action="store_true",
                     help="files: process every frame as fast as possible instead of at the file's fps")
    cam.add_argument("--loop", action="store_true", help="restart a video/folder source at its end")

    proc = p.add_argument_group("processing")
    proc.add_argument("--mirror", action="store_true", help="mirror the driver (selfie view); hotkey m")
    proc.add_argument("--calibration", metavar="PROFILE.json",
                      help="driver calibration from `repose calibrate` (default: the first steady frames; hotkey c "
                           "recalibrates)")
    proc.add_argument("--no-retarget", action="store_true",
                      help="no retargeting: the driver's pose only scaled into the reference image")
    proc.add_argument("--no-overlay", action="store_true", help="hide the HUD; hotkey o")
    proc.add_argument("--no-smooth", action="store_true", help="turn the One-Euro keypoint filter off")
    proc.add_argument("--smooth-min-cutoff", type=_positive(float), default=1.0, metavar="HZ",
                      help="One-Euro minimum cutoff, Hz (default 1.0: steadier when lower)")
    proc.add_argument("--smooth-beta", type=float, default=10.0,
                      help="One-Euro speed coefficient, Hz per body size/s (default 10: less lag when higher)")
    proc.add_argument("--hold", type=float, default=0.5, metavar="S",
                      help="seconds to keep the last pose when nobody is in view (default 0.5)")
    proc.add_argument("--pose-every", type=int, default=2, metavar="N",
                      help="estimate the pose on every N-th frame and predict it between (default 2: pose is "
                           "the loop's largest stage; 1 on a machine with CPU to spare); --no-realtime: every frame")

    coach = p.add_argument_group("coach")
    coach.add_argument("--benchmark", metavar="POSE_OR_IMAGE_OR_VIDEO",
                       help="show live similarity to this pose (JSON/image) or video (plays along)")
    coach.add_argument("--count-reps", action="store_true",
                       help="count the driver's repetitions (from their own joint angles, as `repose coach` does)")
    coach.add_argument("--coach-out", default="similarity", metavar="STEM",
                       help="coach mode writes STEM.csv and STEM.png at exit (default similarity)")

    add_presenter_arguments(proc)

    runp = p.add_argument_group("run")
    runp.add_argument("--stats-json", metavar="FILE", help="write frame counts, fps and latency percentiles at exit")
    runp.add_argument("--max-frames", type=_positive(int), metavar="N", help="stop after N captured frames")
    runp.add_argument("--duration", type=_positive(float), metavar="S", help="stop after S seconds")
    runp.add_argument("--snapshot-dir", default=".", metavar="DIR", help="where hotkey s saves (default .)")

    vc = p.add_argument_group("virtual camera / mjpeg")
    vc.add_argument("--vcam-device", help="virtual camera device (e.g. /dev/video10, 'OBS Virtual Camera')")
    vc.add_argument("--vcam-backend", help="pyvirtualcam backend (v4l2loopback, obs, unitycapture)")
    vc.add_argument("--vcam-format", default="bgr", choices=["bgr", "rgb", "i420", "gray"],
                    help="pixel format sent to the virtual camera (default bgr)")
    vc.add_argument("--mjpeg-host", default="127.0.0.1", help="address the MJPEG server listens on (default 127.0.0.1)")
    vc.add_argument("--allow-remote", action="store_true",
                    help="let --mjpeg-host be a non-loopback address; viewers then need the token in the printed URL")


def run(args: argparse.Namespace) -> int:
    from realtime.media import read_image

    profile = _check_flags(args)
    renderer = build_renderer(args, read_image(args.reference))
    try:
        coach = _coach(args)
        pipeline = _pipeline(args, renderer, profile, coach)
    except BaseException:
        renderer.close()
        raise
    _run_pipeline(args, pipeline)
    return _report(args, pipeline, coach)


def _check_flags(args: argparse.Namespace):
    """Checks that need nothing heavy; returns the calibration profile (or None)."""
    from realtime.sinks import parse_sink_spec
    from realtime.websafety import check_bind

    outputs = args.output or ["virtualcam"]
    for spec in outputs:
        parse_sink_spec(spec)          # bad specs fail before anything heavy starts
    if any(str(s).startswith("mjpeg") for s in outputs):
        host = str(next(s for s in outputs if str(s).startswith("mjpeg"))).partition(":")[2].rpartition(":")[0]
        check_bind(host or args.mjpeg_host, args.allow_remote, "--mjpeg-host")
    if args.hold < 0:
        raise InputError(f"--hold must be >= 0 seconds, got {args.hold}")
    if args.calibration and args.no_retarget:
        raise InputError("--calibration needs retargeting: drop --no-retarget")
    renderer_options(args)             # bad renderer flags, too
    if not args.calibration:
        return None
    from calibration.profile import CalibrationProfile

    return CalibrationProfile.load(args.calibration)


def _coach(args: argparse.Namespace):
    if not args.benchmark:
        return None
    from realtime.coaching.live import Coach, load_benchmark

    return Coach(load_benchmark(args.benchmark), show_reps=args.count_reps)


def _pipeline(args: argparse.Namespace, renderer, profile, coach):
    """The pipeline from the source to the sinks (not started); closes the source when it fails."""
    from realtime.inputs import open_source
    from realtime.pipeline import Pipeline, PipelineOptions
    from realtime.sinks import SinkOptions
    from realtime.smoothing import OneEuroOptions
    from realtime.sources import SourceOptions

    retarget = None
    if not args.no_retarget:
        from calibration.live import LiveRetarget

        args.mirror = args.mirror or bool(profile and profile.mirror)
        retarget = LiveRetarget(renderer.rest_pose, profile, mirrored=lambda: pipeline.controls.mirror)
    source = open_source(args.source, SourceOptions(width=args.width, height=args.height, fps=args.camera_fps,
                                                    mjpg=args.mjpg, realtime=not args.no_realtime, loop=args.loop))
    tracker = hands = None
    options = PipelineOptions(
        realtime=not args.no_realtime, max_frames=args.max_frames, duration_s=args.duration, hold_s=args.hold,
        mirror=args.mirror, overlay=not args.no_overlay,
        smoothing=None if args.no_smooth else OneEuroOptions(min_cutoff=args.smooth_min_cutoff, beta=args.smooth_beta),
        output_size=args.output_size, fps=args.fps, pose_every=args.pose_every)
    sink_options = SinkOptions(vcam_device=args.vcam_device, vcam_backend=args.vcam_backend,
                               vcam_format=args.vcam_format, mjpeg_host=args.mjpeg_host,
                               snapshot_dir=args.snapshot_dir, allow_remote=args.allow_remote)
    try:
        tracker, hands = _presenter(args, renderer, profile)   # after the source: a bad one fails first
        pipeline = Pipeline(source, renderer, args.output or ["virtualcam"], options, coach=coach,
                            sink_options=sink_options, retarget=retarget,
                            on_recalibrate=_recalibrate(retarget, tracker), face=tracker, hands=hands)
    except BaseException:
        source.close()
        for t in (tracker, hands):
            if t is not None:
                t.close()
        raise
    return pipeline


def _run_pipeline(args: argparse.Namespace, pipeline) -> None:
    """Start, wait (a progress bar for an offline file run), stop; Ctrl-C/SIGTERM stop it cleanly."""
    def on_signal(signum, _frame) -> None:
        log.warning("%s: stopping (again to force)", signal.Signals(signum).name)
        pipeline.request_stop()
        for sig, old in installed.items():   # a second Ctrl-C interrupts at once
            signal.signal(sig, old)

    installed = {}
    if threading.current_thread() is threading.main_thread():
        for sig in (signal.SIGINT, signal.SIGTERM):
            installed[sig] = signal.signal(sig, on_signal)
    total = getattr(getattr(pipeline.source, "info", None), "frame_count", 0) if args.no_realtime and not args.loop else 0
    if args.max_frames:
        total = min(total, args.max_frames) if total else args.max_frames
    try:
        pipeline.start()
        if total:   # an offline run of a file: show progress (only on a terminal)
            from realtime.progress import bar as progress_bar

            with progress_bar(total=total, desc="live") as bar:
                while not pipeline.wait(0.25):
                    bar.update(pipeline.stats.frames_out - bar.n)
                bar.update(pipeline.stats.frames_out - bar.n)
        else:
            pipeline.wait()
    finally:
        pipeline.stop()
        for sig, old in installed.items():
            signal.signal(sig, old)


def _report(args: argparse.Namespace, pipeline, coach) -> int:
    """Stats JSON, the coach's curve and the summary line; 1 when a stage failed."""
    from realtime.fileio import write_json

    stats = pipeline.stats_dict()
    err = pipeline.error
    if err is not None:
        stats["error"] = str(err)
    if args.stats_json:
        write_json(args.stats_json, stats)
    if coach is not None:
        stem = Path(args.coach_out)
        coach.write_csv(stem.with_suffix(".csv"))
        coach.write_plot(stem.with_suffix(".png"), count_reps_too=args.count_reps)
        summary = coach.summary()
        msg = f"mean similarity {summary['mean_similarity']}, mean score {summary['mean_score']}, curve in {stem.with_suffix('.csv')} and .png"
        if args.count_reps:
            msg = f"{summary['reps']} reps; " + msg
        print(msg, file=sys.stderr)
    lat = stats["latency_capture_to_output"]
    print(f"frames in {stats['frames_in']}, out {stats['frames_out']}, dropped {stats['dropped']}; "
          f"fps in {stats['fps_in']:.1f}, out {stats['fps_out']:.1f}; latency p50 {lat['p50_ms']} ms, "
          f"p95 {lat['p95_ms']} ms", file=sys.stderr)
    if err is not None:
        print(f"repose live: error: {err}", file=sys.stderr)
        return 1
    return 0


def _presenter(args: argparse.Namespace, renderer, profile):
    """(FaceTracker or None, HandTracker or None) for --face/--hands (default: what the reference shows)."""
    from engines.reenact import face_tracker, hand_tracker

    tracker = face_tracker(renderer, args.face, mirror=args.mirror,
                           neutral=profile.neutral_face if profile else None)
    # hands on every other frame: pose + face + hands would not fit one 30-fps frame on 2 cores
    # (with --pose-every > 1 the pipeline runs them on the frames it estimates the pose on instead)
    hands = hand_tracker(renderer, args.hands, mirror=args.mirror, every=2)
    return tracker, hands


def _recalibrate(retarget, tracker):
    """The `c` hotkey: a new neutral pose and a new neutral face (None when neither applies)."""
    hooks = [h.recalibrate for h in (retarget, tracker) if h is not None]
    if not hooks:
        return None

    def run() -> None:
        for h in hooks:
            h()
    return run
