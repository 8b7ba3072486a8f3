"""Frame sources (webcam, video file, image folder, stream URL) and the capture thread.

A source's ``read()`` returns the next :class:`Frame`, None at the end of a finite stream, or
raises :class:`SourceError` when the device fails (the capture thread then backs off and calls
``reopen()``). Images are BGR uint8 HxWx3. ``Frame.captured_s`` is ``time.perf_counter()`` at the
moment the frame was grabbed: the start of the capture-to-output latency.

Spec strings (``webcam:N``, a URL, a video file, a folder of images, an image) are parsed and opened
by ``realtime.inputs.open_source``, the one home of input specs.
"""
from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterator, Protocol, Sequence

import numpy as np

from realtime.errors import InputError
from realtime.mailbox import Mailbox

log = logging.getLogger(__name__)


class SourceError(RuntimeError):
    """A live source failed to deliver a frame (camera unplugged, stream dropped)."""


@dataclass(frozen=True)
class Frame:
    """One captured frame.

    index: running number from 0 in capture order. image: BGR uint8 HxWx3.
    captured_s: perf_counter() seconds when grabbed. media_s: position in the media (seconds)
    for files (and frames since start / fps for live sources).
    """

    index: int
    image: np.ndarray
    captured_s: float
    media_s: float


class Source(Protocol):
    name: str
    fps: float
    live: bool  #: True for cameras/streams: frames must be taken as they come

    def read(self) -> Frame | None: ...
    def reopen(self) -> None: ...
    def close(self) -> None: ...


@dataclass
class SourceOptions:
    """How to open a source.

    width, height, fps: requested webcam mode (None: the camera's default). mjpg: ask the webcam
    for MJPG (many reach 30 fps at 720p only in MJPG). realtime: pace files/folders at their fps
    (False: as fast as they decode). loop: restart files/folders at the end. folder_fps: rate
    of an image folder or a single image. stream_timeout_s: how long a URL may take to open or to
    deliver a frame before it counts as dropped.
    """

    width: int | None = None
    height: int | None = None
    fps: float | None = None
    mjpg: bool = False
    realtime: bool = True
    loop: bool = False
    folder_fps: float = 30.0
    stream_timeout_s: float = 10.0


class _Pacer:
    """Sleeps so that frame i is released at start + i / fps (never early, never drifting)."""

    def __init__(self, fps: float, enabled: bool) -> None:
        self.period = 1.0 / fps
        self.enabled = enabled
        self.start: float | None = None

    def wait(self, i: int) -> None:
        if not self.enabled:
            return
        now = time.perf_counter()
        if self.start is None:
            self.start = now
            return
        due = self.start + i * self.period
        if due > now:
            time.sleep(due - now)
        elif now - due > 1.0:     # far behind (a pause, a slow consumer): re-anchor, do not burst
            self.start = now - i * self.period


