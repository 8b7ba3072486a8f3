"""Built-in scripted motions: short pose sequences made from any rest pose (the demo's driver).

A motion is a function of time that sets a few joint angles; ``motion_poses`` turns it into COCO-17
poses on the given body by forward kinematics with the rest pose's own bone lengths, so the poses
fit the avatar exactly (no retargeting needed). Angles are in degrees in the image plane:
- arm angle: upper arm measured from straight down, positive = out to the side, 180 = overhead;
- forearm angle: the forearm's own angle measured the same way (absolute, not relative);
- leg angle: hip-to-ankle line from straight down, positive = out to the side;
- squat depth: hip drop as a fraction of the thigh length, knees bending outwards (two-bone IK).
Missing rest keypoints are set from defaults, so a partial rest pose still moves.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, replace
from typing import Callable

import numpy as np

from realtime.layouts import COCO17
from realtime.pose import Pose


@dataclass
class Frame:
    """Joint settings of one instant (None = keep the rest pose's)."""

    left_arm: float | None = None
    right_arm: float | None = None
    left_forearm: float | None = None
    right_forearm: float | None = None
    left_leg: float | None = None
    right_leg: float | None = None
    squat: float = 0.0
    sway_px: float = 0.0


def _wave(t: float) -> Frame:
    ramp = min(1.0, t / 0.6)
    return Frame(right_arm=20 + 90 * ramp, right_forearm=20 + (150 + 30 * math.sin(2 * math.pi * 1.6 * t)) * ramp)


def _raise_arms(t: float, period: float = 2.0) -> Frame:
    a = 20 + 155 * (0.5 - 0.5 * math.cos(2 * math.pi * t / period))
    return Frame(left_arm=a, right_arm=a, left_forearm=a + 5, right_forearm=a + 5)


def _squat(t: float, period: float = 2.0) -> Frame:
    s = 0.5 - 0.5 * math.cos(2 * math.pi * t / period)
    arms = 20 + 70 * s
    return Frame(left_arm=arms, right_arm=arms, left_forearm=arms, right_forearm=arms, squat=0.55 * s)


def _jumping_jack(t: float, period: float = 1.2) -> Frame:
    s = 0.5 - 0.5 * math.cos(2 * math.pi * t / period)
    arms = 20 + 150 * s
    legs = 4 + 14 * s
    return Frame(left_arm=arms, right_arm=arms, left_forearm=arms + 10, right_forearm=arms + 10,
                 left_leg=legs, right_leg=legs)


def _sway(t: float) -> Frame:
    return Frame(left_arm=25, right_arm=25, left_forearm=30, right_forearm=30, sway_px=0.12 * math.sin(2 * math.pi * t / 2.0))


# name -> (function of time in seconds, default duration in seconds)
MOTIONS: dict[str, tuple[Callable[[float], Frame], float]] = {
    "wave": (_wave, 3.0),
    "raise_arms": (_raise_arms, 3.0),
    "squat": (_squat, 3.0),
    "jumping_jack": (_jumping_jack, 2.4),
    "sway": (_sway, 2.0),
}
DEFAULT_SEQUENCE = ("wave", "raise_arms", "squat", "jumping_jack")


def _dir(angle_deg: float, side: str) -> np.ndarray:
    a = math.radians(angle_deg)
    # the person's left is on the image's right for a person facing the camera
    sx = 1.0 if side == "left" else -1.0
    return np.array([sx * math.sin(a), math.cos(a)], np.float64)


def _two_bone_knee(hip: np.ndarray, ankle: np.ndarray, l1: float, l2: float, side: str) -> np.ndarray:
    """Knee position for hip and ankle with thigh l1 and shin l2, bending away from the midline."""
    d = ankle - hip
    dist = float(np.linalg.norm(d))
    dist = min(max(dist, abs(l1 - l2) + 1e-3), l1 + l2 - 1e-3)
    u = d / (np.linalg.norm(d) or 1.0)
    a = (l1 * l1 - l2 * l2 + dist * dist) / (2 * dist)
    h = math.sqrt(max(l1 * l1 - a * a, 0.0))
    perp = np.array([-u[1], u[0]])
    out = np.array([1.0 if side == "left" else -1.0, 0.0])
    if perp @ out < 0:
        perp = -perp
    return hip + u * a + perp * h


def apply_frame(rest: Pose, f: Frame) -> Pose:
    """The rest pose (any layout; returned in COCO-17) with one Frame's joint settings applied."""
    p = rest.to_layout(COCO17)
    ix = COCO17.index
    xy = p.xy.astype(np.float64).copy()
    torso_h = float(np.linalg.norm((xy[ix["left_shoulder"]] + xy[ix["right_shoulder"]]) / 2
                                   - (xy[ix["left_hip"]] + xy[ix["right_hip"]]) / 2))
    def length(a: str, b: str) -> float:
        return float(np.linalg.norm(xy[ix[a]] - xy[ix[b]]))

    # lower body first: the squat lowers the hips, the ankles stay on the floor
    thigh = {s: length(f"{s}_hip", f"{s}_knee") for s in ("left", "right")}
    shin = {s: length(f"{s}_knee", f"{s}_ankle") for s in ("left", "right")}
    drop = f.squat * float(np.mean(list(thigh.values())))
    shift = np.array([f.sway_px * torso_h, drop])
    upper = [n for n in COCO17.names if not n.endswith(("_knee", "_ankle"))]
    for n in upper:
        xy[ix[n]] += shift
    for s in ("left", "right"):
        hip = xy[ix[f"{s}_hip"]]
        leg = getattr(f, f"{s}_leg")
        ankle = xy[ix[f"{s}_ankle"]].copy()
        if leg is not None:
            ankle = hip + _dir(leg, s) * (thigh[s] + shin[s]) * 0.995
        reach = (thigh[s] + shin[s]) * 0.999
        if np.linalg.norm(ankle - hip) > reach:  # the leg cannot stretch: the foot slides in
            ankle = hip + (ankle - hip) / np.linalg.norm(ankle - hip) * reach
        xy[ix[f"{s}_ankle"]] = ankle
        xy[ix[f"{s}_knee"]] = _two_bone_knee(hip, ankle, thigh[s], shin[s], s)
    # arms
    for s in ("left", "right"):
        sh, el, wr = ix[f"{s}_shoulder"], ix[f"{s}_elbow"], ix[f"{s}_wrist"]
        upper_len, fore_len = float(np.linalg.norm(p.xy[el] - p.xy[sh])), float(np.linalg.norm(p.xy[wr] - p.xy[el]))
        arm, fore = getattr(f, f"{s}_arm"), getattr(f, f"{s}_forearm")
        if arm is not None:
            xy[el] = xy[sh] + _dir(arm, s) * upper_len
        else:
            xy[el] = xy[sh] + (p.xy[el] - p.xy[sh])
        if fore is not None:
            xy[wr] = xy[el] + _dir(fore, s) * fore_len
        else:
            xy[wr] = xy[el] + (p.xy[wr] - p.xy[el])
    return replace(p, xy=xy.astype(np.float32))


def motion_poses(rest: Pose, names: tuple[str, ...] | list[str] = DEFAULT_SEQUENCE, fps: float = 15.0,
                 duration_s: float | None = None) -> list[tuple[str, Pose]]:
    """(motion name, COCO-17 pose) for every frame of the named motions, one after the other.

    Timestamps run on across motions. duration_s overrides every motion's default length.
    """
    unknown = [n for n in names if n not in MOTIONS]
    if unknown:
        from realtime.errors import InputError

        raise InputError(f"unknown motion {', '.join(unknown)}: expected one of {', '.join(MOTIONS)}")
    out: list[tuple[str, Pose]] = []
    t0 = 0.0
    for name in names:
        fn, dur = MOTIONS[name]
        dur = duration_s or dur
        n = max(1, int(round(dur * fps)))
        for i in range(n):
            t = i / fps
            pose = apply_frame(rest, fn(t))
            out.append((name, replace(pose, timestamp_s=t0 + t)))
        t0 += n / fps
    return out
