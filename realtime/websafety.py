"""One request-safety model for every web surface (the pose editor and the MJPEG sink).

- Binding: a loopback address (127.0.0.1, ::1, localhost) by default; any other address needs an
  explicit ``allow_remote`` (``--allow-remote``), and then a per-run token is made.
- Host: the Host header must name the bound address or a loopback name (a DNS-rebinding page
  names its own host and is refused). A wildcard bind (0.0.0.0, ::) takes any name: the token guards it.
- Token (remote binds only): every request carries it as ``?token=T``, an ``X-Repose-Token`` header
  or the ``repose_token`` cookie that a request with a right ``?token=`` sets (so a page's own
  requests and an OBS Browser/Media source URL with ``?token=T`` work).
- State-changing requests (POST, PUT, PATCH, DELETE; multipart uploads included) need an ``Origin``
  (or, without one, a ``Referer``) naming the same host and port as the Host header: a cross-site
  page cannot make the server work for it.

``WebGuard.check(...)`` answers None (serve) or (status, message); servers call it first.
"""
from __future__ import annotations

import errno
import hmac
import ipaddress
import secrets
import socket
from typing import Mapping
from urllib.parse import parse_qs, urlsplit

from realtime.errors import InputError

STATE_CHANGING = frozenset({"POST", "PUT", "PATCH", "DELETE"})
TOKEN_HEADER = "X-Repose-Token"
TOKEN_COOKIE = "repose_token"
WILDCARDS = frozenset({"0.0.0.0", "::", ""})


def host_name(host: str) -> str:
    """The name part of a Host header: ``"[::1]:8765"`` -> ``"::1"``, ``"localhost:80"`` -> ``"localhost"``."""
    host = host.strip().lower()
    if host.startswith("["):
        return host[1:].partition("]")[0]
    return host.rpartition(":")[0] if host.count(":") == 1 else host


def is_loopback(host: str) -> bool:
    """True for ``localhost`` and loopback IP addresses (127.0.0.0/8, ::1), brackets allowed."""
    h = host.strip().lower().strip("[]")
    if h == "localhost" or h.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(h).is_loopback
    except ValueError:
        return False


def check_bind(host: str, allow_remote: bool, flag: str = "--host") -> None:
    """InputError (one line) for a non-loopback bind without ``--allow-remote``."""
    if not is_loopback(host) and not allow_remote:
        raise InputError(f"{flag} {host} would let other machines connect; pass --allow-remote as well "
                         "if you mean it (a token is then required), or use 127.0.0.1")


def probe_port(host: str, port: int, flag: str = "--port") -> None:
    """InputError (one line) when (host, port) cannot be bound (busy, no such address, privileged)."""
    if port == 0:
        return
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    try:
        with socket.socket(family, socket.SOCK_STREAM) as s:
            s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            s.bind((host, port))
    except OSError as e:
        why = "already in use" if e.errno == errno.EADDRINUSE else (e.strerror or str(e))
        raise InputError(f"{flag} {port}: cannot listen on {host}:{port} ({why}); choose another port "
                         "(0 picks a free one)") from None


def _netloc(url: str) -> str | None:
    try:
        parts = urlsplit(url)
    except ValueError:
        return None
    return parts.netloc.lower() if parts.scheme in ("http", "https") and parts.netloc else None


class WebGuard:
    """The checks of the module docstring for one server bound to ``host``."""

    def __init__(self, host: str, allow_remote: bool = False, token: str | None = None,
                 flag: str = "--host") -> None:
        check_bind(host, allow_remote, flag)
        self.host = host.strip().lower().strip("[]")
        self.remote = not is_loopback(self.host)
        self.token = (token or secrets.token_urlsafe(18)) if self.remote else None

    # -- the checks -----------------------------------------------------------------------------
    def host_ok(self, host_header: str | None) -> bool:
        if not host_header:
            return False
        name = host_name(host_header)
        if is_loopback(name):
            return True
        if self.host in WILDCARDS:
            return self.remote
        return name == self.host

    def token_ok(self, query: str, headers: Mapping[str, str], cookies: Mapping[str, str]) -> bool:
        if self.token is None:
            return True
        given = [headers.get(TOKEN_HEADER), cookies.get(TOKEN_COOKIE)]
        given += parse_qs(query or "").get("token", [])
        return any(g and hmac.compare_digest(str(g).encode(), self.token.encode()) for g in given)

    def same_origin(self, headers: Mapping[str, str]) -> bool:
        host = (headers.get("Host") or "").strip().lower()
        origin = headers.get("Origin")
        if origin is not None:
            return _netloc(origin.strip()) == host
        referer = headers.get("Referer")
        return referer is not None and _netloc(referer.strip()) == host

    def check(self, method: str, query: str, headers: Mapping[str, str],
              cookies: Mapping[str, str] | None = None) -> tuple[int, str] | None:
        """None to serve the request, else (HTTP status, one-line reason)."""
        if not self.host_ok(headers.get("Host")):
            return 400, (f"this server answers only requests for {self.host or 'its own address'} or "
                         f"localhost, not Host {headers.get('Host')!r}")
        if not self.token_ok(query, headers, cookies or {}):
            return 403, ("this server needs its token: open the URL printed at start "
                         f"(…?token=…) or send the {TOKEN_HEADER} header")
        if method.upper() in STATE_CHANGING and not self.same_origin(headers):
            return 403, ("cross-site request refused: a state-changing request needs an Origin (or "
                         "Referer) header naming this server (browsers send it on their own)")
        return None

    def cookie_header(self, query: str) -> str | None:
        """A Set-Cookie value to send when the request's ``?token=`` was right (remote binds)."""
        if self.token is None or self.token not in parse_qs(query or "").get("token", []):
            return None
        return f"{TOKEN_COOKIE}={self.token}; Path=/; HttpOnly; SameSite=Strict"

    def url(self, port: int, path: str = "/", shown_host: str | None = None) -> str:
        """The URL to print (with ``?token=`` for remote binds)."""
        h = shown_host or (self.host if self.host not in WILDCARDS else socket.gethostname())
        h = f"[{h}]" if ":" in h else h
        sep = "&" if "?" in path else "?"
        return f"http://{h}:{port}{path}" + (f"{sep}token={self.token}" if self.token else "")
