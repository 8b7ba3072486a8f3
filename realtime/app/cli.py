"""The `repose` command line. Each subcommand lives in its own module under realtime/app/commands/
with ``add_arguments(parser)`` and ``run(args) -> int``; heavy imports happen inside ``run``.

Exit codes: 0 success, 2 bad input or an unwritable output (one line on stderr, no traceback),
1 unexpected failure (one line; the traceback with -v), 130/143/129 interrupted by SIGINT/SIGTERM/
SIGHUP (one line; temporary files removed). Before a command runs, every numeric flag is checked
against its range and every output path is checked (``realtime.app.flags``).
"""
from __future__ import annotations

import argparse
import contextlib
import importlib
import logging
import os
import sys

from realtime.errors import InputError

log = logging.getLogger("repose")

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


class CliParser(argparse.ArgumentParser):
    """argparse with repose's usage errors: exit 2 and one line that ends with a hint (scripts use it too)."""
    def error(self, message: str) -> None:  # argparse's usage errors: exit 2, one line with a hint
        message = " ".join(message.split())
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def build_parser() -> argparse.ArgumentParser:
    parser = CliParser(prog="repose", description="Drive another person's image with your body, live.")
    parser.add_argument("-v", "--verbose", action="store_true",
                        help="log progress details, third-party (MediaPipe, ffmpeg, OpenCV) output and tracebacks")
    parser.add_argument("--progress", action="store_true", help="progress bars even when stderr is not a terminal")
    parser.add_argument("--strict", action="store_true",
                        help="treat warnings about inputs (e.g. a truncated video) as errors (exit 2)")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=CliParser)
    for name, (module, help_text) in COMMANDS.items():
        mod = importlib.import_module(module)
        p = sub.add_parser(name, help=help_text, description=(mod.__doc__ or help_text).strip())
        mod.add_arguments(p)
        p.set_defaults(_run=mod.run)
    return parser


def subparser(parser: argparse.ArgumentParser, command: str) -> argparse.ArgumentParser | None:
    """The sub-parser of `command` in a parser built by build_parser (None when there is none)."""
    for a in parser._actions:
        if isinstance(a, argparse._SubParsersAction):
            return a.choices.get(command)
    return None


def _one_line(text: object) -> str:
    return " ".join(str(text).split())


def main(argv: list[str] | None = None) -> int:
    from realtime import cpu, media, outputs, progress, quiet
    from realtime.signals import exit_code_of, handle_signals, received

    parser = build_parser()
    args = parser.parse_args(argv)
    quiet.configure(args.verbose)
    cpu.single_threaded_blas()
    progress.force(True if args.progress else None)
    media.set_strict(args.strict)
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING,
                        format="%(levelname)s %(name)s: %(message)s")
    if not getattr(args, "_run", None):
        parser.print_help()
        return 2
    name = f"repose {args.command}"
    try:
        from realtime.app import flags

        sub = subparser(parser, args.command)
        flags.check_ranges(args.command, args, sub)
        flags.check_outputs(args.command, args, sub)
        # live stops itself on SIGINT/SIGTERM and finalizes its files (its documented behaviour)
        guard = contextlib.nullcontext() if args.command == "live" else handle_signals()
        with quiet.StderrFilter(), guard:
            return int(args._run(args) or 0)
    except InputError as e:
        outputs.remove_temporaries()
        print(f"{name}: error: {_one_line(e)}", file=sys.stderr)
        return 2
    except KeyboardInterrupt as e:
        outputs.remove_temporaries()
        done = outputs.written()
        what = f"wrote {', '.join(done)}" if done else "nothing written"
        print(f"{name}: interrupted; {what}", file=sys.stderr)
        return exit_code_of(e)
    except MemoryError:
        outputs.remove_temporaries()
        print(f"{name}: error: out of memory; use smaller inputs or sizes", file=sys.stderr)
        return 1
    except Exception as e:  # noqa: BLE001 - the last resort: one line, the traceback with -v
        outputs.remove_temporaries()
        if received() is not None:   # the signal landed inside an import or C code that re-raised it
            print(f"{name}: interrupted; nothing written", file=sys.stderr)
            return 128 + received()
        if outputs.is_disk_full(e):
            print(f"{name}: error: {_one_line(outputs.disk_full_error('output', e))}", file=sys.stderr)
            return 2
        if args.verbose:
            log.exception("%s failed", name)
        print(f"{name}: internal error: {e.__class__.__name__}: {_one_line(e)[:300]} "
              "(run with -v for the traceback)", file=sys.stderr)
        return 1


def entry_point() -> None:
    from realtime.signals import received

    code = main()
    if received() is not None:
        # interrupted: temporaries are gone; skip the finalizers of native libraries that a signal
        # may have left half-initialized (MediaPipe can abort at exit then)
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)
    sys.exit(code)


if __name__ == "__main__":
    entry_point()
