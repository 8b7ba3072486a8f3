#!/usr/bin/env python3
"""The GPU check: the learned renderer's GPU figures in one run. Start it with `bash scripts/gpu_check.sh`.

Made for a bare GPU machine: a plain checkout, PYTHONPATH=., whatever python3 is first on PATH, no
network, no project install and no mediapipe (this process refuses to import it, so nothing on the
measured path can need it). Writes into --out:
  gpu_check.json  every figure; rewritten after each measurement, so a run cut short keeps what it got
  gpu_check.png   ms/frame bars per configuration (skipped with a log line when matplotlib is missing)
and logs to stderr (gpu_check.sh copies that into gpu_check.log).

Sections. Rows give ms/frame (median), fps, the speed-up over torch fp32 eager of the same config and
size, and the largest |difference| from the fp32 output (images in [-1, 1]); a variant that fails is
a row with a note.
  environment  GPU name, driver, CUDA, cuDNN, torch, numpy, onnxruntime and its providers, extras
  generator    the PATN generator, small and paper configs at 128x88 and 256x176, batch 1, NumPy in
               and out: torch fp32 eager; fp16 + channels_last; fp16 + channels_last + CUDA graph; the
               torch backend as the renderer runs it (fp16, channels_last, CUDA graphs); ONNX Runtime
               on its CUDA provider (fp32, fp16) when it has one; torch.compile in a child process
               that is killed after --compile-timeout seconds
  renderer     the whole learned renderer per frame (pose maps, crop, generator, paste) on a drawn
               1280x720 reference whose pose and person mask are given, each config at its own size
  training     train steps (G + D_A + D_S, batch 4): fp32, fp16 autocast (the CUDA default), bf16
               autocast, on a drawn DeepFashion-style folder
  tensorrt     whether tensorrt and pycuda import (neither can be installed on the lent machine)
Without CUDA it says "no CUDA device", runs the same code once on the CPU at the tiny config (a smoke
test) and exits 0. Exit 1: a module the check needs cannot be imported; 3: a torch measurement failed
(onnxruntime and torch.compile rows that fail are reported in the JSON's "failures" and do not count).
"""
from __future__ import annotations

import argparse
import datetime
import importlib
import importlib.abc
import importlib.metadata
import importlib.util
import json
import logging
import os
import platform
import signal
import subprocess
import sys
import tempfile
import threading
import time
import traceback
from pathlib import Path
from typing import Any, Callable

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(ROOT))

log = logging.getLogger("gpu_check")

GEN_CONFIGS = ("small", "paper")
GEN_SIZES = ((128, 88), (256, 176))
NATIVE = {"small": (128, 88), "paper": (256, 176), "tiny": (64, 44)}  # each config's own crop size
SMOKE = "tiny"  # without CUDA every path runs once at this config: a smoke test that fits in a minute
GOAL_MS = 2.0   # the small generator at fp16 + CUDA graph on a data-centre GPU
BASELINE = "torch fp32 eager"
GRAPHED = "torch fp16 + channels_last + CUDA graph"
COMPILED = "torch.compile fp16 + channels_last + CUDA graph"
# Modules the check cannot run without: one that does not import is an error (exit 1), never a skip.
REQUIRED = ("numpy", "torch", "cv2", "onnx", "onnxruntime", "safetensors", "realtime.fileio",
            "engines.learned.patn", "engines.learned.export", "engines.learned.checkpoint",
            "engines.learned.renderer", "engines.learned.training", "engines.backends.torch_backend",
            "engines.backends.onnxruntime_backend", "realtime.app.demo.figure", "realtime.app.demo.motions")
# Reported when present; the check works without them (matplotlib: no plot).
OPTIONAL = ("matplotlib", "tqdm", "triton", "cupy", "cuda.bindings", "tensorrt", "pycuda.driver")


# -- mediapipe stays out -----------------------------------------------------------------------------

class Blocker(importlib.abc.MetaPathFinder):
    """Makes ``import NAME`` (and its submodules) raise ImportError for the given top-level names."""

    def __init__(self, names: set[str]) -> None:
        self.names = names

    def find_spec(self, fullname, path=None, target=None):
        if fullname.split(".")[0] in self.names:
            raise ImportError(f"{fullname} is blocked by scripts/gpu_check.py (the GPU machine lacks it)")
        return None


def block_imports(names: set[str]) -> None:
    sys.meta_path.insert(0, Blocker(set(names)))


# -- the report ------------------------------------------------------------------------------------

def utc_now() -> str:
    return datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds")


