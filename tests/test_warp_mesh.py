"""The face's mesh warp and its per-frame shortcuts draw what the straightforward computation does, on
a synthetic face mesh (no MediaPipe): mesh_maps against every node's own triangle found by its
barycentric coordinates, the mouth cavity over the mouth's box against the same cavity over the whole
region, the hand pieces' first piece warped straight into the box against compositing it over zeros."""
import cv2
import numpy as np
import pytest
from scipy.spatial import Delaunay

from engines.warp.face import CAVITY_BGR, FaceRig
from engines.warp.hands import draw_pieces
from engines.warp.mesh import mesh_maps, warp_with_mesh
from realtime.face import INNER_LIP_LOOP, INNER_LIPS, face_width


def synthetic_mesh(seed: int = 0):
    """~300 jittered points of a 160x200 px face (reference px), a ring round them that moves with
    the rigid map, its Delaunay triangles, a rigid similarity and the points moved by it plus a
    smooth expression-like displacement (up to ~6 px: a mouth opening, a raised brow)."""
    rng = np.random.default_rng(seed)
    inner = np.stack(np.meshgrid(np.linspace(0, 160, 17), np.linspace(0, 200, 18)), -1).reshape(-1, 2)
    inner = inner + rng.uniform(-3, 3, inner.shape) + (120, 80)
    ang = np.linspace(0, 2 * np.pi, 24, endpoint=False)
    ring = (200, 180) + 150 * np.stack([np.cos(ang), np.sin(ang)], 1)
    src = np.vstack([inner, ring])
    tri = Delaunay(src).simplices.astype(np.int32)
    a = np.radians(7.0)
    rigid = np.array([[1.1 * np.cos(a), -1.1 * np.sin(a), 31.5], [1.1 * np.sin(a), 1.1 * np.cos(a), 12.25]])
    moved = src.copy()
    c = inner.mean(axis=0)
    moved[:len(inner)] += 6.0 * np.exp(-((inner - c) ** 2).sum(1) / 3000.0)[:, None] * [0.3, 1.0]
    dst = moved @ rigid[:, :2].T + rigid[:, 2]
    return src, dst, tri, rigid


def reference_maps(src, dst, tri, size, rigid, offset):
    """The map at every pixel (step 1): the affine of the triangle holding it (barycentric), else
    the rigid inverse; and which pixels lie clearly inside a triangle (barycentric > 0.02: the
    raster rounds the vertices to 1/16 px)."""
    bw, bh = size
    ys, xs = np.mgrid[0:bh, 0:bw]
    p = np.stack([xs.ravel() + offset[0], ys.ravel() + offset[1]], 1).astype(np.float64)
    inv = cv2.invertAffineTransform(rigid)
    out = p @ inv[:, :2].T + inv[:, 2]
    clear = np.zeros(len(p), bool)
    for t in tri:
        d, s = dst[t], src[t]
        m = np.array([d[1] - d[0], d[2] - d[0]]).T
        if abs(np.linalg.det(m)) < 1e-9:
            continue
        uv = np.linalg.solve(m, (p - d[0]).T).T
        bary = np.stack([1 - uv.sum(1), uv[:, 0], uv[:, 1]], 1)
        inside = (bary > -1e-9).all(1)
        out[inside] = bary[inside] @ s
        clear |= (bary > 0.02).all(1)
    return out[:, 0].reshape(bh, bw), out[:, 1].reshape(bh, bw), clear.reshape(bh, bw)


@pytest.mark.parametrize("seed", [0, 1])
def test_mesh_maps_match_each_nodes_own_triangle(seed):
    src, dst, tri, rigid = synthetic_mesh(seed)
    x0, y0 = int(np.floor(dst[:, 0].min())), int(np.floor(dst[:, 1].min()))
    size = (int(np.ceil(dst[:, 0].max())) + 1 - x0, int(np.ceil(dst[:, 1].max())) + 1 - y0)
    mx, my = mesh_maps(src, dst - (x0, y0), tri, size, rigid, (x0, y0), nodes=10_000)   # step 1: no resize
    rx, ry, clear = reference_maps(src, dst, tri, size, rigid, (x0, y0))
    assert mx.shape == my.shape == (size[1], size[0]) and mx.dtype == np.float32
    assert clear.mean() > 0.5
    # a node near an edge may take the neighbour's affine (the raster draws the edges, at 1/16 px),
    # a hair off: most nodes exact, all within 0.05 px
    assert (np.abs(mx - rx)[clear] < 1e-3).mean() > 0.95 and (np.abs(my - ry)[clear] < 1e-3).mean() > 0.95
    assert np.abs(mx - rx).max() < 0.05 and np.abs(my - ry).max() < 0.05
    assert np.abs(mx - rx).mean() < 3e-3 and np.abs(my - ry).mean() < 3e-3


def test_mesh_warp_of_an_unmoved_mesh_is_the_rigid_warp():
    src, _, tri, rigid = synthetic_mesh(2)
    dst = src @ rigid[:, :2].T + rigid[:, 2]
    rng = np.random.default_rng(3)
    patch = cv2.GaussianBlur(rng.integers(0, 256, (320, 360, 4), dtype=np.uint8), (9, 9), 0)
    patch[:4], patch[-4:], patch[:, :4], patch[:, -4:] = 0, 0, 0, 0   # a layer's edge is transparent
    origin = (40, 20)
    # a map node at every pixel: interpolating a coarser grid clamps its outer half-step (cv2.resize)
    got = warp_with_mesh(patch, origin, rigid, src, dst, tri, (640, 600), nodes=10_000)
    out, rx0, ry0, rx1, ry1 = got
    m = rigid.copy()
    m[:, 2] += rigid[:, :2] @ np.array(origin, np.float64) - (rx0, ry0)
    want = cv2.warpAffine(patch, m, (rx1 - rx0, ry1 - ry0), flags=cv2.INTER_LINEAR)
    d = np.abs(out.astype(int) - want.astype(int)).max(axis=2)
    # remap and warpAffine round the source position to 1/32 px each their own way: a few pixels of
    # the noise patch's steepest slopes differ by a few levels
    assert d.mean() < 0.01 and (d > 2).mean() < 1e-3 and d.max() <= 8


