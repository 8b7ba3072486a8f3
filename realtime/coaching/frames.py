"""Pictures of a coached motion: its frame at an index (a video's pixels, an image, or the skeleton on
black for a pose file) and the aligned pair (person | benchmark) with skeletons, for the HTML page's
key frames and the side-by-side video."""
from __future__ import annotations

import cv2
import numpy as np

from realtime.coaching.motion import Motion
from realtime.drawing import draw_skeleton, put_label
from realtime.pose import Pose


class MotionFrames:
    """Frame ``i`` of a motion as BGR uint8 (random access; a video is read forwards and seeks back)."""

    def __init__(self, motion: Motion) -> None:
        self.motion = motion
        self._cap = None
        self._pos = 0
        self._last: tuple[int, np.ndarray] | None = None
        self._image = None
        if motion.kind == "video":
            self._cap = cv2.VideoCapture(motion.source)
        elif motion.kind == "image":
            from realtime.media import read_image

            self._image = read_image(motion.source)
        self.size = self._size()

    def _size(self) -> tuple[int, int]:
        m = self.motion
        if m.width and m.height:
            return int(m.width), int(m.height)
        pts = [p.xy[p.present()] for p in m.poses if p is not None and p.present().any()]
        hi = np.concatenate(pts).max(axis=0) if pts else np.array([512.0, 512.0])
        return int(hi[0] * 1.1) + 1, int(hi[1] * 1.1) + 1

    def __getitem__(self, i: int) -> np.ndarray:
        if self._last is not None and self._last[0] == i:
            return self._last[1]
        if self._image is not None:
            img = self._image
        elif self._cap is not None:
            img = self._read_video(i)
        else:
            w, h = self.size
            img = np.zeros((h, w, 3), np.uint8)
        self._last = (i, img)
        return img

    def _read_video(self, i: int) -> np.ndarray:
        if i < self._pos or i - self._pos > 60:
            self._cap.set(cv2.CAP_PROP_POS_FRAMES, i)
            self._pos = i
        while self._pos < i:
            self._cap.grab()
            self._pos += 1
        ok, img = self._cap.read()
        self._pos += 1
        if not ok or img is None:
            w, h = self.size
            return np.zeros((h, w, 3), np.uint8)
        return img

    def close(self) -> None:
        if self._cap is not None:
            self._cap.release()
            self._cap = None


def panel(frames: MotionFrames, i: int, pose: Pose | None, height: int, title: str,
          mirrored: bool = False, highlight: tuple[str, ...] = ()) -> np.ndarray:
    """Frame i with its pose drawn (mirrored left-right when asked), scaled to ``height``, titled."""
    img = frames[i]
    scale = height / img.shape[0]
    width = max(2, round(img.shape[1] * scale))
    img = cv2.resize(img, (width, height), interpolation=cv2.INTER_AREA)   # draw on the small image
    if pose is not None:
        pose = pose.transformed(scale, width=width, height=height)
    if mirrored:
        img = cv2.flip(img, 1)
        pose = None if pose is None else pose.flipped(width=float(width))
    img = draw_skeleton(img, pose, highlight={n: (0, 0, 255) for n in highlight})
    put_label(img, title, org=(8, 24))
    return img


def pair_image(left: np.ndarray, right: np.ndarray, footer: str = "") -> np.ndarray:
    """Two panels of one height side by side, a footer line drawn along the bottom."""
    out = np.ascontiguousarray(np.concatenate([left, right], axis=1))
    if footer:
        put_label(out, footer, org=(8, out.shape[0] - 12))
    return out
