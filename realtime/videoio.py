"""H.264 mp4 writing through the ffmpeg that imageio-ffmpeg ships (OpenCV can only write mp4v).

Frames are BGR uint8 HxWx3. yuv420p (what every player takes) needs even sizes: an odd width or
height is padded by one replicated pixel column/row. The file is fragmented MP4, so it stays
playable up to the last written frame even when the process is killed.
With ``atomic=True`` frames go to a registered temporary file (``realtime.outputs``) that becomes
the path only by ``close()`` (through a symlink; copied into a device or ``-``); ``abort()`` (or an
exception inside a ``with`` block, or a signal) deletes it. A full disk is one ``OutputError`` line.
``preset``: x264's speed preset; ``realtime=True`` adds ``-tune zerolatency`` (live recordings).
"""
from __future__ import annotations

import logging
import subprocess
from pathlib import Path

import numpy as np

from realtime import outputs, signals


class _Abort(Exception):
    """Thrown into the atomic-path context to make it delete the temporary file."""


class H264Writer:
    def __init__(self, path: str | Path, fps: float, size: tuple[int, int], *, atomic: bool = True,
                 quality: float = 7.0, preset: str | None = None, realtime: bool = False) -> None:
        import imageio_ffmpeg

        self.path = Path(path)
        self.width, self.height = int(size[0]), int(size[1])
        if self.width <= 0 or self.height <= 0:
            raise ValueError(f"video size must be positive, got {size}")
        self._pad = (self.width % 2, self.height % 2)
        self.frames = 0
        self._atomic = atomic
        if atomic:
            self._ctx = outputs.atomic_path(self.path, ".mp4")
            self._target = self._ctx.__enter__()
        else:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._ctx, self._target = None, self.path
        params = ["-movflags", "+frag_keyframe+empty_moov+default_base_moof"]
        if preset:
            params += ["-preset", preset]
        if realtime:
            params += ["-tune", "zerolatency"]
        self._closed = False
        try:
            with outputs.translate_disk_full(self.path):
                self._gen = imageio_ffmpeg.write_frames(
                    str(self._target), (self.width + self._pad[0], self.height + self._pad[1]),
                    pix_fmt_in="bgr24", fps=float(fps), quality=quality, macro_block_size=1,
                    ffmpeg_log_level="error", output_params=params)
                self._gen.send(None)
        except BaseException:
            self._gen = None
            self.abort()
            raise

    def write(self, frame_bgr: np.ndarray) -> None:
        if frame_bgr.shape[:2] != (self.height, self.width) or frame_bgr.ndim != 3:
            raise ValueError(f"frame of shape {frame_bgr.shape} does not match the video's "
                             f"{self.width}x{self.height}x3")
        f = frame_bgr[..., :3]
        if any(self._pad):
            f = np.pad(f, ((0, self._pad[1]), (0, self._pad[0]), (0, 0)), mode="edge")
        try:
            with outputs.translate_disk_full(self.path), signals.deferred():   # whole frames only
                self._gen.send(np.ascontiguousarray(f))
        except BaseException:
            self.abort()
            raise
        self.frames += 1

    def close(self) -> None:
        """Finish the file (and move it into place when atomic)."""
        if self._closed:
            return
        self._closed = True
        try:
            with outputs.translate_disk_full(self.path):
                self._gen.close()
        except BaseException:
            self._drop()
            raise
        if self._ctx is not None:
            self._ctx.__exit__(None, None, None)   # finalize: rename / write through
        else:
            outputs.note_written(self.path)

    def abort(self) -> None:
        """Stop writing and delete a temporary (atomic) file."""
        if self._closed:
            return
        self._closed = True
        ffmpeg_log = logging.getLogger("imageio_ffmpeg")
        quiet_level, ffmpeg_log.level = ffmpeg_log.level, logging.ERROR   # "no frames written": we know
        try:
            if self._gen is not None:
                self._kill_ffmpeg()
                self._gen.close()
        except Exception:  # noqa: BLE001 - ffmpeg already failed; the temporary goes anyway
            pass
        finally:
            ffmpeg_log.setLevel(quiet_level)
            self._drop()

    def _kill_ffmpeg(self) -> None:
        """The aborted file is deleted anyway: stop ffmpeg at once rather than closing its input, so a
        frame that a signal cut short is not reported by ffmpeg ("Error submitting packet to decoder")
        on the user's terminal. imageio-ffmpeg keeps the process in its generator's frame as ``p``."""
        frame = getattr(self._gen, "gi_frame", None)
        proc = frame.f_locals.get("p") if frame is not None else None
        if isinstance(proc, subprocess.Popen) and proc.poll() is None:
            proc.kill()
            proc.wait()

    def _drop(self) -> None:
        if self._ctx is not None:
            ctx, self._ctx = self._ctx, None
            ctx.__exit__(_Abort, _Abort(), None)   # the context's cleanup deletes and unregisters it

    def __enter__(self) -> "H264Writer":
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        if exc_type is None:
            self.close()
        else:
            self.abort()
