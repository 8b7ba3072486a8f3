"""Training the PATN generator on the user's own footage: observable, resumable, CPU or GPU(s).

A run folder holds:
  last.safetensors / last.json / last.train.safetensors   the checkpoint (engines.learned.checkpoint)
  losses.csv, losses.png     generator and discriminator losses every ``log_every`` steps, and a plot
  validation.csv             per epoch: AKD (pixels of the crop and normalised to 256 px), MKR, L1, SSIM
  samples/step_NNNNNN.png    grids of the same held-out pairs: conditioning | target pose | output | real target
  options.json               what the run was started with

Per step (PATN's order): the generator is updated on alpha*GAN + lambda1*L1 + lambda2*perceptual,
then D_A and D_S on real vs generated. Adam, lr 2e-4, betas (0.5, 0.999) as PATN's code.
Mixed precision: fp16 autocast with gradient scaling on CUDA; bf16 autocast on CPUs with native bf16
(AVX512-BF16/AMX: 2.7x faster steps measured here), fp32 elsewhere or with ``amp=False``; ``amp_dtype``
"fp16" or "bf16" picks the autocast type instead (bf16 on CUDA needs no gradient scaling). Several GPUs: start with
``torchrun --nproc_per_node=N -m realtime train ...``; each process trains on its share of the pairs
(DistributedSampler) under DistributedDataParallel and rank 0 writes the run folder.
"""
from __future__ import annotations

import csv
import io
import logging
import math
import os
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from engines.learned.datasets import DataOptions, PairDataset, from_tensor_image, load_data
from engines.learned.losses import LossConfig
from engines.learned.config import GeneratorConfig, get_config
from realtime.errors import InputError
from realtime.fileio import atomic_path, write_image, write_json

log = logging.getLogger(__name__)

LOSS_KEYS = ("g_total", "g_gan", "g_l1", "g_perceptual", "d_a", "d_s")


@dataclass
class TrainOptions:
    """What `repose train` does. time_budget_s / max_steps stop early (a checkpoint is still written)."""

    data: list[Path]
    out: Path
    config: str = "small"
    generator: GeneratorConfig | None = None  # overrides ``config`` when given
    epochs: int = 10
    batch_size: int = 4
    device: str = "auto"
    lr: float = 2e-4
    beta1: float = 0.5
    loss: LossConfig = field(default_factory=LossConfig)
    data_options: DataOptions = field(default_factory=DataOptions)
    cache_dir: Path | None = None
    flip: bool = True
    log_every: int = 10
    sample_every: int = 200
    checkpoint_every: int = 500
    max_steps: int | None = None
    time_budget_s: float | None = None
    validate: bool = True
    resume: bool = False
    amp: bool = True
    amp_dtype: str = "auto"  # "auto" (see the module docstring), "fp16" (CUDA only) or "bf16"
    num_workers: int = 0
    seed: int = 0
    progress: bool = True


def pose_picture(maps: np.ndarray) -> np.ndarray:
    """(18,H,W) pose maps -> BGR uint8 picture, one colour per keypoint."""
    import matplotlib

    colours = (np.array(matplotlib.colormaps["hsv"](np.linspace(0, 1, maps.shape[0], endpoint=False)))[:, :3] * 255)
    pic = np.einsum("khw,kc->hwc", np.clip(maps, 0, 1), colours[:, ::-1])
    return np.clip(pic, 0, 255).astype(np.uint8)


def sample_grid(batch: dict, output: np.ndarray, rows: int = 4) -> np.ndarray:
    """BGR grid, one row per sample: conditioning | target pose | output | real target."""
    lines = []
    for i in range(min(rows, output.shape[0])):
        lines.append(np.hstack([
            from_tensor_image(batch["cond_image"][i]), pose_picture(batch["target_pose"][i]),
            from_tensor_image(output[i]), from_tensor_image(batch["target_image"][i]),
        ]))
    return np.vstack(lines)


