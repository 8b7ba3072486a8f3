"""Benchmark suite `gpu`: the learned renderer (PATN generator) on one CUDA GPU, batch 1.

Variants, all measured in one run on the same GPU and timed the way the live pipeline sees
them (NumPy float32 NCHW in, NumPy float32 out: host-to-device copy, run, device-to-host copy,
one sync per frame):

- torch fp32 eager (the baseline),
- torch fp16 + channels_last + CUDA graph (static input tensors, one captured graph replayed),
- torch fp16 + channels_last + torch.compile (default mode: Inductor's fused kernels; the CUDA
  graph is ours, and max-autotune's kernel search would take minutes per size) inside a CUDA
  graph (skipped with --gpu-no-compile),
- the torch backend (engines.backends.torch_backend) through the Backend interface with precision
  fp16 and extra {"channels_last": True, "cuda_graphs": True},
- TensorRT (fp16 engine from the exported ONNX) when tensorrt is installed.

Columns: ms/frame (median), fps, speedup over fp32 eager, and the largest absolute difference
from the fp32 output (images are in [-1, 1]); a variant that fails is a row with a note. Weights
are random (speed does not depend on them). On a machine without CUDA the suite says so in its
title and returns no rows; a bar chart goes to --gpu-plot when there are measurements.
"""
from __future__ import annotations

import argparse
import importlib.util
import logging
import statistics
import tempfile
import time
from pathlib import Path
from typing import Callable

import numpy as np

log = logging.getLogger("bench_gpu")

SIZES = ((256, 176), (512, 352))
POSE_CHANNELS = 18


def add_arguments(parser: argparse.ArgumentParser) -> None:
    g = parser.add_argument_group("gpu suite")
    g.add_argument("--gpu-config", default="paper", help="PATN config from engines.learned.patn.CONFIGS (default paper)")
    g.add_argument("--gpu-sizes", default=",".join(f"{h}x{w}" for h, w in SIZES),
                   help="HxW list (default 256x176,512x352)")
    g.add_argument("--gpu-iters", type=int, default=200, help="timed frames per variant (default 200)")
    g.add_argument("--gpu-warmup", type=int, default=20, help="untimed frames first (default 20)")
    g.add_argument("--gpu-no-compile", action="store_true", help="skip the torch.compile variant")
    g.add_argument("--gpu-no-tensorrt", action="store_true", help="skip TensorRT even when installed")
    g.add_argument("--gpu-plot", default="runs/bench_gpu.png", metavar="PNG",
                   help="bar chart of ms/frame per variant and size (default runs/bench_gpu.png; '' for none)")


def cuda_status() -> str | None:
    """None when a CUDA GPU can be used through torch; otherwise why not."""
    if importlib.util.find_spec("torch") is None:
        return "torch is not installed"
    import torch

    if not torch.cuda.is_available():
        return f"no CUDA device (torch {torch.__version__}, torch.cuda.is_available() is False)"
    return None


def parse_sizes(text: str) -> list[tuple[int, int]]:
    out = []
    for part in text.split(","):
        h, _, w = part.strip().lower().partition("x")
        if not (h.isdigit() and w.isdigit()):
            raise SystemExit(f"--gpu-sizes: expected HxW[,HxW...] like 256x176, got {part!r}")
        out.append((int(h), int(w)))
    return out


def make_feeds(h: int, w: int, seed: int = 0) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    return {"cond_image": rng.uniform(-1, 1, (1, 3, h, w)).astype(np.float32),
            "cond_pose": rng.uniform(0, 1, (1, POSE_CHANNELS, h, w)).astype(np.float32),
            "target_pose": rng.uniform(0, 1, (1, POSE_CHANNELS, h, w)).astype(np.float32)}


def _progress(it, desc: str):
    """tqdm over ``it`` when tqdm is installed (the bare GPU machine may lack it), else ``it``."""
    try:
        from tqdm import tqdm
    except ImportError:
        return it
    return tqdm(it, desc=desc, leave=False)


def time_frames(step: Callable[[], np.ndarray], warmup: int, iters: int) -> tuple[float, np.ndarray]:
    """Median ms of ``step`` (which must end in a sync) over ``iters`` after ``warmup`` calls."""
    out = None
    for _ in range(warmup):
        out = step()
    times = []
    for _ in _progress(range(iters), "frames"):
        t0 = time.perf_counter()
        out = step()
        times.append((time.perf_counter() - t0) * 1000.0)
    return statistics.median(times), out


def _names() -> tuple[str, ...]:
    return ("cond_image", "cond_pose", "target_pose")


def eager_fp32(model, feeds: dict[str, np.ndarray]) -> Callable[[], np.ndarray]:
    import torch

    host = {k: torch.from_numpy(v).pin_memory() for k, v in feeds.items()}

    def step() -> np.ndarray:
        with torch.inference_mode():
            args = [host[k].to("cuda", non_blocking=True) for k in _names()]
            y = model(*args)
            return y.float().cpu().numpy()  # .cpu() syncs
    return step


