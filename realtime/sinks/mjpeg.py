"""MJPEG over HTTP: a browser, VLC or an OBS Browser/Media source can watch the output.

Endpoints: ``/`` (a page showing the stream), ``/stream.mjpg`` (multipart/x-mixed-replace),
``/frame.jpg`` (the latest frame). Requests pass ``realtime.websafety.WebGuard`` first: the Host
must name the bound address or localhost; a non-loopback ``mjpeg_host`` needs ``allow_remote``
and then the token printed at start (``?token=``, as in the OBS source URL). Every viewer has its own server thread that sends the newest
frame whenever one is ready and skips the ones it was too slow for; ``send()`` only swaps a
reference and notifies, so a slow or stalled viewer never slows the pipeline. JPEG encoding
happens once per frame, on the first viewer thread that needs it (nothing when nobody watches).
"""
from __future__ import annotations

import http.server
import logging
import socket
import threading

import numpy as np

from realtime.errors import InputError
from realtime.websafety import WebGuard

log = logging.getLogger(__name__)
BOUNDARY = "reposeframe"
PAGE = ("<!doctype html><title>repose</title><body style='margin:0;background:#000'>"
        "<img src='/stream.mjpg{query}' style='max-width:100vw;max-height:100vh;display:block;margin:auto'>")


class _Hub:
    """The latest frame, its JPEG (encoded on demand) and a condition viewers wait on."""

    def __init__(self, quality: int) -> None:
        self.cond = threading.Condition()
        self.quality = quality
        self.version = 0
        self.frame: np.ndarray | None = None
        self._jpeg: tuple[int, bytes] | None = None
        self.closed = False
        self.viewers = 0
        self.sent = 0

    def publish(self, frame: np.ndarray) -> None:
        with self.cond:
            self.frame, self.version = frame, self.version + 1
            self.cond.notify_all()

    def wait_newer(self, version: int, timeout: float = 1.0) -> tuple[int, bytes] | None:
        """The JPEG of a frame newer than ``version`` (waits up to timeout), None when closed/none."""
        with self.cond:
            if not self.closed and self.version <= version:
                self.cond.wait(timeout)
            if self.closed or self.frame is None or self.version <= version:
                return None
            v, frame = self.version, self.frame
            cached = self._jpeg
        if cached is not None and cached[0] == v:
            return cached
        import cv2

        ok, buf = cv2.imencode(".jpg", frame, [cv2.IMWRITE_JPEG_QUALITY, self.quality])
        if not ok:
            raise ValueError("JPEG encoding failed")
        out = (v, buf.tobytes())
        with self.cond:
            if self._jpeg is None or self._jpeg[0] < v:
                self._jpeg = out
        return out


def _handler(hub: _Hub, guard: WebGuard) -> type[http.server.BaseHTTPRequestHandler]:
    class Handler(http.server.BaseHTTPRequestHandler):
        timeout = 10.0  # a viewer that stops reading for this long is dropped
        protocol_version = "HTTP/1.0"

        def log_message(self, fmt: str, *args) -> None:
            log.debug("mjpeg %s: " + fmt, self.client_address[0], *args)

        def _refused(self, query: str) -> bool:
            from http.cookies import SimpleCookie

            cookies = {k: m.value for k, m in SimpleCookie(self.headers.get("Cookie", "")).items()}
            refused = guard.check(self.command, query, self.headers, cookies)
            if refused:
                self._reply(refused[0], "text/plain", (refused[1] + "\n").encode())
            return refused is not None

        def do_POST(self) -> None:  # noqa: N802 - nothing here changes state
            if not self._refused(self.path.partition("?")[2]):
                self._reply(405, "text/plain", b"method not allowed: GET / or /stream.mjpg\n")

        def do_GET(self) -> None:  # noqa: N802 - http.server's naming
            path, _, query = self.path.partition("?")
            if self._refused(query):
                return
            if path == "/":
                token = f"?token={guard.token}" if guard.token else ""
                self._reply(200, "text/html", PAGE.format(query=token).encode())
            elif path == "/frame.jpg":
                got = hub.wait_newer(0, timeout=5.0)
                if got is None:
                    self._reply(503, "text/plain", b"no frame yet\n")
                else:
                    self._reply(200, "image/jpeg", got[1])
            elif path in ("/stream.mjpg", "/stream"):
                self._stream()
            else:
                self._reply(404, "text/plain", b"not found: try / or /stream.mjpg\n")

        def _reply(self, code: int, ctype: str, body: bytes) -> None:
            self.send_response(code)
            self.send_header("Content-Type", ctype)
            self.send_header("Content-Length", str(len(body)))
            self.send_header("Cache-Control", "no-cache")
            self.end_headers()
            self.wfile.write(body)

        def _stream(self) -> None:
            self.send_response(200)
            self.send_header("Content-Type", f"multipart/x-mixed-replace; boundary={BOUNDARY}")
            self.send_header("Cache-Control", "no-cache, private")
            self.send_header("Pragma", "no-cache")
            self.end_headers()
            with hub.cond:
                hub.viewers += 1
            version = 0
            try:
                while not hub.closed:
                    got = hub.wait_newer(version)
                    if got is None:
                        continue
                    version, jpeg = got
                    self.wfile.write(f"--{BOUNDARY}\r\nContent-Type: image/jpeg\r\n"
                                     f"Content-Length: {len(jpeg)}\r\n\r\n".encode() + jpeg + b"\r\n")
                    self.wfile.flush()
                    hub.sent += 1
            except (ConnectionError, socket.timeout, OSError) as e:
                log.debug("mjpeg viewer %s left: %s", self.client_address[0], e)
            finally:
                with hub.cond:
                    hub.viewers -= 1

    return Handler


class _Server(http.server.ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True


class MjpegSink:
    """Serves the output as MJPEG on http://HOST:PORT/ (127.0.0.1 unless ``mjpeg:HOST:PORT``).

    Port 0 picks a free port (see ``.port``).
    """

    paced = False

    def __init__(self, arg: str, width: int, height: int, fps: float, options, controls) -> None:
        host, _, port_s = arg.rpartition(":")
        host = (host or options.mjpeg_host).strip("[]")
        if not port_s.isdigit() or not 0 <= int(port_s) < 65536:
            raise InputError(f"mjpeg output {arg!r}: expected mjpeg:PORT with PORT a number 1-65535, "
                             "e.g. mjpeg:8080")
        self.guard = WebGuard(host, allow_remote=getattr(options, "allow_remote", False), flag="mjpeg host")
        self.hub = _Hub(options.mjpeg_quality)
        try:
            self._server = _Server((host, int(port_s)), _handler(self.hub, self.guard))
        except OSError as e:
            raise InputError(f"mjpeg output: cannot listen on {host}:{port_s} ({e.strerror}); pick another "
                             "port with mjpeg:PORT") from e
        self.host, self.port = host, self._server.server_address[1]
        self.name = f"mjpeg:{self.port}"
        self.url = self.guard.url(self.port)
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.2},
                                        name=f"mjpeg-{self.port}", daemon=True)
        self._thread.start()
        log.warning("MJPEG stream: %s (OBS Media/Browser source: %s)", self.url,
                    self.guard.url(self.port, "/stream.mjpg"))

    @property
    def viewers(self) -> int:
        return self.hub.viewers

    def send(self, frame_bgr: np.ndarray) -> None:
        self.hub.publish(frame_bgr)

    def close(self, ok: bool = True) -> None:
        with self.hub.cond:
            self.hub.closed = True
            self.hub.cond.notify_all()
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(2.0)
