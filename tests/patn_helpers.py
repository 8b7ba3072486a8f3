"""Helpers for the PATN tests: a tiny generator with non-trivial weights, saved as a checkpoint."""
from __future__ import annotations

from pathlib import Path

import numpy as np


def tiny_model(seed: int = 0, **overrides):
    """A 'tiny'-config generator whose batch-norm statistics are random (so eval mode is not an identity)."""
    import dataclasses

    import torch

    from engines.learned.patn import PATNGenerator, get_config

    torch.manual_seed(seed)
    cfg = dataclasses.replace(get_config("tiny"), **overrides)
    model = PATNGenerator(cfg)
    for m in model.modules():
        if isinstance(m, torch.nn.BatchNorm2d):
            m.running_mean.uniform_(-0.2, 0.2)
            m.running_var.uniform_(0.5, 1.5)
            m.weight.data.uniform_(0.5, 1.5)
            m.bias.data.uniform_(-0.2, 0.2)
    return model.eval()


def save_tiny_checkpoint(folder: Path, seed: int = 0) -> Path:
    from engines.learned.checkpoint import save_generator

    return save_generator(tiny_model(seed), Path(folder) / "tiny.safetensors")


def random_feeds(cfg, batch: int = 1, seed: int = 0) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    h, w = cfg.height, cfg.width
    return {"cond_image": rng.uniform(-1, 1, (batch, 3, h, w)).astype(np.float32),
            "cond_pose": rng.uniform(0, 1, (batch, 18, h, w)).astype(np.float32),
            "target_pose": rng.uniform(0, 1, (batch, 18, h, w)).astype(np.float32)}