class CvCaptureSource:
    """A webcam or stream opened with cv2.VideoCapture. Live: failed grabs raise SourceError."""

    live = True

    def __init__(self, target: int | str, options: SourceOptions | None = None) -> None:
        self.options = options or SourceOptions()
        self.target = target
        self.name = f"webcam:{target}" if isinstance(target, int) else str(target)
        self._cap = None
        self._index = 0
        self._t0: float | None = None
        self._open(first=True)

    def _open(self, first: bool = False) -> None:
        import cv2

        # OpenCV logs its own probing failures to stderr; our error below says it in one line
        level = cv2.getLogLevel()
        cv2.setLogLevel(0)  # 0: silent
        try:
            if isinstance(self.target, str):   # a stream: bounded waits, so a dead server reads as a drop
                ms = int(self.options.stream_timeout_s * 1000)
                cap = cv2.VideoCapture(self.target, cv2.CAP_FFMPEG,
                                       [cv2.CAP_PROP_OPEN_TIMEOUT_MSEC, ms, cv2.CAP_PROP_READ_TIMEOUT_MSEC, ms])
            else:
                cap = cv2.VideoCapture(self.target)
        finally:
            cv2.setLogLevel(level)
        if not cap.isOpened():
            cap.release()
            if isinstance(self.target, int):
                msg = (f"cannot open camera {self.target}: no such device or it is busy; check that a "
                       "camera is connected and not used by another program, try another index "
                       "(webcam:1), or use a video file as --source")
            else:
                msg = (f"cannot open stream {self.target!r}: check the URL and that the server is up; "
                       "expected something OpenCV/ffmpeg can open (rtsp://, http://...mjpg)")
            if first:
                raise InputError(msg)
            raise SourceError(msg)
        o = self.options
        if o.mjpg:
            cap.set(cv2.CAP_PROP_FOURCC, cv2.VideoWriter_fourcc(*"MJPG"))
        if o.width:
            cap.set(cv2.CAP_PROP_FRAME_WIDTH, o.width)
        if o.height:
            cap.set(cv2.CAP_PROP_FRAME_HEIGHT, o.height)
        if o.fps:
            cap.set(cv2.CAP_PROP_FPS, o.fps)
        cap.set(cv2.CAP_PROP_BUFFERSIZE, 1)  # keep the driver's queue short: we want the newest
        fps = float(cap.get(cv2.CAP_PROP_FPS) or 0.0)
        self.fps = fps if 0 < fps < 1000 else float(o.fps or 30.0)
        got = (int(cap.get(cv2.CAP_PROP_FRAME_WIDTH)), int(cap.get(cv2.CAP_PROP_FRAME_HEIGHT)))
        if o.width and o.height and got != (o.width, o.height):
            log.warning("%s: asked for %dx%d, the device gives %dx%d", self.name, o.width, o.height, *got)
        self._cap = cap

    def read(self) -> Frame | None:
        if self._cap is None:
            raise SourceError(f"{self.name} is not open")
        ok, img = self._cap.read()
        t = time.perf_counter()
        if not ok or img is None:
            raise SourceError(f"{self.name}: no frame (device unplugged or stream dropped)")
        self._t0 = t if self._t0 is None else self._t0
        f = Frame(self._index, img, t, t - self._t0)
        self._index += 1
        return f

    def reopen(self) -> None:
        self.close()
        self._open()

    def close(self) -> None:
        if self._cap is not None:
            self._cap.release()
            self._cap = None


class VideoFileSource:
    """A video file, paced at its own fps (``realtime``) or as fast as it decodes; ``loop`` repeats."""

    live = False

    def __init__(self, path: str | Path, options: SourceOptions | None = None) -> None:
        from realtime.media import VideoReader

        self.options = options or SourceOptions()
        self.path = Path(path)
        self.name = str(self.path)
        self._reader = VideoReader(self.path)  # InputError when missing/undecodable
        self.info = self._reader.info
        self.fps = self.info.fps
        self._it: Iterator | None = None
        self._index = 0
        self._pass_frames = 0
        self._pacer = _Pacer(self.fps, self.options.realtime)

    def read(self) -> Frame | None:
        if self._it is None:
            self._it = iter(self._reader)
        try:
            _, _, img = next(self._it)
        except StopIteration:
            if not self.options.loop or self._pass_frames == 0:
                return None
            self._reader.close()
            from realtime.media import VideoReader

            self._reader, self._pass_frames = VideoReader(self.path), 0
            self._it = iter(self._reader)
            _, _, img = next(self._it)
        self._pacer.wait(self._index)
        f = Frame(self._index, img, time.perf_counter(), self._index / self.fps)
        self._index += 1
        self._pass_frames += 1
        return f

    def reopen(self) -> None:
        raise SourceError(f"{self.name}: a file cannot be reopened after a read error")

    def close(self) -> None:
        self._reader.close()


class ImageSequenceSource:
    """Images (a folder's files in name order, or one image) shown at ``folder_fps``."""

    live = False

    def __init__(self, paths: Sequence[Path], options: SourceOptions | None = None, name: str = "") -> None:
        self.options = options or SourceOptions()
        self.paths = list(paths)
        self.name = name or str(self.paths[0].parent)
        self.fps = float(self.options.folder_fps)
        self._index = 0
        self._pacer = _Pacer(self.fps, self.options.realtime)
        self._cache: dict[int, np.ndarray] = {}

    def read(self) -> Frame | None:
        from realtime.media import read_image

        n = len(self.paths)
        if self._index >= n and not self.options.loop:
            return None
        k = self._index % n
        img = self._cache.get(k) if n == 1 else None
        if img is None:
            img = read_image(self.paths[k])
            if n == 1:
                self._cache[k] = img
        self._pacer.wait(self._index)
        f = Frame(self._index, img, time.perf_counter(), self._index / self.fps)
        self._index += 1
        return f

    def reopen(self) -> None:
        raise SourceError(f"{self.name}: a folder cannot be reopened after a read error")

    def close(self) -> None:
        self._cache.clear()


