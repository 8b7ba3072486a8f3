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

import logging
import re
import time
from pathlib import Path
from typing import Any

from realtime.app.editor import codec
from realtime.app.editor.service import EditorOptions, EditorService, NoPerson, NotFound
from realtime.app.editor.uploads import UploadError, check_content_type
from realtime.errors import InputError
from realtime.websafety import WebGuard, host_name, is_loopback  # noqa: F401 - re-exported

log = logging.getLogger(__name__)

STATIC_DIR = Path(__file__).resolve().parent / "static"
_ID_RE = re.compile(r"^[0-9a-f]{32}$")

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
    from flask import Flask, Response, jsonify, request
    from werkzeug.exceptions import HTTPException

    options = options or EditorOptions()
    service = service or EditorService(options)
    app = Flask(__name__, static_folder=str(STATIC_DIR), static_url_path="/static")
    app.config.update(MAX_CONTENT_LENGTH=options.max_upload_bytes, JSON_SORT_KEYS=False)
    app.extensions["repose_editor"] = service

    def fail(message: str, status: int):
        resp = jsonify(error=message)
        resp.status_code = status
        return resp

    guard = guard or WebGuard("0.0.0.0" if allow_remote else "127.0.0.1", allow_remote=allow_remote)
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

    # -- request helpers -----------------------------------------------------------------------
    def upload_bytes() -> bytes:
        if request.mimetype != "multipart/form-data":
            raise UploadError(f"expected a multipart/form-data upload with an 'image' file, got "
                              f"{request.mimetype or '(no content type)'!r}", status=415)
        f = request.files.get("image")
        if f is None or not f.filename and not f.mimetype:
            raise UploadError("no file in the 'image' field; choose a photo to upload")
        check_content_type(f.mimetype)
        return f.read()

    def json_body() -> dict[str, Any]:
        if not request.is_json:
            raise UploadError(f"expected application/json, got {request.mimetype or '(no content type)'!r}",
                              status=415)
        body = codec.parse_json_body(request.get_data(cache=False))
        if not isinstance(body, dict):
            raise InputError("the request body is not a JSON object; expected {\"reference\": ID, \"pose\": {...}}")
        return body

    def reference_id(value: Any) -> str:
        if not isinstance(value, str) or not _ID_RE.match(value):
            raise InputError(f"reference must be the 32-hex-digit id /api/estimate returned, got {value!r}")
        return value

    def target_of(body: dict[str, Any]):
        if "pose" not in body:
            raise InputError("the request lacks 'pose'; expected {\"reference\": ID, \"pose\": {...}}")
        return reference_id(body.get("reference")), codec.pose_from_json(body["pose"])

    def layout_info(layout) -> dict[str, Any]:
        return {"layout": layout.name, "names": list(layout.names), "bones": [list(b) for b in layout.bones]}

    # -- page ----------------------------------------------------------------------------------
    @app.get("/")
    def index():
        return app.send_static_file("index.html")

    # -- API -----------------------------------------------------------------------------------
    @app.get("/api/info")
    def info():
        from realtime.layouts import MEDIAPIPE33

        return jsonify(renderer=service.renderer_name, max_upload_bytes=options.max_upload_bytes,
                       max_side=options.max_side, min_score=options.min_score, **layout_info(MEDIAPIPE33))

    @app.post("/api/estimate")
    def estimate():
        t0 = time.perf_counter()
        ref = service.add_reference(upload_bytes())
        return jsonify(reference=ref.image_id, width=ref.width, height=ref.height, scale=round(ref.scale, 6),
                       image=codec.image_data_url(ref.bgr, "jpeg"), pose=codec.pose_to_json(ref.pose),
                       estimate_ms=round((time.perf_counter() - t0) * 1e3, 1))

    @app.post("/api/render")
    def render():
        ref_id, target = target_of(json_body())
        out = service.render(ref_id, target)
        if request.args.get("format") == "png":
            return Response(codec.encode_image(out.bgr, "png"), mimetype="image/png",
                            headers={"Content-Disposition": 'inline; filename="repose-output.png"'})
        return jsonify(image=codec.image_data_url(out.bgr, "jpeg"), width=int(out.bgr.shape[1]),
                       height=int(out.bgr.shape[0]), render_ms=round(out.render_ms, 2), cached=out.cached)

    @app.post("/api/evaluate")
    def evaluate():
        ref_id, target = target_of(json_body())
        ev = service.evaluate(ref_id, target)
        return jsonify(akd_px=codec.finite_or_none(ev.akd_px), akd_256=codec.finite_or_none(ev.akd_256),
                       mkr=codec.finite_or_none(ev.mkr), keypoints_expected=ev.expected,
                       keypoints_missing=ev.missing,
                       found_pose=None if ev.found is None else codec.pose_to_json(ev.found),
                       render_ms=round(ev.render_ms, 2), estimate_ms=round(ev.estimate_ms, 2))

    @app.post("/api/pose-from-photo")
    def pose_from_photo():
        data = upload_bytes()
        ref_id = reference_id(request.form.get("reference"))
        mirror = request.form.get("mirror", "0").lower() in ("1", "true", "yes", "on")
        target, source = service.pose_from_photo(ref_id, data, mirror=mirror)
        return jsonify(pose=codec.pose_to_json(target), source_pose=codec.pose_to_json(source),
                       mirror=mirror)

    @app.post("/api/pose-from-json")
    def pose_from_file():
        body = json_body()
        if "pose" not in body:
            raise InputError("the request lacks 'pose'; expected {\"reference\": ID, \"pose\": {...}}")
        ref_id = reference_id(body.get("reference"))
        mirror = body.get("mirror", False)
        if not isinstance(mirror, bool):
            raise InputError(f"mirror must be true or false, got {mirror!r}")
        target, retargeted = service.pose_from_file(ref_id, codec.pose_from_any_json(body["pose"]), mirror)
        return jsonify(pose=codec.pose_to_json(target), retargeted=retargeted, mirror=mirror)

    @app.post("/api/export/openpose")
    def export_openpose():
        body = json_body()
        if "pose" not in body:
            raise InputError("the request lacks 'pose'; expected {\"pose\": {...}}")
        pose = codec.pose_from_json(body["pose"])
        resp = jsonify(codec.openpose_json(pose))
        resp.headers["Content-Disposition"] = 'attachment; filename="repose-pose_keypoints.json"'
        return resp

    return app


def serve(app, host: str, port: int):
    """A threaded WSGI server bound to (host, port); port 0 picks a free port (``server.port``)."""
    from werkzeug.serving import make_server

    return make_server(host, port, app, threaded=True)
