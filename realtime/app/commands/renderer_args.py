"""The renderer flags every rendering command shares (live, render, evaluate, demo, editor), and the
one function that turns them into a renderer.

Flags: ``--renderer NAME``, ``--renderer-opt KEY=VALUE`` (repeatable), ``--background``, and the
learned renderer's model flags ``--checkpoint``, ``--onnx``, ``--backend``, ``--device``,
``--precision``, ``--cache-dir``. ``build_renderer(args, reference)`` creates the renderer named by
the flags and prepares it for the reference photo; an option the renderer does not take, or a
model flag given to a renderer without a model, is an InputError (exit 2, one line).
"""
from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

import numpy as np

from realtime.errors import InputError
from realtime.pose import Pose

BACKEND_CHOICES = ("auto", "torch", "onnxruntime", "tensorrt")
DEVICE_CHOICES = ("auto", "cpu", "cuda")
PRECISION_CHOICES = ("fp32", "bf16", "fp16")
# learned-only flags: attribute -> flag (default None, so giving one to another renderer is caught)
MODEL_FLAGS = {"checkpoint": "--checkpoint", "onnx": "--onnx", "backend": "--backend", "device": "--device",
               "precision": "--precision", "cache_dir": "--cache-dir"}
BACKGROUND_HELP = ("background behind the person; warp: inpaint (default), transparent, black, white, green, "
                   "grey, blue or B,G,R; skeleton: black (default), reference or dim; learned: inpaint (default) "
                   "or reference")


def add_renderer_arguments(p: argparse.ArgumentParser, default: str = "warp") -> None:
    """Add the renderer flags, as one argument group, to a command's parser."""
    from engines.renderer import RENDERERS

    g = p.add_argument_group("renderer")
    g.add_argument("--renderer", default=default, metavar="NAME",
                   help=f"{', '.join(sorted(RENDERERS))} (default {default})")
    g.add_argument("--renderer-opt", action="append", default=[], metavar="KEY=VALUE",
                   help="a renderer option, e.g. blend=skin (warp) or alpha=true; repeatable")
    g.add_argument("--background", metavar="BG", help=BACKGROUND_HELP)
    g.add_argument("--checkpoint", metavar="PATH",
                   help="learned: trained model, a run folder or NAME.safetensors (repose train)")
    g.add_argument("--onnx", metavar="MODEL.onnx", help="learned: an exported model instead of a checkpoint "
                                                        "(repose export)")
    g.add_argument("--backend", choices=BACKEND_CHOICES,
                   help="learned: inference backend (default auto: tensorrt, onnxruntime, torch, the first that runs)")
    g.add_argument("--device", choices=DEVICE_CHOICES, help="learned: default auto")
    g.add_argument("--precision", choices=PRECISION_CHOICES,
                   help="learned: fp32 (default); bf16 (torch; fast on CPUs with AMX); fp16 (CUDA, or an fp16 "
                        "ONNX export)")
    g.add_argument("--cache-dir", metavar="DIR",
                   help="learned: model cache for ONNX exports and TensorRT engines (default $REPOSE_CACHE_DIR, "
                        "else ~/.cache/repose)")


def option_value(text: str) -> Any:
    """A ``--renderer-opt`` value: true/false, an int, a float, else the text itself."""
    low = text.lower()
    if low in ("true", "false"):
        return low == "true"
    for kind in (int, float):
        try:
            return kind(text)
        except ValueError:
            pass
    return text


def parse_renderer_opts(pairs: list[str]) -> dict[str, Any]:
    """``["background=dim", "feather-px=4"]`` -> ``{"background": "dim", "feather_px": 4}``."""
    out: dict[str, Any] = {}
    for pair in pairs:
        key, eq, value = pair.partition("=")
        if not eq or not key.strip():
            raise InputError(f"--renderer-opt {pair!r}: expected KEY=VALUE, e.g. background=dim")
        out[key.strip().replace("-", "_")] = option_value(value.strip())
    return out


def _model_options(args: argparse.Namespace) -> dict[str, Any]:
    given = {attr: getattr(args, attr, None) for attr in MODEL_FLAGS}
    if args.renderer != "learned":
        extra = [MODEL_FLAGS[a] for a, v in given.items() if v is not None]
        if extra:
            raise InputError(f"the model flags ({' '.join(extra)}) are for --renderer learned (got --renderer "
                             f"{args.renderer}); drop them or add --renderer learned")
        return {}
    if not (given["checkpoint"] or given["onnx"]):
        raise InputError("--renderer learned needs --checkpoint runs/NAME (train one with `repose train`) "
                         "or --onnx MODEL.onnx")
    for attr in ("checkpoint", "onnx"):
        if given[attr] and not Path(given[attr]).exists():
            raise InputError(f"{MODEL_FLAGS[attr]} {given[attr]}: no such file or folder; expected "
                             + ("a checkpoint written by `repose train`" if attr == "checkpoint"
                                else "a model written by `repose export`"))
    opts: dict[str, Any] = {"backend": given["backend"] or "auto", "device": given["device"] or "auto",
                            "precision": given["precision"] or "fp32"}
    for attr in ("checkpoint", "onnx", "cache_dir"):
        if given[attr]:
            opts[attr] = Path(given[attr])
    return opts


def renderer_options(args: argparse.Namespace) -> dict[str, Any]:
    """Keyword options for engines.renderer.create_renderer from the flags (checked, nothing built)."""
    opts = _model_options(args)
    if getattr(args, "background", None) is not None:
        opts["background"] = args.background
    extra = parse_renderer_opts(getattr(args, "renderer_opt", None) or [])
    clash = sorted(set(extra) & set(opts))
    if clash:
        raise InputError(f"--renderer-opt {clash[0]}=... repeats a flag: use --{clash[0].replace('_', '-')} only")
    return {**opts, **extra}


def build_renderer(args: argparse.Namespace, reference: np.ndarray | None = None,
                   reference_pose: Pose | None = None, mask: np.ndarray | None = None):
    """The renderer the flags name; prepared for ``reference`` (BGR uint8) when one is given.

    reference_pose / mask: the reference's pose and person mask when already known (else estimated).
    """
    from engines.renderer import create_renderer

    opts = renderer_options(args)
    try:
        renderer = create_renderer(args.renderer, **opts)
    except TypeError as e:   # an option the renderer does not take
        given = list(getattr(args, "renderer_opt", None) or [])
        if getattr(args, "background", None) is not None:
            given.insert(0, f"--background {args.background}")
        raise InputError(f"renderer {args.renderer!r} does not accept {' '.join(given) or 'these options'}: "
                         f"{e}") from None
    if reference is None:
        return renderer
    try:
        renderer.prepare(reference, reference_pose, mask)
    except BaseException:
        renderer.close()
        raise
    return renderer
