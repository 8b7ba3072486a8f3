"""The `repose` command line. Each subcommand lives in its own module under realtime/app/commands/
with ``add_arguments(parser)`` and ``run(args) -> int``; heavy imports happen inside ``run``.

Exit codes: 0 success, 2 bad input (one line on stderr, no traceback), 1 unexpected failure.
"""
from __future__ import annotations

import argparse
import importlib
import logging
import sys

from realtime.errors import InputError

# name -> (module, one-line help). Add a command by adding a module and a line here.
COMMANDS: dict[str, tuple[str, str]] = {
    "pose": ("realtime.app.commands.pose_cmd", "estimate the pose in an image or a video"),
    "compare": ("realtime.app.commands.compare_cmd", "compare two poses (images or pose JSON)"),
    "search": ("realtime.app.commands.search_cmd", "find the poses nearest to a query in a library"),
    "coach": ("realtime.app.commands.coach_cmd", "score a recorded exercise against a benchmark video, rep by rep"),
    "train": ("realtime.app.commands.train_cmd", "train a learned pose-transfer model (PATN) on your footage"),
    "export": ("realtime.app.commands.export_cmd", "export a trained checkpoint to ONNX"),
    "live": ("realtime.app.commands.live_cmd", "drive the reference person live into a virtual camera, window, file or stream"),
    "render": ("realtime.app.commands.render_cmd", "render the reference person in the poses of a driver or pose file"),
    "demo": ("realtime.app.commands.demo_cmd", "drive a built-in figure with scripted motions; write demo.mp4"),
    "evaluate": ("realtime.app.commands.evaluate_cmd", "measure a renderer: AKD, MKR, fps; L1/SSIM/PSNR with --self"),
    "calibrate": ("realtime.app.commands.calibrate_cmd", "capture the driver's neutral pose into a calibration profile"),
    "editor": ("realtime.app.commands.editor_cmd", "pose a photo in the browser: drag joints, render, evaluate"),
    "build-engine": ("realtime.app.commands.build_engine_cmd", "compile an ONNX model into a TensorRT engine"),
}


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # argparse's usage errors: exit 2, one line plus usage
        self.print_usage(sys.stderr)
        self.exit(2, f"{self.prog}: error: {message}\n")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="repose", description="Drive another person's image with your body, live.")
    parser.add_argument("-v", "--verbose", action="store_true", help="log progress details")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    for name, (module, help_text) in COMMANDS.items():
        mod = importlib.import_module(module)
        p = sub.add_parser(name, help=help_text, description=(mod.__doc__ or help_text).strip())
        mod.add_arguments(p)
        p.set_defaults(_run=mod.run)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING,
                        format="%(levelname)s %(name)s: %(message)s")
    if not getattr(args, "_run", None):
        parser.print_help()
        return 2
    try:
        return int(args._run(args) or 0)
    except InputError as e:
        print(f"repose {args.command}: error: {e}", file=sys.stderr)
        return 2


def entry_point() -> None:
    sys.exit(main())


if __name__ == "__main__":
    entry_point()
