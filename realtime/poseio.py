"""Pose files: repose JSON, OpenPose JSON and COCO keypoint JSON, read and written.

repose (what `repose pose` prints):
  image: {"layout", "width", "height", "names", "keypoints": [[x, y, score], ...] | null, "z"?: [...]}
  video: the same header plus "fps" and "frames": [{"index", "time_s", "keypoints": [...] | null}, ...]
OpenPose: {"version": 1.3, "people": [{"pose_keypoints_2d": [x, y, c, ...] (COCO-18 order)}]},
  with "canvas_width"/"canvas_height" added when the image size is known (as pose editors do).
COCO: {"images": [...], "annotations": [{"image_id", "keypoints": [x, y, v, ...], ...}],
  "categories": [{"name": "person", "keypoints": [...], "skeleton": [...]}]}; v = 2 for a present
  keypoint and 0 for a missing one. A COCO *results* list ([{"image_id", "keypoints", "score"}]) is
  read too; its third values are confidences.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from realtime.errors import InputError
from realtime.layouts import COCO17, OPENPOSE18, KeypointLayout, get_layout
from realtime.pose import MIN_SCORE, Pose

FORMATS = ("repose", "openpose", "coco")


@dataclass
class PoseVideo:
    """Per-frame poses of a video (None where nobody was found)."""

    poses: list[Pose | None]
    fps: float
    width: int | None
    height: int | None
    layout: KeypointLayout

    @property
    def times_s(self) -> list[float]:
        return [i / self.fps for i in range(len(self.poses))]


def _round(a: np.ndarray, nd: int = 2) -> list:
    return np.round(a.astype(np.float64), nd).tolist()


# -- repose -------------------------------------------------------------------------------------
def pose_to_dict(pose: Pose | None, layout: KeypointLayout | str | None = None,
                 width: int | None = None, height: int | None = None) -> dict[str, Any]:
    """The repose JSON of one image's pose (``keypoints`` null when pose is None)."""
    lay = get_layout(layout) if isinstance(layout, str) else layout
    if pose is not None:
        pose = pose.to_layout(lay or pose.layout)
        lay = pose.layout
    lay = lay or COCO17
    out: dict[str, Any] = {
        "layout": lay.name,
        "width": width if width is not None else (pose.width if pose else None),
        "height": height if height is not None else (pose.height if pose else None),
        "names": list(lay.names),
        "keypoints": None if pose is None else [[*xy, s] for xy, s in zip(_round(pose.xy), _round(pose.score, 4))],
    }
    if pose is not None and pose.z is not None:
        out["z"] = _round(pose.z)
    return out


def video_to_dict(poses: list[Pose | None], fps: float, width: int, height: int,
                  layout: KeypointLayout | str) -> dict[str, Any]:
    """The repose JSON of a video's poses."""
    head = pose_to_dict(None, layout, width, height)
    del head["keypoints"]
    frames = []
    for i, p in enumerate(poses):
        d = pose_to_dict(p, layout)
        frame = {"index": i, "time_s": round(i / fps, 4), "keypoints": d["keypoints"]}
        if "z" in d:
            frame["z"] = d["z"]
        frames.append(frame)
    return {**head, "fps": fps, "frames": frames}


def _pose_from_rows(rows: Any, lay: KeypointLayout, where: str, z: Any = None, **kw) -> Pose:
    arr = np.asarray(rows, dtype=np.float32) if rows is not None else None
    if arr is None or arr.shape != (len(lay), 3):
        shape = None if arr is None else arr.shape
        raise InputError(f"{where}: expected {len(lay)} keypoints as [x, y, score] rows for layout "
                         f"{lay.name}, got shape {shape}")
    zz = None if z is None else np.asarray(z, np.float32)
    return Pose(xy=arr[:, :2], score=arr[:, 2], layout=lay, z=zz, **kw)


def _layout_of(data: dict, where: str) -> KeypointLayout:
    try:
        return get_layout(data["layout"])
    except ValueError as e:
        raise InputError(f"{where}: {e}") from None


