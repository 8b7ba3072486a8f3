#!/usr/bin/env python3
"""repose benchmarks: `python scripts/benchmark.py [SUITE ...]` prints one table per suite.

Suites live in scripts/bench_<name>.py, each with ``add_arguments(parser)`` (optional) and
``run(args) -> (title, rows)`` where rows are dicts with the same keys. With no suite named, the
default suites run.
"""
from __future__ import annotations

import argparse
import importlib.util
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

SUITES: dict[str, str] = {   # name -> one-line description; module is scripts/bench_<name>.py
    "pose": "estimator ms/frame, comparisons per second, search latency",
    "pipeline": "live pipeline: output/input fps, latency, stage sum vs overhead per renderer",
    "smoothing": "One-Euro filter: keypoint jitter removed vs distance from the raw estimate",
    "render": "warp renderer ms/frame at 256..1080p (render only) and prepare time",
    "editor": "pose editor API latency per endpoint (estimate, render, evaluate, ...)",
    "coach": "repose coach on a 1-minute video: estimation, analysis (reps, DTW, scores), plot, page, video",
    "learned": "PATN generator ms/frame per config and backend, learned renderer fps, training steps/s",
    "gpu": "learned renderer on CUDA: torch fp16+channels_last+CUDA graphs (+compile, TensorRT) vs fp32 eager",
}
DEFAULT: list[str] = ["pose", "render"]


def load_suite(name: str):
    spec = importlib.util.spec_from_file_location(f"bench_{name}", HERE / f"bench_{name}.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def print_table(title: str, rows: list[dict]) -> None:
    print(f"\n## {title}\n")
    if not rows:
        print("(no rows)")
        return
    keys = list(rows[0])
    cells = [[k for k in keys]] + [[_fmt(r.get(k)) for k in keys] for r in rows]
    widths = [max(len(c[i]) for c in cells) for i in range(len(keys))]
    line = lambda c: "| " + " | ".join(s.ljust(w) for s, w in zip(c, widths)) + " |"
    print(line(cells[0]))
    print("|" + "|".join("-" * (w + 2) for w in widths) + "|")
    for c in cells[1:]:
        print(line(c))


def _fmt(v) -> str:
    if isinstance(v, float):
        return f"{v:.3g}" if abs(v) < 1000 else f"{v:.0f}"
    return "" if v is None else str(v)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("suites", nargs="*", metavar="SUITE",
                        help="; ".join(f"{k}: {v}" for k, v in SUITES.items()))
    parser.add_argument("--media", default=str(HERE.parent.parent / "shared" / "data" / "media"),
                        help="folder of the shared test footage")
    mods = {name: load_suite(name) for name in SUITES}
    for mod in mods.values():
        if hasattr(mod, "add_arguments"):
            mod.add_arguments(parser)
    args = parser.parse_args(argv)
    unknown = [s for s in args.suites if s not in SUITES]
    if unknown:
        parser.error(f"unknown suite {', '.join(unknown)}: expected one of {', '.join(SUITES)}")
    for name in args.suites or DEFAULT:
        title, rows = mods[name].run(args)
        print_table(title, rows)
    return 0


if __name__ == "__main__":
    sys.exit(main())
