"""Suite `learned`: the PATN generator per configuration and backend (parameters, ms/frame), the
learned renderer end to end on the shared photo (crop in, composite out), and training steps/s.

Speed does not depend on the weights, so freshly initialised checkpoints are timed. Times are the
median of --learned-iters runs after warm-up; on a shared CPU they are noisy: compare rows of one run.
"""
from __future__ import annotations

import tempfile
import time
from dataclasses import replace
from pathlib import Path

import numpy as np


def add_arguments(parser) -> None:
    parser.add_argument("--learned-iters", type=int, default=20, help="timed runs per row (learned suite)")
    parser.add_argument("--learned-configs", default="small,paper", help="configs to time (learned suite)")
    parser.add_argument("--learned-train-steps", type=int, default=5, help="timed training steps (learned suite)")
    parser.add_argument("--learned-compile", action="store_true",
                        help="also time torch.compile (learned suite; ~40 s to compile, and its worker processes "
                             "stay busy for a while, so it runs last)")


def _median_ms(fn, iters: int, warmup: int = 2) -> float:
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(iters):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return float(np.median(times) * 1e3)


def _backend_rows(name: str, ckpt: Path, tmp: Path, iters: int, compiled: bool = False) -> list[dict]:
    from engines.backends.registry import BackendRequest, BackendUnavailable, create_backend
    from engines.learned.checkpoint import load_generator
    from engines.learned.patn import count_parameters

    model, cfg = load_generator(ckpt)
    params = count_parameters(model)
    rng = np.random.default_rng(0)
    feeds = {"cond_image": rng.uniform(-1, 1, (1, 3, cfg.height, cfg.width)).astype(np.float32),
             "cond_pose": rng.uniform(0, 1, (1, 18, cfg.height, cfg.width)).astype(np.float32),
             "target_pose": rng.uniform(0, 1, (1, 18, cfg.height, cfg.width)).astype(np.float32)}
    n, warmup = (3, 1) if name == "paper" else (iters, 2)   # the paper config takes seconds per frame here
    rows = []
    variants = [("torch", "fp32", {}), ("torch", "bf16", {}), ("onnxruntime", "fp32", {}), ("onnxruntime", "fp16", {})]
    if compiled:
        variants = [("torch", "fp32", {"compile": True}), ("torch", "bf16", {"compile": True})]
    for backend, precision, extra in variants:
        try:
            b = create_backend(backend, BackendRequest(checkpoint=ckpt, device="cpu", precision=precision,
                                                       cache_dir=tmp, extra=extra))
        except BackendUnavailable as e:
            rows.append({"config": name, "what": "generator", "backend": backend, "precision": precision,
                         "size": f"{cfg.height}x{cfg.width}", "params_M": params / 1e6, "ms": None, "per_s": None,
                         "note": str(e)[:60]})
            continue
        ms = _median_ms(lambda: b.infer(feeds), n, warmup)
        b.close()
        rows.append({"config": name, "what": "generator", "backend": backend, "precision": precision,
                     "size": f"{cfg.height}x{cfg.width}", "params_M": params / 1e6, "ms": ms, "per_s": 1e3 / ms,
                     "note": "torch.compile" if extra.get("compile") else ""})
    return rows


def _renderer_row(ckpt: Path, tmp: Path, media: Path, iters: int, backend: str, precision: str) -> dict:
    from engines.renderer import create_renderer
    from realtime.media import read_image

    image = read_image(media / "pose.jpg")
    r = create_renderer("learned", checkpoint=ckpt, backend=backend, device="cpu", precision=precision, cache_dir=tmp)
    r.prepare(image)
    rest = r.rest_pose
    poses = [replace(rest, xy=rest.xy + np.float32([dx, 0])) for dx in (-30, -10, 10, 30)]
    i = [0]

    def one():
        r.render(poses[i[0] % len(poses)])
        i[0] += 1
    ms = _median_ms(one, iters)
    r.close()
    h, w = image.shape[:2]
    return {"config": "small", "what": f"renderer {w}x{h} (crop+infer+paste)", "backend": backend,
            "precision": precision, "size": "", "params_M": None, "ms": ms, "per_s": 1e3 / ms, "note": ""}


def _train_rows(name: str, media: Path, tmp: Path, steps: int, batch: int = 4, amp: bool = False) -> dict:
    import torch

    from engines.learned.datasets import DataOptions
    from engines.learned.training import Trainer, TrainOptions

    opts = TrainOptions(data=[media / "pose_1.mp4"], out=tmp / f"train-{name}-{amp}", config=name, amp=amp, batch_size=batch,
                        device="cpu", data_options=DataOptions(max_frames=40, max_pairs=200), cache_dir=tmp / "cache",
                        progress=False, validate=False)
    tr = Trainer(opts)
    loader = iter(torch.utils.data.DataLoader(tr.train_set, batch_size=batch, shuffle=True))
    batches = [next(loader) for _ in range(steps + 1)]
    tr.train_step(batches[0])
    t0 = time.perf_counter()
    for b in batches[1:]:
        tr.train_step(b)
    s = (time.perf_counter() - t0) / steps
    return {"config": name, "what": "train step (G + D_A + D_S)", "backend": "torch cpu",
            "precision": str(tr.amp_dtype).replace("torch.bfloat16", "bf16 autocast") if tr.use_amp else "fp32",
            "size": f"batch {batch}", "params_M": None, "ms": s * 1e3, "per_s": 1 / s, "note": "per_s = steps/s"}


def run(args) -> tuple[str, list[dict]]:
    import torch

    from engines.learned.checkpoint import save_generator
    from engines.learned.patn import PATNGenerator, get_config

    media = Path(args.media)
    rows: list[dict] = []
    with tempfile.TemporaryDirectory() as d:
        tmp = Path(d)
        for name in args.learned_configs.split(","):
            torch.manual_seed(0)
            ckpt = save_generator(PATNGenerator(get_config(name)).eval(), tmp / f"{name}.safetensors")
            rows += _backend_rows(name, ckpt, tmp, args.learned_iters)
            if name == "small" and (media / "pose.jpg").is_file():
                for backend, precision in (("onnxruntime", "fp32"), ("torch", "bf16")):
                    rows.append(_renderer_row(ckpt, tmp, media, args.learned_iters, backend, precision))
        if (media / "pose_1.mp4").is_file():
            for name in args.learned_configs.split(","):
                for amp in (False, True):
                    if name == "paper":
                        rows.append(_train_rows(name, media, tmp, 1, batch=2, amp=amp))
                    else:
                        rows.append(_train_rows(name, media, tmp, args.learned_train_steps, amp=amp))
        if args.learned_compile:
            ckpt = tmp / "small.safetensors"
            if ckpt.is_file():
                rows += _backend_rows("small", ckpt, tmp, args.learned_iters, compiled=True)
    return f"learned renderer (PATN), CPU: {torch.get_num_threads()} torch threads", rows
