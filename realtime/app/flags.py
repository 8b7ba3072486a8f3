"""What the CLI checks for every command after parsing and before any work: the range of every
numeric flag and every output path (``realtime.outputs.check_output``).

Both are tables, so a command module only declares its flags; ``tests/test_reliability.py``
fails when a numeric flag has no range here. Keys are ``dest`` names; ``"command.dest"`` overrides
for one command.
"""
from __future__ import annotations

import argparse
import math
from pathlib import Path
from typing import Any, Callable

from realtime.errors import InputError

INF = math.inf

#: dest (or "command.dest") -> (lowest, highest, lowest allowed itself?) ; both ends inclusive
#: unless the third item says the lower one is excluded (a rate or a duration must be > 0).
RANGES: dict[str, tuple[float, float, bool]] = {
    # counts
    "k": (1, 10_000, True),
    "epochs": (1, 1_000_000, True),
    "batch_size": (1, 4096, True),
    "pairs_per_epoch": (1, 100_000_000, True),
    "every": (1, 1_000_000, True),
    "max_frames": (1, 1_000_000_000, True),
    "reference_frame": (0, 1_000_000_000, True),
    "frame": (0, 1_000_000_000, True),           # calibrate --frame N
    "max_steps": (1, 10**12, True),
    "sample_every": (0, 10**9, True),        # 0: none during the run
    "checkpoint_every": (0, 10**9, True),    # 0: only at the end
    "workers": (0, 256, True),
    "seed": (0, 2**32 - 1, True),
    "max_batch": (1, 1024, True),
    "device_index": (0, 64, True),
    "workspace_mb": (1, 1 << 20, True),
    # training weights
    "lr": (0, 1, False),
    "alpha": (0, 10_000, True),
    "lambda_l1": (0, 10_000, True),
    "lambda_perceptual": (0, 10_000, True),
    "time_budget": (0, 10**7, False),
    # rates, times, sizes
    "fps": (0, 240, False),
    "camera_fps": (0, 240, False),
    "folder_fps": (0, 240, False),
    "width": (16, 8192, True),
    "height": (16, 8192, True),
    "output_size": (16, 8192, True),   # each side of WxH
    "duration": (0, 10**7, False),
    "hold": (0, 3600, True),
    "pose_every": (1, 30, True),
    "smooth_min_cutoff": (0, 1000, False),
    "smooth_beta": (0, 1_000_000, True),
    "seconds": (0, 3600, False),
    "steady": (0, 1, False),
    "timeout": (0, 86_400, False),
    "port": (0, 65_535, True),
    "max_upload_mb": (0, 1024, False),
    "max_side": (64, 16_384, True),
}


def _fmt(v: float) -> str:
    return f"{v:g}" if isinstance(v, float) else str(v)


def _flag(parser: argparse.ArgumentParser | None, dest: str) -> str:
    for a in getattr(parser, "_actions", []):
        if a.dest == dest and a.option_strings:
            return max(a.option_strings, key=len)
    return "--" + dest.replace("_", "-")


def check_number(flag: str, value: Any, lo: float, hi: float, lo_inclusive: bool = True) -> None:
    """InputError (one line, with the range) unless lo <= value <= hi (lo < value when exclusive)."""
    values = value if isinstance(value, tuple) else (value,)
    for v in values:
        if not isinstance(v, (int, float)) or isinstance(v, bool):
            continue
        ok = math.isfinite(v) and (v >= lo if lo_inclusive else v > lo) and v <= hi
        if not ok:
            low = f"{_fmt(lo)} <= " if lo_inclusive else f"{_fmt(lo)} < "
            shown = "x".join(_fmt(x) for x in values) if len(values) > 1 else _fmt(v)
            raise InputError(f"{flag} {shown}: out of range; expected {low}{flag.lstrip('-')} <= {_fmt(hi)}"
                             + (" (each side)" if len(values) > 1 else ""))


def range_of(command: str, dest: str) -> tuple[float, float, bool] | None:
    return RANGES.get(f"{command}.{dest}", RANGES.get(dest))


def check_ranges(command: str, args: argparse.Namespace, parser: argparse.ArgumentParser | None = None) -> None:
    for dest, value in vars(args).items():
        if value is None or dest.startswith("_"):
            continue
        r = range_of(command, dest)
        if r is not None:
            check_number(_flag(parser, dest), value, *r)


# -- outputs -----------------------------------------------------------------------------------
def _pose_output_kind(args: argparse.Namespace) -> str:
    from realtime.media import VIDEO_EXTS

    video = Path(str(args.input)).suffix.lower() in VIDEO_EXTS
    return "folder" if args.format == "openpose" and video else "file-"


#: command -> {dest: kind}; kind "file", "file-" (a file or - for stdout), "folder", "stem" (STEM.csv and STEM.png), "sinks"
#: (live --output specs) or a function of the args that answers one of those.
OUTPUTS: dict[str, dict[str, str | Callable[[argparse.Namespace], str]]] = {
    "pose": {"output": _pose_output_kind, "draw": "file"},
    "compare": {"output": "file-", "draw": "file"},
    "train": {"out": "folder", "cache": "folder"},
    "export": {"output": "file"},
    "live": {"stats_json": "file", "snapshot_dir": "folder", "output": "sinks",
             "coach_out": lambda a: "stem" if a.benchmark else "skip", "cache_dir": "folder"},
    "render": {"output": "file", "targets_out": "file", "cache_dir": "folder"},
    "demo": {"output": "file", "cache_dir": "folder"},
    "evaluate": {"cache_dir": "folder"},
    "editor": {"cache_dir": "folder"},
    "calibrate": {"output": "file"},
    "coach": {"output": "file", "plot": "file", "html": "file", "out_video": "file"},
    "build-engine": {"cache_dir": "folder", "timing_cache": "file"},
}


def _check_sinks(specs: list[str] | None) -> None:
    from realtime.outputs import check_output

    for spec in specs or []:
        kind, _, arg = str(spec).partition(":")
        if kind == "file" and arg:
            check_output(arg, "--output file:")
        elif kind == "frames" and arg:
            check_output(arg, "--output frames:", folder=True)


def check_outputs(command: str, args: argparse.Namespace, parser: argparse.ArgumentParser | None = None) -> None:
    """Every output path of the command, checked before its work starts (OutputError, one line)."""
    from realtime.outputs import check_output

    for dest, kind in OUTPUTS.get(command, {}).items():
        value = getattr(args, dest, None)
        if value is None or value == []:
            continue
        kind = kind(args) if callable(kind) else kind
        flag = _flag(parser, dest)
        if kind == "sinks":
            _check_sinks(value)
        elif kind == "stem":
            for ext in (".csv", ".png"):
                check_output(Path(str(value)).with_suffix(ext), flag)
        elif kind in ("file", "file-", "folder"):
            check_output(str(value), flag, folder=kind == "folder", stdout_ok=kind == "file-")
