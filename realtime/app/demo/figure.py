"""A reference person the project draws itself, for `repose demo` on a machine with no data.

A shaded, front-facing figure (skin, hair, face, shirt, trousers, shoes) standing with arms a little
away from the body, on a plain room background. Limbs are capsules lit like cylinders, so the
figure reads as a body to MediaPipe. Its pose is known by construction (COCO-17, drawing pixels)
and so is its person mask; `repose demo` still checks that MediaPipe finds the figure.
"""
from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from realtime.layouts import COCO17
from realtime.pose import Pose

WIDTH, HEIGHT = 480, 640

# COCO-17 keypoints of the drawing, pixels (x right, y down); the figure faces the camera, so its
# left side is on the image's right.
KEYPOINTS: dict[str, tuple[float, float]] = {
    "nose": (240, 118), "left_eye": (254, 101), "right_eye": (226, 101),
    "left_ear": (277, 108), "right_ear": (203, 108),
    "left_shoulder": (302, 190), "right_shoulder": (178, 190),
    "left_elbow": (330, 290), "right_elbow": (150, 290),
    "left_wrist": (360, 380), "right_wrist": (120, 380),
    "left_hip": (276, 360), "right_hip": (204, 360),
    "left_knee": (282, 478), "right_knee": (198, 478),
    "left_ankle": (285, 590), "right_ankle": (195, 590),
}

SKIN = (150, 180, 225)     # BGR
SHIRT = (150, 110, 40)
TROUSERS = (70, 45, 35)
HAIR = (30, 35, 45)
SHOES = (35, 35, 40)


@dataclass(frozen=True)
class Figure:
    image: np.ndarray   # BGR uint8 (HEIGHT, WIDTH, 3)
    mask: np.ndarray    # float32 (HEIGHT, WIDTH) in [0, 1]
    pose: Pose          # COCO-17, drawing pixels, z = 0 (flat)


def reference_pose(keypoints: dict[str, tuple[float, float]] | None = None) -> Pose:
    """The figure's COCO-17 pose (``keypoints`` overrides some of KEYPOINTS)."""
    kp = {**KEYPOINTS, **(keypoints or {})}
    xy = np.array([kp[n] for n in COCO17.names], np.float32)
    z = np.zeros(len(COCO17), np.float32)
    # arms a little in front of the body, as a standing person's are
    for n in ("left_elbow", "right_elbow", "left_wrist", "right_wrist"):
        z[COCO17.index[n]] = -20.0
    return Pose(xy=xy, score=np.ones(len(COCO17), np.float32), layout=COCO17, width=WIDTH, height=HEIGHT, z=z)


def _capsule(canvas: np.ndarray, mask: np.ndarray, a, b, r0: float, r1: float, colour) -> None:
    """Paint a tapered capsule a-b (radii r0 at a, r1 at b) lit like a cylinder."""
    h, w = mask.shape
    a, b = np.asarray(a, np.float32), np.asarray(b, np.float32)
    x0 = int(max(0, min(a[0], b[0]) - max(r0, r1) - 2)); x1 = int(min(w, max(a[0], b[0]) + max(r0, r1) + 3))
    y0 = int(max(0, min(a[1], b[1]) - max(r0, r1) - 2)); y1 = int(min(h, max(a[1], b[1]) + max(r0, r1) + 3))
    if x1 <= x0 or y1 <= y0:  # wholly outside the canvas (a moved hand above the top edge)
        return
    ys, xs = np.mgrid[y0:y1, x0:x1].astype(np.float32)
    v = b - a
    ll = float(v @ v) or 1.0
    t = np.clip(((xs - a[0]) * v[0] + (ys - a[1]) * v[1]) / ll, 0, 1)
    d = np.hypot(xs - (a[0] + t * v[0]), ys - (a[1] + t * v[1]))
    r = r0 + (r1 - r0) * t
    inside = np.clip(r - d + 0.5, 0, 1)                      # anti-aliased edge
    # light from the upper left: brighter on one side of the limb
    nx = -v[1] / np.sqrt(ll)
    side = ((xs - (a[0] + t * v[0])) * nx + (ys - (a[1] + t * v[1])) * (v[0] / np.sqrt(ll))) / np.maximum(r, 1)
    shade = 0.62 + 0.38 * np.sqrt(np.clip(1 - (d / np.maximum(r, 1)) ** 2, 0, 1)) - 0.08 * np.clip(side, -1, 1)
    col = np.clip(np.asarray(colour, np.float32)[None, None, :] * shade[..., None], 0, 255)
    roi = canvas[y0:y1, x0:x1]
    roi[:] = roi * (1 - inside[..., None]) + col * inside[..., None]
    mask[y0:y1, x0:x1] = np.maximum(mask[y0:y1, x0:x1], inside)


