"""PATN training losses (thesis seed eqs. 3.3.3.1-3.3.3.4): alpha * GAN + lambda1 * L1 + lambda2 * perceptual.

GAN: log(D_A(P_c, P) * D_S(S_t, P)) = log D_A + log D_S for real targets, log(1 - D_A) + log(1 - D_S)
for generated ones; discriminators output logits, so binary cross-entropy with logits computes
these stably. Perceptual: L1 between VGG-19 features of output and target (PATN used the first
layers of an ImageNet VGG-19). VGG weights cannot be downloaded here: they are used when the user
points to a local safetensors file, otherwise the perceptual term is a discriminator
feature-matching loss (L1 between D_A's and D_S's intermediate features on real and generated
images, pix2pixHD-style). ``PerceptualLoss.kind`` says which one runs.

Images: NCHW RGB in [-1, 1].
"""
from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

from realtime.errors import InputError

log = logging.getLogger(__name__)


@dataclass
class LossConfig:
    """Loss weights (the thesis' defaults) and the optional local VGG-19 weights file (.safetensors)."""

    alpha: float = 5.0
    lambda_l1: float = 1.0
    lambda_perceptual: float = 1.0
    vgg_weights: Path | None = None
    vgg_layer: int = 9  # features[:9] ends at relu2_2 (index into torchvision's vgg19.features)


def gan_loss(logits: torch.Tensor, real: bool) -> torch.Tensor:
    """-log D (real=True) or -log(1 - D) (real=False), averaged over patches."""
    target = torch.ones_like(logits) if real else torch.zeros_like(logits)
    return F.binary_cross_entropy_with_logits(logits, target)


# torchvision's vgg19 "features" layout: conv channels, "M" = max pool.
_VGG19 = [64, 64, "M", 128, 128, "M", 256, 256, 256, 256, "M", 512, 512, 512, 512, "M", 512, 512, 512, 512, "M"]


def vgg19_features(n_layers: int) -> nn.Sequential:
    """The first ``n_layers`` modules of VGG-19's feature extractor (same indices as torchvision)."""
    layers: list[nn.Module] = []
    c = 3
    for v in _VGG19:
        if v == "M":
            layers.append(nn.MaxPool2d(2, 2))
        else:
            layers += [nn.Conv2d(c, int(v), 3, padding=1), nn.ReLU(inplace=False)]
            c = int(v)
    return nn.Sequential(*layers[:n_layers])


class VGGPerceptual(nn.Module):
    """L1 between VGG-19 features of two [-1,1] RGB images (ImageNet normalisation inside)."""

    kind = "vgg19"

    def __init__(self, weights: Path, n_layers: int = 9) -> None:
        super().__init__()
        from safetensors.torch import load_file

        weights = Path(weights)
        if weights.suffix != ".safetensors" or not weights.is_file():
            raise InputError(
                f"{weights}: expected a local VGG-19 weights file in safetensors format; convert torchvision's "
                "vgg19 .pth once with `python -c \"import torch; from safetensors.torch import save_file; "
                "save_file(torch.load('vgg19.pth', weights_only=True), 'vgg19.safetensors')\"`")
        self.features = vgg19_features(n_layers)
        state = load_file(str(weights))
        sub = {k[len("features."):]: v for k, v in state.items() if k.startswith("features.")}
        own = self.features.state_dict()
        missing = [k for k in own if k not in sub]
        if missing:
            raise InputError(f"{weights}: no VGG-19 feature weights {missing[:2]} (expected torchvision's key names "
                             "'features.N.weight')")
        self.features.load_state_dict({k: sub[k] for k in own})
        self.features.requires_grad_(False).eval()
        self.register_buffer("mean", torch.tensor([0.485, 0.456, 0.406]).view(1, 3, 1, 1))
        self.register_buffer("std", torch.tensor([0.229, 0.224, 0.225]).view(1, 3, 1, 1))

    def forward(self, fake: torch.Tensor, real: torch.Tensor, **_: object) -> torch.Tensor:
        norm = lambda x: ((x + 1) / 2 - self.mean) / self.std
        return F.l1_loss(self.features(norm(fake)), self.features(norm(real)))


class FeatureMatching(nn.Module):
    """L1 between discriminator features of generated and real images (real features detached)."""

    kind = "feature-matching"

    def forward(self, fake: torch.Tensor, real: torch.Tensor, *, fake_feats: list, real_feats: list) -> torch.Tensor:
        terms = [F.l1_loss(f, r.detach()) for f, r in zip(fake_feats, real_feats)]
        return torch.stack(terms).mean()


def make_perceptual(cfg: LossConfig) -> nn.Module:
    """VGG-19 perceptual loss when weights are given, else discriminator feature matching."""
    if cfg.vgg_weights:
        return VGGPerceptual(Path(cfg.vgg_weights), cfg.vgg_layer)
    log.info("no VGG-19 weights given: the perceptual term is discriminator feature matching")
    return FeatureMatching()


def generator_loss(cfg: LossConfig, perceptual: nn.Module, fake: torch.Tensor, real: torch.Tensor,
                   d_fake: tuple[tuple[torch.Tensor, list], tuple[torch.Tensor, list]],
                   d_real: tuple[tuple[torch.Tensor, list], tuple[torch.Tensor, list]] | None) -> dict[str, torch.Tensor]:
    """Total generator loss and its parts. d_fake/d_real: ((logits, feats) of D_A, (logits, feats) of D_S)."""
    (la, fa), (ls, fs) = d_fake
    gan = gan_loss(la, True) + gan_loss(ls, True)
    l1 = F.l1_loss(fake, real)
    if isinstance(perceptual, FeatureMatching):
        if d_real is None:
            raise ValueError("feature matching needs the discriminators' features on the real image")
        (_, ra), (_, rs) = d_real
        per = perceptual(fake, real, fake_feats=fa + fs, real_feats=ra + rs)
    else:
        per = perceptual(fake, real)
    total = cfg.alpha * gan + cfg.lambda_l1 * l1 + cfg.lambda_perceptual * per
    return {"g_total": total, "g_gan": gan, "g_l1": l1, "g_perceptual": per}


def discriminator_loss(real_logits: torch.Tensor, fake_logits: torch.Tensor) -> torch.Tensor:
    """-(log D(real) + log(1 - D(fake))) / 2."""
    return 0.5 * (gan_loss(real_logits, True) + gan_loss(fake_logits, False))
