"""File sinks: an H.264 mp4 (imageio-ffmpeg), numbered PNGs, and a null sink."""
from __future__ import annotations

import logging
import os
import tempfile
from pathlib import Path

import numpy as np

from realtime.errors import InputError
from realtime.fileio import write_image

log = logging.getLogger(__name__)


class Mp4Sink:
    """H.264 (libx264, yuv420p) mp4 written through imageio-ffmpeg's bundled ffmpeg.

    Frames go to a temporary file beside PATH, renamed onto PATH when ``close()`` finalizes it
    (Ctrl-C included: the pipeline closes sinks on SIGINT/SIGTERM, and ffmpeg runs in its own
    process group so the terminal's Ctrl-C does not cut it short). After a failed run the
    recording is kept as ``NAME.incomplete.mp4`` instead. Odd sizes are padded to even.
    """

    paced = False

    def __init__(self, arg: str, width: int, height: int, fps: float, options, controls) -> None:
        import imageio_ffmpeg

        self.name = f"file:{arg}"
        self.path = Path(arg)
        if self.path.suffix.lower() not in (".mp4", ".m4v", ".mov", ".mkv"):
            raise InputError(f"file output {arg!r}: expected a path ending in .mp4 (H.264 video)")
        if self.path.is_dir():
            raise InputError(f"file output {arg!r} is a folder; expected a file path such as out.mp4")
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.width, self.height = width, height
        self._pad = (height % 2, width % 2)
        fd, tmp = tempfile.mkstemp(prefix=f".{self.path.stem}.", suffix=self.path.suffix, dir=self.path.parent)
        os.close(fd)
        self._tmp = Path(tmp)
        self.frames = 0
        self._gen = imageio_ffmpeg.write_frames(
            str(self._tmp), (width + self._pad[1], height + self._pad[0]), pix_fmt_in="bgr24",
            pix_fmt_out="yuv420p", fps=fps, codec="libx264", macro_block_size=1, ffmpeg_log_level="error",
            output_params=["-crf", str(options.file_crf), "-preset", "veryfast", "-movflags", "+faststart"])
        self._gen.send(None)

    def send(self, frame_bgr: np.ndarray) -> None:
        if frame_bgr.shape[:2] != (self.height, self.width):
            raise ValueError(f"{self.name}: expected {self.width}x{self.height} frames, got "
                             f"{frame_bgr.shape[1]}x{frame_bgr.shape[0]}")
        if any(self._pad):
            frame_bgr = np.pad(frame_bgr, ((0, self._pad[0]), (0, self._pad[1]), (0, 0)), mode="edge")
        self._gen.send(np.ascontiguousarray(frame_bgr))
        self.frames += 1

    def close(self, ok: bool = True) -> None:
        try:
            self._gen.close()  # flushes and waits for ffmpeg to write the moov atom
        finally:
            if self.frames == 0:
                self._tmp.unlink(missing_ok=True)
                log.warning("%s: no frames were rendered; no file written", self.name)
            elif ok:
                os.replace(self._tmp, self.path)
                log.info("%s: %d frames written", self.name, self.frames)
            else:
                dst = self.path.with_name(f"{self.path.stem}.incomplete{self.path.suffix}")
                os.replace(self._tmp, dst)
                log.warning("run failed: the recording so far is in %s", dst)


class FramesSink:
    """Numbered PNGs ``DIR/frame_000000.png``, each written atomically."""

    paced = False

    def __init__(self, arg: str, width: int, height: int, fps: float, options, controls) -> None:
        self.name = f"frames:{arg}"
        self.dir = Path(arg)
        if self.dir.exists() and not self.dir.is_dir():
            raise InputError(f"frames output {arg!r} is a file; expected a folder (it is created if missing)")
        self.dir.mkdir(parents=True, exist_ok=True)
        self.frames = 0

    def send(self, frame_bgr: np.ndarray) -> None:
        write_image(self.dir / f"frame_{self.frames:06d}.png", frame_bgr)
        self.frames += 1

    def close(self, ok: bool = True) -> None:
        log.info("%s: %d frames written", self.name, self.frames)


class NullSink:
    """Discards frames (benchmarks: measures the pipeline without output cost)."""

    paced = False

    def __init__(self, arg: str, width: int, height: int, fps: float, options, controls) -> None:
        self.name = "null"
        self.frames = 0

    def send(self, frame_bgr: np.ndarray) -> None:
        self.frames += 1

    def close(self, ok: bool = True) -> None:
        pass