def _ellipse(canvas, mask, centre, axes, colour, shade_to: float = 0.7) -> None:
    h, w = mask.shape
    cx, cy = centre
    ax, ay = axes
    ys, xs = np.mgrid[0:h, 0:w].astype(np.float32)
    q = ((xs - cx) / ax) ** 2 + ((ys - cy) / ay) ** 2
    inside = np.clip((1 - q) * min(ax, ay) / 2 + 0.5, 0, 1)
    shade = shade_to + (1 - shade_to) * np.sqrt(np.clip(1 - q, 0, 1))
    col = np.asarray(colour, np.float32)[None, None, :] * shade[..., None]
    canvas[:] = canvas * (1 - inside[..., None]) + col * inside[..., None]
    np.maximum(mask, inside, out=mask)


def _shirt(canvas: np.ndarray, mask: np.ndarray, k: dict[str, np.ndarray]) -> None:
    """The shirt: one rounded shape from the shoulders to the hips, lit like a cylinder across."""
    ls, rs, lh, rh = k["left_shoulder"], k["right_shoulder"], k["left_hip"], k["right_hip"]
    outline = np.array([rs + (-14, -6), rs + (4, -20), ls + (-4, -20), ls + (14, -6),
                        ls + (2, 60), lh + (14, -10), lh + (12, 6), rh + (-12, 6), rh + (-14, -10),
                        rs + (-2, 60)], np.float32)
    shape = np.zeros(mask.shape, np.uint8)
    cv2.fillPoly(shape, [np.round(outline * 4).astype(np.int32)], 255, lineType=cv2.LINE_AA, shift=2)
    shape = cv2.GaussianBlur(shape, (5, 5), 0).astype(np.float32) / 255.0
    cx = float((ls[0] + rs[0] + lh[0] + rh[0]) / 4)
    half = float(abs(ls[0] - rs[0]) / 2 + 14)
    xs = np.arange(mask.shape[1], dtype=np.float32)[None, :]
    across = np.clip(np.abs(xs - cx) / half, 0, 1)
    shade = 0.6 + 0.4 * np.sqrt(1 - across ** 2) - 0.06 * (xs - cx) / half
    ys = np.arange(mask.shape[0], dtype=np.float32)[:, None]
    shade = shade * (1.0 - 0.08 * np.clip((ys - ls[1]) / (lh[1] - ls[1]), 0, 1))
    col = np.asarray(SHIRT, np.float32)[None, None, :] * shade[..., None]
    canvas[:] = canvas * (1 - shape[..., None]) + col * shape[..., None]
    np.maximum(mask, shape, out=mask)


def _background() -> np.ndarray:
    ys = np.linspace(0, 1, HEIGHT, dtype=np.float32)[:, None, None]
    wall = np.array([205, 215, 222], np.float32) * (1 - 0.15 * ys) + 0 * ys
    img = np.broadcast_to(wall, (HEIGHT, WIDTH, 3)).copy()
    floor_y = 560
    fy = np.linspace(0, 1, HEIGHT - floor_y, dtype=np.float32)[:, None, None]
    img[floor_y:] = np.array([95, 125, 150], np.float32) * (0.85 + 0.15 * fy)
    img[floor_y - 2:floor_y + 1] = (80, 95, 110)
    return img


