"""Quality measures of a pose-transfer output (the interactive reposing seed; image-animation papers).

AKD (average keypoint distance): mean distance between the target keypoints and the keypoints an
estimator finds on the rendered output, over keypoints present in both; reported in pixels and
normalized to a 256-px output height. MKR (missing keypoint rate): share of keypoints present in
the target that the estimator does not find on the output. Both are computed in COCO-17.
Image measures (images BGR or RGB uint8, compared as [0, 1] floats): L1, SSIM (scikit-image), PSNR.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from realtime.layouts import COCO17
from realtime.pose import MIN_SCORE, Pose

AKD_REFERENCE_HEIGHT = 256


@dataclass
class KeypointScores:
    """Running AKD/MKR over many (target, found) pairs; pooled over keypoints, not averaged per frame."""

    distance_sum_px: float = 0.0
    distance_sum_norm: float = 0.0
    matched: int = 0
    expected: int = 0
    missing: int = 0
    per_frame_akd_norm: list[float] = field(default_factory=list)

    def add(self, target: Pose, found: Pose | None, output_height: int, min_score: float = MIN_SCORE) -> None:
        t = target.to_layout(COCO17)
        want = t.present(min_score)
        n_want = int(want.sum())
        self.expected += n_want
        if found is None:
            self.missing += n_want
            self.per_frame_akd_norm.append(float("nan"))
            return
        f = found.to_layout(COCO17)
        got = f.present(min_score)
        both = want & got
        self.missing += int((want & ~got).sum())
        if both.any():
            d = np.linalg.norm(t.xy[both] - f.xy[both], axis=1)
            scale = AKD_REFERENCE_HEIGHT / float(output_height)
            self.distance_sum_px += float(d.sum())
            self.distance_sum_norm += float(d.sum()) * scale
            self.matched += int(both.sum())
            self.per_frame_akd_norm.append(float(d.mean()) * scale)
        else:
            self.per_frame_akd_norm.append(float("nan"))

    @property
    def akd_px(self) -> float:
        return self.distance_sum_px / self.matched if self.matched else float("nan")

    @property
    def akd_256(self) -> float:
        return self.distance_sum_norm / self.matched if self.matched else float("nan")

    @property
    def mkr(self) -> float:
        return self.missing / self.expected if self.expected else float("nan")


def _as_float(img: np.ndarray) -> np.ndarray:
    if img.dtype == np.uint8:
        return img.astype(np.float32) / 255.0
    return img.astype(np.float32)


def l1(a: np.ndarray, b: np.ndarray) -> float:
    """Mean absolute error of two images scaled to [0, 1]."""
    _check_same(a, b)
    return float(np.abs(_as_float(a) - _as_float(b)).mean())


def psnr(a: np.ndarray, b: np.ndarray) -> float:
    """Peak signal-to-noise ratio in dB (images in [0, 1]); inf for identical images."""
    _check_same(a, b)
    mse = float(((_as_float(a) - _as_float(b)) ** 2).mean())
    return float("inf") if mse == 0 else 10.0 * np.log10(1.0 / mse)


def ssim(a: np.ndarray, b: np.ndarray) -> float:
    """Structural similarity (scikit-image), colour images compared per channel."""
    from skimage.metrics import structural_similarity

    _check_same(a, b)
    fa, fb = _as_float(a), _as_float(b)
    min_side = min(fa.shape[:2])
    win = min(7, min_side if min_side % 2 else min_side - 1)
    if win < 3:
        raise ValueError(f"images of {fa.shape[:2]} are too small for SSIM (need at least 3x3)")
    return float(structural_similarity(fa, fb, data_range=1.0, win_size=win,
                                       channel_axis=2 if fa.ndim == 3 else None))


def _check_same(a: np.ndarray, b: np.ndarray) -> None:
    if a.shape != b.shape:
        raise ValueError(f"images differ in shape: {a.shape} vs {b.shape}")
