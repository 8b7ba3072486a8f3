"""Score a recorded exercise against a benchmark, rep by rep.

VIDEO and BENCH are videos, images or pose files (repose, OpenPose or COCO JSON; cache a video's
poses with `repose pose VIDEO --layout mediapipe33 -o poses.json`). Both motions are smoothed,
segmented into repetitions from their own joint angles, and each person rep is aligned in time with
a benchmark rep (dynamic time warping) and scored 0-100 (100 = the benchmark's motion).
Prints a summary; -o writes the report JSON, --plot the joint-angle plot, --html a self-contained
page with key frames, --video the two clips side by side, aligned, with skeletons.
"""
from __future__ import annotations

import argparse
import sys

OUTPUTS = {"output": (".json",), "plot": (".png",), "html": (".html", ".htm"), "video": (".mp4",)}


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("video", metavar="VIDEO", help="the person's exercise: a video or a pose .json file")
    p.add_argument("--benchmark", required=True, metavar="BENCH", help="the benchmark: a video or a pose .json file")
    p.add_argument("--mirror", action="store_true",
                   help="also compare with the benchmark mirrored left-right and keep the better")
    p.add_argument("-o", "--output", metavar="REPORT.json", help="write the report as JSON")
    p.add_argument("--plot", metavar="OUT.png", help="joint angles of both on the aligned time axis, reps shaded")
    p.add_argument("--html", metavar="REPORT.html", help="one self-contained page: plot, rep table, key frames")
    p.add_argument("--video", dest="out_video", metavar="OUT.mp4", help="both clips side by side, aligned, skeletons drawn")


def run(args: argparse.Namespace) -> int:
    from realtime.app.commands.common import output_suffix
    from realtime.coaching.analysis import CoachOptions, analyze
    from realtime.coaching.motion import read_motion

    for key, allowed in OUTPUTS.items():          # bad names fail before anything is estimated
        value = getattr(args, "out_video" if key == "video" else key)
        if value:
            output_suffix(value, allowed, f"--{key}" if key != "output" else "-o")
    person = read_motion(args.video, "video")
    benchmark = read_motion(args.benchmark, "benchmark")
    report = analyze(person, benchmark, CoachOptions(mirror=args.mirror))
    _write_outputs(args, report)
    _print_summary(report)
    return 0


def _write_outputs(args: argparse.Namespace, report) -> None:
    from realtime.coaching.plot import plot_png, write_plot
    from realtime.fileio import write_json

    if args.output:
        write_json(args.output, report.to_dict())
    if args.plot:
        write_plot(report, args.plot)
    if args.html:
        from realtime.coaching.page import write_html

        write_html(report, args.html, plot_png(report))
    if args.out_video:
        from realtime.coaching.video import write_video

        write_video(report, args.out_video)


def _print_summary(report) -> None:
    d = report.to_dict()
    tempo = "" if d["tempo_ratio"] is None else f", tempo x{d['tempo_ratio']:.2f}"
    mirrored = " (benchmark mirrored)" if d["mirrored"] else ""
    print(f"score {d['score']:.1f}: {len(d['reps'])} reps{tempo}{mirrored}")
    for n, r in enumerate(d["reps"], 1):
        advice = "; ".join(r["advice"]) or "-"
        print(f"  rep {n}  {r['start_s']:6.1f}-{r['end_s']:<6.1f} s  score {r['score']:5.1f}  "
              f"tempo x{r['tempo_ratio']:.2f}  {advice}")
    if report.notice:
        print(f"repose coach: notice: {report.notice}", file=sys.stderr)