def _write_csv(path: Path, rows: list[dict]) -> None:
    if not rows:
        return
    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=list(rows[0]))
    w.writeheader()
    w.writerows(rows)
    with atomic_path(path) as tmp:
        tmp.write_text(buf.getvalue(), encoding="utf-8")


def _read_csv(path: Path) -> list[dict]:
    if not path.is_file():
        return []
    with open(path, encoding="utf-8", newline="") as fh:
        return [{k: float(v) for k, v in r.items()} for r in csv.DictReader(fh)]


def plot_losses(path: Path, rows: list[dict], val_rows: list[dict], title: str) -> None:
    """Loss curves (left) and validation measures per epoch (right) as a PNG."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(11, 4))
    steps = [r["step"] for r in rows]
    for k in LOSS_KEYS:
        axes[0].plot(steps, [r[k] for r in rows], label=k)
    axes[0].set_xlabel("step")
    axes[0].set_ylabel("loss")
    axes[0].set_yscale("log")
    axes[0].legend(fontsize=8)
    axes[0].set_title(title)
    if val_rows:
        ep = [r["epoch"] for r in val_rows]
        for k in ("l1", "ssim", "mkr"):
            axes[1].plot(ep, [r[k] for r in val_rows], marker="o", label=k)
        ax2 = axes[1].twinx()
        ax2.plot(ep, [r["akd_256"] for r in val_rows], marker="s", color="k", label="AKD (256 px, right axis)")
        ax2.set_ylabel("AKD, pixels at 256 px height")
        handles = axes[1].get_legend_handles_labels()[0] + ax2.get_legend_handles_labels()[0]
        ax2.legend(handles, [h.get_label() for h in handles], loc="center right", fontsize=8, framealpha=1)
    axes[1].set_xlabel("epoch")
    axes[1].set_ylabel("L1, SSIM, MKR")
    axes[1].set_title("validation (held-out frames)")
    fig.tight_layout()
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=90)
    plt.close(fig)
    with atomic_path(path) as tmp:
        tmp.write_bytes(buf.getvalue())


class Validator:
    """AKD/MKR (MediaPipe on the outputs), L1 and SSIM against the real held-out frames."""

    def __init__(self, min_height: int = 256) -> None:
        from realtime.estimator import create_estimator

        self.estimator = create_estimator("image")
        self.min_height = min_height

    def estimate(self, bgr: np.ndarray):
        """Pose of a (small) crop: estimated on an upscaled copy, returned in the crop's pixels."""
        import cv2

        f = max(1.0, self.min_height / bgr.shape[0])
        big = cv2.resize(bgr, None, fx=f, fy=f, interpolation=cv2.INTER_CUBIC) if f > 1 else bgr
        pose = self.estimator.estimate(big)
        return None if pose is None else pose.transformed(scale=1.0 / f, width=bgr.shape[1], height=bgr.shape[0])

    def score(self, outputs: list[np.ndarray], reals: list[np.ndarray], target_keypoints: list[np.ndarray]) -> dict:
        from engines.evaluation import KeypointScores, l1, ssim
        from realtime.layouts import OPENPOSE18
        from realtime.pose import Pose

        ks = KeypointScores()
        l1s, ssims = [], []
        for out, real, kps in zip(outputs, reals, target_keypoints):
            h, w = out.shape[:2]
            present = (kps >= 0).all(axis=1) & (kps[:, 0] < w) & (kps[:, 1] < h)
            target = Pose(xy=np.where(present[:, None], kps, 0), score=present.astype(np.float32),
                          layout=OPENPOSE18, width=w, height=h)
            ks.add(target, self.estimate(out), output_height=h)
            l1s.append(l1(out, real))
            ssims.append(ssim(out, real))
        return {"akd_px": ks.akd_px, "akd_256": ks.akd_256, "mkr": ks.mkr,
                "l1": float(np.mean(l1s)), "ssim": float(np.mean(ssims)), "n": len(outputs)}

    def close(self) -> None:
        self.estimator.close()


