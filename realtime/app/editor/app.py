"""The editor's web app (Flask): the page under ``/`` and ``/static/``, a JSON API under ``/api/``.

API (documented with examples in the README, "Pose editor"):

- ``GET  /api/info``: renderer name, keypoint names and bones of the editing layout, upload limit.
- ``POST /api/estimate`` (multipart, field ``image``): stores the photo, returns its id, the stored
  image and its pose.
- ``POST /api/render`` (JSON ``{reference, pose}``): the person in the pose, as a JPEG data URL
  for viewing (fast to encode); ``?format=png`` answers the lossless PNG itself (for downloads).
- ``POST /api/evaluate`` (JSON ``{reference, pose}``): AKD and MKR of the render of that pose.
- ``POST /api/features`` (JSON ``{reference}``): the face and hands the face and hand stages see
  (Face Mesh and MediaPipe Hands landmarks, finger bend) and which of them follow a driver.
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

import logging
from pathlib import Path

from realtime.app.editor.service import EditorOptions, EditorService, NoPerson, NotFound
from realtime.app.editor.uploads import UploadError
from realtime.errors import InputError
from realtime.websafety import WebGuard, host_name, is_loopback  # noqa: F401 - re-exported

log = logging.getLogger(__name__)

STATIC_DIR = Path(__file__).resolve().parent / "static"

#: Content security policy of every answer: the page loads only its own files and data: images.
CSP = ("default-src 'self'; img-src 'self' data: blob:; style-src 'self'; script-src 'self'; "
       "connect-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'self'")


def _status_of(e: InputError) -> int:
    if isinstance(e, UploadError):
        return e.status
    return {NotFound: 404, NoPerson: 422}.get(type(e), 400)


def create_app(options: EditorOptions | None = None, service: EditorService | None = None,
               allow_remote: bool = False, guard: WebGuard | None = None):
    """The Flask app. ``service`` defaults to a new EditorService(options) (creates the renderer).

    Every request passes ``guard`` first (``realtime.websafety``: Host, token, same-origin for
    POSTs). Without a guard: loopback only, or with ``allow_remote`` any address with a new token.
    """
    from flask import Flask

    from realtime.app.editor.routes import api

    options = options or EditorOptions()
    service = service or EditorService(options)
    app = Flask(__name__, static_folder=str(STATIC_DIR), static_url_path="/static")
    app.config.update(MAX_CONTENT_LENGTH=options.max_upload_bytes, JSON_SORT_KEYS=False)
    app.extensions["repose_editor"] = service
    app.extensions["repose_editor_options"] = options
    _install_guards(app, guard or WebGuard("0.0.0.0" if allow_remote else "127.0.0.1", allow_remote=allow_remote))
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


def _install_guards(app, guard: WebGuard) -> None:
    """The request guard (Host, token, same-origin POSTs) and the security headers of every answer."""
    from flask import request

    app.extensions["repose_guard"] = guard

    @app.before_request
    def _guard():
        refused = guard.check(request.method, request.query_string.decode("latin-1"), request.headers,
                              request.cookies)
        return fail(refused[1], refused[0]) if refused else None

    @app.after_request
    def _headers(resp):
        resp.headers.setdefault("Content-Security-Policy", CSP)
        resp.headers["X-Content-Type-Options"] = "nosniff"
        resp.headers["X-Frame-Options"] = "DENY"
        resp.headers["Referrer-Policy"] = "no-referrer"
        if request.path.startswith("/api/"):
            resp.headers["Cache-Control"] = "no-store"
        cookie = guard.cookie_header(request.query_string.decode("latin-1"))
        if cookie:
            resp.headers.add("Set-Cookie", cookie)
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
        return fail("internal error; the editor's log has the details (run with -v)", 500)


def serve(app, host: str, port: int):
    """A threaded WSGI server bound to (host, port); port 0 picks a free port (``server.port``)."""
    from werkzeug.serving import make_server

    return make_server(host, port, app, threaded=True)
