"""File sinks: an H.264 mp4, numbered PNGs, and a null sink."""
from __future__ import annotations

import logging
import os
import threading
from pathlib import Path

import numpy as np

from realtime import outputs
from realtime.errors import InputError
from realtime.outputs import write_image

log = logging.getLogger(__name__)


class Mp4Sink:
    """H.264 mp4 through ``realtime.videoio.H264Writer`` (imageio-ffmpeg's ffmpeg, fragmented MP4).

    Frames go to a temporary file beside PATH, renamed onto PATH when ``close()`` finalizes it
    (Ctrl-C included: the pipeline closes sinks on SIGINT/SIGTERM, and imageio-ffmpeg starts
    ffmpeg in its own process group so the terminal's Ctrl-C does not cut it short; the file is
    fragmented, so even a killed run leaves a playable temporary file). After a failed run the
    recording is kept as ``NAME.incomplete.mp4`` instead, never under the final name (an empty one
    is deleted). The path is checked before the run (``realtime.outputs.check_output``); the
    x264 preset is ``options.file_preset`` with ``-tune zerolatency`` (real time on a CPU).
    """

    paced = False

    def __init__(self, arg: str, width: int, height: int, fps: float, options, controls) -> None:
        from realtime.videoio import H264Writer

        self.name = f"file:{arg}"
        self.path = Path(arg)
        if self.path.suffix.lower() not in (".mp4", ".m4v", ".mov"):
            raise InputError(f"file output {arg!r}: expected a path ending in .mp4 (H.264 video)")
        outputs.check_output(arg, "--output file:")
        self._tmp = outputs.temporary_for(self.path, ".mp4")   # symlinks/devices: written through
        preset = getattr(options, "file_preset", None)
        try:
            self._writer = H264Writer(self._tmp, fps, (width, height), atomic=False,
                                      quality=options.file_quality, preset=preset, realtime=bool(preset))
        except BaseException:
            self._tmp.unlink(missing_ok=True)
            outputs.forget_temporary(self._tmp)
            raise
        self.fps = float(fps)
        self.max_gap_s = 10.0
        self._t0: float | None = None
        self._last: np.ndarray | None = None
        # close() may come from another thread while a write waits on a slow ffmpeg: it stops the
        # writes between frames and waits for the one in flight instead of closing under it
        self._lock = threading.Lock()
        self._closing = self._closed = False

    @property
    def frames(self) -> int:
        return self._writer.frames

    def send(self, frame_bgr: np.ndarray) -> None:
        """Append one frame (offline runs: every frame, 1/fps apart)."""
        with self._lock:
            if not self._closing:
                self._writer.write(frame_bgr)
                self._last = frame_bgr

    def send_at(self, frame_bgr: np.ndarray, t_s: float) -> None:
        """Place a frame at time t (seconds, any clock; live runs): the previous frame is repeated to
        fill a gap, and a frame that arrives before its slot is dropped, so the video keeps real time.
        Gaps longer than ``max_gap_s`` (a stalled run) are shortened to that."""
        if self._t0 is None:
            self._t0 = t_s
        slot = int(round((t_s - self._t0) * self.fps))
        if slot < self.frames:
            return
        repeats = min(slot - self.frames, int(self.max_gap_s * self.fps))
        if self._last is not None:
            for _ in range(repeats):
                with self._lock:
                    if self._closing:
                        return
                    self._writer.write(self._last)
        if repeats < slot - self.frames:       # a long stall: shift the clock rather than fill it all
            self._t0 += (slot - self.frames - repeats) / self.fps
        self.send(frame_bgr)

    def close(self, ok: bool = True) -> None:
        self._closing = True
        with self._lock:   # the frame in flight, if any, finishes first
            if not self._closed:
                self._closed = True
                self._close(ok)

    def _close(self, ok: bool) -> None:
        failed = None
        try:
            self._writer.close()  # flushes and waits for ffmpeg to finish the file
        except Exception as e:   # noqa: BLE001 - e.g. disk full: keep nothing empty, then report
            failed, ok = e, False
        finally:
            outputs.forget_temporary(self._tmp)
            size = self._tmp.stat().st_size if self._tmp.exists() else 0
            if self.frames == 0 or size == 0:
                self._tmp.unlink(missing_ok=True)
                if failed is None:
                    log.warning("%s: no frames were rendered; no file written", self.name)
            elif ok:
                outputs.finalize(self._tmp, self.path)
                log.info("%s: %d frames written", self.name, self.frames)
            else:
                dst = outputs.real_target(self.path)
                dst = dst.with_name(f"{dst.stem}.incomplete{dst.suffix}")
                os.chmod(self._tmp, outputs.default_file_mode())
                os.replace(self._tmp, dst)
                log.warning("run failed: the recording so far is in %s", dst)
        if failed is not None:
            raise failed


class FramesSink:
    """Numbered PNGs ``DIR/frame_000000.png``, each written atomically."""

    paced = False

    def __init__(self, arg: str, width: int, height: int, fps: float, options, controls) -> None:
        self.name = f"frames:{arg}"
        self.dir = Path(arg)
        outputs.check_output(arg, "--output frames:", folder=True)
        outputs.make_folder(self.dir, "--output frames:")
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
