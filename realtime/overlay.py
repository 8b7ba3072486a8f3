"""The HUD drawn over output frames: fps in/out, per-stage milliseconds, capture-to-output
latency and, in coach mode, the similarity to the benchmark with the worst joints named."""
from __future__ import annotations

from dataclasses import dataclass, field

import cv2
import numpy as np


@dataclass
class HudInfo:
    """What the HUD shows. Times in milliseconds; similarity is a cosine in [-1, 1] (None: off)."""

    fps_in: float = 0.0
    fps_out: float = 0.0
    stage_ms: dict[str, float] = field(default_factory=dict)
    latency_ms: float | None = None
    similarity: float | None = None
    advice: list[str] = field(default_factory=list)
    status: str = ""     #: e.g. "no person: holding" / "no person: rest pose"
    reps: int | None = None


def _scale(shape: tuple[int, ...]) -> float:
    return max(0.5, min(shape[0], shape[1]) / 720.0)


def _text(img: np.ndarray, s: str, org: tuple[int, int], k: float, color=(255, 255, 255)) -> None:
    s = s.replace("°", " deg")   # OpenCV's Hershey fonts are ASCII only
    cv2.putText(img, s, org, cv2.FONT_HERSHEY_SIMPLEX, 0.5 * k, color, max(1, int(round(1.2 * k))), cv2.LINE_AA)


def similarity_color(sim: float) -> tuple[int, int, int]:
    """BGR: red below 0.8, yellow up to 0.95, green above (cosine similarity of pose vectors)."""
    return (0, 0, 255) if sim < 0.8 else (0, 220, 255) if sim < 0.95 else (0, 200, 0)


def draw_hud(image_bgr: np.ndarray, info: HudInfo) -> np.ndarray:
    """Draw the HUD in place on a BGR (or BGRA) frame and return it.

    Top-left panel: fps, latency, stage times. Bottom: similarity bar and advice (coach mode).
    """
    img = image_bgr
    h, w = img.shape[:2]
    k = _scale(img.shape)
    lh = int(20 * k)
    lines = [f"in {info.fps_in:4.1f} fps  out {info.fps_out:4.1f} fps"]
    if info.latency_ms is not None:
        lines.append(f"latency {info.latency_ms:5.1f} ms")
    lines += [f"{name[:16]:<9} {ms:5.1f} ms" for name, ms in info.stage_ms.items()]
    if info.status:
        lines.append(info.status)
    pw = max(cv2.getTextSize(s, cv2.FONT_HERSHEY_SIMPLEX, 0.5 * k, max(1, int(round(1.2 * k))))[0][0]
             for s in lines) + int(12 * k)
    ph = lh * len(lines) + int(8 * k)
    x0, y0 = int(8 * k), int(8 * k)
    x1, y1 = min(w, x0 + pw), min(h, y0 + ph)
    if x1 > x0 and y1 > y0:
        roi = img[y0:y1, x0:x1, :3]
        roi[:] = (roi.astype(np.uint16) * 2 // 5).astype(np.uint8)   # darken to 40% behind the text
    for i, s in enumerate(lines):
        _text(img, s, (x0 + int(6 * k), y0 + lh * (i + 1) - int(4 * k)), k)
    if info.similarity is not None:
        sim = float(np.clip(info.similarity, -1.0, 1.0))
        bar_w, bar_h = int(w * 0.5), max(6, int(14 * k))
        bx, by = int(8 * k), h - int(12 * k) - bar_h
        cv2.rectangle(img, (bx, by), (bx + bar_w, by + bar_h), (60, 60, 60), -1)
        cv2.rectangle(img, (bx, by), (bx + int(bar_w * max(sim, 0.0)), by + bar_h), similarity_color(sim), -1)
        label = f"match {100 * sim:5.1f}%" + (f"   reps {info.reps}" if info.reps is not None else "")
        _text(img, label, (bx + bar_w + int(8 * k), by + bar_h - 2), k, similarity_color(sim))
        for i, s in enumerate(info.advice[:3]):
            _text(img, s, (bx, by - int(8 * k) - i * lh), 1.2 * k, (0, 220, 255))
    return img
