"""Calibration profiles: the driver's neutral pose, jitter and derived thresholds, as versioned JSON.

File format (``"format": "repose-calibration"``, ``"version": 2``; version 2: the neutral pose passed
calibration.neutral_check, and the optional neutral face; version 1 profiles are refused with the
fix, recalibrate)::

  {"format": "repose-calibration", "version": 2, "layout": "mediapipe33", "width": 640, "height": 480,
   "names": [...], "neutral": [[x, y, score], ...], "z": [...] | null,
   "jitter_px": {"left_wrist": 1.3, ...}, "body_size_px": 180.0,
   "thresholds": {"still_px": ..., "match_euclidean": ..., "match_cosine": ..., "angle_deg": ...},
   "mirror": false, "frames": 60, "source": "...", "created": "2026-11-21T20:00:00Z",
   "neutral_face": {"xy": [[x, y], ...478], "z": [...478]} | null}

neutral_face: the driver's neutral face (MediaPipe Face Mesh with iris, camera pixels, camera
orientation), the origin of the expression the warp renderer's face follows (realtime.face).

Thresholds come from the measured jitter (what standing still looks like to the estimator):
- still_px: 3x the median per-joint jitter: a keypoint moving less than this is noise;
- match_euclidean / match_cosine: Move Mirror distance between each captured frame and the neutral
  pose (realtime.matching.compare), mean + 3 sd: two poses closer than this are "the same pose";
- angle_deg: the same for the largest joint-angle difference, floored at 3 degrees.
Loading validates everything and raises InputError with the fix (recalibrate) on any mismatch.
"""
from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import numpy as np

from calibration.retarget import torso_size
from realtime.errors import InputError
from realtime.face import N_LANDMARKS, Face
from realtime.fileio import write_json
from realtime.layouts import LAYOUTS
from realtime.pose import MIN_SCORE, Pose

FORMAT = "repose-calibration"
VERSION = 2
FIX = "run `repose calibrate --source CAMERA_OR_VIDEO -o PROFILE.json` again"


