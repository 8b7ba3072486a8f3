"""Flags of the learned renderer, shared by the commands that take ``--renderer``:
``--checkpoint``, ``--onnx``, ``--backend``, ``--device``, ``--precision``.
"""
from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from realtime.errors import InputError

BACKEND_CHOICES = ("auto", "torch", "onnxruntime", "tensorrt")


def add_learned_arguments(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("learned renderer (--renderer learned)")
    g.add_argument("--checkpoint", metavar="PATH", help="trained model: a run folder or NAME.safetensors (repose train)")
    g.add_argument("--onnx", metavar="MODEL.onnx", help="an exported model instead of a checkpoint (repose export)")
    g.add_argument("--backend", default="auto", choices=BACKEND_CHOICES,
                   help="inference backend (default auto: tensorrt, onnxruntime, torch, the first that runs)")
    g.add_argument("--device", default="auto", choices=("auto", "cpu", "cuda"), help="default auto")
    g.add_argument("--precision", default="fp32", choices=("fp32", "bf16", "fp16"),
                   help="fp32 (default); bf16 (torch; fast on CPUs with AMX); fp16 (CUDA, or an fp16 ONNX export)")


def learned_options(args: argparse.Namespace) -> dict[str, Any]:
    """Renderer options from the flags; an error when model flags are given to another renderer."""
    if args.renderer != "learned":
        if args.checkpoint or args.onnx:
            raise InputError(f"--checkpoint/--onnx are for --renderer learned (got --renderer {args.renderer})")
        return {}
    if not (args.checkpoint or args.onnx):
        raise InputError("--renderer learned needs --checkpoint runs/NAME (train one with `repose train`) "
                         "or --onnx MODEL.onnx")
    opts: dict[str, Any] = {"backend": args.backend, "device": args.device, "precision": args.precision}
    if args.checkpoint:
        opts["checkpoint"] = Path(args.checkpoint)
    if args.onnx:
        opts["onnx"] = Path(args.onnx)
    return opts
