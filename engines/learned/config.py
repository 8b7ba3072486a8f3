"""PATN generator configurations (no torch needed): sizes, pose-map style and crop margin.

Kept apart from engines.learned.patn so that data preparation and the learned renderer's ONNX Runtime path
can read a checkpoint's config without importing torch.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, fields

NORM_NAMES = ("batch", "instance")
#: (field, lowest, highest): far beyond any real model, small enough that building one cannot exhaust memory.
LIMITS = (("height", 16, 2048), ("width", 16, 2048), ("ngf", 1, 512), ("n_blocks", 1, 64),
          ("stem_kernel", 1, 15), ("pose_channels", 1, 64), ("pose_sigma", 0.01, 100.0),
          ("crop_margin", 0.5, 10.0))


@dataclass(frozen=True)
class GeneratorConfig:
    """Shape of a PATN generator. height, width: the crop size in pixels (multiples of 4).

    ngf: channels after the stem (the PATBs work at 4*ngf channels, 1/4 resolution).
    n_blocks: number of PATBs (9 in the paper). norm: "batch" (the paper's) or "instance".
    stem_kernel: kernel size of the first and last convolutions (7 in the paper).
    pose_map: "points" or "gaussian" keypoint maps; pose_sigma: Gaussian sigma in crop pixels.
    crop_margin: the person crop is this many times the person's box (see engines.learned.personcrop).
    """

    height: int = 256
    width: int = 176
    ngf: int = 64
    n_blocks: int = 9
    norm: str = "batch"
    stem_kernel: int = 7
    pose_channels: int = 18
    pose_map: str = "gaussian"
    pose_sigma: float = 3.0
    crop_margin: float = 1.3

    def __post_init__(self) -> None:
        # configs come from files (checkpoint JSON, ONNX metadata): bound them before anything allocates
        for name, lo, hi in LIMITS:
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, (int, float)) or not lo <= v <= hi:
                raise ValueError(f"{name} must be a number in [{lo}, {hi}], got {v!r}")
        if self.height % 4 or self.width % 4 or self.height < 16 or self.width < 16:
            raise ValueError(f"generator size must be multiples of 4 and at least 16, got {self.height}x{self.width}")
        if self.norm not in NORM_NAMES:
            raise ValueError(f"norm must be one of {', '.join(NORM_NAMES)}, got {self.norm!r}")
        if self.stem_kernel % 2 == 0:
            raise ValueError(f"stem_kernel must be odd, got {self.stem_kernel}")
        if self.n_blocks < 1 or self.ngf < 1:
            raise ValueError("n_blocks and ngf must be positive")

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> "GeneratorConfig":
        if not isinstance(data, dict):
            raise ValueError(f"expected a generator config object, got {type(data).__name__}")
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise ValueError(f"unknown generator config keys {unknown}: this checkpoint needs a newer repose")
        return cls(**data)


CONFIGS: dict[str, GeneratorConfig] = {
    # The paper's DeepFashion model: 256x176 crops, 64 stem channels, 9 PATBs, batch norm.
    "paper": GeneratorConfig(),
    # CPU real time (>= 15 fps through ONNX Runtime on 2 cores): 128x88 crops, 16 stem channels, 6 PATBs.
    "small": GeneratorConfig(height=128, width=88, ngf=16, n_blocks=6, stem_kernel=5, pose_sigma=2.0),
    # For tests only: trains a step in tens of milliseconds.
    "tiny": GeneratorConfig(height=64, width=44, ngf=8, n_blocks=2, stem_kernel=3, pose_sigma=1.5),
}


def get_config(name: str) -> GeneratorConfig:
    try:
        return CONFIGS[name]
    except KeyError:
        raise ValueError(f"unknown generator config {name!r}: expected one of {', '.join(CONFIGS)}") from None