class ArraySource:
    """Frames from memory (tests, benchmarks): paced at ``fps`` when ``realtime``."""

    live = False

    def __init__(self, images: Sequence[np.ndarray], fps: float = 30.0, realtime: bool = False,
                 loop: bool = False, name: str = "arrays") -> None:
        if not len(images):
            raise InputError("ArraySource needs at least one image")
        self.images, self.fps, self.loop, self.name = list(images), float(fps), loop, name
        self._index = 0
        self._pacer = _Pacer(self.fps, realtime)

    def read(self) -> Frame | None:
        if self._index >= len(self.images) and not self.loop:
            return None
        img = self.images[self._index % len(self.images)]
        self._pacer.wait(self._index)
        f = Frame(self._index, img, time.perf_counter(), self._index / self.fps)
        self._index += 1
        return f

    def reopen(self) -> None:
        pass

    def close(self) -> None:
        pass


@dataclass
class CaptureOptions:
    """Reconnection policy of the capture thread: waits double from backoff_s up to max_backoff_s;
    after ``max_retries`` failed reopen attempts in a row the capture ends with an error."""

    backoff_s: float = 0.1
    max_backoff_s: float = 2.0
    max_retries: int = 5


class CaptureThread:
    """Grabs frames from a source into a mailbox; nothing else happens on this thread.

    ``lossless`` makes the hand-off wait for the consumer (offline runs); otherwise the newest
    frame overwrites an untaken one. On a SourceError it backs off and reopens; when the source
    ends or gives up, the mailbox is closed. ``error`` holds the final failure (or None).
    """

    def __init__(self, source: Source, out: Mailbox[Frame], stop: threading.Event,
                 options: CaptureOptions | None = None, lossless: bool = False,
                 max_frames: int | None = None, on_frame: Callable[[Frame], None] | None = None) -> None:
        self.source, self.out, self.stop_event = source, out, stop
        self.options = options or CaptureOptions()
        self.lossless, self.max_frames, self.on_frame = lossless, max_frames, on_frame
        self.error: BaseException | None = None
        self.reconnects = 0
        self.frames = 0
        self._thread = threading.Thread(target=self._run, name="capture", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def join(self, timeout: float | None = None) -> None:
        self._thread.join(timeout)

    def is_alive(self) -> bool:
        return self._thread.is_alive()

    def _backoff(self, failures: int) -> float:
        return min(self.options.backoff_s * (2 ** (failures - 1)), self.options.max_backoff_s)

    def _reconnect(self, cause: BaseException) -> bool:
        """Back off and reopen until it works (True) or retries run out / stop is asked (False)."""
        for attempt in range(1, self.options.max_retries + 1):
            wait = self._backoff(attempt)
            log.warning("%s: %s; reconnecting in %.1f s (attempt %d/%d)", self.source.name, cause, wait,
                        attempt, self.options.max_retries)
            if self.stop_event.wait(wait):
                return False
            try:
                self.source.reopen()
                self.reconnects += 1
                log.info("%s: reconnected", self.source.name)
                return True
            except (SourceError, OSError, InputError) as e:
                cause = e
        self.error = SourceError(f"{self.source.name}: gave up after {self.options.max_retries} "
                                 f"reconnection attempts: {cause}")
        return False

    def _run(self) -> None:
        try:
            while not self.stop_event.is_set():
                if self.max_frames is not None and self.frames >= self.max_frames:
                    break
                try:
                    frame = self.source.read()
                except SourceError as e:
                    if self._reconnect(e):
                        continue
                    break
                if frame is None:
                    break
                self.frames += 1
                if self.on_frame is not None:
                    self.on_frame(frame)
                if self.lossless:
                    while not self.out.put(frame, block=True, timeout=0.2):
                        if self.out.closed or self.stop_event.is_set():
                            return
                else:
                    self.out.put(frame)
        except Exception as e:  # noqa: BLE001 - reported by the pipeline with the stage name
            self.error = e
        finally:
            self.out.close()
