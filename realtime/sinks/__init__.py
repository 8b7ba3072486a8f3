"""Where rendered frames go. Several sinks can run at once, each on its own thread.

A sink is made for a fixed frame size and rate, then gets BGR uint8 HxWx3 frames through
``send(frame)``; ``close()`` is called exactly once and finalizes files. Spec strings:

- ``virtualcam``: a virtual camera via pyvirtualcam (v4l2loopback, OBS Virtual Camera)
- ``window``: an OpenCV preview window with hotkeys (q quit, m mirror, o overlay, s snapshot, c recalibrate)
- ``file:PATH``: an H.264 mp4 (imageio-ffmpeg)
- ``mjpeg:PORT``: MJPEG over HTTP on 127.0.0.1 (``mjpeg:HOST:PORT`` to choose the address)
- ``frames:DIR``: numbered PNG files
- ``null``: discard (benchmarks)
"""
from __future__ import annotations

import importlib
import threading
from dataclasses import dataclass, field
from typing import Callable, Protocol

import numpy as np

from realtime.errors import InputError


class Sink(Protocol):
    name: str
    #: True when send() may block on purpose to pace output (virtual camera frame timer)
    paced: bool

    def send(self, frame_bgr: np.ndarray) -> None: ...
    def close(self, ok: bool = True) -> None: ...


@dataclass
class Controls:
    """Switches shared between the window's hotkeys and the pipeline (plain flags, thread-safe enough
    for booleans; the events carry one-shot requests)."""

    mirror: bool = False
    overlay: bool = True
    quit: threading.Event = field(default_factory=threading.Event)
    snapshot: threading.Event = field(default_factory=threading.Event)
    recalibrate: threading.Event = field(default_factory=threading.Event)


@dataclass
class SinkOptions:
    """Options for every kind of sink (each uses its own).

    vcam_device/vcam_backend: pyvirtualcam device and backend (None: first available).
    vcam_format: pixel format sent to the virtual camera: bgr, rgb, i420 or gray.
    mjpeg_quality: JPEG quality 1-100. file_quality: H.264 quality 0-10 (imageio-ffmpeg's scale).
    allow_remote: let the MJPEG server bind a non-loopback address (then it needs its token).
    file_preset: x264 preset of live recordings (``ultrafast`` + ``-tune zerolatency``: the encoder
    never starves the pose and render threads on a busy CPU; None: ffmpeg's default ``medium``).
    """

    vcam_device: str | None = None
    vcam_backend: str | None = None
    vcam_format: str = "bgr"
    mjpeg_host: str = "127.0.0.1"
    mjpeg_quality: int = 80
    file_quality: float = 7.0
    file_preset: str | None = "ultrafast"
    allow_remote: bool = False
    window_title: str = "repose"
    snapshot_dir: str = "."


# kind -> "module:factory"; a factory takes (arg, width, height, fps, options, controls).
SINKS: dict[str, str] = {
    "virtualcam": "realtime.sinks.virtualcam:VirtualCamSink",
    "window": "realtime.sinks.window:WindowSink",
    "file": "realtime.sinks.files:Mp4Sink",
    "frames": "realtime.sinks.files:FramesSink",
    "mjpeg": "realtime.sinks.mjpeg:MjpegSink",
    "null": "realtime.sinks.files:NullSink",
}
NEEDS_ARG = {"file": "file:PATH (e.g. file:out.mp4)", "frames": "frames:DIR (e.g. frames:out/)",
             "mjpeg": "mjpeg:PORT (e.g. mjpeg:8080)"}


def parse_sink_spec(spec: str) -> tuple[str, str]:
    """``"file:out.mp4"`` -> ("file", "out.mp4"); InputError for unknown kinds or missing arguments."""
    kind, _, arg = spec.partition(":")
    kind = kind.strip().lower()
    if kind not in SINKS:
        raise InputError(f"unknown output {spec!r}: expected virtualcam, window, file:PATH, mjpeg:PORT, "
                         "frames:DIR or null")
    if kind in NEEDS_ARG and not arg:
        raise InputError(f"output {spec!r} needs an argument: {NEEDS_ARG[kind]}")
    return kind, arg


def create_sink(spec: str, width: int, height: int, fps: float, options: SinkOptions | None = None,
                controls: Controls | None = None) -> Sink:
    """Open the sink a spec names, for frames of width x height pixels at about ``fps``."""
    kind, arg = parse_sink_spec(spec)
    module, _, attr = SINKS[kind].partition(":")
    factory: Callable[..., Sink] = getattr(importlib.import_module(module), attr)
    return factory(arg, width, height, fps, options or SinkOptions(), controls or Controls())
