"""Person-centred crops: a box of the generator's aspect ratio around a pose, and the way back.

A crop is a scale-and-shift from image pixels to crop pixels: ``crop = image * scale + offset``.
Its size comes from the person's keypoint box (the larger of its height and its width at the
crop's aspect ratio, times a margin); its centre from the box centre. The same size can be kept
while the centre follows another pose (the learned renderer does that: the reference person sets
the size, each target pose its own centre). Outside the image, crops are filled by edge replication.
"""
from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np


@dataclass(frozen=True)
class CropBox:
    """Image -> crop mapping: crop_xy = image_xy * scale + offset. height, width: the crop in pixels."""

    scale: float
    offset: tuple[float, float]
    height: int
    width: int

    @property
    def matrix(self) -> np.ndarray:
        """2x3 affine matrix image -> crop (for cv2.warpAffine)."""
        return np.array([[self.scale, 0, self.offset[0]], [0, self.scale, self.offset[1]]], np.float32)

    def crop(self, image: np.ndarray, interpolation: int = cv2.INTER_AREA) -> np.ndarray:
        """The crop (height x width) of an HxW(xC) image; edges replicated beyond the image."""
        inter = interpolation if self.scale < 1 else cv2.INTER_LINEAR
        return cv2.warpAffine(image, self.matrix, (self.width, self.height), flags=inter,
                              borderMode=cv2.BORDER_REPLICATE)

    def to_crop(self, xy: np.ndarray) -> np.ndarray:
        """Image pixel coordinates -> crop pixel coordinates; rows of -1 (missing) stay -1."""
        xy = np.asarray(xy, np.float32)
        out = xy * np.float32(self.scale) + np.asarray(self.offset, np.float32)
        missing = (xy < 0).all(axis=-1) if xy.ndim > 1 else np.zeros(0, bool)
        out[missing] = -1.0
        return out

    def to_image(self, xy: np.ndarray) -> np.ndarray:
        """Crop pixel coordinates -> image pixel coordinates."""
        return (np.asarray(xy, np.float32) - np.asarray(self.offset, np.float32)) / np.float32(self.scale)

    def footprint(self, image_h: int, image_w: int) -> tuple[int, int, int, int] | None:
        """(x0, y0, x1, y1) integer rectangle of the image that the crop covers, or None if outside."""
        x0 = int(np.floor(-self.offset[0] / self.scale))
        y0 = int(np.floor(-self.offset[1] / self.scale))
        x1 = int(np.ceil((self.width - self.offset[0]) / self.scale))
        y1 = int(np.ceil((self.height - self.offset[1]) / self.scale))
        x0, y0, x1, y1 = max(x0, 0), max(y0, 0), min(x1, image_w), min(y1, image_h)
        return None if x1 <= x0 or y1 <= y0 else (x0, y0, x1, y1)

    def paste(self, canvas: np.ndarray, crop: np.ndarray, feather_px: float = 0.0,
              weight: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
        """Composite ``crop`` onto a copy of ``canvas`` where the crop covers it.

        feather_px: width (in crop pixels) of a linear fade at the crop's border, so the generated
        region blends into the canvas instead of ending at a hard edge. weight: an optional HxW
        float32 crop-space opacity multiplied in. Only the covered rectangle is warped (cheap for
        small crops on large frames). Returns (composited image, alpha HxW float32 in [0, 1]).
        """
        h, w = canvas.shape[:2]
        out = canvas.copy()
        alpha = np.zeros((h, w), np.float32)
        rect = self.footprint(h, w)
        if rect is None:
            return out, alpha
        x0, y0, x1, y1 = rect
        inv = cv2.invertAffineTransform(self.matrix)
        inv[:, 2] -= (x0, y0)
        size = (x1 - x0, y1 - y0)
        warped = cv2.warpAffine(crop, inv, size, flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
        wgt = border_weight(self.height, self.width, feather_px)
        if weight is not None:
            wgt = wgt * weight
        a = cv2.warpAffine(wgt, inv, size, flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT, borderValue=0)
        roi = out[y0:y1, x0:x1]
        out[y0:y1, x0:x1] = cv2.blendLinear(warped.astype(roi.dtype, copy=False), roi, a, 1.0 - a)
        alpha[y0:y1, x0:x1] = a
        return out, alpha


def border_weight(height: int, width: int, feather_px: float) -> np.ndarray:
    """HxW float32: 1 inside, falling linearly to 0 over ``feather_px`` pixels at the border."""
    if feather_px <= 0:
        return np.ones((height, width), np.float32)
    ys = np.minimum(np.arange(height) + 0.5, height - np.arange(height) - 0.5)
    xs = np.minimum(np.arange(width) + 0.5, width - np.arange(width) - 0.5)
    wy = np.clip(ys / feather_px, 0, 1).astype(np.float32)
    wx = np.clip(xs / feather_px, 0, 1).astype(np.float32)
    return wy[:, None] * wx[None, :]


def keypoint_box(xy: np.ndarray) -> tuple[float, float, float, float] | None:
    """(x0, y0, x1, y1) of (K,2) keypoints, ignoring rows of -1; None when none is present."""
    xy = np.asarray(xy, np.float32)
    ok = (xy >= 0).all(axis=1) & np.isfinite(xy).all(axis=1)
    if not ok.any():
        return None
    p = xy[ok]
    return float(p[:, 0].min()), float(p[:, 1].min()), float(p[:, 0].max()), float(p[:, 1].max())


def person_size(xy: np.ndarray, height: int, width: int, margin: float) -> float:
    """Side of the crop (in image pixels, along its height) that holds the keypoint box with a margin.

    The box is widened to the crop's aspect ratio first; keypoints sit on joints, not on the body's
    outline, so a margin of 1.2-1.4 keeps hair, hands and feet inside.
    """
    box = keypoint_box(xy)
    if box is None:
        raise ValueError("no keypoint present: cannot place a person crop")
    x0, y0, x1, y1 = box
    side = max(y1 - y0, (x1 - x0) * height / width)
    return max(side * margin, 16.0)


def crop_box(xy: np.ndarray, height: int, width: int, margin: float = 1.2,
             size_px: float | None = None, centre: tuple[float, float] | None = None) -> CropBox:
    """The crop of ``height x width`` crop pixels around (K,2) image keypoints (-1 = missing).

    size_px: crop height in image pixels (default: from these keypoints, see person_size).
    centre: crop centre in image pixels (default: centre of these keypoints' box).
    """
    if size_px is None:
        size_px = person_size(xy, height, width, margin)
    if centre is None:
        box = keypoint_box(xy)
        if box is None:
            raise ValueError("no keypoint present: cannot centre a person crop")
        centre = ((box[0] + box[2]) / 2, (box[1] + box[3]) / 2)
    scale = height / float(size_px)
    offset = (width / 2 - centre[0] * scale, height / 2 - centre[1] * scale)
    return CropBox(scale=scale, offset=(float(offset[0]), float(offset[1])), height=height, width=width)
