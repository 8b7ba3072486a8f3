"""The editor's JSON API under ``/api/`` as a Flask blueprint (the routes are listed in
realtime.app.editor.app). Handlers find the EditorService and its options in the app's extensions,
so one blueprint serves any app that create_app makes.
"""
from __future__ import annotations

import re
import time
from typing import Any

from flask import Blueprint, Response, current_app, jsonify, request

from realtime.app.editor import codec
from realtime.app.editor.service import EditorOptions, EditorService
from realtime.app.editor.uploads import UploadError, check_content_type
from realtime.errors import InputError

_ID_RE = re.compile(r"^[0-9a-f]{32}$")

api = Blueprint("api", __name__, url_prefix="/api")


def _service() -> EditorService:
    return current_app.extensions["repose_editor"]


def _options() -> EditorOptions:
    return current_app.extensions["repose_editor_options"]


# -- request helpers ---------------------------------------------------------------------------
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
    body = codec.parse_json_body(request.get_data(cache=False))   # bounded: size, depth, numbers
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


# -- API -----------------------------------------------------------------------------------
@api.get("/info")
def info():
    from realtime.layouts import MEDIAPIPE33

    return jsonify(renderer=_service().renderer_name, max_upload_bytes=_options().max_upload_bytes,
                   max_side=_options().max_side, min_score=_options().min_score, **layout_info(MEDIAPIPE33))


@api.post("/estimate")
def estimate():
    t0 = time.perf_counter()
    ref = _service().add_reference(upload_bytes())
    return jsonify(reference=ref.image_id, width=ref.width, height=ref.height, scale=round(ref.scale, 6),
                   image=codec.image_data_url(ref.bgr, "jpeg"), pose=codec.pose_to_json(ref.pose),
                   estimate_ms=round((time.perf_counter() - t0) * 1e3, 1))


@api.post("/render")
def render():
    ref_id, target = target_of(json_body())
    out = _service().render(ref_id, target)
    if request.args.get("format") == "png":
        return Response(codec.encode_image(out.bgr, "png"), mimetype="image/png",
                        headers={"Content-Disposition": 'inline; filename="repose-output.png"'})
    return jsonify(image=codec.image_data_url(out.bgr, "jpeg"), width=int(out.bgr.shape[1]),
                   height=int(out.bgr.shape[0]), render_ms=round(out.render_ms, 2), cached=out.cached)


@api.post("/evaluate")
def evaluate():
    ref_id, target = target_of(json_body())
    ev = _service().evaluate(ref_id, target)
    return jsonify(akd_px=codec.finite_or_none(ev.akd_px), akd_256=codec.finite_or_none(ev.akd_256),
                   mkr=codec.finite_or_none(ev.mkr), keypoints_expected=ev.expected,
                   keypoints_missing=ev.missing,
                   found_pose=None if ev.found is None else codec.pose_to_json(ev.found),
                   render_ms=round(ev.render_ms, 2), estimate_ms=round(ev.estimate_ms, 2))


@api.post("/features")
def features():
    from realtime.hands import FINGERS, THUMB

    body = json_body()
    f = _service().features(reference_id(body.get("reference")))
    chains = [(0, *THUMB)] + [(0, *finger) for finger in FINGERS]
    return jsonify(face=None if f.face is None else codec.round_points(f.face),
                   hands={s: codec.round_points(xy) for s, xy in f.hands.items()},
                   finger_bend={s: round(v, 1) for s, v in f.finger_bend.items()},
                   hand_bones=[[c[i], c[i + 1]] for c in chains for i in range(len(c) - 1)],
                   face_stage=f.face_stage, hand_stage=list(f.hand_stage), notes=list(f.notes),
                   features_ms=round(f.ms, 1))


@api.post("/pose-from-photo")
def pose_from_photo():
    data = upload_bytes()
    ref_id = reference_id(request.form.get("reference"))
    mirror = request.form.get("mirror", "0").lower() in ("1", "true", "yes", "on")
    target, source = _service().pose_from_photo(ref_id, data, mirror=mirror)
    return jsonify(pose=codec.pose_to_json(target), source_pose=codec.pose_to_json(source),
                   mirror=mirror)


@api.post("/pose-from-json")
def pose_from_file():
    body = json_body()
    if "pose" not in body:
        raise InputError("the request lacks 'pose'; expected {\"reference\": ID, \"pose\": {...}}")
    ref_id = reference_id(body.get("reference"))
    mirror = body.get("mirror", False)
    if not isinstance(mirror, bool):
        raise InputError(f"mirror must be true or false, got {mirror!r}")
    target, retargeted = _service().pose_from_file(ref_id, codec.pose_from_any_json(body["pose"]), mirror)
    return jsonify(pose=codec.pose_to_json(target), retargeted=retargeted, mirror=mirror)


@api.post("/export/openpose")
def export_openpose():
    body = json_body()
    if "pose" not in body:
        raise InputError("the request lacks 'pose'; expected {\"pose\": {...}}")
    pose = codec.pose_from_json(body["pose"])
    resp = jsonify(codec.openpose_json(pose))
    resp.headers["Content-Disposition"] = 'attachment; filename="repose-pose_keypoints.json"'
    return resp
