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

Blending two transforms as matrices collapses the limb at large bends (the candy-wrapper
artefact of linear blend skinning), so the two maps are blended as rotation angle, stretch and
joint position instead (in 2-D this is what dual-quaternion skinning amounts to).
Backward evaluation. For an output pixel p of layer L: start at q0 = A_L^-1 p, then twice
q <- J + P(w(q))^-1 R(-theta(w(q))) (p - J'(w(q))) for the joint of largest weight (a fixed-point
step towards the inverse of the forward blend; 4 steps). This runs on a grid every ``GRID`` output pixels; the two maps are resized to the
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
        if child not in segs or parent not in segs or parent in ("torso", "head"):
            continue  # only limb-limb joints (elbows, knees): see the module doc
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


def _polar(lin: np.ndarray) -> tuple[float, np.ndarray]:
    """lin = R(theta) @ P with theta the rotation nearest to lin; returns (theta, P)."""
    theta = float(np.arctan2(lin[1, 0] - lin[0, 1], lin[0, 0] + lin[1, 1]))
    c, s = np.cos(theta), np.sin(theta)
    return theta, np.array([[c, s], [-s, c]]) @ lin


def _blend_setup(j: Joint, own: np.ndarray, nb: np.ndarray) -> tuple:
    """Per-frame constants of one joint's blend: rotation, stretch and joint image of both sides."""
    t_own, p_own = _polar(own[:, :2])
    t_nb, p_nb = _polar(nb[:, :2])
    dt = (t_nb - t_own + np.pi) % (2 * np.pi) - np.pi
    j_own = own[:, :2] @ j.centre + own[:, 2]
    j_nb = nb[:, :2] @ j.centre + nb[:, 2]
    return j.centre, t_own, dt, p_own, p_nb - p_own, j_own, j_nb - j_own


def _blend_inverse(setup: tuple, w: np.ndarray, px: np.ndarray, py: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Reference position of output pixels p under the joint's blend of the two forward maps,
    blended as rotation angle + stretch + joint position (no collapse at large bends):
    q = J + P(w)^-1 R(-theta(w)) (p - J'(w)). w = 0 gives exactly the own map's inverse."""
    centre, t_own, dt, p0, dp, j0, dj = setup
    theta = t_own + w * dt
    c, s = np.cos(theta), np.sin(theta)
    dx, dy = px - (j0[0] + w * dj[0]), py - (j0[1] + w * dj[1])
    vx, vy = c * dx + s * dy, c * dy - s * dx          # R(-theta) (p - J')
    a, b = p0[0, 0] + w * dp[0, 0], p0[0, 1] + w * dp[0, 1]
    cc, d = p0[1, 0] + w * dp[1, 0], p0[1, 1] + w * dp[1, 1]
    det = a * d - b * cc
    det = np.where(np.abs(det) < 1e-6, 1e-6, det)
    return centre[0] + (d * vx - b * vy) / det, centre[1] + (a * vy - cc * vx) / det


def source_maps(box: tuple[int, int, int, int], own_name: str, joints: list[Joint],
                mats: dict[str, np.ndarray], inv: dict[str, np.ndarray], grid: int = GRID,
                iterations: int = 4) -> tuple[np.ndarray, np.ndarray]:
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
    ox, oy = _apply(inv[own_name], px, py)
    qx, qy = ox, oy
    own = mats[own_name]
    setups = [_blend_setup(j, own, mats[j.neighbour]) for j in joints]
    # only nodes that start near a joint can move: iterate on those alone
    near = np.zeros(px.shape, bool)
    for j in joints:
        near |= (ox - j.centre[0]) ** 2 + (oy - j.centre[1]) ** 2 < (2.5 * j.radius) ** 2
    if joints and near.any():
        fx, fy = ox.copy(), oy.copy()
        px, py, ox, oy = px[near], py[near], ox[near], oy[near]
        qx, qy = ox, oy
    else:
        joints = []
    for _ in range(iterations if joints else 0):
        ws = _weights(qx, qy, joints)
        if len(joints) == 1:  # the usual case (a limb has one soft joint)
            qx, qy = _blend_inverse(setups[0], ws[0], px, py)
            continue
        stack = np.stack(ws)
        k, wmax = np.argmax(stack, axis=0), np.max(stack, axis=0)
        nx, ny = ox.copy(), oy.copy()
        for i in range(len(joints)):
            sel = (k == i) & (wmax > 0)
            if sel.any():
                nx[sel], ny[sel] = _blend_inverse(setups[i], ws[i][sel], px[sel], py[sel])
        qx, qy = nx, ny
    if joints:
        fx[near], fy[near] = qx, qy
        qx, qy = fx, fy
    # grid -> every pixel of the box
    w, h = x1 - x0, y1 - y0
    full_w, full_h = gw * grid, gh * grid
    mx = cv2.resize(qx.astype(np.float32), (full_w, full_h), interpolation=cv2.INTER_LINEAR)[:h, :w]
    my = cv2.resize(qy.astype(np.float32), (full_w, full_h), interpolation=cv2.INTER_LINEAR)[:h, :w]
    return mx, my
