"""Third-party log noise off by default, on with ``repose -v``.

MediaPipe (absl/glog, TensorFlow Lite's "Created TensorFlow Lite XNNPACK delegate"), OpenCV's own
log and the ffmpeg inside OpenCV ("moov atom not found", "Invalid NAL unit size") write straight
to the process's stderr. ``configure(verbose)`` sets their log levels through the environment
variables they read on first use (so it must run before they are used: the CLI calls it first);
``native_stderr_silenced()`` hides the C++ lines that no level controls (MediaPipe's start-up
notices) for a block, unless verbose.
"""
from __future__ import annotations

import contextlib
import os
import sys
from typing import Iterator

_verbose = False

#: environment variable -> value when quiet (each library reads it at its first use)
QUIET_ENV = {
    "GLOG_minloglevel": "2",          # glog: errors only
    "TF_CPP_MIN_LOG_LEVEL": "3",      # TensorFlow (Lite) C++: nothing below FATAL
    "OPENCV_LOG_LEVEL": "ERROR",      # OpenCV's own log
    "OPENCV_FFMPEG_LOGLEVEL": "-8",   # av_log level of OpenCV's ffmpeg (AV_LOG_QUIET)
    "OPENCV_VIDEOIO_DEBUG": "0",
}


def verbose() -> bool:
    return _verbose


def configure(is_verbose: bool = False) -> None:
    """Quiet (default) or verbose third-party logging for this process."""
    global _verbose
    _verbose = bool(is_verbose)
    if _verbose:
        return
    for key, value in QUIET_ENV.items():
        os.environ.setdefault(key, value)
    if "cv2" in sys.modules:   # already imported: set its level directly too
        with contextlib.suppress(Exception):
            cv2 = sys.modules["cv2"]
            cv2.utils.logging.setLogLevel(cv2.utils.logging.LOG_LEVEL_ERROR)
    if "absl.logging" in sys.modules:
        with contextlib.suppress(Exception):
            sys.modules["absl.logging"].set_verbosity("error")


@contextlib.contextmanager
def native_stderr_silenced() -> Iterator[None]:
    """Silence C++-level stderr for the block (nothing when verbose or stderr is not a real fd).

    Python-level errors are raised, not printed, so nothing useful is lost.
    """
    if _verbose:
        yield
        return
    try:
        fd = sys.stderr.fileno()
    except (AttributeError, ValueError, OSError):  # no real stderr (e.g. captured): nothing to do
        yield
        return
    sys.stderr.flush()
    saved = os.dup(fd)
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, fd)
        yield
    finally:
        os.dup2(saved, fd)
        os.close(saved)
        os.close(devnull)
