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
import re
import sys
import threading
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
    if _verbose or _filter_active:   # a StderrFilter drops the noise without racing its threads
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


#: Lines that third-party C/C++ code writes to fd 2 and the filter drops (when not verbose).
NOISE = re.compile(
    r"^(INFO: (Created TensorFlow Lite|Initialized TensorFlow Lite)"
    r"|[IWE]\d{4} [\d:.]+ +\d+ \S+:\d+\] "                     # absl / glog lines
    r"|WARNING: All log messages before absl::InitializeLog\(\)"
    r"|\[[\w,\s./-]+ @ 0x[0-9a-f]+\] "                                      # ffmpeg's av_log
    r"|\[ *(WARN|INFO|DEBUG|ERROR):\d+@"                                    # OpenCV's log
    r"|WARNING: Logging before InitGoogleLogging\(\))")


_SENTINEL = b"\n\x00repose-stderr-filter-end\x00\n"
_filter_active = False


class StderrFilter:
    """Route fd 2 through a pipe and drop ``NOISE`` lines (whatever thread or library writes them).

    MediaPipe writes its start-up lines from graph threads, so switching fd 2 around calls races
    with them (half a line escapes); a filter on the fd does not. ``close()`` forwards what is
    pending and restores fd 2; use it as a context manager around a whole command.
    """

    def __init__(self) -> None:
        self._saved: int | None = None
        self._thread: threading.Thread | None = None

    def __enter__(self) -> "StderrFilter":
        global _filter_active
        if _verbose or _filter_active:
            return self
        fd = 2   # what C/C++ code writes to, whatever sys.stderr is
        with contextlib.suppress(Exception):
            sys.stderr.flush()
        try:
            os.fstat(fd)
        except OSError:
            return self
        r, self._w = os.pipe()
        self._fd, self._saved = fd, os.dup(fd)
        os.dup2(self._w, fd)
        self._thread = threading.Thread(target=self._pump, args=(r, self._saved), name="stderr-filter",
                                        daemon=True)
        self._thread.start()
        _filter_active = True
        return self

    @staticmethod
    def _forward(out: int, line: bytes) -> None:
        if not NOISE.match(line.decode("utf-8", "replace")):
            with contextlib.suppress(OSError):
                os.write(out, line)

    @classmethod
    def _pump(cls, r: int, out: int) -> None:
        buf = b""
        while True:
            try:
                chunk = os.read(r, 65536)
            except OSError:
                break
            if not chunk:
                break
            buf += chunk
            end = buf.find(_SENTINEL)
            if end >= 0:
                buf = buf[:end]
                break
            *lines, buf = buf.split(b"\n")
            for line in lines:
                cls._forward(out, line + b"\n")
        for line in buf.split(b"\n"):
            if line:
                cls._forward(out, line + b"\n")
        os.close(r)

    def close(self) -> None:
        global _filter_active
        if self._saved is None:
            return
        with contextlib.suppress(Exception):
            sys.stderr.flush()
        saved, self._saved = self._saved, None
        os.dup2(saved, self._fd)           # new writes go straight to the terminal again
        with contextlib.suppress(OSError):
            os.write(self._w, _SENTINEL)   # everything before it is forwarded, then the pump ends
        if self._thread is not None:
            self._thread.join(5.0)
        os.close(self._w)
        os.close(saved)
        _filter_active = False

    def __exit__(self, *exc) -> None:
        self.close()
