"""Poses and images as JSON for the editor's API.

Poses travel in the `repose pose` image format (realtime.poseio): ``{"layout", "width", "height",
"names", "keypoints": [[x, y, score], ...]}`` in pixels of the stated image, plus an optional
``"z"`` list (relative depth per keypoint, pixels, smaller = nearer; the renderer's depth order).
Poses from clients are checked strictly: a wrong shape is an InputError that says what was expected.
Images travel as ``data:`` URLs in JPEG (quality 92: ~3 ms to encode 1000x667 here, where PNG takes
~100 ms); downloads are lossless PNG (compression level 1, the fastest that still compresses).
"""
from __future__ import annotations

import base64
import math
from typing import Any

import numpy as np

from realtime.errors import InputError
from realtime.layouts import OPENPOSE18, get_layout
from realtime.pose import Pose
from realtime.poseio import openpose_dict, pose_to_dict

MAX_IMAGE_SIDE = 100_000
#: Request bodies of the JSON API: largest size, deepest nesting, longest integer literal.
MAX_JSON_BYTES = 2 << 20
MAX_JSON_DEPTH = 32
MAX_INT_DIGITS = 18


def _bounded_int(text: str) -> int:
    if len(text.lstrip("-")) > MAX_INT_DIGITS:
        raise ValueError(f"integer of {len(text)} digits")
    return int(text)


def _finite_float(text: str) -> float:
    v = float(text)
    if not math.isfinite(v):
        raise ValueError(f"number {text[:20]} is not finite")
    return v


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a finite number")


def _depth(obj: Any, limit: int) -> int:
    """Nesting depth of parsed JSON, stopping early past ``limit``."""
    stack, deepest = [(obj, 1)], 0
    while stack:
        o, d = stack.pop()
        deepest = max(deepest, d)
        if deepest > limit:
            return deepest
        if isinstance(o, dict):
            stack.extend((v, d + 1) for v in o.values())
        elif isinstance(o, list):
            stack.extend((v, d + 1) for v in o)
    return deepest


def parse_json_body(data: bytes) -> Any:
    """A request body as JSON, bounded: size, nesting, number range; InputError (400) otherwise."""
    import json

    if len(data) > MAX_JSON_BYTES:
        raise InputError(f"JSON body of {len(data) / 2**20:.1f} MB is too large: at most "
                         f"{MAX_JSON_BYTES / 2**20:.0f} MB; send one pose")
    try:
        obj = json.loads(data.decode("utf-8"), parse_int=_bounded_int, parse_float=_finite_float,
                         parse_constant=_refuse_constant)
    except RecursionError:
        raise InputError(f"JSON nested too deeply: at most {MAX_JSON_DEPTH} levels") from None
    except (ValueError, UnicodeDecodeError) as e:
        raise InputError(f"the request body is not a JSON object ({str(e)[:80]}); expected "
                         "{\"reference\": ID, \"pose\": {...}}") from None
    if _depth(obj, MAX_JSON_DEPTH) > MAX_JSON_DEPTH:
        raise InputError(f"JSON nested too deeply: at most {MAX_JSON_DEPTH} levels")
    return obj


def pose_to_json(pose: Pose) -> dict[str, Any]:
    """A pose in the `repose pose` image format (with ``"z"`` when the pose has depths)."""
    return pose_to_dict(pose)


def _number(v: Any, what: str) -> float:
    if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v):
        raise InputError(f"{what} must be a finite number, got {v!r}")
    return float(v)


def pose_from_json(obj: Any) -> Pose:
    """A Pose from the `repose pose` image format (see module docstring); InputError when malformed."""
    if not isinstance(obj, dict):
        raise InputError(f"expected a pose object {{layout, width, height, keypoints}}, got {type(obj).__name__}")
    missing = [k for k in ("layout", "width", "height", "keypoints") if k not in obj]
    if missing:
        raise InputError(f"the pose lacks {', '.join(missing)}; expected {{layout, width, height, keypoints}}")
    try:
        layout = get_layout(str(obj["layout"]))
    except ValueError as e:
        raise InputError(str(e)) from None
    size = []
    for key in ("width", "height"):
        v = obj[key]
        if isinstance(v, bool) or not isinstance(v, int) or not 0 < v <= MAX_IMAGE_SIDE:
            raise InputError(f"pose {key} must be a positive integer (pixels), got {v!r}")
        size.append(v)
    kps = obj["keypoints"]
    if not isinstance(kps, list) or len(kps) != len(layout):
        got = len(kps) if isinstance(kps, list) else type(kps).__name__
        raise InputError(f"a {layout.name} pose needs {len(layout)} keypoints [x, y, score], got {got}")
    arr = np.empty((len(layout), 3), np.float32)
    for i, row in enumerate(kps):
        if not isinstance(row, (list, tuple)) or len(row) != 3:
            raise InputError(f"keypoint {i} ({layout.names[i]}) must be [x, y, score], got {row!r}")
        arr[i] = [_number(v, f"keypoint {i} ({layout.names[i]})") for v in row]
    if ((arr[:, 2] < 0) | (arr[:, 2] > 1)).any():
        raise InputError("keypoint scores must lie in [0, 1]")
    z = obj.get("z")
    if z is not None:
        if not isinstance(z, list) or len(z) != len(layout):
            raise InputError(f"pose z must be a list of {len(layout)} numbers (relative depth, px)")
        z = np.array([_number(v, f"z of keypoint {i}") for i, v in enumerate(z)], np.float32)
    return Pose(xy=arr[:, :2], score=arr[:, 2], layout=layout, width=size[0], height=size[1], z=z)


