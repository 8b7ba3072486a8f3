"""Soft joints for the warp renderer: linear blend skinning, evaluated backwards on a coarse grid.

With rigid parts a bent joint tears the cloth around it into wedges (the joint discs only fill the
gap). Here the pixels near a joint follow a blend of the two bones' transforms, as the mesh
skinning of Animated Drawings does, so sleeves, armpits and hips stretch smoothly.

Source-side weights. For a layer L and one of its joints J (shared with neighbour part N), a
reference pixel q gets the neighbour weight
    w_N(q) = smoothstep((s + r) / 2r) * falloff(|q - J|),   s = (q - J) . u
where u is the unit axis pointing from L into N across the joint, r half the blend zone's depth
and the falloff is 1 within R of the joint and 0 beyond 1.5 R. L's own weight is 1 - sum of w.
Layer N computes the mirror-image weight for the same joint, so both layers agree inside R:
no seam opens between them.

Backward evaluation. For an output pixel p of layer L: start at q0 = A_L^-1 p, then twice
q <- (1 - sum w(q)) A_L^-1 p + sum w(q) A_N^-1 p (a fixed-point step towards the inverse of the
forward blend). This runs on a grid every ``GRID`` output pixels; the two maps are resized to the
layer's output box (they are smooth) and the layer is sampled once with ``cv2.remap``.
"""
from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

GRID = 4


@dataclass(frozen=True)
class Joint:
    """A soft joint of one layer: centre (reference px), axis into the neighbour, blend depth r and
    radius R (px), neighbour part name."""

    centre: np.ndarray
    axis: np.ndarray
    r: float
    radius: float
    neighbour: str


def _unit(v: np.ndarray) -> np.ndarray:
    n = float(np.linalg.norm(v))
    return v / n if n > 1e-9 else np.array([0.0, 1.0])


def build_joints(segs: dict[str, tuple[np.ndarray, np.ndarray]], radius: dict[str, float],
                 parents: dict[str, str], starts: dict[str, np.ndarray]) -> dict[str, list[Joint]]:
    """Soft joints of every layer. segs: part -> (a, b) bone segment; radius: part thickness (px);
    parents: part -> parent part; starts: part -> its proximal joint position (reference px)."""
    joints: dict[str, list[Joint]] = {name: [] for name in segs}
    for child, parent in parents.items():
        if child not in segs or parent not in segs:
            continue
        centre = np.asarray(starts[child], np.float64)
        a, b = segs[child]
        into_child = _unit(np.asarray(b, np.float64) - centre)
        if parent not in ("torso",) and parent in segs:
            pa, pb = segs[parent]
            into_child = _unit(into_child + _unit(np.asarray(pb, np.float64) - np.asarray(pa, np.float64)))
        rad = radius[child]
        r = 0.9 * rad
        big = 1.8 * rad
        joints[parent].append(Joint(centre, into_child, r, big, child))
        joints[child].append(Joint(centre, -into_child, r, big, parent))
    return joints


def _weights(qx: np.ndarray, qy: np.ndarray, joints: list[Joint]) -> list[np.ndarray]:
    out = []
    for j in joints:
        dx, dy = qx - j.centre[0], qy - j.centre[1]
        s = dx * j.axis[0] + dy * j.axis[1]
        t = np.clip((s + j.r) / (2 * j.r), 0.0, 1.0)
        w = t * t * (3 - 2 * t)
        d = np.sqrt(dx * dx + dy * dy)
        f = np.clip((1.5 * j.radius - d) / (0.5 * j.radius), 0.0, 1.0)
        out.append(w * f)
    return out


def _apply(m: np.ndarray, x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    return m[0, 0] * x + m[0, 1] * y + m[0, 2], m[1, 0] * x + m[1, 1] * y + m[1, 2]


def source_maps(box: tuple[int, int, int, int], own_inv: np.ndarray, joints: list[Joint],
                inv: dict[str, np.ndarray], grid: int = GRID, iterations: int = 2) -> tuple[np.ndarray, np.ndarray]:
    """(map_x, map_y) float32 of the output box (x0, y0, x1, y1): reference pixel of every output pixel."""
    x0, y0, x1, y1 = box
    gw = (x1 - x0 + grid - 1) // grid
    gh = (y1 - y0 + grid - 1) // grid
    # nodes at the centres of grid x grid cells: cv2.resize by exactly `grid` then puts every node
    # on its own pixel and interpolates linearly between them (only the outer half cell is clamped)
    c = grid / 2.0 - 0.5
    gx = x0 + c + np.arange(gw, dtype=np.float64) * grid
    gy = y0 + c + np.arange(gh, dtype=np.float64) * grid
    px, py = np.meshgrid(gx, gy)
    ox, oy = _apply(own_inv, px, py)
    qx, qy = ox, oy
    if joints:
        nb = [_apply(inv[j.neighbour], px, py) for j in joints]
        for _ in range(iterations):
            ws = _weights(qx, qy, joints)
            total = np.clip(sum(ws), 0.0, 1.0)
            scale = np.where(sum(ws) > 1.0, 1.0 / np.maximum(sum(ws), 1e-9), 1.0)
            qx = (1.0 - total) * ox + sum(w * scale * n[0] for w, n in zip(ws, nb))
            qy = (1.0 - total) * oy + sum(w * scale * n[1] for w, n in zip(ws, nb))
    # grid -> every pixel of the box (the grid's last node lies at or beyond the box edge)
    w, h = x1 - x0, y1 - y0
    full_w, full_h = gw * grid, gh * grid
    mx = cv2.resize(qx.astype(np.float32), (full_w, full_h), interpolation=cv2.INTER_LINEAR)[:h, :w]
    my = cv2.resize(qy.astype(np.float32), (full_w, full_h), interpolation=cv2.INTER_LINEAR)[:h, :w]
    return mx, my
