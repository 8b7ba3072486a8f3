"""Progressive Pose Attention Transfer network (PATN; Zhu et al., CVPR 2019), as the thesis seed describes it.

Generator: the conditioning image P_c (3 channels) and the pose maps S_c, S_t (18 channels each,
concatenated to 36) are encoded by two separate encoders (a stem convolution, then two
stride-2 convolutions). A chain of Pose-Attentional Transfer Blocks (PATBs) updates both codes:

    M_t   = sigmoid(conv_s(F^S_{t-1}))             attention mask from the pose pathway
    F^P_t = M_t * conv_p(F^P_{t-1}) + F^P_{t-1}     image code, updated residually through the mask
    F^S_t = conv_s(F^S_{t-1}) || F^P_t              pose code, concatenated with the new image code

where conv_* is conv-norm-ReLU-conv-norm. The final image code is decoded by two transposed
convolutions and an output convolution with tanh. Discriminators D_A (appearance: P_c with the
image) and D_S (shape: S_t with the image) are two stride-2 convolutions and three residual blocks
each, ending in a 1-channel map of patch logits.

Tensors: NCHW float32; images RGB scaled to [-1, 1]; pose maps in [0, 1]. This module needs torch.
"""
from __future__ import annotations

import torch
from torch import nn

from engines.learned.config import CONFIGS, GeneratorConfig, get_config  # noqa: F401  (re-exported)


def _norm_batch(c: int) -> nn.Module:
    return nn.BatchNorm2d(c)


def _norm_instance(c: int) -> nn.Module:
    return nn.InstanceNorm2d(c, affine=True)


_NORMS = {"batch": _norm_batch, "instance": _norm_instance}


def _conv_norm_relu(cin: int, cout: int, k: int, stride: int, norm: str) -> list[nn.Module]:
    return [nn.Conv2d(cin, cout, k, stride=stride, padding=k // 2, bias=False), _NORMS[norm](cout), nn.ReLU(True)]


def _encoder(cin: int, ngf: int, k: int, norm: str) -> nn.Sequential:
    """Stem convolution at full resolution, then two stride-2 convolutions (x2 channels each)."""
    return nn.Sequential(
        nn.ReflectionPad2d(k // 2), nn.Conv2d(cin, ngf, k, bias=False), _NORMS[norm](ngf), nn.ReLU(True),
        *_conv_norm_relu(ngf, ngf * 2, 3, 2, norm),
        *_conv_norm_relu(ngf * 2, ngf * 4, 3, 2, norm),
    )


def _conv_block(cin: int, c: int, norm: str) -> nn.Sequential:
    """conv-norm-ReLU-conv-norm, 3x3 convolutions, reflection padding."""
    return nn.Sequential(
        nn.ReflectionPad2d(1), nn.Conv2d(cin, c, 3, bias=False), _NORMS[norm](c), nn.ReLU(True),
        nn.ReflectionPad2d(1), nn.Conv2d(c, c, 3, bias=False), _NORMS[norm](c),
    )


class PATBlock(nn.Module):
    """One Pose-Attentional Transfer Block. ``first``: its pose input has c channels, else 2c."""

    def __init__(self, c: int, norm: str, first: bool) -> None:
        super().__init__()
        self.conv_p = _conv_block(c, c, norm)
        self.conv_s = _conv_block(c if first else 2 * c, c, norm)

    def forward(self, f_p: torch.Tensor, f_s: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        s = self.conv_s(f_s)
        f_p = torch.sigmoid(s) * self.conv_p(f_p) + f_p
        return f_p, torch.cat([s, f_p], dim=1)


class PATNGenerator(nn.Module):
    """G(P_c, S_c, S_t) -> P_g. Inputs (N,3,H,W) in [-1,1], (N,18,H,W), (N,18,H,W); output (N,3,H,W) in [-1,1]."""

    def __init__(self, cfg: GeneratorConfig = CONFIGS["paper"]) -> None:
        super().__init__()
        self.cfg = cfg
        c, k, norm = cfg.ngf, cfg.stem_kernel, cfg.norm
        self.image_encoder = _encoder(3, c, k, norm)
        self.pose_encoder = _encoder(2 * cfg.pose_channels, c, k, norm)
        self.blocks = nn.ModuleList(PATBlock(4 * c, norm, first=i == 0) for i in range(cfg.n_blocks))
        self.decoder = nn.Sequential(
            nn.ConvTranspose2d(4 * c, 2 * c, 3, stride=2, padding=1, output_padding=1, bias=False),
            _NORMS[norm](2 * c), nn.ReLU(True),
            nn.ConvTranspose2d(2 * c, c, 3, stride=2, padding=1, output_padding=1, bias=False),
            _NORMS[norm](c), nn.ReLU(True),
            nn.ReflectionPad2d(k // 2), nn.Conv2d(c, 3, k), nn.Tanh(),
        )

    def forward(self, cond_image: torch.Tensor, cond_pose: torch.Tensor, target_pose: torch.Tensor) -> torch.Tensor:
        f_p = self.image_encoder(cond_image)
        f_s = self.pose_encoder(torch.cat([cond_pose, target_pose], dim=1))
        for block in self.blocks:
            f_p, f_s = block(f_p, f_s)
        return self.decoder(f_p)


class _ResBlock(nn.Module):
    def __init__(self, c: int, norm: str) -> None:
        super().__init__()
        self.body = _conv_block(c, c, norm)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.body(x)


class PatchDiscriminator(nn.Module):
    """D(condition, image) -> (patch logits (N,1,H/4,W/4), features for feature matching).

    A stem convolution, two stride-2 convolutions and three residual blocks (the thesis' D_A and D_S),
    then a 3x3 convolution to one logit per patch. Logits, not probabilities: the losses apply the
    sigmoid (log D and log(1 - D) computed stably).
    """

    def __init__(self, in_channels: int, ndf: int = 64, n_blocks: int = 3, norm: str = "instance",
                 stem_kernel: int = 7) -> None:
        super().__init__()
        self.stages = nn.ModuleList([
            nn.Sequential(nn.Conv2d(in_channels, ndf, stem_kernel, padding=stem_kernel // 2), nn.LeakyReLU(0.2, True)),
            nn.Sequential(nn.Conv2d(ndf, 2 * ndf, 3, 2, 1, bias=False), _NORMS[norm](2 * ndf), nn.LeakyReLU(0.2, True)),
            nn.Sequential(nn.Conv2d(2 * ndf, 4 * ndf, 3, 2, 1, bias=False), _NORMS[norm](4 * ndf), nn.LeakyReLU(0.2, True)),
            nn.Sequential(*[_ResBlock(4 * ndf, norm) for _ in range(n_blocks)]),
        ])
        self.head = nn.Conv2d(4 * ndf, 1, 3, padding=1)

    def forward(self, condition: torch.Tensor, image: torch.Tensor) -> tuple[torch.Tensor, list[torch.Tensor]]:
        x = torch.cat([condition, image], dim=1)
        feats = []
        for stage in self.stages:
            x = stage(x)
            feats.append(x)
        return self.head(x), feats


def make_discriminators(cfg: GeneratorConfig) -> tuple[PatchDiscriminator, PatchDiscriminator]:
    """(D_A, D_S): appearance (P_c || image, 6 channels) and shape (S_t || image, 21 channels)."""
    ndf = max(8, cfg.ngf)
    return (PatchDiscriminator(6, ndf, norm="instance", stem_kernel=cfg.stem_kernel),
            PatchDiscriminator(cfg.pose_channels + 3, ndf, norm="instance", stem_kernel=cfg.stem_kernel))


def count_parameters(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())