class Report:
    """The JSON of every figure, written after each change; ``left()`` is the time budget remaining."""

    def __init__(self, out: Path, budget_s: float) -> None:
        self.path = out / "gpu_check.json"
        self.budget_s = budget_s
        self.t0 = time.monotonic()
        self.data: dict[str, Any] = {
            "check": "scripts/gpu_check.sh", "started": utc_now(), "finished": None, "status": "running",
            "cuda": None, "environment": {}, "imports": {}, "generator": [], "renderer": [], "training": [],
            "tensorrt": {}, "goal": {}, "failures": [], "notes": []}

    def left(self) -> float:
        return self.budget_s - (time.monotonic() - self.t0)

    def add(self, section: str, row: dict) -> dict:
        self.data[section].append(row)
        if row.get("note", "").startswith("failed"):
            self.data["failures"].append(f"{section}: {row.get('config', '')} {row.get('size', '')} "
                                         f"{row['variant']}: {row['note']}")
        self.save()
        return row

    def save(self) -> None:
        self.data["elapsed_s"] = round(time.monotonic() - self.t0, 1)
        try:
            from realtime.fileio import write_json
        except ImportError:  # reported as a failed import; the JSON is still written
            self.path.write_text(json.dumps(self.data, indent=1) + "\n", encoding="utf-8")
            return
        write_json(self.path, self.data)


def measure(report: Report, section: str, row: dict, make: Callable, warmup: int, iters: int,
            ref=None, base_ms: float | None = None, per: str = "frame") -> tuple[dict, Any]:
    """Build a variant with ``make()`` (a step, or (step, closer)), time it and add its row to ``section``.

    Keys: ``ms/<per>``, ``fps`` (or ``<per>s/s``), ``speedup`` over ``base_ms``, ``max |diff|`` from ``ref``."""
    import numpy as np

    from bench_gpu import time_frames

    closer, out = None, None
    t0 = time.monotonic()
    try:
        made = make()
        step, closer = made if isinstance(made, tuple) else (made, None)
        ms, out = time_frames(step, warmup, iters)
    except Exception as e:  # a variant that fails is a row with a note; the others are still measured
        log.warning("%s %s %s: failed: %s: %s", row.get("config", ""), row.get("size", ""), row["variant"],
                    type(e).__name__, e)
        log.debug("%s", traceback.format_exc())
        return report.add(section, {**row, f"ms/{per}": None, _rate(per): None, "speedup": None, "max |diff|": None,
                                    "note": f"failed: {type(e).__name__}: {str(e).splitlines()[0][:160] if str(e) else ''}"}), None
    finally:
        if closer is not None:
            closer.close()
    diff = None
    if ref is not None and out is not None and np.shape(out) == np.shape(ref):
        diff = float(np.abs(np.asarray(out, np.float32) - ref).max())
    row = {**row, f"ms/{per}": round(ms, 4), _rate(per): round(1000.0 / ms, 1),
           "speedup": round(base_ms / ms, 2) if base_ms else None, "max |diff|": diff, "note": row.get("note", ""),
           "setup_s": round(time.monotonic() - t0, 1)}
    log.info("%-6s %-8s %-58s %8.3f ms/%s %8.1f %s%s", row.get("config", ""), row.get("size", ""), row["variant"],
             ms, per, 1000.0 / ms, _rate(per), f"  x{row['speedup']:.2f}" if row["speedup"] else "")
    return report.add(section, row), out


def _rate(per: str) -> str:
    return "fps" if per == "frame" else f"{per}s/s"


def skipped(report: Report, section: str, row: dict, why: str, per: str = "frame") -> None:
    log.info("%s %s %s: skipped: %s", row.get("config", ""), row.get("size", ""), row["variant"], why)
    report.add(section, {**row, f"ms/{per}": None, _rate(per): None, "speedup": None, "max |diff|": None,
                         "note": f"skipped: {why}"})


def baseline(report: Report, config: str, size: str) -> dict | None:
    """The measured torch fp32 eager generator row of a config and size, if any."""
    return next((r for r in report.data["generator"] if r["config"] == config and r["size"] == size
                 and r["variant"] == BASELINE and r.get("ms/frame")), None)


# -- environment and imports ----------------------------------------------------------------------

def _dist_version(*names: str) -> str | None:
    for n in names:
        try:
            return importlib.metadata.version(n)
        except importlib.metadata.PackageNotFoundError:
            continue
    return None


