"""Skeleton drawing in the usual OpenPose colours (the pose images ControlNet-style tools take).

Every pose is drawn in the OpenPose-18 layout: limbs as filled ellipses, one colour per limb, and
joints as dots, one colour per keypoint, on a copy of a BGR image or on black.
"""
from __future__ import annotations

import cv2
import numpy as np

from realtime.layouts import OPENPOSE18
from realtime.pose import MIN_SCORE, Pose

# OpenPose's 18 body colours (RGB), in keypoint order; limb i uses colour i.
OPENPOSE_COLORS_RGB: tuple[tuple[int, int, int], ...] = (
    (255, 0, 0), (255, 85, 0), (255, 170, 0), (255, 255, 0), (170, 255, 0), (85, 255, 0),
    (0, 255, 0), (0, 255, 85), (0, 255, 170), (0, 255, 255), (0, 170, 255), (0, 85, 255),
    (0, 0, 255), (85, 0, 255), (170, 0, 255), (255, 0, 255), (255, 0, 170), (255, 0, 85),
)
_BGR = [tuple(int(c) for c in rgb[::-1]) for rgb in OPENPOSE_COLORS_RGB]
_BONES = OPENPOSE18.bone_indices


def _scale_for(shape: tuple[int, ...]) -> float:
    return max(1.0, min(shape[0], shape[1]) / 512.0)


def draw_skeleton(image_bgr: np.ndarray, pose: Pose | None, *, min_score: float = MIN_SCORE,
                  thickness: float | None = None, limb_alpha: float = 0.6,
                  highlight: dict[str, tuple[int, int, int]] | None = None) -> np.ndarray:
    """A copy of ``image_bgr`` with the pose drawn on it (nothing drawn when pose is None).

    thickness: limb half-width in pixels (default scales with the image: 4 px per 512 px).
    highlight: keypoint name -> BGR colour of a ring drawn around that joint.
    """
    out = np.ascontiguousarray(image_bgr).copy()
    if pose is None:
        return out
    p = pose.to_layout(OPENPOSE18)
    s = _scale_for(out.shape)
    stick = float(thickness) if thickness is not None else 4.0 * s
    ok = p.present(min_score)
    limbs = out.copy()
    for i, (a, b) in enumerate(_BONES):
        if not (ok[a] and ok[b]):
            continue
        (x0, y0), (x1, y1) = p.xy[a], p.xy[b]
        mx, my = (x0 + x1) / 2, (y0 + y1) / 2
        length = float(np.hypot(x1 - x0, y1 - y0))
        angle = float(np.degrees(np.arctan2(y1 - y0, x1 - x0)))
        poly = cv2.ellipse2Poly((int(round(mx)), int(round(my))), (int(length / 2), max(1, int(stick))),
                                int(round(angle)), 0, 360, 1)
        cv2.fillConvexPoly(limbs, poly, _BGR[i % len(_BGR)], lineType=cv2.LINE_AA)
    cv2.addWeighted(limbs, limb_alpha, out, 1.0 - limb_alpha, 0, dst=out)
    r = max(2, int(round(4 * s)))
    for i in np.flatnonzero(ok):
        c = (int(round(p.xy[i, 0])), int(round(p.xy[i, 1])))
        cv2.circle(out, c, r, _BGR[i], -1, lineType=cv2.LINE_AA)
    for name, color in (highlight or {}).items():
        if name in p.layout.index and ok[p.layout.index[name]]:
            c = tuple(int(round(v)) for v in p[name])
            cv2.circle(out, c, 3 * r, color, max(2, r // 2), lineType=cv2.LINE_AA)
    return out


def skeleton_image(pose: Pose | None, width: int, height: int, **kw) -> np.ndarray:
    """The pose drawn on black, BGR uint8 (height, width, 3)."""
    return draw_skeleton(np.zeros((height, width, 3), np.uint8), pose, **kw)


def put_label(image_bgr: np.ndarray, text: str, org: tuple[int, int] = (10, 30),
              color: tuple[int, int, int] = (255, 255, 255)) -> None:
    """Text with a dark outline, drawn in place, readable on any background (ASCII; ° becomes 'deg')."""
    text = text.replace("°", " deg").encode("ascii", "replace").decode("ascii")
    s = _scale_for(image_bgr.shape)
    cv2.putText(image_bgr, text, org, cv2.FONT_HERSHEY_SIMPLEX, 0.6 * s, (0, 0, 0), int(4 * s), cv2.LINE_AA)
    cv2.putText(image_bgr, text, org, cv2.FONT_HERSHEY_SIMPLEX, 0.6 * s, color, max(1, int(1.5 * s)), cv2.LINE_AA)


def side_by_side(*images: np.ndarray, height: int | None = None) -> np.ndarray:
    """Images resized to one height (the first's by default) and joined left to right."""
    h = height or images[0].shape[0]
    parts = [cv2.resize(im, (max(1, round(im.shape[1] * h / im.shape[0])), h)) if im.shape[0] != h else im
             for im in images]
    return np.concatenate(parts, axis=1)
