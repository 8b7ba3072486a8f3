"""Export a trained PATN checkpoint to one ONNX file (opset 17, checked with onnx.checker).

Inputs cond_image (N,3,H,W), cond_pose and target_pose (N,18,H,W); output image (N,3,H,W); RGB in
[-1, 1]. --fp16 keeps float32 inputs/outputs and computes in float16 inside (for TensorRT).
The export is compared with torch on random inputs and the largest difference is printed.
"""
from __future__ import annotations

import argparse


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--checkpoint", required=True, metavar="PATH",
                   help="NAME.safetensors (with NAME.json beside it) or a run folder")
    p.add_argument("-o", "--output", required=True, metavar="MODEL.onnx", help="where to write the model")
    p.add_argument("--fp16", action="store_true", help="float16 weights and compute inside the graph")
    p.add_argument("--no-verify", action="store_true", help="skip the ONNX Runtime vs torch comparison")


def run(args: argparse.Namespace) -> int:
    from engines.learned.export import export_onnx, parity

    path = export_onnx(args.checkpoint, args.output, fp16=args.fp16)
    line = f"wrote {path} ({path.stat().st_size / 1e6:.1f} MB, opset 17, {'fp16' if args.fp16 else 'fp32'})"
    if not args.no_verify:
        diff = parity(args.checkpoint, path)
        line += f"; max |onnxruntime - torch| = {diff:.2e} on random inputs"
    print(line)
    return 0