def check_imports(report: Report) -> list[str]:
    """Import every REQUIRED module (failures are returned) and report the OPTIONAL ones."""
    required, optional, failed = {}, {}, []
    for name in REQUIRED:
        try:
            mod = importlib.import_module(name)
            required[name] = getattr(mod, "__version__", "ok")
        except Exception as e:  # ImportError, or whatever a broken package raises on import
            required[name] = f"cannot import: {type(e).__name__}: {e}"
            failed.append(name)
            log.error("cannot import %s: %s: %s", name, type(e).__name__, e)
    for name in OPTIONAL:
        try:
            mod = importlib.import_module(name)
            optional[name] = str(getattr(mod, "__version__", None) or _dist_version(name.split(".")[0]) or "imports")
        except Exception as e:
            optional[name] = f"not importable ({type(e).__name__}: {str(e).splitlines()[0][:120] if str(e) else ''})"
    optional["mediapipe"] = ("installed " + v + " (blocked here)") if (v := _dist_version("mediapipe")) else "not installed"
    optional["cuda-python"] = _dist_version("cuda-python") or "not installed"
    optional["cupy"] = _dist_version("cupy", "cupy-cuda12x", "cupy-cuda13x", "cupy-cuda11x") or optional["cupy"]
    report.data["imports"] = {"required": required, "optional": optional}
    for name, state in optional.items():
        log.info("optional %-14s %s", name, state)
    report.save()
    return failed


def environment(report: Report) -> str | None:
    """Versions and the GPU; returns None when CUDA is usable, else why not."""
    import cv2
    import numpy as np
    import onnxruntime as ort
    import torch

    env: dict[str, Any] = {
        "python": sys.version.split()[0], "executable": sys.executable, "platform": platform.platform(),
        "numpy": np.__version__, "torch": torch.__version__, "torch_cuda": torch.version.cuda,
        "cudnn": torch.backends.cudnn.version() if torch.backends.cudnn.is_available() else None,
        "opencv": cv2.__version__, "onnxruntime": ort.__version__, "onnxruntime_providers": ort.get_available_providers(),
        "cpu_count": os.cpu_count()}
    try:
        smi = subprocess.run(["nvidia-smi", "--query-gpu=name,driver_version,memory.total",
                              "--format=csv,noheader"], capture_output=True, text=True, timeout=20)
        env["nvidia_smi"] = smi.stdout.strip() or smi.stderr.strip()
        env["driver"] = smi.stdout.split(",")[1].strip() if smi.returncode == 0 and "," in smi.stdout else None
    except (OSError, subprocess.TimeoutExpired) as e:
        env["nvidia_smi"], env["driver"] = f"not run: {e}", None
    why = None
    if not torch.cuda.is_available():
        why = f"no CUDA device (torch {torch.__version__}, built for CUDA {torch.version.cuda}, torch.cuda.is_available() is False)"
    else:
        p = torch.cuda.get_device_properties(0)
        env.update(gpu=p.name, compute_capability=f"{p.major}.{p.minor}", gpu_memory_gib=round(p.total_memory / 2**30, 1),
                   gpu_count=torch.cuda.device_count())
    report.data["environment"] = env
    report.data["cuda"] = why is None
    for k, v in env.items():
        log.info("%-22s %s", k, v)
    report.save()
    return why


# -- pictures and data that need no footage ---------------------------------------------------------

def drawn_reference(width: int = 1280, height: int = 720):
    """(BGR uint8 HxWx3, COCO-17 Pose, person mask HxW float32): the demo's drawn figure on a 1280x720
    frame, its pose and mask known by construction (so nothing needs an estimator)."""
    import cv2
    import numpy as np

    from realtime.app.demo.figure import draw_figure
    from realtime.pose import Pose

    fig = draw_figure()
    s = (height - 40) / fig.image.shape[0]
    small = cv2.resize(fig.image, None, fx=s, fy=s, interpolation=cv2.INTER_AREA)
    canvas = np.empty((height, width, 3), np.uint8)
    canvas[:] = fig.image[4, 4]
    x0, y0 = (width - small.shape[1]) // 2, 20
    canvas[y0:y0 + small.shape[0], x0:x0 + small.shape[1]] = small
    mask = np.zeros((height, width), np.float32)
    mask[y0:y0 + small.shape[0], x0:x0 + small.shape[1]] = cv2.resize(fig.mask, (small.shape[1], small.shape[0]))
    p = fig.pose
    pose = Pose(xy=p.xy * s + np.float32([x0, y0]), score=p.score, layout=p.layout, width=width, height=height,
                z=None if p.z is None else p.z * s)
    return canvas, pose, mask


def driver_poses(rest) -> list:
    """Poses of the demo's scripted motions on the reference's own body (varied targets per frame)."""
    from realtime.app.demo.motions import motion_poses

    return [p for _, p in motion_poses(rest)]


