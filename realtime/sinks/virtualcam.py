"""Virtual camera output through pyvirtualcam (v4l2loopback on Linux, OBS Virtual Camera on
Windows and macOS), paced by pyvirtualcam's frame timer so apps see a steady rate."""
from __future__ import annotations

import logging
import platform

import numpy as np

from realtime.errors import InputError

log = logging.getLogger(__name__)

# our format name -> (pyvirtualcam PixelFormat name, cv2 conversion code name or None)
FORMATS: dict[str, tuple[str, str | None]] = {
    "bgr": ("BGR", None),
    "rgb": ("RGB", "COLOR_BGR2RGB"),
    "i420": ("I420", "COLOR_BGR2YUV_I420"),
    "gray": ("GRAY", "COLOR_BGR2GRAY"),
}

HOW_TO = {
    "Linux": ("install v4l2loopback and load it: sudo apt install v4l2loopback-dkms && sudo modprobe "
              "v4l2loopback devices=1 exclusive_caps=1 card_label=repose"),
    "Windows": "install OBS Studio (28 or newer) and start its Virtual Camera once (or install Unity Capture)",
    "Darwin": "install OBS Studio (28 or newer) and start its Virtual Camera once",
}


def no_device_message(cause: str) -> str:
    """The one-line error when no virtual camera can be opened, with the fix for this OS."""
    how = HOW_TO.get(platform.system(), "install a virtual camera (v4l2loopback on Linux, OBS on Windows/macOS)")
    cause = " ".join(str(cause).split())
    return (f"no virtual camera available ({cause}). To get one, {how}. Or use another output: "
            "--output window, --output mjpeg:8080 (for an OBS Browser source), --output file:out.mp4")


class VirtualCamSink:
    """Sends frames to a virtual camera. ``options.vcam_device``/``vcam_backend`` pick one;
    ``vcam_format`` is the pixel format handed over (bgr, rgb, i420, gray)."""

    paced = True

    def __init__(self, arg: str, width: int, height: int, fps: float, options, controls) -> None:
        import cv2
        import pyvirtualcam

        fmt = options.vcam_format.lower()
        if fmt not in FORMATS:
            raise InputError(f"virtual camera pixel format {options.vcam_format!r}: expected one of "
                             f"{', '.join(FORMATS)}")
        pv_name, conv = FORMATS[fmt]
        self._conv = getattr(cv2, conv) if conv else None
        self._cv2 = cv2
        if width % 2 or height % 2:
            raise InputError(f"virtual camera needs even frame sizes, got {width}x{height}; "
                             "use --output-size WxH (e.g. 1280x720)")
        backend = options.vcam_backend or None
        if backend and backend not in pyvirtualcam.camera.BACKENDS:
            raise InputError(f"virtual camera backend {backend!r}: expected one of "
                             f"{', '.join(pyvirtualcam.camera.BACKENDS) or '(none on this system)'}")
        try:
            self.cam = pyvirtualcam.Camera(width=width, height=height, fps=fps,
                                           fmt=getattr(pyvirtualcam.PixelFormat, pv_name),
                                           device=options.vcam_device, backend=backend)
        except RuntimeError as e:
            raise InputError(no_device_message(str(e) or "no backend")) from e
        self.name = f"virtualcam:{self.cam.device}"
        self.width, self.height = width, height
        log.warning("virtual camera: %s (%s, %dx%d @ %.3g fps, %s)", self.cam.device, self.cam.backend,
                    width, height, fps, fmt)

    def send(self, frame_bgr: np.ndarray) -> None:
        if frame_bgr.shape[:2] != (self.height, self.width):
            raise ValueError(f"{self.name}: expected {self.width}x{self.height} frames, got "
                             f"{frame_bgr.shape[1]}x{frame_bgr.shape[0]}")
        out = frame_bgr if self._conv is None else self._cv2.cvtColor(frame_bgr, self._conv)
        self.cam.send(out)
        self.cam.sleep_until_next_frame()

    @property
    def frames(self) -> int:
        return self.cam.frames_sent

    def close(self, ok: bool = True) -> None:
        self.cam.close()