def eager_fp16(model_fp16, feeds: dict[str, np.ndarray]) -> Callable[[], np.ndarray]:
    """fp16 weights and activations, channels_last, no CUDA graph (``model_fp16`` is already half, NHWC)."""
    import torch

    host = {k: torch.from_numpy(v).pin_memory() for k, v in feeds.items()}

    def step() -> np.ndarray:
        with torch.inference_mode():
            args = [host[k].to("cuda", non_blocking=True).half().contiguous(memory_format=torch.channels_last)
                    for k in _names()]
            return model_fp16(*args).float().cpu().numpy()
    return step


def graphed_fp16(model, feeds: dict[str, np.ndarray], compiled: bool = False) -> Callable[[], np.ndarray]:
    """fp16 weights and activations, channels_last, static buffers, one CUDA graph per frame."""
    import torch

    fn = model
    if compiled:
        fn = torch.compile(model, fullgraph=False)
    host = {k: torch.from_numpy(v).pin_memory() for k, v in feeds.items()}
    static = {k: torch.empty(v.shape, dtype=torch.float16, device="cuda").contiguous(memory_format=torch.channels_last)
              for k, v in feeds.items()}
    out_host = None
    stream = torch.cuda.Stream()
    stream.wait_stream(torch.cuda.current_stream())
    with torch.inference_mode():
        for k in _names():
            static[k].copy_(host[k])
        with torch.cuda.stream(stream):  # warm up (and compile) outside capture
            for _ in range(3):
                fn(*[static[k] for k in _names()])
        torch.cuda.current_stream().wait_stream(stream)
        graph = torch.cuda.CUDAGraph()
        with torch.cuda.graph(graph):
            static_out = fn(*[static[k] for k in _names()])
        out_host = torch.empty(static_out.shape, dtype=static_out.dtype, pin_memory=True)

    def step() -> np.ndarray:
        for k in _names():
            static[k].copy_(host[k], non_blocking=True)
        graph.replay()
        out_host.copy_(static_out, non_blocking=True)
        torch.cuda.current_stream().synchronize()
        return out_host.numpy().astype(np.float32)
    return step


def tensorrt_fp16(model, feeds: dict[str, np.ndarray], workdir: Path) -> tuple[Callable[[], np.ndarray], object]:
    """Export the model to ONNX, build (or reuse) an FP16 engine, time engine.infer."""
    from engines.backends.tensorrt_backend import TensorRTEngine
    from engines.backends.tensorrt_build import BuildOptions, detect_features, import_tensorrt
    from engines.learned.export import export_onnx

    h, w = feeds["cond_image"].shape[2:]
    onnx_path = workdir / f"patn-{h}x{w}.onnx"
    # TensorRT 11 (no FP16 builder flag) needs the FP16 export; 10.x builds FP16 from the FP32 one
    fp16_model = detect_features(import_tensorrt()).always_strongly_typed
    export_onnx(model, onnx_path, fp16=fp16_model)
    engine = TensorRTEngine.build(onnx_path, BuildOptions(cache_dir=workdir / "engines", precision="auto"))
    return (lambda: engine.infer(feeds)["image"]), engine


def torch_backend_fp16(model, feeds: dict[str, np.ndarray], workdir: Path) -> tuple[Callable[[], np.ndarray], object]:
    """The product path: the torch backend with fp16, channels_last and CUDA graphs."""
    import copy

    from engines.backends.registry import BackendRequest, create_backend
    from engines.learned.checkpoint import save_generator

    h, w = feeds["cond_image"].shape[2:]
    ckpt = save_generator(copy.deepcopy(model).cpu(), workdir / f"patn-{h}x{w}")
    backend = create_backend("torch", BackendRequest(checkpoint=Path(ckpt), device="cuda", precision="fp16",
                                                     extra={"channels_last": True, "cuda_graphs": True}))
    out = backend.output_names[0]
    return (lambda: backend.infer(feeds)[out]), backend


def onnxruntime_cuda(model, feeds: dict[str, np.ndarray], workdir: Path,
                     fp16: bool = False) -> tuple[Callable[[], np.ndarray], object]:
    """Export the model to ONNX (fp16 inside the graph when asked) and time the onnxruntime backend on
    its CUDA provider. RuntimeError when the provider is missing or fell back to the CPU."""
    import copy

    from engines.backends.registry import BackendRequest, create_backend
    from engines.learned.export import export_onnx

    h, w = feeds["cond_image"].shape[2:]
    path = export_onnx(copy.deepcopy(model).cpu().float(), workdir / f"patn-{h}x{w}-{'fp16' if fp16 else 'fp32'}.onnx",
                       fp16=fp16)
    backend = create_backend("onnxruntime", BackendRequest(onnx_path=path, device="cuda",
                                                           precision="fp16" if fp16 else "fp32"))
    if backend.providers[0] != "CUDAExecutionProvider":
        backend.close()
        raise RuntimeError(f"onnxruntime's CUDA provider did not load (session providers {backend.providers})")
    out = backend.output_names[0]
    return (lambda: backend.infer(feeds)[out]), backend


