"""Piecewise-affine warps of a layer by a triangle mesh, used by the face and the hands.

A layer (premultiplied BGRA patch at a reference origin) is warped by one 2x3 affine ("rigid": the
part's own transform) everywhere, except inside a mesh whose source points (reference px) move to
given destinations (output px): there every pixel is sampled through the inverse of its triangle's
affine. A mesh whose outer points move with the rigid transform joins the rest without a seam.
"""
from __future__ import annotations

from typing import Callable

import cv2
import numpy as np


def warp_with_mesh(patch: np.ndarray, origin: tuple[int, int], rigid: np.ndarray, src: np.ndarray,
                   dst: np.ndarray, tri: np.ndarray, size: tuple[int, int],
                   post: Callable[[np.ndarray, tuple[int, int]], None] | None = None, nodes: int = 160
                   ) -> tuple[np.ndarray, int, int, int, int] | None:
    """(warped, x0, y0, x1, y1) of the layer in its output box clipped to ``size`` (w, h), or None
    off-canvas. post(region, (fx0, fy0)) may edit the mesh's output region in place; nodes: the
    map's grid nodes across the mesh (mesh_maps)."""
    w, h = size
    ph, pw = patch.shape[:2]
    x0, y0 = origin
    corners = np.array([[x0, y0], [x0 + pw, y0], [x0, y0 + ph], [x0 + pw, y0 + ph]], np.float64)
    box = np.vstack([corners @ rigid[:, :2].T + rigid[:, 2], dst])
    rx0, ry0 = max(int(np.floor(box[:, 0].min())) - 1, 0), max(int(np.floor(box[:, 1].min())) - 1, 0)
    rx1, ry1 = min(int(np.ceil(box[:, 0].max())) + 2, w), min(int(np.ceil(box[:, 1].max())) + 2, h)
    if rx1 <= rx0 or ry1 <= ry0:
        return None
    bw, bh = rx1 - rx0, ry1 - ry0
    m = rigid.copy()
    m[:, 2] += rigid[:, :2] @ np.array([x0, y0], np.float64) - (rx0, ry0)
    # the mesh's box inside the output box: there every pixel is sampled through the inverse of its
    # triangle's affine; the rigid layer fills the bands around it (no pixel is warped twice)
    fx0, fy0 = max(int(np.floor(dst[:, 0].min())), rx0), max(int(np.floor(dst[:, 1].min())), ry0)
    fx1, fy1 = min(int(np.ceil(dst[:, 0].max())) + 1, rx1), min(int(np.ceil(dst[:, 1].max())) + 1, ry1)
    if fx1 - fx0 <= 2 or fy1 - fy0 <= 2:
        out = cv2.warpAffine(patch, m, (bw, bh), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT,
                             borderValue=(0, 0, 0, 0))
        return out, rx0, ry0, rx1, ry1
    out = np.empty((bh, bw, 4), np.uint8)
    ax0, ay0, ax1, ay1 = fx0 - rx0, fy0 - ry0, fx1 - rx0, fy1 - ry0
    for bx0, by0, bx1, by1 in ((0, 0, bw, ay0), (0, ay1, bw, bh), (0, ay0, ax0, ay1), (ax1, ay0, bw, ay1)):
        if bx1 > bx0 and by1 > by0:
            mb = m.copy()
            mb[:, 2] -= (bx0, by0)
            cv2.warpAffine(patch, mb, (bx1 - bx0, by1 - by0), dst=out[by0:by1, bx0:bx1], flags=cv2.INTER_LINEAR,
                           borderMode=cv2.BORDER_CONSTANT, borderValue=(0, 0, 0, 0))
    mx, my = mesh_maps(src, dst - (fx0, fy0), tri, (fx1 - fx0, fy1 - fy0), rigid, (fx0, fy0), nodes)
    mx -= x0
    my -= y0
    region = out[ay0:ay1, ax0:ax1]
    cv2.remap(patch, mx, my, cv2.INTER_LINEAR, dst=region, borderMode=cv2.BORDER_CONSTANT,
              borderValue=(0, 0, 0, 0))
    if post is not None:
        post(region, (fx0, fy0))
    return out, rx0, ry0, rx1, ry1