def drawn_dataset(folder: Path, n: int = 12) -> Path:
    """A DeepFashion-style folder (images, annotation CSV, pairs CSV) of the drawn figure in n poses."""
    import cv2

    from engines.learned.posemaps import keypoints18
    from realtime.app.demo.figure import draw_figure, reference_pose
    from realtime.layouts import COCO17

    from realtime.app.demo.figure import HEIGHT, WIDTH

    folder.mkdir(parents=True, exist_ok=True)
    poses = [p for p in driver_poses(reference_pose())  # whole figure in the picture
             if (p.xy >= 30).all() and (p.xy[:, 0] <= WIDTH - 30).all() and (p.xy[:, 1] <= HEIGHT - 30).all()]
    names = []
    with open(folder / "annotation.csv", "w", encoding="utf-8") as ann:
        ann.write("name:keypoints_y:keypoints_x\n")
        for i in range(n):
            pose = poses[(i * len(poses)) // n]
            fig = draw_figure({name: tuple(map(float, pose.xy[j])) for j, name in enumerate(COCO17.names)})
            name = f"drawn_{i:02d}.jpg"
            cv2.imwrite(str(folder / name), fig.image)
            kps = keypoints18(fig.pose)
            ann.write(f"{name}: {json.dumps([int(v) for v in kps[:, 1]])}: {json.dumps([int(v) for v in kps[:, 0]])}\n")
            names.append(name)
    with open(folder / "train_pairs.csv", "w", encoding="utf-8") as pairs:
        pairs.write("from,to\n" + "".join(f"{a},{b}\n" for a in names for b in names if a != b))
    return folder


# -- sections ----------------------------------------------------------------------------------------

def generator_torch(report: Report, args, tmp: Path) -> None:
    """The generator on CUDA through torch: eager fp32, fp16 + channels_last, + CUDA graph, the backend."""
    import copy

    import torch

    import bench_gpu as bench

    for config in GEN_CONFIGS:
        for h, w in GEN_SIZES:
            base = bench.make_model(config, h, w).cuda()
            fp16 = copy.deepcopy(base).half().to(memory_format=torch.channels_last)
            feeds = bench.make_feeds(h, w)
            variants = [(BASELINE, lambda: bench.eager_fp32(base, feeds)),
                        ("torch fp16 + channels_last", lambda: bench.eager_fp16(fp16, feeds)),
                        (GRAPHED, lambda: bench.graphed_fp16(fp16, feeds)),
                        ("torch backend fp16 + channels_last + CUDA graphs (Backend.infer)",
                         lambda: bench.torch_backend_fp16(base, feeds, tmp))]
            ref = base_ms = None
            for name, make in variants:
                row = {"config": config, "size": f"{h}x{w}", "variant": name}
                if report.left() < args.reserve_s:
                    skipped(report, "generator", row, f"time budget ({report.left():.0f} s left)")
                    continue
                r, out = measure(report, "generator", row, make, args.warmup, args.iters, ref, base_ms)
                if name == BASELINE:
                    ref, base_ms = out, r["ms/frame"]
                torch.cuda.synchronize()
            del base, fp16
            torch.cuda.empty_cache()


def generator_onnxruntime(report: Report, args, tmp: Path) -> None:
    """The generator through the onnxruntime backend on its CUDA provider (fp32 and fp16 exports)."""
    import bench_gpu as bench

    providers = report.data["environment"]["onnxruntime_providers"]
    for config in GEN_CONFIGS:
        for h, w in GEN_SIZES:
            base = bench.make_model(config, h, w)
            feeds = bench.make_feeds(h, w)
            b = baseline(report, config, f"{h}x{w}")
            for fp16 in (False, True):
                row = {"config": config, "size": f"{h}x{w}", "variant": f"onnxruntime CUDA {'fp16' if fp16 else 'fp32'}"}
                if "CUDAExecutionProvider" not in providers:
                    skipped(report, "generator", row, f"this onnxruntime has no CUDA provider ({', '.join(providers)})")
                elif report.left() < 30:  # an export and a CUDA session take a while; finish() needs a few s
                    skipped(report, "generator", row, f"time budget ({report.left():.0f} s left)")
                else:
                    measure(report, "generator", row, lambda: bench.onnxruntime_cuda(base, feeds, tmp, fp16), args.warmup,
                            args.iters, _ref_output(base, feeds) if b else None, b and b["ms/frame"])


def _ref_output(model, feeds):
    """fp32 output of ``model`` on ``feeds`` on the CPU (the reference a backend's output is compared to)."""
    import torch

    with torch.inference_mode():
        return model.float().cpu()(*(torch.from_numpy(feeds[k]) for k in ("cond_image", "cond_pose", "target_pose"))).numpy()


def compile_child(args) -> int:
    """In a child process: torch.compile per config and size, one ``ROW {json}`` line on stdout as each ends."""
    import copy

    import numpy as np
    import torch

    import bench_gpu as bench

    torch.backends.cudnn.benchmark = True
    for config in GEN_CONFIGS:
        for h, w in GEN_SIZES:
            row: dict[str, Any] = {"config": config, "size": f"{h}x{w}", "variant": COMPILED}
            base = bench.make_model(config, h, w).cuda()
            feeds = bench.make_feeds(h, w)
            ref = bench.eager_fp32(base, feeds)()
            fp16 = copy.deepcopy(base).half().to(memory_format=torch.channels_last)
            t0 = time.monotonic()
            try:
                step = bench.graphed_fp16(fp16, feeds, compiled=True)
                row["compile_s"] = round(time.monotonic() - t0, 1)
                ms, out = bench.time_frames(step, args.warmup, args.iters)
                row.update({"ms/frame": round(ms, 4), "fps": round(1000.0 / ms, 1),
                            "max |diff|": float(np.abs(out - ref).max()), "note": ""})
            except Exception as e:  # reported as the row's note by the parent
                row.update({"ms/frame": None, "fps": None, "max |diff|": None,
                            "note": f"failed: {type(e).__name__}: {str(e).splitlines()[0][:160] if str(e) else ''}"})
            print("ROW " + json.dumps(row), flush=True)
            del base, fp16
            torch.cuda.empty_cache()
    return 0


def generator_compile(report: Report, args) -> None:
    """torch.compile rows from a child process that is killed after --compile-timeout seconds."""
    wanted = [(c, f"{h}x{w}") for c in GEN_CONFIGS for h, w in GEN_SIZES]
    timeout = min(args.compile_timeout, max(0.0, report.left() - 5))
    if timeout < 20:
        for c, size in wanted:
            skipped(report, "generator", {"config": c, "size": size, "variant": COMPILED}, f"time budget ({report.left():.0f} s left)")
        return
    cmd = [sys.executable, str(Path(__file__).resolve()), "--compile-child", "--iters", str(args.iters),
           "--warmup", str(args.warmup)] + [f"--block={b}" for b in args.block]
    log.info("torch.compile in a child process, stopped after %.0f s: %s", timeout, " ".join(cmd[1:]))
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True, cwd=ROOT, start_new_session=True)
    rows: dict[tuple[str, str], dict] = {}

    def read() -> None:
        for line in proc.stdout:
            if line.startswith("ROW "):
                r = json.loads(line[4:])
                rows[(r["config"], r["size"])] = r
    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    try:
        rc = proc.wait(timeout=timeout)
        end = f"the child exited with {rc}" if rc else None
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)  # Inductor's compile workers are in the child's session
        proc.wait()
        end = f"not reached within the {timeout:.0f} s compile timeout"
    reader.join(5)
    for c, size in wanted:
        r = rows.get((c, size))
        if r is None:
            skipped(report, "generator", {"config": c, "size": size, "variant": COMPILED}, end or "no result")
            continue
        b = baseline(report, c, size)
        r["speedup"] = round(b["ms/frame"] / r["ms/frame"], 2) if b and r.get("ms/frame") else None
        if r.get("ms/frame"):
            log.info("%-6s %-8s %-58s %8.3f ms/frame %8.1f fps (compiled in %s s)", c, size, COMPILED, r["ms/frame"],
                     r["fps"], r.get("compile_s"))
        else:
            log.warning("%s %s %s: %s", c, size, COMPILED, r["note"])
        report.add("generator", r)


