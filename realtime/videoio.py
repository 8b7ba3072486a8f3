"""H.264 mp4 writing through the ffmpeg that imageio-ffmpeg ships (OpenCV can only write mp4v).

Frames are BGR uint8 HxWx3. yuv420p (what every player takes) needs even sizes: an odd width or
height is padded by one replicated pixel column/row. The file is fragmented MP4, so it stays
playable up to the last written frame even when the process is killed.
With ``atomic=True`` frames go to a temporary file that is renamed onto the path only by
``close()``; ``abort()`` (or an exception inside a ``with`` block) deletes it.
"""
from __future__ import annotations

import os
import tempfile
from pathlib import Path

import numpy as np

from realtime.fileio import default_file_mode


class H264Writer:
    def __init__(self, path: str | Path, fps: float, size: tuple[int, int], *, atomic: bool = True,
                 quality: float = 7.0) -> None:
        import imageio_ffmpeg

        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.width, self.height = int(size[0]), int(size[1])
        if self.width <= 0 or self.height <= 0:
            raise ValueError(f"video size must be positive, got {size}")
        self._pad = (self.width % 2, self.height % 2)
        self.frames = 0
        if atomic:
            fd, tmp = tempfile.mkstemp(prefix=f".{self.path.stem}.", suffix=".mp4", dir=self.path.parent)
            os.close(fd)
            self._target = Path(tmp)
        else:
            self._target = self.path
        self._gen = imageio_ffmpeg.write_frames(
            str(self._target), (self.width + self._pad[0], self.height + self._pad[1]), pix_fmt_in="bgr24",
            fps=float(fps), quality=quality, macro_block_size=1, ffmpeg_log_level="error",
            output_params=["-movflags", "+frag_keyframe+empty_moov+default_base_moof"])
        self._gen.send(None)
        self._closed = False

    def write(self, frame_bgr: np.ndarray) -> None:
        if frame_bgr.shape[:2] != (self.height, self.width) or frame_bgr.ndim != 3:
            raise ValueError(f"frame of shape {frame_bgr.shape} does not match the video's "
                             f"{self.width}x{self.height}x3")
        f = frame_bgr[..., :3]
        if any(self._pad):
            f = np.pad(f, ((0, self._pad[1]), (0, self._pad[0]), (0, 0)), mode="edge")
        self._gen.send(np.ascontiguousarray(f))
        self.frames += 1

    def close(self) -> None:
        """Finish the file (and move it into place when atomic)."""
        if self._closed:
            return
        self._closed = True
        self._gen.close()
        if self._target != self.path:
            os.chmod(self._target, default_file_mode())
            os.replace(self._target, self.path)

    def abort(self) -> None:
        """Stop writing and delete a temporary (atomic) file."""
        if self._closed:
            return
        self._closed = True
        try:
            self._gen.close()
        finally:
            if self._target != self.path and self._target.exists():
                self._target.unlink()

    def __enter__(self) -> "H264Writer":
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        if exc_type is None:
            self.close()
        else:
            self.abort()