def mesh_maps(src: np.ndarray, dst: np.ndarray, tri: np.ndarray, size: tuple[int, int], rigid: np.ndarray,
              offset: tuple[int, int], nodes: int = 160) -> tuple[np.ndarray, np.ndarray]:
    """Source (reference px) of every pixel of a box of ``size`` at output ``offset``, as float32
    x and y maps (views, for cv2.remap): computed on a grid of about ``nodes`` nodes across (a face
    over ~160 px wide) and interpolated (the map is piecewise linear, so this only softens it along
    triangle edges). The grid's nodes outside every triangle (and in degenerate ones) take the
    rigid layer's inverse."""
    bw, bh = size
    step = max(1, int(round(max(bw, bh) / float(nodes))))
    gw, gh = (bw + step - 1) // step + 1, (bh + step - 1) // step + 1
    d = (dst + 0.5) / step - 0.5    # grid node j sits at pixel (j + 0.5) * step - 0.5 (cv2.resize's)
    tri_dst = d[tri]                                                      # (T, 3, 2) grid units
    idx = np.full((gh, gw), -1, np.int32)
    fill = cv2.fillConvexPoly
    # positional arguments and a list of rows: the loop runs for each of ~1000 triangles a frame
    for k, t in enumerate(list(np.round(tri_dst * 16).astype(np.int32))):
        fill(idx, t, k, cv2.LINE_8, 4)
    coef, good = _grid_to_source(tri_dst, src[tri])
    inv = cv2.invertAffineTransform(rigid)
    gx = (np.arange(gw, dtype=np.float32) + 0.5) * step - 0.5 + offset[0]
    gy = ((np.arange(gh, dtype=np.float32) + 0.5) * step - 0.5 + offset[1])[:, None]
    # float32 arithmetic, as the whole grid had (and cv2.remap's map type); contiguous: ravel() is a view
    mx = (inv[0, 0] * gx + inv[0, 1] * gy + inv[0, 2]).astype(np.float32, copy=False)
    my = (inv[1, 0] * gx + inv[1, 1] * gy + inv[1, 2]).astype(np.float32, copy=False)
    flat = idx.ravel()
    # -1 (no triangle) and degenerate triangles keep the rigid inverse
    pos = np.flatnonzero(np.append(good, False)[flat])
    c = coef[flat[pos]]                                                    # (N, 6)
    xx, yy = pos % gw, pos // gw
    mx.ravel()[pos] = xx * c[:, 0] + yy * c[:, 1] + c[:, 4]
    my.ravel()[pos] = xx * c[:, 2] + yy * c[:, 3] + c[:, 5]
    if step > 1:   # one channel at a time: cv2.resize rounds a two-channel map differently
        big = (gw * step, gh * step)
        mx = cv2.resize(mx, big, interpolation=cv2.INTER_LINEAR)
        my = cv2.resize(my, big, interpolation=cv2.INTER_LINEAR)
    return mx[:bh, :bw], my[:bh, :bw]


def _grid_to_source(tri_dst: np.ndarray, tri_src: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per triangle, the affine from grid units to reference px, x_src = q0 + Q P^-1 (x - p0), as
    (T, 6) rows (a, b, c, d, e, f: x' = a x + b y + e, y' = c x + d y + f), and whether the
    triangle is not degenerate. Elementwise on (T,) columns (2x2 products with ~1000 triangles
    a frame: numpy's stacked matrix calls cost more than the arithmetic)."""
    p0 = tri_dst[:, 0]
    p00, p10 = tri_dst[:, 1, 0] - p0[:, 0], tri_dst[:, 1, 1] - p0[:, 1]   # P's columns: p1 - p0, p2 - p0
    p01, p11 = tri_dst[:, 2, 0] - p0[:, 0], tri_dst[:, 2, 1] - p0[:, 1]
    q0 = tri_src[:, 0]
    q00, q10 = tri_src[:, 1, 0] - q0[:, 0], tri_src[:, 1, 1] - q0[:, 1]
    q01, q11 = tri_src[:, 2, 0] - q0[:, 0], tri_src[:, 2, 1] - q0[:, 1]
    det = p00 * p11 - p01 * p10
    good = np.abs(det) > 1e-9
    det = np.where(good, det, 1.0)
    i00, i01, i10, i11 = p11 / det, -p01 / det, -p10 / det, p00 / det
    coef = np.empty((len(tri_dst), 6))
    coef[:, 0] = q00 * i00 + q01 * i10
    coef[:, 1] = q00 * i01 + q01 * i11
    coef[:, 2] = q10 * i00 + q11 * i10
    coef[:, 3] = q10 * i01 + q11 * i11
    coef[:, 4] = q0[:, 0] - (coef[:, 0] * p0[:, 0] + coef[:, 1] * p0[:, 1])
    coef[:, 5] = q0[:, 1] - (coef[:, 2] * p0[:, 0] + coef[:, 3] * p0[:, 1])
    return coef, good