def renderer_section(report: Report, args, tmp: Path, device: str) -> None:
    """The learned renderer per frame (pose maps, crop, backend, paste) on the drawn 1280x720 reference."""
    import itertools

    import bench_gpu as bench
    from engines.learned.checkpoint import save_generator
    from engines.renderer import create_renderer

    reference, pose, mask = drawn_reference()
    poses = driver_poses(pose)
    if device == "cuda":
        configs = GEN_CONFIGS
        variants = [("torch fp32", {"backend": "torch", "precision": "fp32"}),
                    ("torch fp16 + channels_last + CUDA graphs",
                     {"backend": "torch", "precision": "fp16", "channels_last": True, "cuda_graphs": True})]
        if "CUDAExecutionProvider" in report.data["environment"]["onnxruntime_providers"]:
            variants.append(("onnxruntime CUDA fp16", {"backend": "onnxruntime", "precision": "fp16"}))
    else:
        configs, variants = (SMOKE,), [("torch fp32 (CPU smoke)", {"backend": "torch", "precision": "fp32"})]
    for config in configs:
        h, w = NATIVE[config]
        ckpt = save_generator(bench.make_model(config, h, w), tmp / f"renderer-{config}")
        base_ms = None
        for name, opts in variants:
            row = {"config": config, "size": f"{h}x{w}", "reference": "1280x720", "variant": name}
            if report.left() < args.reserve_s / 2:
                skipped(report, "renderer", row, f"time budget ({report.left():.0f} s left)")
                continue

            def make(opts=opts):
                r = create_renderer("learned", checkpoint=ckpt, device=device, cache_dir=tmp, **opts)
                r.prepare(reference, pose, mask)  # the default inpainted plate, from the known mask
                providers = getattr(r.backend, "providers", None)
                if providers and device == "cuda" and providers[0] != "CUDAExecutionProvider":
                    r.close()
                    raise RuntimeError(f"onnxruntime's CUDA provider did not load (session providers {providers})")
                frame = itertools.count()
                return (lambda: r.render(poses[next(frame) % len(poses)])), r
            r, _ = measure(report, "renderer", row, make, args.warmup, args.iters, base_ms=base_ms)
            base_ms = base_ms or r.get("ms/frame")


