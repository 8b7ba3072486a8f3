"""Is this pose a neutral pose? Checks for the calibration's neutral capture.

A neutral pose is the reference for every bone's length: taken while the driver looks down, the
neck and head bones are short, and every later upright frame retargets them to about twice the
avatar's (a bobble head). So a neutral frame must have:
- the head upright: the nose well above the shoulder line (at least ``min_head_height`` of the
  shoulder width), not tilted sideways (the eyes' line within ``max_head_roll_deg``), not pitched
  down or up (eyes level with the ears within ``max_head_pitch`` of the ear span);
- the shoulders level (within ``max_shoulder_tilt_deg``);
- the body facing the camera: shoulders at least ``min_facing`` of the torso's height wide
  (hips visible), else the nose between the ears (an upper-body driver);
- the arms down, where they are visible: each upper arm within ``max_arm_raise_deg`` of hanging
  straight down, each forearm within twice that.
Only what is visible is judged (score >= min_score): an upper-body driver without hips is judged on
head, shoulders and arms. ``neutral_badness`` turns the same checks into one number (0 = every
check passes with room; larger = further out) so a better neutral can replace a worse one.
Poses: any layout with COCO-17 names, pixels (x right, y down).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from realtime.layouts import COCO17
from realtime.pose import MIN_SCORE, Pose


@dataclass(frozen=True)
class NeutralLimits:
    """Limits of a neutral pose (see the module doc)."""

    min_head_height: float = 0.3
    max_head_roll_deg: float = 15.0
    max_head_pitch: float = 0.3
    max_shoulder_tilt_deg: float = 10.0
    min_facing: float = 0.45
    max_nose_offset: float = 0.3
    max_arm_raise_deg: float = 45.0


def _angle_deg(v: np.ndarray, ref: np.ndarray) -> float:
    n = float(np.linalg.norm(v)) * float(np.linalg.norm(ref))
    if n < 1e-9:
        return 0.0
    return float(np.degrees(np.arccos(np.clip(float(v @ ref) / n, -1.0, 1.0))))


def _tilt_deg(v: np.ndarray) -> float:
    """Angle of a left-right line from the horizontal, 0..90 degrees (either direction)."""
    a = abs(float(np.degrees(np.arctan2(v[1], v[0]))))
    return min(a, 180.0 - a)


def neutral_measures(pose: Pose, min_score: float = MIN_SCORE,
                     limits: NeutralLimits | None = None) -> dict[str, tuple[float, float, str]]:
    """Every check the pose's visible keypoints allow: name -> (excess, value, what it means).
    excess <= 0 passes (its size is the room left, in units of the limit); > 0 fails."""
    lim = limits or NeutralLimits()
    p = pose.to_layout(COCO17)
    ok = p.present(min_score)
    xy = p.xy.astype(np.float64)
    ix = COCO17.index
    has = lambda *names: all(ok[ix[n]] for n in names)  # noqa: E731
    at = lambda n: xy[ix[n]]  # noqa: E731
    out: dict[str, tuple[float, float, str]] = {}
    if not has("left_shoulder", "right_shoulder"):
        return out
    ls, rs = at("left_shoulder"), at("right_shoulder")
    sw = float(np.linalg.norm(ls - rs))
    if sw < 1e-6:
        return out
    neck = (ls + rs) / 2
    tilt = _tilt_deg(ls - rs)
    out["shoulders level"] = (tilt / lim.max_shoulder_tilt_deg - 1, tilt, "shoulder line tilt (deg)")
    if has("nose"):
        # the nose's height above the shoulder line, across it (a bowed head drops it)
        across = np.array([(ls - rs)[1], -(ls - rs)[0]]) / sw
        if across[1] > 0:
            across = -across            # pointing up the image
        height = float((at("nose") - neck) @ across) / sw
        out["head upright"] = (1 - height / lim.min_head_height, height,
                               "nose height above the shoulders (x shoulder width)")
    if has("left_eye", "right_eye"):
        roll = _tilt_deg(at("left_eye") - at("right_eye"))
        out["head not tilted"] = (roll / lim.max_head_roll_deg - 1, roll, "eye line tilt (deg)")
    if has("left_eye", "right_eye", "left_ear", "right_ear"):
        span = float(np.linalg.norm(at("left_ear") - at("right_ear")))
        if span > 1e-6:
            pitch = float(((at("left_eye") + at("right_eye")) / 2 - (at("left_ear") + at("right_ear")) / 2)[1]) / span
            out["head level"] = (abs(pitch) / lim.max_head_pitch - 1, pitch,
                                 "eyes below the ears (x ear span; + = looking down)")
    if has("left_hip", "right_hip"):
        hip = (at("left_hip") + at("right_hip")) / 2
        th = float(np.linalg.norm(neck - hip))
        if th > 1e-6:
            facing = sw / th
            out["facing the camera"] = (1 - facing / lim.min_facing, facing, "shoulder width / torso height")
    elif has("nose", "left_ear", "right_ear"):
        span = float(np.linalg.norm(at("left_ear") - at("right_ear")))
        if span > 1e-6:
            off = abs(float((at("nose") - (at("left_ear") + at("right_ear")) / 2) @ ((at("left_ear") - at("right_ear")) / span))) / span
            out["facing the camera"] = (off / lim.max_nose_offset - 1, off, "nose off the ears' middle (x ear span)")
    down = np.array([0.0, 1.0])
    for side in ("left", "right"):
        s, e, w = f"{side}_shoulder", f"{side}_elbow", f"{side}_wrist"
        if has(s, e):
            a = _angle_deg(at(e) - at(s), down)
            out[f"{side} arm down"] = (a / lim.max_arm_raise_deg - 1, a, "upper arm from hanging (deg)")
            if has(w):
                a2 = _angle_deg(at(w) - at(e), down)
                out[f"{side} forearm down"] = (a2 / (2 * lim.max_arm_raise_deg) - 1, a2, "forearm from hanging (deg)")
    return out


def neutral_problems(pose: Pose, min_score: float = MIN_SCORE, limits: NeutralLimits | None = None) -> list[str]:
    """What makes the pose not neutral, in words (empty when it is neutral). A pose without both
    shoulders cannot be judged and is not neutral."""
    m = neutral_measures(pose, min_score, limits)
    if not m:
        return ["shoulders not visible"]
    return [f"{name}: {what} {value:.2f}" for name, (excess, value, what) in m.items() if excess > 0]


def is_neutral(pose: Pose, min_score: float = MIN_SCORE, limits: NeutralLimits | None = None) -> bool:
    return not neutral_problems(pose, min_score, limits)


def neutral_badness(pose: Pose, min_score: float = MIN_SCORE, limits: NeutralLimits | None = None) -> float:
    """One number for how far from neutral the pose is: the sum of the failed checks' excesses plus
    a small share of the room-left of the others (so of two neutral poses the more upright ranks
    better); inf when it cannot be judged."""
    m = neutral_measures(pose, min_score, limits)
    if not m:
        return float("inf")
    ex = np.array([v[0] for v in m.values()])
    return float(np.clip(ex, 0, None).sum() + 0.05 * np.clip(ex + 1, 0, None).mean())
