"""The editor's web app (Flask): the page under ``/`` and ``/static/``, a JSON API under ``/api/``.

API (documented with examples in the README, "Pose editor"):

- ``GET  /api/info``: renderer name, keypoint names and bones of the editing layout, upload limit.
- ``POST /api/estimate`` (multipart, field ``image``): stores the photo, returns its id, the stored
  image and its pose.
- ``POST /api/render`` (JSON ``{reference, pose}``): the person in the pose, as a JPEG data URL
  for viewing (fast to encode); ``?format=png`` answers the lossless PNG itself (for downloads).
- ``POST /api/evaluate`` (JSON ``{reference, pose}``): AKD and MKR of the render of that pose.
- ``POST /api/pose-from-photo`` (multipart ``image``, ``reference``, optional ``mirror``): another
  photo's pose retargeted to the reference's proportions.
- ``POST /api/pose-from-json`` (JSON ``{reference, pose, mirror?}``, the pose in the repose or
  OpenPose format): a saved pose as the target (retargeted when it is of another image).
- ``POST /api/export/openpose`` (JSON ``{pose}``): the pose as OpenPose JSON (COCO-18).

Errors are ``{"error": message}`` with 400 (bad input), 404 (unknown reference or path), 413 (too
large), 415 (wrong content type), 422 (no person found) or 500. Files are served only from the
app's own static folder (Flask's ``send_from_directory`` refuses paths that leave it).
"""
from __future__ import annotations

import ipaddress
import logging
from pathlib import Path

from realtime.app.editor.service import EditorOptions, EditorService, NoPerson, NotFound
from realtime.app.editor.uploads import UploadError
from realtime.errors import InputError

log = logging.getLogger(__name__)

STATIC_DIR = Path(__file__).resolve().parent / "static"

#: Content security policy of every answer: the page loads only its own files and data: images.
CSP = ("default-src 'self'; img-src 'self' data: blob:; style-src 'self'; script-src 'self'; "
       "connect-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'self'")


def _status_of(e: InputError) -> int:
    if isinstance(e, UploadError):
        return e.status
    return {NotFound: 404, NoPerson: 422}.get(type(e), 400)


def host_name(host: str) -> str:
    """The name part of a Host header: ``"[::1]:8765"`` -> ``"::1"``, ``"localhost:80"`` -> ``"localhost"``."""
    host = host.strip().lower()
    if host.startswith("["):
        return host[1:].partition("]")[0]
    return host.rpartition(":")[0] if host.count(":") == 1 else host


def is_loopback(host: str) -> bool:
    """True for ``localhost`` and loopback IP addresses (127.0.0.0/8, ::1), brackets allowed."""
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def create_app(options: EditorOptions | None = None, service: EditorService | None = None,
               allow_remote: bool = False):
    """The Flask app. ``service`` defaults to a new EditorService(options) (creates the renderer).

    Without ``allow_remote`` only requests whose Host is a loopback name are served (a guard
    against DNS rebinding when the server listens on 127.0.0.1).
    """
    from flask import Flask

    from realtime.app.editor.routes import api

    options = options or EditorOptions()
    service = service or EditorService(options)
    app = Flask(__name__, static_folder=str(STATIC_DIR), static_url_path="/static")
    app.config.update(MAX_CONTENT_LENGTH=options.max_upload_bytes, JSON_SORT_KEYS=False)
    app.extensions["repose_editor"] = service
    app.extensions["repose_editor_options"] = options
    _install_guards(app, allow_remote)
    _install_error_handlers(app, options)
    app.add_url_rule("/", "index", lambda: app.send_static_file("index.html"))
    app.register_blueprint(api)
    return app


def fail(message: str, status: int):
    """A JSON error answer ``{"error": message}`` with that status."""
    from flask import jsonify

    resp = jsonify(error=message)
    resp.status_code = status
    return resp


def _install_guards(app, allow_remote: bool) -> None:
    """Loopback-only Host check (unless allow_remote) and the security headers of every answer."""
    from flask import request

    @app.before_request
    def _loopback_only():
        if not allow_remote and not is_loopback(host_name(request.host)):
            return fail(f"this editor serves only loopback hosts (127.0.0.1, localhost), not "
                        f"{request.host!r}; start it with --allow-remote to serve other names", 400)
        return None

    @app.after_request
    def _headers(resp):
        resp.headers.setdefault("Content-Security-Policy", CSP)
        resp.headers["X-Content-Type-Options"] = "nosniff"
        resp.headers["X-Frame-Options"] = "DENY"
        resp.headers["Referrer-Policy"] = "no-referrer"
        if request.path.startswith("/api/"):
            resp.headers["Cache-Control"] = "no-store"
        return resp


def _install_error_handlers(app, options: EditorOptions) -> None:
    """Every error as ``{"error": message}``: InputError 400/404/413/415/422, HTTP errors, else 500."""
    from flask import request
    from werkzeug.exceptions import HTTPException

    @app.errorhandler(InputError)
    def _input_error(e: InputError):
        return fail(str(e), _status_of(e))

    @app.errorhandler(HTTPException)
    def _http_error(e: HTTPException):
        if e.code == 413:
            mb = options.max_upload_bytes / 2**20
            return fail(f"upload too large: at most {mb:.0f} MB; choose a smaller photo", 413)
        return fail(f"{e.name}: {e.description}", e.code or 500)

    @app.errorhandler(Exception)
    def _unexpected(e: Exception):
        log.exception("editor request %s %s failed", request.method, request.path)
        return fail(f"internal error ({e.__class__.__name__}): {e}", 500)


def serve(app, host: str, port: int):
    """A threaded WSGI server bound to (host, port); port 0 picks a free port (``server.port``)."""
    from werkzeug.serving import make_server

    return make_server(host, port, app, threaded=True)
