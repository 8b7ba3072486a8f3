"""Train a PATN pose-transfer generator on videos of the avatar person (or a DeepFashion-style folder).

Frames and poses are extracted once and cached; progress bars show each epoch; the run folder gets
losses.csv/losses.png, sample grids (conditioning | target pose | output | real), validation.csv
(AKD, MKR, L1, SSIM on held-out frames every epoch) and a resumable checkpoint (last.safetensors +
last.json). Several GPUs: torchrun --nproc_per_node=N -m realtime train ... --device cuda
"""
from __future__ import annotations

import argparse
import json


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--data", nargs="+", required=True, metavar="PATH",
                   help="videos of the avatar person and/or DeepFashion-style folders (pairs CSV + annotation CSV)")
    p.add_argument("--out", required=True, metavar="DIR", help="run folder, e.g. runs/NAME")
    p.add_argument("--config", default="small", choices=["paper", "small", "tiny"],
                   help="generator size: paper (256x176, 9 blocks) or small (128x88, CPU real time); default small")
    p.add_argument("--epochs", type=int, default=10, help="epochs (default 10)")
    p.add_argument("--batch-size", type=int, default=4, help="pairs per step and per GPU (default 4)")
    p.add_argument("--device", default="auto", choices=["auto", "cpu", "cuda"], help="default: cuda when present")
    p.add_argument("--lr", type=float, default=2e-4, help="Adam learning rate (default 2e-4, the thesis')")
    p.add_argument("--alpha", type=float, default=5.0, help="GAN loss weight (default 5)")
    p.add_argument("--lambda-l1", type=float, default=1.0, help="L1 loss weight (default 1)")
    p.add_argument("--lambda-perceptual", type=float, default=1.0, help="perceptual loss weight (default 1)")
    p.add_argument("--vgg-weights", metavar="FILE",
                   help="local VGG-19 weights (.safetensors, torchvision key names) for the perceptual loss; "
                        "without it a discriminator feature-matching loss is used")
    p.add_argument("--pairs-per-epoch", type=int, default=4000, help="pairs sampled per epoch (default 4000)")
    p.add_argument("--every", type=int, default=1, metavar="N", help="use every Nth video frame (default 1)")
    p.add_argument("--max-frames", type=int, metavar="N", help="use at most N frames of each video")
    p.add_argument("--max-steps", type=int, help="stop after this many steps in total")
    p.add_argument("--time-budget", type=float, metavar="MIN",
                   help="stop once the run has trained this many minutes in all (a resumed run counts its earlier time)")
    p.add_argument("--sample-every", type=int, default=200, help="steps between sample grids (default 200)")
    p.add_argument("--checkpoint-every", type=int, default=500, help="steps between checkpoints (default 500)")
    p.add_argument("--no-flip", action="store_true", help="no horizontal flip augmentation")
    p.add_argument("--no-validate", action="store_true", help="skip the per-epoch AKD/MKR/L1/SSIM validation")
    p.add_argument("--no-amp", action="store_true",
                   help="train in fp32 (default: fp16 autocast on CUDA, bf16 on CPUs with native bf16)")
    p.add_argument("--workers", type=int, default=0, help="data loader processes (default 0: in the main process)")
    p.add_argument("--cache", metavar="DIR", help="frame/pose cache (default: OUT/../.frame-cache)")
    p.add_argument("--resume", action="store_true", help="continue the run in --out from its last checkpoint")
    p.add_argument("--seed", type=int, default=0)


def run(args: argparse.Namespace) -> int:
    from pathlib import Path

    from engines.learned.datasets import DataOptions
    from engines.learned.losses import LossConfig
    from engines.learned.training import TrainOptions, train
    from realtime.errors import InputError

    for name in ("epochs", "batch_size", "pairs_per_epoch", "every"):
        if getattr(args, name) < 1:
            raise InputError(f"--{name.replace('_', '-')} must be at least 1, got {getattr(args, name)}")
    opts = TrainOptions(
        data=[Path(p) for p in args.data], out=Path(args.out), config=args.config, epochs=args.epochs,
        batch_size=args.batch_size, device=args.device, lr=args.lr,
        loss=LossConfig(alpha=args.alpha, lambda_l1=args.lambda_l1, lambda_perceptual=args.lambda_perceptual,
                        vgg_weights=Path(args.vgg_weights) if args.vgg_weights else None),
        data_options=DataOptions(max_pairs=args.pairs_per_epoch, seed=args.seed, every=args.every,
                                 max_frames=args.max_frames),
        cache_dir=Path(args.cache) if args.cache else None, flip=not args.no_flip,
        sample_every=args.sample_every, checkpoint_every=args.checkpoint_every, max_steps=args.max_steps,
        time_budget_s=args.time_budget * 60 if args.time_budget else None, validate=not args.no_validate,
        resume=args.resume, num_workers=args.workers, seed=args.seed, amp=not args.no_amp)
    # a failed run leaves no new folder without value: --out without a checkpoint, a cache without
    # one finished video (its poses.json)
    keep = {opts.out: "last.safetensors", opts.cache_dir or opts.out.parent / ".frame-cache": "*/poses.json"}
    fresh = {p: pattern for p, pattern in keep.items() if not p.exists()}
    try:
        summary = train(opts)
    except BaseException:
        import shutil

        for folder, pattern in fresh.items():
            if not any(folder.glob(pattern)):
                shutil.rmtree(folder, ignore_errors=True)
        raise
    if summary["rank"] == 0:   # under torchrun, one summary
        print(json.dumps(summary, indent=1, default=str))
    return 0