def _cavity_over_the_whole_region(face, lm, opening):
    """The cavity as drawn before it was cut to the mouth's box (the reference)."""
    w_t = face_width(lm)
    open_t = float(np.linalg.norm(lm[INNER_LIPS[0]] - lm[INNER_LIPS[1]])) / max(w_t, 1e-6)
    strength = float(np.clip(1.0 - opening / open_t, 0.0, 1.0)) * 0.9
    poly = np.round(lm[list(INNER_LIP_LOOP)] * 16).astype(np.int32)
    mask = np.zeros(face.shape[:2], np.uint8)
    cv2.fillPoly(mask, [poly], 255, lineType=cv2.LINE_AA, shift=4)
    k = max(3, int(0.02 * w_t) | 1)
    mask = cv2.GaussianBlur(mask, (k, k), 0)
    a = mask.astype(np.float32) * (strength / 255.0)
    pa = face[..., 3:4].astype(np.float32) / 255.0
    colour = np.array(CAVITY_BGR, np.float32) * pa
    face[..., :3] = np.clip(face[..., :3] * (1 - a[..., None]) + colour * a[..., None], 0, 255).astype(np.uint8)


@pytest.mark.parametrize("mouth_at", [(150.3, 170.6), (12.2, 9.7), (295.5, 238.1)])
def test_mouth_cavity_over_the_mouths_box_draws_what_the_whole_region_did(mouth_at):
    """An open mouth (an ellipse of inner-lip points) in the middle and at the region's corners."""
    rng = np.random.default_rng(4)
    lm = rng.uniform(0, 300, (478, 2))
    lm[234], lm[454] = (20.0, 150.0), (280.0, 150.0)                 # cheeks: a 260 px wide face
    ang = np.linspace(0, 2 * np.pi, len(INNER_LIP_LOOP), endpoint=False) + 0.1
    lm[list(INNER_LIP_LOOP)] = np.array(mouth_at) + np.stack([30 * np.cos(ang), 14 * np.sin(ang)], 1)
    lm[INNER_LIPS[0]], lm[INNER_LIPS[1]] = np.array(mouth_at) - (0, 14), np.array(mouth_at) + (0, 14)
    region = cv2.GaussianBlur(rng.integers(0, 256, (250, 310, 4), dtype=np.uint8), (5, 5), 0)
    rig = FaceRig.__new__(FaceRig)
    rig.opening = 0.02
    got, want = region.copy(), region.copy()
    rig._cavity(got, lm, None)
    _cavity_over_the_whole_region(want, lm, rig.opening)
    assert (want != region).any()
    assert np.array_equal(got, want)


def test_hand_pieces_first_piece_warped_into_the_box_as_composited_over_zeros():
    rng = np.random.default_rng(5)
    pieces = [(cv2.GaussianBlur(rng.integers(0, 256, (h, w, 4), dtype=np.uint8), (5, 5), 0), o)
              for (h, w), o in (((120, 90), (10, 20)), ((30, 20), (40, 60)), ((25, 25), (60, 50)))]
    mats = [np.array([[np.cos(a), -np.sin(a), tx], [np.sin(a), np.cos(a), ty]])
            for a, tx, ty in ((0.2, 30.0, 5.0), (0.5, 40.5, 2.25), (-0.3, 60.0, 30.0))]
    got = draw_pieces(pieces, mats, (400, 300))
    assert np.array_equal(got[0], _pieces_all_composited(pieces, mats, *got[1:]))
    assert (got[0][..., 3] > 0).mean() > 0.3


def _pieces_all_composited(pieces, mats, rx0, ry0, rx1, ry1):
    """draw_pieces' box with every piece composited, the first over zeros too (the reference)."""
    out = np.zeros((ry1 - ry0, rx1 - rx0, 4), np.uint8)
    for (crop, (ox, oy)), m in zip(pieces, mats):
        ch, cw = crop.shape[:2]
        c = np.array([[ox, oy], [ox + cw, oy], [ox, oy + ch], [ox + cw, oy + ch]], np.float64) @ m[:, :2].T + m[:, 2]
        bx0, by0 = max(int(np.floor(c[:, 0].min())) - 1, rx0), max(int(np.floor(c[:, 1].min())) - 1, ry0)
        bx1, by1 = min(int(np.ceil(c[:, 0].max())) + 2, rx1), min(int(np.ceil(c[:, 1].max())) + 2, ry1)
        mp = m.copy()
        mp[:, 2] += m[:, :2] @ np.array([ox, oy], np.float64) - (bx0, by0)
        warped = cv2.warpAffine(crop, mp, (bx1 - bx0, by1 - by0), flags=cv2.INTER_LINEAR)
        roi = out[by0 - ry0:by1 - ry0, bx0 - rx0:bx1 - rx0]
        inv = cv2.merge([255 - warped[..., 3]] * 4)
        cv2.multiply(roi, inv, dst=roi, scale=1.0 / 255.0)
        cv2.add(roi, warped, dst=roi)
    return out