def training_section(report: Report, args, tmp: Path, device: str) -> None:
    """Train steps (G + D_A + D_S) per precision on the drawn DeepFashion-style folder."""
    import itertools

    import torch

    from engines.learned.datasets import DataOptions
    from engines.learned.training import Trainer, TrainOptions

    folder = drawn_dataset(tmp / "drawn", 8 if device == "cuda" else 5)  # 56 or 20 pairs
    batch = 4 if device == "cuda" else 2
    if device == "cuda":
        configs = GEN_CONFIGS
        variants = [("fp32", {"amp": False}), ("fp16 autocast + grad scaling", {"amp": True, "amp_dtype": "fp16"}),
                    ("bf16 autocast", {"amp": True, "amp_dtype": "bf16"})]
    else:
        configs, variants = (SMOKE,), [("fp32 (CPU smoke)", {"amp": False})]
    for config in configs:
        base_ms = None
        for name, kw in variants:
            row = {"config": config, "size": "{}x{}".format(*NATIVE[config]), "batch": batch, "variant": name}
            if report.left() < (15 if device == "cuda" else 20):
                skipped(report, "training", row, f"time budget ({report.left():.0f} s left)", per="step")
                continue

            def make(name=name, kw=kw):
                tr = Trainer(TrainOptions(
                    data=[folder], out=tmp / f"train-{config}-{name.split()[0]}", config=config, batch_size=batch,
                    device=device, validate=False, progress=False, sample_every=0, checkpoint_every=0,
                    cache_dir=tmp / "cache", data_options=DataOptions(max_pairs=400), **kw))
                loader = torch.utils.data.DataLoader(tr.train_set, batch_size=batch, shuffle=True, drop_last=True)
                batches = itertools.cycle(list(itertools.islice(loader, args.train_warmup + args.train_steps)))
                return lambda: tr.train_step(next(batches))
            r, _ = measure(report, "training", row, make, args.train_warmup, args.train_steps, base_ms=base_ms, per="step")
            base_ms = base_ms or r.get("ms/step")


def tensorrt_section(report: Report) -> None:
    opt = report.data["imports"]["optional"]
    report.data["tensorrt"] = {
        "tensorrt": opt["tensorrt"], "pycuda": opt["pycuda.driver"],
        "note": ("TensorRT and pycuda cannot be installed on the lent GPU machine (TensorRT's libraries are not on "
                 "the package index and that machine has no network), so no TensorRT rows here; where they import, "
                 "`python scripts/benchmark.py gpu` times a TensorRT fp16 engine.")}
    log.info("tensorrt: %s; pycuda: %s", opt["tensorrt"], opt["pycuda.driver"])
    log.info("%s", report.data["tensorrt"]["note"])
    report.save()


def cpu_generator(report: Report, args, tmp: Path) -> None:
    """No CUDA: the SMOKE generator once through torch and onnxruntime on the CPU (a smoke test)."""
    import torch

    import bench_gpu as bench
    from engines.backends.registry import BackendRequest, create_backend
    from engines.learned.export import export_onnx

    h, w = NATIVE[SMOKE]
    model = bench.make_model(SMOKE, h, w)
    feeds = bench.make_feeds(h, w)
    row = {"config": SMOKE, "size": f"{h}x{w}"}

    def eager():
        tensors = [torch.from_numpy(feeds[k]) for k in ("cond_image", "cond_pose", "target_pose")]

        def step():
            with torch.inference_mode():
                return model(*tensors).numpy()
        return step

    def ort():
        b = create_backend("onnxruntime", BackendRequest(onnx_path=export_onnx(model, tmp / f"{SMOKE}.onnx"), device="cpu"))
        return (lambda: b.infer(feeds)["image"]), b
    r, ref = measure(report, "generator", {**row, "variant": "torch fp32 eager (CPU smoke)"}, eager, args.warmup, args.iters)
    # no speed-up: one cold frame each says that the path runs, not how fast
    measure(report, "generator", {**row, "variant": "onnxruntime CPU fp32 (CPU smoke)"}, ort, args.warmup, args.iters, ref)