def _amp_dtype(device_type: str, want: str = "auto"):
    """Autocast dtype. auto: fp16 on CUDA; bf16 on CPUs with native bf16 (AVX512-BF16/AMX); else None.
    "fp16" (CUDA only) or "bf16" ask for that type on this device."""
    import torch

    if want == "bf16":
        return torch.bfloat16
    if want == "fp16":
        if device_type != "cuda":
            raise InputError(f"amp_dtype fp16 needs a CUDA device, got {device_type}; use bf16 or auto")
        return torch.float16
    if want != "auto":
        raise InputError(f"amp_dtype {want!r}: expected auto, fp16 or bf16")
    if device_type == "cuda":
        return torch.float16
    if device_type == "cpu" and torch.backends.mkldnn.is_available() and torch.ops.mkldnn._is_mkldnn_bf16_supported():
        return torch.bfloat16
    return None


def _select_device(name: str) -> str:
    import torch

    if name == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    if name == "cuda" and not torch.cuda.is_available():
        raise InputError("--device cuda: no CUDA GPU is visible to torch here; use --device cpu "
                         "(or install a CUDA build of torch 2.13.0 on a GPU machine)")
    if name not in ("cpu", "cuda"):
        raise InputError(f"--device {name!r}: expected auto, cpu or cuda")
    return name


def _epoch_bar(loader, desc: str, show: bool):
    """The steps of one epoch, with a bar on a terminal (realtime.progress)."""
    from realtime.progress import bar

    return bar(loader, desc=desc, unit="step", show=show)


def _resumed_config(last: Path):
    """The generator config of a run to resume; a damaged state fails now, before data is prepared."""
    from engines.learned.checkpoint import check_training, read_meta
    from engines.learned.config import GeneratorConfig

    check_training(last)
    try:
        return GeneratorConfig.from_dict(read_meta(last)["generator"])
    except (KeyError, TypeError, ValueError) as e:
        raise InputError(f"{last.with_suffix('.json')}: bad generator config ({e})") from None