# -- OpenPose -----------------------------------------------------------------------------------
def openpose_dict(pose: Pose | None, width: int | None = None, height: int | None = None) -> dict[str, Any]:
    """OpenPose JSON of one frame (COCO-18 order; missing keypoints are 0, 0, 0)."""
    people = []
    if pose is not None:
        p = pose.to_layout(OPENPOSE18)
        kp = p.keypoints.astype(np.float64)
        kp[p.score <= 0] = 0.0
        people.append({"person_id": [-1], "pose_keypoints_2d": _round(kp.ravel(), 3),
                       "face_keypoints_2d": [], "hand_left_keypoints_2d": [],
                       "hand_right_keypoints_2d": [], "pose_keypoints_3d": [], "face_keypoints_3d": [],
                       "hand_left_keypoints_3d": [], "hand_right_keypoints_3d": []})
        width = width if width is not None else p.width
        height = height if height is not None else p.height
    out: dict[str, Any] = {"version": 1.3, "people": people}
    if width is not None and height is not None:
        out["canvas_width"], out["canvas_height"] = int(width), int(height)
    return out


def _from_openpose(data: dict, where: str) -> Pose | None:
    people = data.get("people")
    if not isinstance(people, list):
        raise InputError(f"{where}: OpenPose JSON needs a 'people' list")
    if not people:
        return None
    flat = people[0].get("pose_keypoints_2d") if isinstance(people[0], dict) else None
    if not isinstance(flat, list) or len(flat) != 3 * len(OPENPOSE18):
        got = len(flat) if isinstance(flat, list) else type(flat).__name__
        raise InputError(f"{where}: expected pose_keypoints_2d with {3 * len(OPENPOSE18)} numbers "
                         f"(18 COCO-18 keypoints as x, y, confidence), got {got}")
    return _pose_from_rows(np.reshape(flat, (-1, 3)), OPENPOSE18, where,
                           width=data.get("canvas_width"), height=data.get("canvas_height"))


# -- COCO ---------------------------------------------------------------------------------------
def _coco_category() -> dict[str, Any]:
    idx = COCO17.index
    return {"id": 1, "name": "person", "supercategory": "person", "keypoints": list(COCO17.names),
            "skeleton": [[idx[a] + 1, idx[b] + 1] for a, b in COCO17.bones]}


def _coco_annotation(pose: Pose, image_id: int, ann_id: int, min_score: float) -> dict[str, Any]:
    p = pose.to_layout(COCO17)
    ok = p.present(min_score)
    kp = np.zeros((len(COCO17), 3))
    kp[ok, :2] = p.xy[ok]
    kp[ok, 2] = 2
    box = p.bbox(min_score) or (0.0, 0.0, 0.0, 0.0)
    w, h = box[2] - box[0], box[3] - box[1]
    return {"id": ann_id, "image_id": image_id, "category_id": 1, "iscrowd": 0,
            "keypoints": [round(float(v), 2) for v in kp.ravel()], "num_keypoints": int(ok.sum()),
            "bbox": [round(box[0], 2), round(box[1], 2), round(w, 2), round(h, 2)],
            "area": round(w * h, 2), "score": round(float(p.score[ok].mean()) if ok.any() else 0.0, 4)}


def coco_dict(poses: list[Pose | None], width: int, height: int, file_names: list[str],
              min_score: float = MIN_SCORE) -> dict[str, Any]:
    """COCO keypoint JSON of one or more images (one annotation per image with a person)."""
    images, anns = [], []
    for i, (pose, name) in enumerate(zip(poses, file_names), start=1):
        images.append({"id": i, "file_name": name, "width": width, "height": height})
        if pose is not None:
            anns.append(_coco_annotation(pose, i, len(anns) + 1, min_score))
    return {"images": images, "annotations": anns, "categories": [_coco_category()]}


def _coco_pose(ann: dict, where: str, width=None, height=None) -> Pose:
    flat = ann.get("keypoints")
    if not isinstance(flat, list) or len(flat) != 3 * len(COCO17):
        raise InputError(f"{where}: expected COCO 'keypoints' with {3 * len(COCO17)} numbers "
                         "(17 keypoints as x, y, v)")
    kp = np.reshape(np.asarray(flat, np.float32), (-1, 3))
    v = kp[:, 2]
    if np.all(np.isin(v, (0, 1, 2))):  # visibility flags: labelled = present
        score = (v > 0).astype(np.float32)
    else:  # a results file: confidences
        score = np.clip(v, 0, 1)
    return Pose(xy=kp[:, :2], score=score, layout=COCO17, width=width, height=height)


