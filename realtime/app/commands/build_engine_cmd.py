"""Compile an ONNX model (from `repose export`) into a TensorRT engine for this GPU.

The engine is stored in the engine cache under a name that carries the model, the ONNX file's
hash, the precision, the GPU name and compute capability, and the TensorRT version; a matching
engine is reused, a stale one (other GPU, other TensorRT, re-exported model) is rebuilt. The
timing cache is loaded and saved so rebuilds are faster. FP16: on TensorRT 10 through the
builder flag; on TensorRT 11 (strongly typed) from an FP16 model: `repose export --fp16`.
Needs an NVIDIA GPU and the gpu extra (pip install -e ".[gpu]"); exits 2 saying what to install
when TensorRT is missing.
"""
from __future__ import annotations

import argparse
import json
from pathlib import Path


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--onnx", required=True, type=Path, metavar="MODEL.onnx",
                        help="ONNX model made by `repose export` (add --fp16 there for FP16 on TensorRT 11)")
    parser.add_argument("--cache-dir", type=Path, default=None, metavar="DIR",
                        help="model cache folder; engines go to DIR/engines (default: $REPOSE_CACHE_DIR, "
                             "else ~/.cache/repose)")
    parser.add_argument("--workspace-mb", type=int, default=2048, metavar="N",
                        help="TensorRT workspace memory limit in MiB (default 2048)")
    parser.add_argument("--timing-cache", type=Path, default=None, metavar="PATH",
                        help="timing cache to reuse and update (default: one per GPU and TensorRT version "
                             "in the cache folder)")
    parser.add_argument("--precision", choices=("auto", "fp16", "fp32"), default="auto",
                        help="auto: FP16 where this TensorRT and model allow it (default)")
    parser.add_argument("--max-batch", type=int, default=1, metavar="N",
                        help="largest batch when the model's batch axis is dynamic (default 1)")
    parser.add_argument("--name", default=None, help="model name in the engine file name (default: ONNX stem)")
    parser.add_argument("--device-index", type=int, default=0, metavar="I", help="CUDA device (default 0)")
    parser.add_argument("--force", action="store_true", help="rebuild even if a matching engine exists")
    parser.add_argument("--json", action="store_true", help="print the result as JSON")


def run(args: argparse.Namespace) -> int:
    from engines.backends.model_cache import engine_dir
    from engines.backends.tensorrt_build import BuildOptions, build_engine

    options = BuildOptions(cache_dir=engine_dir(args.cache_dir), precision=args.precision, workspace_mb=args.workspace_mb,
                           timing_cache=args.timing_cache, max_batch=args.max_batch, force=args.force,
                           model_name=args.name, device_index=args.device_index)
    result = build_engine(args.onnx, options)
    summary = {"engine": str(result.path), "reused": result.reused, "precision": result.key.precision,
               "gpu": result.key.gpu_name, "compute_capability": result.key.gpu.cc,
               "tensorrt": result.key.trt_version, "onnx_sha256": result.key.onnx_hash,
               "build_seconds": round(result.seconds, 2), "note": result.plan.note or result.message}
    if args.json:
        print(json.dumps(summary, indent=1))
    else:
        verb = "reused" if result.reused else f"built in {result.seconds:.1f} s"
        print(f"{result.path}  ({verb}; {result.key.precision} on {result.key.gpu_name} "
              f"cc {result.key.gpu.cc}, TensorRT {result.key.trt_version})")
    return 0
