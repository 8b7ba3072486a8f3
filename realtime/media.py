"""Reading stills and videos from disk, with errors that say what was expected.

Images are returned as BGR uint8 HxWx3 (OpenCV's order); callers convert at their edges.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

import cv2
import numpy as np

from realtime.errors import InputError

log = logging.getLogger(__name__)
_strict = False


def set_strict(on: bool) -> None:
    """``repose --strict``: input warnings (a truncated video) become InputErrors."""
    global _strict
    _strict = bool(on)


def input_warning(message: str) -> None:
    """A warning about an input: one log line, or an InputError under ``--strict``."""
    if _strict:
        raise InputError(f"{message} (--strict)")
    log.warning("%s", message)


IMAGE_EXTS = frozenset({".jpg", ".jpeg", ".png", ".bmp", ".webp", ".tif", ".tiff"})
VIDEO_EXTS = frozenset({".mp4", ".avi", ".mov", ".mkv", ".webm", ".m4v", ".mpg", ".mpeg", ".gif"})


def is_image_path(path: str | Path) -> bool:
    return Path(path).suffix.lower() in IMAGE_EXTS


def _must_exist(path: Path, what: str) -> None:
    if not path.exists():
        raise InputError(f"{path}: no such file; expected {what}")
    if path.is_dir():
        raise InputError(f"{path}: is a folder; expected {what}")


def read_image(path: str | Path) -> np.ndarray:
    """BGR uint8 image; InputError when missing or not decodable."""
    p = Path(path)
    _must_exist(p, "an image file (jpg, png, ...)")
    data = np.fromfile(str(p), dtype=np.uint8)
    img = cv2.imdecode(data, cv2.IMREAD_COLOR) if data.size else None
    if img is None:
        raise InputError(f"{p}: not a readable image; expected a jpg, png, bmp or webp file")
    return img


def list_images(folder: str | Path) -> list[Path]:
    """Image files of a folder, sorted by name; InputError when there are none."""
    d = Path(folder)
    if not d.is_dir():
        raise InputError(f"{d}: not a folder; expected a folder of images")
    files = sorted(f for f in d.iterdir() if f.is_file() and f.suffix.lower() in IMAGE_EXTS)
    if not files:
        raise InputError(f"{d}: holds no images; expected files ending in {', '.join(sorted(IMAGE_EXTS))}")
    return files


@dataclass
class VideoInfo:
    fps: float
    frame_count: int
    width: int
    height: int


class VideoReader:
    """Frames of a video file in order, as (index, time_s, BGR image)."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        _must_exist(self.path, "a video file (mp4, avi, mov, ...)")
        self._cap = cv2.VideoCapture(str(self.path))
        if not self._cap.isOpened():
            raise InputError(f"{self.path}: cannot be opened as a video; expected an mp4/avi/mov file "
                             "that ffmpeg can decode")
        fps = float(self._cap.get(cv2.CAP_PROP_FPS) or 0.0)
        self.info = VideoInfo(
            fps=fps if 0 < fps < 1000 else 30.0,
            frame_count=int(self._cap.get(cv2.CAP_PROP_FRAME_COUNT) or 0),
            width=int(self._cap.get(cv2.CAP_PROP_FRAME_WIDTH) or 0),
            height=int(self._cap.get(cv2.CAP_PROP_FRAME_HEIGHT) or 0),
        )

    def __iter__(self) -> Iterator[tuple[int, float, np.ndarray]]:
        i = 0
        while True:
            ok, frame = self._cap.read()
            if not ok or frame is None:
                break
            yield i, i / self.info.fps, frame
            i += 1
        if i == 0:
            raise InputError(f"{self.path}: holds no decodable frames; the file is empty or corrupt")
        declared = self.info.frame_count
        if declared > 0 and i < declared - max(2, round(0.02 * declared)):
            input_warning(f"{self.path}: decoded {i} of {declared} declared frames; the file looks "
                          "truncated (re-encode or re-download it; --strict refuses it)")

    def close(self) -> None:
        self._cap.release()

    def __enter__(self) -> "VideoReader":
        return self

    def __exit__(self, *exc) -> None:
        self.close()
