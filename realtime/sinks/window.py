"""A preview window (cv2.imshow) with hotkeys: q/Esc quit, m mirror, o overlay on/off,
s snapshot (PNG in the snapshot folder), c recalibrate (when calibration is wired in)."""
from __future__ import annotations

import logging
import os
import platform
import time
from pathlib import Path

import numpy as np

from realtime.errors import InputError
from realtime.fileio import write_image

log = logging.getLogger(__name__)

HOTKEYS = {"q": "quit", "\x1b": "quit", "m": "mirror", "o": "overlay", "s": "snapshot", "c": "recalibrate"}


def has_display() -> bool:
    """Whether a window can be shown (Linux needs an X11 or Wayland display)."""
    if platform.system() != "Linux":
        return True
    return bool(os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))


class WindowSink:
    """Shows frames in a window and reads its hotkeys. ``main_thread``: the pipeline drives it from
    the thread that runs ``Pipeline.wait()`` (HighGUI on macOS works only on the main thread)."""

    paced = False
    main_thread = True

    def __init__(self, arg: str, width: int, height: int, fps: float, options, controls,
                 check_display: bool = True) -> None:
        if check_display and not has_display():
            raise InputError("--output window needs a display (none: DISPLAY is unset); use "
                             "--output mjpeg:8080 and open http://127.0.0.1:8080/ in a browser, or --output file:out.mp4")
        self.name = "window"
        self.title = arg or options.window_title
        self.controls = controls
        self.snapshot_dir = Path(options.snapshot_dir)
        self.frames = 0
        self.last: np.ndarray | None = None
        self._cv2 = None

    def handle_key(self, key: int) -> str | None:
        """Apply one key code (cv2.waitKey's value); returns the action taken or None."""
        if key < 0:
            return None
        action = HOTKEYS.get(chr(key & 0xFF).lower())
        c = self.controls
        if action == "quit":
            c.quit.set()
        elif action == "mirror":
            c.mirror = not c.mirror
            log.warning("mirror %s", "on" if c.mirror else "off")
        elif action == "overlay":
            c.overlay = not c.overlay
        elif action == "snapshot":
            self.snapshot()
        elif action == "recalibrate":
            c.recalibrate.set()
        return action

    def snapshot(self) -> Path | None:
        """Save the frame on screen as snapshot_<time>.png; returns the path."""
        if self.last is None:
            return None
        path = self.snapshot_dir / f"snapshot_{time.strftime('%Y%m%d_%H%M%S')}_{self.frames:06d}.png"
        write_image(path, self.last)
        log.warning("snapshot: %s", path)
        return path

    def send(self, frame_bgr: np.ndarray) -> None:
        if self._cv2 is None:
            import cv2

            self._cv2 = cv2
            cv2.namedWindow(self.title, cv2.WINDOW_NORMAL)
        self.last = frame_bgr
        self._cv2.imshow(self.title, frame_bgr)
        self.frames += 1
        self.handle_key(self._cv2.waitKey(1))

    def idle(self) -> None:
        """Keep the window responsive and read keys while no new frame is ready."""
        if self._cv2 is not None:
            self.handle_key(self._cv2.waitKey(1))

    def close(self, ok: bool = True) -> None:
        if self._cv2 is not None:
            self._cv2.destroyWindow(self.title)
            self._cv2.waitKey(1)