def draw_figure(keypoints: dict[str, tuple[float, float]] | None = None) -> Figure:
    """The drawn reference: image, mask and pose. ``keypoints`` moves some joints (e.g. an arm
    across the chest, for tests); the face stays where it is."""
    k = {n: np.array(p, np.float32) for n, p in {**KEYPOINTS, **(keypoints or {})}.items()}
    img = _background()
    mask = np.zeros((HEIGHT, WIDTH), np.float32)
    # legs (trousers) and shoes
    for s in ("left", "right"):
        _capsule(img, mask, k[f"{s}_hip"], k[f"{s}_knee"], 30, 22, TROUSERS)
        _capsule(img, mask, k[f"{s}_knee"], k[f"{s}_ankle"], 22, 16, TROUSERS)
        toe = k[f"{s}_ankle"] + np.array([14 if s == "left" else -14, 22], np.float32)
        _capsule(img, mask, k[f"{s}_ankle"] + (0, 8), toe, 13, 12, SHOES)
    # torso: shirt over hips
    hip_c = (k["left_hip"] + k["right_hip"]) / 2
    _capsule(img, mask, hip_c + (-22, 0), hip_c + (22, 0), 34, 34, TROUSERS)
    neck = (k["left_shoulder"] + k["right_shoulder"]) / 2
    _capsule(img, mask, (neck[0], 130), (neck[0], 175), 17, 19, SKIN)          # neck
    _shirt(img, mask, k)
    for s in ("left", "right"):
        _capsule(img, mask, k[f"{s}_shoulder"], k[f"{s}_shoulder"] + (k[f"{s}_elbow"] - k[f"{s}_shoulder"]) * 0.45,
                 25, 21, SHIRT)                                                   # sleeve
        _capsule(img, mask, k[f"{s}_shoulder"] + (k[f"{s}_elbow"] - k[f"{s}_shoulder"]) * 0.4, k[f"{s}_elbow"],
                 19, 16, SKIN)
        _capsule(img, mask, k[f"{s}_elbow"], k[f"{s}_wrist"], 16, 12, SKIN)
        hand = k[f"{s}_wrist"] + (k[f"{s}_wrist"] - k[f"{s}_elbow"]) * 0.32
        _capsule(img, mask, k[f"{s}_wrist"], hand, 13, 15, SKIN)
    # head: face, hair, ears, features
    _ellipse(img, mask, (240, 110), (37, 47), SKIN, 0.8)
    for s in ("left", "right"):
        ex, ey = k[f"{s}_ear"]
        _ellipse(img, mask, (ex + (3 if s == "left" else -3), ey + 4), (7, 12), SKIN, 0.75)
    hair = img.copy()
    hm = np.zeros_like(mask)
    _ellipse(hair, hm, (240, 88), (40, 32), HAIR, 0.6)
    cut = np.zeros_like(hm)
    cut[:92] = 1
    cut[92:110, :] = 0
    cut[:, :] *= 1
    hm *= cut
    img = img * (1 - hm[..., None]) + hair * hm[..., None]
    np.maximum(mask, hm, out=mask)
    out = np.clip(img, 0, 255).astype(np.uint8)
    for s, (ex, ey) in (("left", KEYPOINTS["left_eye"]), ("right", KEYPOINTS["right_eye"])):
        cv2.ellipse(out, (int(ex), int(ey)), (7, 4), 0, 0, 360, (250, 250, 250), -1, cv2.LINE_AA)
        cv2.circle(out, (int(ex), int(ey)), 3, (60, 40, 30), -1, cv2.LINE_AA)
        cv2.line(out, (int(ex) - 8, int(ey) - 10), (int(ex) + 8, int(ey) - 11), HAIR, 2, cv2.LINE_AA)
    cv2.line(out, (240, 106), (237, 120), (110, 135, 180), 2, cv2.LINE_AA)
    cv2.ellipse(out, (240, 134), (10, 4), 0, 0, 180, (90, 90, 170), 2, cv2.LINE_AA)
    return Figure(out, np.clip(mask, 0, 1), reference_pose(keypoints))