# -- the end: goal, summary tables, plot -----------------------------------------------------------

ORDER = (BASELINE, "torch fp16 + channels_last", GRAPHED, COMPILED,
         "torch backend fp16 + channels_last + CUDA graphs (Backend.infer)", "onnxruntime CUDA fp32", "onnxruntime CUDA fp16")


def _sorted(rows: list[dict]) -> list[dict]:
    cfg = {c: i for i, c in enumerate((SMOKE, *GEN_CONFIGS))}
    return sorted(rows, key=lambda r: (cfg.get(r["config"], 9), [int(v) for v in r["size"].split("x")],
                                       ORDER.index(r["variant"]) if r["variant"] in ORDER else 99))


def goal(report: Report) -> None:
    rows = [r for r in report.data["generator"] if r["config"] == "small" and r["variant"] == GRAPHED and r.get("ms/frame")]
    gpu = report.data["environment"].get("gpu")
    report.data["goal"] = {
        "what": f"small generator, fp16 + channels_last + CUDA graph, batch 1: <= {GOAL_MS} ms/frame on a data-centre GPU",
        "target_ms": GOAL_MS, "gpu": gpu,
        "rows": [{"size": r["size"], "ms/frame": r["ms/frame"], "within_goal": r["ms/frame"] <= GOAL_MS} for r in rows]}
    for r in report.data["goal"]["rows"]:
        log.info("goal (small, fp16 + CUDA graph <= %.1f ms/frame) at %s on %s: %.3f ms/frame, %s", GOAL_MS, r["size"],
                 gpu, r["ms/frame"], "within the goal" if r["within_goal"] else "over the goal")


def table(rows: list[dict], per: str = "frame") -> list[str]:
    """Markdown rows (config | size | variant | ms | rate | speed-up | note), ready for the README."""
    rate = _rate(per)
    lines = [f"| config | size | variant | ms/{per} | {rate} | speed-up over fp32 | note |", "|---|---|---|---|---|---|---|"]
    for r in rows:
        ms, fps, sp = r.get(f"ms/{per}"), r.get(rate), r.get("speedup")
        lines.append(f"| {r['config']} | {r['size']} | {r['variant']} | {'' if ms is None else f'{ms:.3f}'} | "
                     f"{'' if fps is None else f'{fps:.0f}'} | {'' if sp is None else f'x{sp:.2f}'} | {r.get('note', '')} |")
    return lines


def finish(report: Report, out: Path) -> None:
    import bench_gpu as bench

    report.data["generator"] = _sorted(report.data["generator"])
    gens = {(r["config"], r["size"], r["variant"]): r.get("ms/frame") for r in report.data["generator"]}
    for r in report.data["renderer"]:  # the part of a renderer frame that is not the generator
        g = gens.get((r["config"], r["size"], {"torch fp32": BASELINE, "onnxruntime CUDA fp16": "onnxruntime CUDA fp16"}.get(
            r["variant"], "torch backend fp16 + channels_last + CUDA graphs (Backend.infer)")))
        r["generator ms"] = g
        r["pre/post ms"] = round(r["ms/frame"] - g, 3) if g and r.get("ms/frame") else None
    for title, key, per in (("generator", "generator", "frame"), ("renderer per frame, 1280x720 reference", "renderer", "frame"),
                            ("training steps", "training", "step")):
        if report.data[key]:
            log.info("%s:\n%s", title, "\n".join(table(report.data[key], per)))
    plot_rows = [{**r, "size": f"generator {r['config']} {r['size']}"} for r in report.data["generator"]]
    plot_rows += [{**r, "size": f"renderer {r['config']} {r['size']} on 1280x720"} for r in report.data["renderer"]]
    env = report.data["environment"]
    title = (f"learned renderer, batch 1, on {env.get('gpu') or 'the CPU (no CUDA device)'}, torch {env.get('torch')}, "
             f"median of {report.data.get('iters')} frames")
    if not any(r.get("ms/frame") for r in plot_rows):
        log.info("no plot: nothing was measured")
    elif importlib.util.find_spec("matplotlib") is None:
        log.info("no plot: matplotlib is not installed (the JSON and this log hold every figure)")
    else:
        try:
            report.data["plot"] = str(bench.plot_rows(plot_rows, out / "gpu_check.png", title))
            log.info("plot written to %s", report.data["plot"])
        except Exception as e:  # a broken matplotlib must not cost the figures
            log.warning("no plot: %s: %s (the JSON and this log hold every figure)", type(e).__name__, e)
    report.data["finished"] = utc_now()
    report.save()