@dataclass
class CalibrationProfile:
    """A driver's calibration: neutral pose (driver camera pixels), jitter (px), thresholds."""

    neutral: Pose
    jitter_px: dict[str, float]
    body_size_px: float
    thresholds: dict[str, float] = field(default_factory=dict)
    mirror: bool = False
    frames: int = 0
    source: str = ""
    created: str = ""
    neutral_face: Face | None = None

    def to_dict(self) -> dict[str, Any]:
        p = self.neutral
        return {
            "format": FORMAT, "version": VERSION, "layout": p.layout.name,
            "width": p.width, "height": p.height, "names": list(p.layout.names),
            "neutral": [[round(float(x), 3), round(float(y), 3), round(float(s), 4)]
                        for (x, y), s in zip(p.xy, p.score)],
            "z": None if p.z is None else [round(float(v), 3) for v in p.z],
            "jitter_px": {k: round(float(v), 4) for k, v in self.jitter_px.items()},
            "body_size_px": round(float(self.body_size_px), 3),
            "thresholds": {k: round(float(v), 5) for k, v in self.thresholds.items()},
            "mirror": bool(self.mirror), "frames": int(self.frames), "source": self.source,
            "created": self.created or datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "neutral_face": None if self.neutral_face is None else {
                "xy": [[round(float(x), 2), round(float(y), 2)] for x, y in self.neutral_face.xy],
                "z": [round(float(v), 2) for v in self.neutral_face.z]},
        }

    def save(self, path: str | Path) -> None:
        write_json(path, self.to_dict())

    @classmethod
    def from_dict(cls, data: Any, where: str = "profile") -> "CalibrationProfile":
        if not isinstance(data, dict) or data.get("format") != FORMAT:
            raise InputError(f"{where}: not a repose calibration profile (expected \"format\": \"{FORMAT}\"); {FIX}")
        if data.get("version") != VERSION:
            raise InputError(f"{where}: calibration profile version {data.get('version')!r} is not supported "
                             f"(expected {VERSION}); {FIX}")
        lay_name = data.get("layout")
        if lay_name not in LAYOUTS:
            raise InputError(f"{where}: unknown layout {lay_name!r} (expected one of {', '.join(LAYOUTS)}); {FIX}")
        lay = LAYOUTS[lay_name]
        if data.get("names") != list(lay.names):
            raise InputError(f"{where}: keypoint names do not match layout {lay_name}; {FIX}")
        rows = data.get("neutral")
        try:
            arr = np.asarray(rows, dtype=np.float64)
        except (TypeError, ValueError):
            arr = np.zeros((0,))
        if arr.shape != (len(lay), 3) or not np.all(np.isfinite(arr)):
            raise InputError(f"{where}: \"neutral\" must be {len(lay)} finite [x, y, score] rows for "
                             f"{lay_name}; {FIX}")
        if np.any(arr[:, 2] < 0) or np.any(arr[:, 2] > 1):
            raise InputError(f"{where}: neutral scores must lie in [0, 1]; {FIX}")
        z = data.get("z")
        if z is not None:
            z = np.asarray(z, dtype=np.float64)
            if z.shape != (len(lay),) or not np.all(np.isfinite(z)):
                raise InputError(f"{where}: \"z\" must be null or {len(lay)} finite numbers; {FIX}")
        w, h = data.get("width"), data.get("height")
        if not (isinstance(w, int) and isinstance(h, int) and w > 0 and h > 0):
            raise InputError(f"{where}: width and height must be positive integers, got {w!r} x {h!r}; {FIX}")
        jitter = data.get("jitter_px")
        if not isinstance(jitter, dict) or any(k not in lay.index or not _finite_nonneg(v) for k, v in jitter.items()):
            raise InputError(f"{where}: \"jitter_px\" must map {lay_name} keypoint names to numbers >= 0; {FIX}")
        size = data.get("body_size_px")
        if not _finite_nonneg(size) or size <= 0:
            raise InputError(f"{where}: \"body_size_px\" must be a positive number, got {size!r}; {FIX}")
        thr = data.get("thresholds", {})
        if not isinstance(thr, dict) or any(not _finite_nonneg(v) for v in thr.values()):
            raise InputError(f"{where}: \"thresholds\" must map names to numbers >= 0; {FIX}")
        pose = Pose.from_keypoints(arr, lay, width=w, height=h, z=z)
        face = _face_from(data.get("neutral_face"), w, h, where)
        return cls(pose, {k: float(v) for k, v in jitter.items()}, float(size),
                   {k: float(v) for k, v in thr.items()}, bool(data.get("mirror", False)),
                   int(data.get("frames", 0)), str(data.get("source", "")), str(data.get("created", "")), face)

    @classmethod
    def load(cls, path: str | Path) -> "CalibrationProfile":
        p = Path(path)
        if not p.is_file():
            raise InputError(f"{p}: no such calibration profile; {FIX}")
        try:
            data = json.loads(p.read_text(encoding="utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError) as e:
            raise InputError(f"{p}: not valid JSON ({e}); {FIX}") from None
        return cls.from_dict(data, str(p))


def _face_from(data: Any, w: int, h: int, where: str) -> Face | None:
    if data is None:
        return None
    try:
        xy = np.asarray(data["xy"], np.float32)
        z = np.asarray(data["z"], np.float32)
    except (TypeError, KeyError, ValueError):
        xy = z = np.zeros(0)
    if xy.shape != (N_LANDMARKS, 2) or z.shape != (N_LANDMARKS,) or not (np.all(np.isfinite(xy)) and np.all(np.isfinite(z))):
        raise InputError(f"{where}: \"neutral_face\" must be null or {{\"xy\": {N_LANDMARKS} [x, y] rows, "
                         f"\"z\": {N_LANDMARKS} numbers}}; {FIX}")
    return Face(xy, z, w, h)


def _finite_nonneg(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v) and v >= 0


def derive_thresholds(frames: list[Pose], neutral: Pose, jitter_px: dict[str, float],
                      min_score: float = MIN_SCORE) -> dict[str, float]:
    """Thresholds from the jitter seen while the driver stood still (see module doc)."""
    from realtime.matching import compare

    j = list(jitter_px.values())
    still = 3.0 * float(np.median(j)) if j else 0.0
    eu, co, ang = [], [], []
    for f in frames:
        c = compare(f, neutral, min_score=min_score)
        if c.keypoints_used < 2:
            continue
        eu.append(c.euclidean_distance)
        co.append(c.cosine_similarity)
        errs = [abs(v) for v in c.joint_angle_errors_deg.values()]
        ang.append(max(errs) if errs else 0.0)
    out = {"still_px": max(still, 0.5)}
    if eu:
        out["match_euclidean"] = float(np.mean(eu) + 3 * np.std(eu))
        out["match_cosine"] = float(max(0.0, np.mean(co) - 3 * np.std(co)))
        out["angle_deg"] = float(max(3.0, np.mean(ang) + 3 * np.std(ang)))
    return out


def profile_from_capture(result, mirror: bool = False, source: str = "",
                         neutral_face: Face | None = None) -> CalibrationProfile:
    """A profile from a finished NeutralCapture result (and the neutral face seen meanwhile)."""
    thr = derive_thresholds(result.poses, result.pose, result.jitter_px)
    return CalibrationProfile(result.pose, result.jitter_px, result.body_size_px, thr, mirror,
                              result.frames, source, neutral_face=neutral_face)


def profile_from_pose(pose: Pose, mirror: bool = False, source: str = "",
                      neutral_face: Face | None = None) -> CalibrationProfile:
    """A profile whose neutral is one given pose (`repose calibrate --frame N`): no jitter measured
    (one frame), so the thresholds are their floors. Whether the pose passes the neutral checks is
    the caller's to report: a frame in the avatar photo's own pose is the right neutral for it."""
    size = torso_size(pose)     # the shoulder line alone for an upper-body driver
    if not (np.isfinite(size) and size > 0):
        raise InputError(f"{source or 'the frame'}: the pose shows no torso or shoulders to calibrate on; "
                         "pick a frame where the driver's shoulders are in view")
    thr = derive_thresholds([pose], pose, {})
    return CalibrationProfile(pose, {}, float(size), thr, mirror, 1, source, neutral_face=neutral_face)
