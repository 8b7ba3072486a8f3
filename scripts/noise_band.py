#!/usr/bin/env python3
"""How far `repose evaluate`'s figures move under noise no one can see.

That band is what a renderer change must leave before its whole-clip figure means anything.

One run (``--self CLIP`` or ``--cross IMAGE:CLIP``) is driven exactly as `repose evaluate` drives it
(scripts/bone_report.py's evaluate_args: retargeting, the face and the hands, outputs re-read in the
driver's mode), once as it is and once per seed with every output given Gaussian noise of ``--sigma``
grey levels (seeded, independent per pixel and channel, rounded and clipped to 0-255) before it is
re-read. MediaPipe's reading of a small head or a foreshortened limb jumps by whole pixels under such
noise, so each figure has a band; the table gives every run's figures and, per figure, the seeds'
min, max and spread. A renderer change whose figure moves less than that spread is not shown to
change anything. ``--json PATH`` writes the same numbers. Bad input: exit 2, one line on stderr.

    PYTHONPATH=$PWD python scripts/noise_band.py --self pose_squats.mp4 --seeds 4
    PYTHONPATH=$PWD python scripts/noise_band.py --self webcam_talking.mp4 --neutral reference --max-frames 0
    PYTHONPATH=$PWD python scripts/noise_band.py --self webcam_signing.mp4 --neutral reference --option reference-frame=268
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

FIGURES = ("bone_deg", "akd_256", "mkr", "l1", "head_roll_err_deg", "mouth_corr", "hands_found", "finger_bend_corr")


def noisy(img, sigma: float, rng):
    """``img`` (uint8) plus rounded Gaussian noise of ``sigma`` grey levels, clipped to 0-255."""
    import numpy as np

    if sigma <= 0:
        return img
    return np.clip(img.astype(np.float32) + rng.normal(0.0, sigma, img.shape).astype(np.float32) + 0.5,
                   0, 255).astype(np.uint8)


def run_once(spec: str, args, seed: int | None) -> dict:
    """evaluate's summary of one run; with a seed, every output gets the seeded noise before it is
    re-read (engines.reenact.render_with wrapped for the run, then restored)."""
    import numpy as np

    import engines.reenact as er
    from realtime.app.commands import evaluate_cmd
    from scripts.bone_report import evaluate_args

    ns = evaluate_args(spec, args)
    orig = er.render_with
    if seed is not None:
        rng = np.random.default_rng(seed)
        er.render_with = lambda renderer, target, cues: noisy(orig(renderer, target, cues), args.sigma, rng)
    try:
        renderer = evaluate_cmd.build_renderer(ns)
        res = evaluate_cmd.drive_clip(ns, renderer)
        renderer.close()
    finally:
        er.render_with = orig
    return res.summary()


def band(runs: list[dict]) -> dict:
    """Per figure present in every noisy run: {min, max, spread} over those runs."""
    out = {}
    for k in FIGURES:
        vals = [r[k] for r in runs if isinstance(r.get(k), (int, float))]
        if vals and len(vals) == len(runs):
            out[k] = {"min": min(vals), "max": max(vals), "spread": max(vals) - min(vals)}
    return out


def table(name: str, clean: dict, runs: list[dict], sigma: float) -> str:
    keys = [k for k in FIGURES if isinstance(clean.get(k), (int, float))]
    lines = [f"## {name}: {len(runs)} seeds, noise sigma {sigma:g} grey levels",
             "| run | " + " | ".join(keys) + " |", "|---" * (len(keys) + 1) + "|",
             "| as rendered | " + " | ".join(f"{clean[k]:.4g}" for k in keys) + " |"]
    lines += [f"| seed {i} | " + " | ".join(f"{r[k]:.4g}" if isinstance(r.get(k), (int, float)) else "" for k in keys)
              + " |" for i, r in enumerate(runs)]
    b = band(runs)
    for what in ("min", "max", "spread"):
        lines.append(f"| {what} | " + " | ".join(f"{b[k][what]:.4g}" if k in b else "" for k in keys) + " |")
    return "\n".join(lines)


def _parser() -> argparse.ArgumentParser:
    from realtime.app.cli import CliParser
    from scripts.bone_report import add_run_flags

    p = CliParser(prog="noise_band.py", description=__doc__.splitlines()[0])
    run = p.add_mutually_exclusive_group(required=True)
    run.add_argument("--self", dest="self_clip", metavar="CLIP")
    run.add_argument("--cross", metavar="IMAGE:CLIP")
    add_run_flags(p, max_frames=0)
    p.add_argument("--seeds", type=int, default=4, help="noisy runs (default 4)")
    p.add_argument("--sigma", type=float, default=2.0, help="noise, grey levels (default 2: invisible)")
    p.add_argument("--json", default=None, metavar="PATH", help="also write the figures as JSON")
    return p


def main(argv: list[str] | None = None) -> int:
    import logging

    from tqdm import tqdm

    from realtime import quiet
    from realtime.app.flags import check_number
    from realtime.errors import InputError
    from realtime.outputs import check_output
    from scripts.bone_report import _run_name, evaluate_args

    args = _parser().parse_args(argv)
    args.no_retarget = False
    quiet.configure(False)
    logging.basicConfig(level=logging.WARNING)
    try:
        check_number("--max-frames", args.max_frames, 0, 1_000_000_000)
        check_number("--seeds", args.seeds, 2, 100)
        check_number("--sigma", args.sigma, 0.1, 64.0)
        spec = args.self_clip or args.cross
        if args.self_clip is None and ":" not in spec:
            raise InputError(f"--cross {spec}: expected IMAGE:CLIP, e.g. pose.jpg:pose_1.mp4")
        evaluate_args(spec, args)          # the run's flags checked before it starts
        if args.json:
            check_output(args.json, "--json")
        got = []
        for seed in tqdm([None, *range(args.seeds)], desc="runs", unit="run", leave=False):
            with quiet.StderrFilter():
                got.append(run_once(spec, args, seed))
        print(table(_run_name(spec), got[0], got[1:], args.sigma), flush=True)
        if args.json:
            Path(args.json).write_text(json.dumps({"run": spec, "sigma": args.sigma, "as_rendered": got[0],
                                                   "seeds": got[1:], "band": band(got[1:])}, indent=1))
    except InputError as e:
        print(f"noise_band.py: error: {' '.join(str(e).split())}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