class Trainer:
    """One training run (see the module docstring). ``run()`` returns a summary dict."""

    def __init__(self, opts: TrainOptions) -> None:
        import torch

        from engines.learned.losses import make_perceptual
        from engines.learned.patn import PATNGenerator, make_discriminators

        self.opts = opts
        self.out = Path(opts.out)
        self.world = int(os.environ.get("WORLD_SIZE", "1"))
        self.rank = int(os.environ.get("RANK", "0"))
        device = _select_device(opts.device)
        if self.world > 1:
            import torch.distributed as dist

            dist.init_process_group(backend="nccl" if device == "cuda" else "gloo")
            if device == "cuda":
                local = int(os.environ.get("LOCAL_RANK", "0"))
                torch.cuda.set_device(local)
                device = f"cuda:{local}"
        self.device = torch.device(device)
        self.is_main = self.rank == 0
        torch.manual_seed(opts.seed + self.rank)

        self.cfg = opts.generator or get_config(opts.config)
        last = self.out / "last.safetensors"
        if last.exists() and not opts.resume:
            raise InputError(f"{self.out} already holds a run ({last.name}); pass --resume to continue it "
                             "or choose another --out")
        if opts.resume and not last.exists():
            raise InputError(f"--resume: {self.out} holds no checkpoint (last.safetensors); start without --resume")
        if opts.resume:
            self.cfg = _resumed_config(last)

        cache = opts.cache_dir or (self.out.parent / ".frame-cache")
        if self.world > 1 and not self.is_main:
            torch.distributed.barrier()        # rank 0 extracts frames and poses into the cache first
        self.data = load_data(opts.data, cache, opts.data_options)
        if self.world > 1 and self.is_main:
            torch.distributed.barrier()
        self.train_set = PairDataset(self.data.frames, self.data.train_pairs, self.cfg, flip=opts.flip, seed=opts.seed)
        self.val_set = PairDataset(self.data.frames, self.data.val_pairs, self.cfg, flip=False)

        self.G = PATNGenerator(self.cfg).to(self.device)
        self.DA, self.DS = (d.to(self.device) for d in make_discriminators(self.cfg))
        self.perceptual = make_perceptual(opts.loss).to(self.device)
        betas = (opts.beta1, 0.999)
        self.opt = {
            "g": torch.optim.Adam(self.G.parameters(), lr=opts.lr, betas=betas),
            "da": torch.optim.Adam(self.DA.parameters(), lr=opts.lr, betas=betas),
            "ds": torch.optim.Adam(self.DS.parameters(), lr=opts.lr, betas=betas),
        }
        self.step, self.epoch, self.elapsed_s = 0, 0, 0.0
        self.loss_rows: list[dict] = []
        self.val_rows: list[dict] = []
        if opts.resume:
            from engines.learned.checkpoint import load_training

            counters = load_training(last, self.G, {"d_a": self.DA, "d_s": self.DS}, self.opt)
            self.step, self.epoch = int(counters["step"]), int(counters["epoch"])
            self.elapsed_s = float(counters.get("elapsed_s", 0.0))
            self.loss_rows = _read_csv(self.out / "losses.csv")
            self.val_rows = _read_csv(self.out / "validation.csv")
            log.info("resumed %s at step %d, epoch %d", self.out, self.step, self.epoch)
        if self.world > 1:
            from torch.nn.parallel import DistributedDataParallel as DDP

            ids = [self.device.index] if self.device.type == "cuda" else None
            self.G = DDP(self.G, device_ids=ids)
            self.DA = DDP(self.DA, device_ids=ids)
            self.DS = DDP(self.DS, device_ids=ids)
        self.amp_dtype = _amp_dtype(self.device.type, opts.amp_dtype) if opts.amp else None
        self.use_amp = self.amp_dtype is not None
        # fp16 needs loss scaling; bf16 has fp32's range and does not
        self.scaler = torch.amp.GradScaler("cuda", enabled=self.amp_dtype == torch.float16)
        log.info("mixed precision: %s", self.amp_dtype or "off (fp32)")

    # -- one step ----------------------------------------------------------------------------------
    def train_step(self, batch: dict) -> dict[str, float]:
        import torch

        from engines.learned.losses import FeatureMatching, discriminator_loss, generator_loss

        dev = self.device
        ci, cp, ti, tp = (batch[k].to(dev, non_blocking=True) for k in ("cond_image", "cond_pose", "target_image", "target_pose"))
        amp = torch.autocast(device_type=self.device.type, dtype=self.amp_dtype or torch.float32, enabled=self.use_amp)
        # generator
        for d in (self.DA, self.DS):
            d.requires_grad_(False)
        with amp:
            fake = self.G(ci, cp, tp)
            d_fake = (self.DA(ci, fake), self.DS(tp, fake))
            d_real = None
            if isinstance(self.perceptual, FeatureMatching):
                with torch.no_grad():
                    d_real = (self.DA(ci, ti), self.DS(tp, ti))
            g = generator_loss(self.opts.loss, self.perceptual, fake.float(), ti, d_fake, d_real)
        self.opt["g"].zero_grad(set_to_none=True)
        self.scaler.scale(g["g_total"]).backward()
        self.scaler.step(self.opt["g"])
        # discriminators
        for d in (self.DA, self.DS):
            d.requires_grad_(True)
        fake = fake.detach()
        with amp:
            loss_da = discriminator_loss(self.DA(ci, ti)[0], self.DA(ci, fake)[0])
            loss_ds = discriminator_loss(self.DS(tp, ti)[0], self.DS(tp, fake)[0])
        self.opt["da"].zero_grad(set_to_none=True)
        self.opt["ds"].zero_grad(set_to_none=True)
        self.scaler.scale(loss_da + loss_ds).backward()
        self.scaler.step(self.opt["da"])
        self.scaler.step(self.opt["ds"])
        self.scaler.update()
        values = {k: float(v.detach()) for k, v in g.items()}
        values.update(d_a=float(loss_da.detach()), d_s=float(loss_ds.detach()))
        if not all(math.isfinite(v) for v in values.values()):
            raise FloatingPointError(f"training diverged at step {self.step}: {values}")
        return values

    # -- outputs ------------------------------------------------------------------------------------
    def _generate(self, batch: dict) -> np.ndarray:
        import torch

        g = getattr(self.G, "module", self.G)
        was_training = g.training
        g.eval()
        with torch.no_grad():
            out = g(*(batch[k].to(self.device) for k in ("cond_image", "cond_pose", "target_pose")))
        g.train(was_training)
        return out.float().cpu().numpy()

    def _write_samples(self) -> None:
        """The same held-out pairs every time (so grids show progress), plus training pairs if few."""
        import torch

        if not hasattr(self, "_sample_batch"):
            items = [self.val_set[i] for i in range(min(4, len(self.val_set)))]
            items += [self.train_set[i] for i in range(min(4 - len(items), len(self.train_set)))]
            self._sample_batch = torch.utils.data.default_collate(items)
        batch = self._sample_batch
        write_image(self.out / "samples" / f"step_{self.step:06d}.png",
                    sample_grid({k: v.numpy() for k, v in batch.items()}, self._generate(batch)))

    def save(self) -> Path:
        from engines.learned.checkpoint import save_training

        counters = {"step": self.step, "epoch": self.epoch, "elapsed_s": self.elapsed_s}
        extra = {"loss": {k: (str(v) if isinstance(v, Path) else v) for k, v in asdict(self.opts.loss).items()},
                 "perceptual": self.perceptual.kind, "data": [str(p) for p in self.opts.data]}
        return save_training(self.out / "last.safetensors", self.G, {"d_a": self.DA, "d_s": self.DS}, self.opt,
                             counters, extra)

    def validate(self, validator: Validator) -> dict:
        import torch

        loader = torch.utils.data.DataLoader(self.val_set, batch_size=8, shuffle=False)
        outs, reals, kps = [], [], []
        for batch in loader:
            out = self._generate(batch)
            for i in range(out.shape[0]):
                outs.append(from_tensor_image(out[i]))
                reals.append(from_tensor_image(batch["target_image"][i].numpy()))
                kps.append(batch["target_keypoints"][i].numpy())
        return validator.score(outs, reals, kps)

    def _write_logs(self) -> None:
        _write_csv(self.out / "losses.csv", self.loss_rows)
        _write_csv(self.out / "validation.csv", self.val_rows)
        if self.loss_rows:
            plot_losses(self.out / "losses.png", self.loss_rows, self.val_rows,
                        f"PATN {self.cfg.height}x{self.cfg.width}, perceptual: {self.perceptual.kind}")

    def _should_stop(self) -> bool:
        """Step or time budget reached; under DDP every rank takes rank 0's decision (no rank left waiting)."""
        o = self.opts
        stop = (o.max_steps is not None and self.step >= o.max_steps) or \
            (o.time_budget_s is not None and self.elapsed_s >= o.time_budget_s)
        if self.world > 1 and o.time_budget_s is not None:
            import torch
            import torch.distributed as dist

            flag = torch.tensor([float(stop)], device=self.device)
            dist.broadcast(flag, src=0)
            stop = bool(flag.item())
        return stop

    # -- the loop -----------------------------------------------------------------------------------
    def run(self) -> dict[str, Any]:
        import torch

        opts = self.opts
        if self.is_main:
            self.out.mkdir(parents=True, exist_ok=True)
            write_json(self.out / "options.json", {
                "config": self.cfg.to_dict(), "epochs": opts.epochs, "batch_size": opts.batch_size,
                "device": str(self.device), "world_size": self.world, "lr": opts.lr,
                "loss": {k: (str(v) if isinstance(v, Path) else v) for k, v in asdict(opts.loss).items()},
                "perceptual": self.perceptual.kind, "data": [str(p) for p in opts.data],
                "mixed_precision": str(self.amp_dtype or "off"),
                "train_pairs": len(self.data.train_pairs), "val_pairs": len(self.data.val_pairs)})
            log.info("training %d pairs (%d held out), perceptual term: %s", len(self.train_set),
                     len(self.val_set), self.perceptual.kind)
        sampler = None
        if self.world > 1:
            sampler = torch.utils.data.distributed.DistributedSampler(self.train_set, seed=opts.seed)
        loader = torch.utils.data.DataLoader(
            self.train_set, batch_size=opts.batch_size, shuffle=sampler is None, sampler=sampler,
            num_workers=opts.num_workers, drop_last=len(self.train_set) >= opts.batch_size,
            pin_memory=self.device.type == "cuda", persistent_workers=opts.num_workers > 0)
        validator = Validator() if (opts.validate and self.is_main) else None
        acc: dict[str, list[float]] = {k: [] for k in LOSS_KEYS}
        start = time.perf_counter() - self.elapsed_s
        steps_this_run, t_run = 0, time.perf_counter()
        stop = False
        self.G.train()
        try:
            while self.epoch < opts.epochs and not stop:
                if sampler is not None:
                    sampler.set_epoch(self.epoch)
                bar = _epoch_bar(loader, f"epoch {self.epoch + 1}/{opts.epochs}", self.is_main and opts.progress)
                for batch in bar:
                    values = self.train_step(batch)
                    self.step += 1
                    steps_this_run += 1
                    for k in LOSS_KEYS:
                        acc[k].append(values[k])
                    self.elapsed_s = time.perf_counter() - start
                    if self.is_main and self.step % opts.log_every == 0:
                        row = {"step": self.step, "epoch": self.epoch, "time_s": round(self.elapsed_s, 2)}
                        row.update({k: float(np.mean(v)) for k, v in acc.items()})
                        self.loss_rows.append(row)
                        acc = {k: [] for k in LOSS_KEYS}
                        bar.set_postfix(l1=f"{row['g_l1']:.3f}", gan=f"{row['g_gan']:.2f}", d=f"{row['d_a']:.2f}")
                    if self.is_main and opts.sample_every and self.step % opts.sample_every == 0:
                        self._write_samples()
                    if self.is_main and opts.checkpoint_every and self.step % opts.checkpoint_every == 0:
                        self.save()
                        self._write_logs()
                    if self._should_stop():
                        stop = True
                        break
                if not stop:
                    self.epoch += 1
                if validator is not None:
                    metrics = self.validate(validator)
                    self.val_rows.append({"epoch": self.epoch, "step": self.step, **metrics})
                    log.info("epoch %d step %d validation: %s", self.epoch, self.step,
                             ", ".join(f"{k}={v:.4g}" for k, v in metrics.items()))
                if self.is_main:
                    self.save()
                    self._write_logs()
        finally:
            if validator is not None:
                validator.close()
            if self.world > 1:
                import torch.distributed as dist

                dist.destroy_process_group()
        run_s = time.perf_counter() - t_run
        summary = {"out": str(self.out), "rank": self.rank, "world_size": self.world, "steps": self.step, "epochs": self.epoch, "elapsed_s": self.elapsed_s,
                   "steps_per_s": steps_this_run / run_s if run_s > 0 else float("nan"),
                   "perceptual": self.perceptual.kind, "validation": self.val_rows[-1] if self.val_rows else None}
        if self.loss_rows:
            summary["last_losses"] = self.loss_rows[-1]
        return summary


def train(opts: TrainOptions) -> dict[str, Any]:
    """Train (or resume) a run; returns the summary of ``Trainer.run``."""
    return Trainer(opts).run()