def plot_rows(rows: list[dict], path: str | Path, title: str) -> Path:
    """Horizontal bars of ms/frame (lower is better) per variant, one panel per size; PNG, atomic."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from realtime.fileio import atomic_path

    measured = [r for r in rows if r.get("ms/frame")]
    if not measured:
        raise ValueError("no measured rows to plot")
    sizes = list(dict.fromkeys(r["size"] for r in measured))
    fig, axes = plt.subplots(len(sizes), 1, figsize=(9, 1.2 + 0.55 * len(measured)), squeeze=False)
    for ax, size in zip(axes[:, 0], sizes):
        sub = [r for r in measured if r["size"] == size]
        ms = [r["ms/frame"] for r in sub]
        ax.barh(range(len(sub)), ms, color=["#888888"] + ["#2a7ab9"] * (len(sub) - 1))
        ax.set_yticks(range(len(sub)), [r["variant"] for r in sub], fontsize=8)
        ax.invert_yaxis()
        for i, r in enumerate(sub):
            speed = f"  {r['ms/frame']:.2f} ms, {r['fps']:.0f} fps"
            speed += f", x{r['speedup']:.2f}" if r.get("speedup") else ""
            ax.text(r["ms/frame"], i, speed, va="center", fontsize=8)
        ax.set_xlim(0, max(ms) * 1.6)
        ax.set_title(f"{size}, batch 1", fontsize=9)
        ax.set_xlabel("ms per frame (lower is better)", fontsize=8)
    fig.suptitle(title, fontsize=9)
    fig.tight_layout()
    out = Path(path)
    with atomic_path(out) as tmp:
        fig.savefig(tmp, dpi=120, format="png")
    plt.close(fig)
    return out


def make_model(config: str, height: int, width: int):
    """A PATN generator of the named config at HxW, random weights, eval mode, on the CPU."""
    import dataclasses

    import torch
    from engines.learned.patn import CONFIGS, PATNGenerator

    if config not in CONFIGS:
        raise SystemExit(f"--gpu-config {config!r}: expected one of {', '.join(CONFIGS)}")
    torch.manual_seed(0)
    return PATNGenerator(dataclasses.replace(CONFIGS[config], height=height, width=width)).eval()


def run(args: argparse.Namespace) -> tuple[str, list[dict]]:
    why = cuda_status()
    if why is not None:
        log.warning("gpu suite: %s; nothing measured", why)
        return f"GPU: not measured here: {why}", []
    import copy

    import torch

    torch.backends.cudnn.benchmark = True
    gpu = torch.cuda.get_device_name(0)
    use_trt = not args.gpu_no_tensorrt and importlib.util.find_spec("tensorrt") is not None
    rows: list[dict] = []
    with tempfile.TemporaryDirectory(prefix="bench_gpu_") as tmp:
        for h, w in parse_sizes(args.gpu_sizes):
            base = make_model(args.gpu_config, h, w).cuda()
            fp16 = copy.deepcopy(base).half().to(memory_format=torch.channels_last)
            variants: list[tuple[str, Callable]] = [
                ("torch fp32 eager", lambda f: eager_fp32(base, f)),
                ("torch fp16 + channels_last + CUDA graph", lambda f: graphed_fp16(fp16, f)),
            ]
            if not args.gpu_no_compile:
                variants.append(("torch fp16 + channels_last + compile + CUDA graph",
                                 lambda f: graphed_fp16(fp16, f, True)))
            variants.append(("torch backend fp16 + channels_last + CUDA graphs (Backend.infer)",
                             lambda f: torch_backend_fp16(base, f, Path(tmp))))
            if use_trt:
                variants.append(("TensorRT fp16 (engine.infer)", lambda f: tensorrt_fp16(base, f, Path(tmp))))
            feeds = make_feeds(h, w)
            ref = None
            base_ms = None
            for name, make in variants:
                closer = None
                try:
                    made = make(feeds)
                    step, closer = made if isinstance(made, tuple) else (made, None)
                    ms, out = time_frames(step, args.gpu_warmup, args.gpu_iters)
                except Exception as e:  # report the variant that failed and keep measuring the others
                    log.warning("%s at %dx%d failed: %s: %s", name, h, w, type(e).__name__, e)
                    rows.append({"size": f"{h}x{w}", "variant": name, "ms/frame": None, "fps": None,
                                 "speedup": None, "max |diff|": None, "note": f"failed: {type(e).__name__}"})
                    continue
                finally:
                    torch.cuda.synchronize()
                    if closer is not None:
                        closer.close()
                if name == variants[0][0]:  # the fp32 eager baseline
                    ref, base_ms = out, ms
                rows.append({"size": f"{h}x{w}", "variant": name, "ms/frame": ms, "fps": 1000.0 / ms,
                             "speedup": base_ms / ms if base_ms else None,
                             "max |diff|": float(np.abs(out - ref).max()) if ref is not None else None, "note": ""})
    title = (f"GPU: learned renderer ({args.gpu_config}), batch 1, numpy in/out, on {gpu} "
             f"(torch {torch.__version__}), median of {args.gpu_iters} frames")
    if args.gpu_plot and any(r["ms/frame"] for r in rows):
        log.warning("gpu suite: chart written to %s", plot_rows(rows, args.gpu_plot, title))
    return title, rows