def pose_from_openpose_json(obj: dict[str, Any]) -> Pose:
    """The first person of an OpenPose JSON (``people[0].pose_keypoints_2d``, COCO-18 order); the
    image size from ``canvas_width``/``canvas_height`` when present, else unknown (None)."""
    people = obj.get("people")
    if not isinstance(people, list) or not people or not isinstance(people[0], dict):
        raise InputError("the OpenPose JSON holds no person: expected people[0].pose_keypoints_2d")
    flat = people[0].get("pose_keypoints_2d")
    n = 3 * len(OPENPOSE18)
    if not isinstance(flat, list) or len(flat) != n:
        got = len(flat) if isinstance(flat, list) else type(flat).__name__
        raise InputError(f"expected pose_keypoints_2d with {n} numbers (18 COCO-18 keypoints as x, y, "
                         f"confidence), got {got}")
    arr = np.array([_number(v, f"pose_keypoints_2d[{i}]") for i, v in enumerate(flat)], np.float32).reshape(-1, 3)
    if ((arr[:, 2] < 0) | (arr[:, 2] > 1)).any():
        raise InputError("OpenPose confidences must lie in [0, 1]")
    size = []
    for key in ("canvas_width", "canvas_height"):
        v = obj.get(key)
        if v is not None and (isinstance(v, bool) or not isinstance(v, int) or not 0 < v <= MAX_IMAGE_SIDE):
            raise InputError(f"{key} must be a positive integer (pixels), got {v!r}")
        size.append(v)
    return Pose(xy=arr[:, :2], score=arr[:, 2], layout=OPENPOSE18, width=size[0], height=size[1])


def pose_from_any_json(obj: Any) -> Pose:
    """A pose from the `repose pose` image format or from OpenPose JSON (recognized by ``people``)."""
    if isinstance(obj, dict) and "people" in obj:
        return pose_from_openpose_json(obj)
    return pose_from_json(obj)


def openpose_json(pose: Pose) -> dict[str, Any]:
    """OpenPose's JSON for one person: COCO-18 order (neck derived), ``pose_keypoints_2d`` flat."""
    return openpose_dict(pose)


def image_data_url(bgr: np.ndarray, fmt: str = "png", quality: int = 92) -> str:
    """An image as a ``data:image/...;base64,`` URL (BGR uint8 in, standard PNG/JPEG out)."""
    return f"data:image/{'jpeg' if fmt == 'jpeg' else 'png'};base64," + base64.b64encode(
        encode_image(bgr, fmt, quality)).decode("ascii")


def encode_image(bgr: np.ndarray, fmt: str = "png", quality: int = 92) -> bytes:
    """PNG or JPEG bytes of a BGR uint8 image."""
    import cv2

    ext, params = (".jpg", [cv2.IMWRITE_JPEG_QUALITY, quality]) if fmt == "jpeg" else (".png", [cv2.IMWRITE_PNG_COMPRESSION, 1])
    ok, buf = cv2.imencode(ext, bgr, params)
    if not ok:
        raise RuntimeError(f"cannot encode a {bgr.shape} image as {fmt}")
    return buf.tobytes()


def finite_or_none(v: float) -> float | None:
    """JSON has no NaN: undefined measures travel as null."""
    return None if v is None or not math.isfinite(v) else round(float(v), 4)


def round_points(xy: np.ndarray, digits: int = 1) -> list[list[float]]:
    """(N, 2) points as [[x, y], ...] rounded to ``digits`` decimals (JSON)."""
    return np.round(np.asarray(xy, np.float64), digits).tolist()