def _from_coco(data: Any, where: str) -> list[Pose | None]:
    if isinstance(data, list):  # results format
        return [_coco_pose(a, where) for a in data if isinstance(a, dict)]
    images = {im["id"]: im for im in data.get("images", []) if isinstance(im, dict) and "id" in im}
    by_image: dict[Any, dict] = {}
    for ann in data.get("annotations", []):
        if isinstance(ann, dict):  # first (or highest-scored) person per image
            prev = by_image.get(ann.get("image_id"))
            if prev is None or ann.get("score", 0) > prev.get("score", 0):
                by_image[ann.get("image_id")] = ann
    if not images:
        return [_coco_pose(a, where) for a in by_image.values()]
    out: list[Pose | None] = []
    for iid, im in images.items():
        ann = by_image.get(iid)
        out.append(None if ann is None else _coco_pose(ann, where, im.get("width"), im.get("height")))
    return out


# -- reading any format ------------------------------------------------------------------------
def read_json(path: str | Path) -> Any:
    p = Path(path)
    if not p.is_file():
        raise InputError(f"{p}: no such file; expected a pose JSON file")
    try:
        return json.loads(p.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as e:
        raise InputError(f"{p}: not valid JSON ({e}); expected a repose, OpenPose or COCO pose file") from None
    except RecursionError:
        raise InputError(f"{p}: JSON nested too deeply; expected a repose, OpenPose or COCO pose file") from None


def detect_format(data: Any) -> str:
    if isinstance(data, dict) and "layout" in data and ("keypoints" in data or "frames" in data):
        return "repose"
    if isinstance(data, dict) and "people" in data:
        return "openpose"
    if isinstance(data, list) or (isinstance(data, dict) and "annotations" in data):
        return "coco"
    raise ValueError("unknown pose JSON")


def _shape_error(where: str) -> InputError:
    return InputError(f"{where}: JSON of the wrong shape; expected a repose pose (keys layout, keypoints), "
                      "an OpenPose file (key people) or a COCO keypoint file (key annotations)")


def load_pose_video(path: str | Path) -> PoseVideo:
    """All poses of a pose file; a single-image file gives a one-frame video (fps 1)."""
    where = str(path)
    data = read_json(path)
    try:
        fmt = detect_format(data)
    except ValueError:
        raise _shape_error(where) from None
    if fmt == "repose":
        lay = _layout_of(data, where)
        w, h = data.get("width"), data.get("height")
        if "frames" in data:
            fps = float(data.get("fps") or 30.0)
            poses = []
            for f in data["frames"]:
                kp = f.get("keypoints") if isinstance(f, dict) else None
                poses.append(None if kp is None else _pose_from_rows(
                    kp, lay, f"{where} frame {f.get('index')}", z=f.get("z"), width=w, height=h,
                    timestamp_s=f.get("time_s")))
            return PoseVideo(poses, fps, w, h, lay)
        kp = data.get("keypoints")
        pose = None if kp is None else _pose_from_rows(kp, lay, where, z=data.get("z"), width=w, height=h)
        return PoseVideo([pose], 1.0, w, h, lay)
    if fmt == "openpose":
        pose = _from_openpose(data, where)
        return PoseVideo([pose], 1.0, data.get("canvas_width"), data.get("canvas_height"), OPENPOSE18)
    poses = _from_coco(data, where)
    w = next((p.width for p in poses if p is not None), None)
    h = next((p.height for p in poses if p is not None), None)
    return PoseVideo(poses, 1.0, w, h, COCO17)


def load_pose(path: str | Path) -> Pose:
    """The one pose of a single-pose file; InputError when it holds none or a whole video."""
    video = load_pose_video(path)
    if len(video.poses) != 1:
        raise InputError(f"{path}: holds {len(video.poses)} poses; expected a single pose "
                         "(write one with `repose pose IMAGE -o POSE.json`)")
    if video.poses[0] is None:
        raise InputError(f"{path}: holds no person (keypoints are null)")
    return video.poses[0]