# -- main ---------------------------------------------------------------------------------------------

def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--out", default=os.environ.get("OUT") or str(ROOT / "runs" / "gpu"),
                   help="folder for gpu_check.json and gpu_check.png (default $OUT, else runs/gpu)")
    p.add_argument("--budget-s", type=float, default=220.0, help="stop starting measurements after this (default 220)")
    p.add_argument("--reserve-s", type=float, default=110.0,
                   help="time the generator rows leave for the renderer, training and compile (default 110)")
    p.add_argument("--iters", type=int, default=100, help="timed frames per variant (default 100)")
    p.add_argument("--warmup", type=int, default=10, help="untimed frames first (default 10)")
    p.add_argument("--train-steps", type=int, default=8, help="timed training steps per precision (default 8)")
    p.add_argument("--train-warmup", type=int, default=2, help="untimed training steps first (default 2)")
    p.add_argument("--compile-timeout", type=float, default=60.0, help="seconds for the torch.compile child (default 60)")
    p.add_argument("--imports-only", action="store_true", help="check the imports and the environment, then stop")
    p.add_argument("--block", action="append", default=[], metavar="MODULE",
                   help="also refuse to import MODULE (tests use it to check that a missing module fails the check)")
    p.add_argument("--compile-child", action="store_true", help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    for name in ("iters", "warmup", "train_steps", "train_warmup"):
        if getattr(args, name) < (1 if name in ("iters", "train_steps") else 0):
            p.error(f"--{name.replace('_', '-')}: expected a positive count, got {getattr(args, name)}")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    logging.basicConfig(level=logging.INFO, stream=sys.stderr,
                        format="%(asctime)s %(levelname)-7s %(message)s", datefmt="%H:%M:%S")
    block_imports({"mediapipe", *args.block})
    sys.path.insert(0, str(HERE))  # bench_gpu
    if args.compile_child:
        return compile_child(args)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    report = Report(out, args.budget_s)
    report.data.update(iters=args.iters, warmup=args.warmup, train_steps=args.train_steps)
    failed = check_imports(report)
    if failed:
        report.data["status"] = f"failed: cannot import {', '.join(failed)}"
        report.data["finished"] = utc_now()
        report.save()
        log.error("the check needs %s: install it on this machine (nothing was measured)", ", ".join(failed))
        return 1
    why = environment(report)
    log.info("CUDA present: %s", "yes, " + report.data["environment"]["gpu"] if why is None else f"no: {why}")
    if args.imports_only:
        report.data.update(status="imports only", finished=utc_now())
        report.save()
        return 0
    with tempfile.TemporaryDirectory(prefix="gpu_check_") as tmp:
        if why is not None:
            log.warning("%s: the GPU figures are not measured here; running each path once on the CPU at the %s "
                        "config instead", why, SMOKE)
            args.warmup, args.iters, args.train_warmup, args.train_steps, args.reserve_s = 0, 1, 0, 1, 0.0
            report.budget_s = min(report.budget_s, 50.0)  # without CUDA the check takes under a minute
            sections = [("generator", lambda: cpu_generator(report, args, Path(tmp))),
                        ("renderer", lambda: renderer_section(report, args, Path(tmp), "cpu")),
                        ("training", lambda: training_section(report, args, Path(tmp), "cpu"))]
        else:
            import torch

            torch.backends.cudnn.benchmark = True
            sections = [("generator", lambda: generator_torch(report, args, Path(tmp))),
                        ("renderer", lambda: renderer_section(report, args, Path(tmp), "cuda")),
                        ("training", lambda: training_section(report, args, Path(tmp), "cuda")),
                        ("torch.compile", lambda: generator_compile(report, args)),
                        ("onnxruntime", lambda: generator_onnxruntime(report, args, Path(tmp)))]
        for name, run in sections:
            try:
                run()
            except Exception as e:  # a bug in one section must not cost the others their figures
                log.exception("the %s section stopped", name)
                report.data["failures"].append(f"{name}: the section stopped: {type(e).__name__}: {e}")
                report.save()
        tensorrt_section(report)
        if why is None:
            goal(report)
        finish(report, out)
    core = [f for f in report.data["failures"] if not any(k in f for k in ("onnxruntime", "torch.compile"))]
    report.data["status"] = ("no CUDA device" if why else "ok") + (f"; {len(core)} torch measurement(s) failed" if core else "")
    report.save()
    log.info("status: %s; %s written in %.0f s", report.data["status"], report.path, report.data["elapsed_s"])
    return 3 if core else 0


if __name__ == "__main__":
    sys.exit(main())
