"""The avatar's face of the warp renderer: its Face Mesh, triangulated, moved by the driver's expression.

Prepared once from the reference photo: Face Mesh (image mode, iris) on the head the pose shows;
the 478 landmarks plus a fixed ring of 24 points around the face oval (1.3x its size) are
triangulated (scipy Delaunay; the triangles cover the mouth and eyes too).
Per frame, with a realtime.face.Expression: every landmark moves by the driver's displacement from
their neutral face (face frame, face widths: realtime.face) times the avatar's face width, the ring
stays; the head layer is then sampled through the inverse map: piecewise affine inside the mesh,
the head's own similarity outside it (turned to the driver's eye-line roll change: Face Mesh reads
roll better than the pose's five head points). On the ring both agree, so the face has no seam: it
is the head layer, moved locally. Where the mouth opens wider than in the photo, the inner-lip polygon is filled
with a dark mouth cavity (opacity 1 - photo opening / target opening), so lips are not stretched over
the gap.

Coordinates: reference pixels in, output pixels out; patches are premultiplied BGRA uint8.
"""
from __future__ import annotations

import logging
import time

import cv2
import numpy as np

from realtime.face import (INNER_LIP_LOOP, INNER_LIPS, Expression, Face, FaceMeshEstimator, denormalize,
                           face_box, face_frame, face_width, normalize)
from engines.warp.mesh import warp_with_mesh
from engines.warp.parts import apply
from realtime.pose import Pose

log = logging.getLogger(__name__)

RING_POINTS = 24
RING_SCALE = 1.3
# the ring's radius on either side of the face is at least this fraction of the other side's (see _oval_ring)
RING_ROUND = 0.85
FIELD_SIGMA = 0.45
CAVITY_BGR = (28, 22, 46)
# The head's scale (the similarity of the pose's five face points and the neck: the neck, far from
# the small cluster of face points, sets most of it) is kept within this factor of the driver's face
# size change (Face Mesh's 3-D face width over its neutral's, which a head turn or nod leaves as it
# is: FaceRig.sized). A raised shoulder shortens the neck -> nose bone and a head tipped back
# lengthens it, and the head shrank or grew with it: pose_1 self-reenacted, both arms raised (frames
# 44-70), drew the head at 0.86 of the photo's where the face was 0.98, and MediaPipe read its face
# bones 8.4 deg off (6.5 with this; bone error 3.48 -> 3.37, pose_squats 3.55 -> 3.38). The face
# size alone (no tolerance) did more for those two (3.19, 3.26) but made webcam heads, whose pose
# points are exact, worse (presenter_desk AKD@256 4.75 -> 5.24, webcam_talking 3.32 -> 3.56); within
# 1.1 the pose's scale stays on every webcam frame of them.
SIZE_LIMIT = 1.1
# face oval landmarks in order around the face (MediaPipe FACEMESH_FACE_OVAL as a loop)
FACE_OVAL = (10, 338, 297, 332, 284, 251, 389, 356, 454, 323, 361, 288, 397, 365, 379, 378, 400, 377,
             152, 148, 176, 149, 150, 136, 172, 58, 132, 93, 234, 127, 162, 21, 54, 103, 67, 109)


class FaceRig:
    """The head layer's mesh and triangulation; ``draw`` renders the head layer with it.

    face: the reference's Face Mesh (its landmarks move with an expression), or None (a head moved by
    its pose points alone). anchors: {name: reference px} of the pose's face points that follow the
    target's (engines.warp.parts.head_anchors: a head turn or nod the head's similarity cannot show):
    every mesh vertex moves by one smooth field (Gaussian radial basis functions, ``FIELD_SIGMA`` x the
    face span wide, zero on the ring) that takes the anchors from where the head (and, inside the
    face oval, the expression, carried by their nearest landmarks) puts them onto the target's, so the
    face's surroundings move with it instead of being squeezed. Vertices: the landmarks and the
    anchors outside the oval (the ears), or without a face the anchors and a 6x6 grid around them; the
    ring: around the face oval, or around the anchors (``ring_radius`` px at least)."""

    def __init__(self, face: Face | None, anchors: dict[str, np.ndarray] | None = None,
                 ring_radius: float = 0.0) -> None:
        from scipy.spatial import Delaunay

        self.face = face
        self.anchor_names = tuple(anchors or ())
        self.anchors = np.array([anchors[n] for n in self.anchor_names], np.float64).reshape(-1, 2)
        self.inner = np.zeros(len(self.anchors), bool)
        a = self.anchors
        self.span = float(max((np.hypot(*(p - q)) for p in a for q in a), default=0.0))
        if face is not None:
            xy = face.xy.astype(np.float64)
            oval = xy[list(FACE_OVAL)].astype(np.float32)
            self.inner = np.array([cv2.pointPolygonTest(oval, (float(x), float(y)), False) > 0
                                   for x, y in a], bool).reshape(-1)
            self.near, self.near_w = _nearest(xy, a[self.inner])
            self.origin, self.rot, self.unit = face_frame(xy, face.z)
            self.norm = normalize(xy, face.z)
            self.ring = _oval_ring(xy[list(FACE_OVAL)])
            w0 = face_width(xy)
            self.opening = float(np.linalg.norm(xy[INNER_LIPS[0]] - xy[INNER_LIPS[1]])) / max(w0, 1e-6)
            extra = a[~self.inner]
        else:
            xy = np.zeros((0, 2))
            self.norm = xy
            c = a.mean(axis=0)
            r = max(float(np.hypot(*(a - c).T).max()) * 1.6, ring_radius)
            ang = np.linspace(0, 2 * np.pi, RING_POINTS // 2, endpoint=False)
            self.ring = c + r * np.stack([np.cos(ang), np.sin(ang)], axis=1)
            g = np.linspace(-0.8 * r, 0.8 * r, 6)
            grid = np.stack(np.meshgrid(g, g), axis=-1).reshape(-1, 2) + c
            far = np.hypot(*(grid[:, None] - a[None]).transpose(2, 0, 1)).min(axis=1) > 0.1 * max(self.span, 1.0)
            extra = np.vstack([a, grid[far & (np.hypot(*(grid - c).T) < 0.9 * r)]])
        self.src = np.vstack([xy, extra, self.ring])
        self.tri = Delaunay(self.src).simplices.astype(np.int32)
        # the field's weights from the anchors' own layout (a similarity keeps it; sigma scales with it)
        self.phi_inv = (np.linalg.inv(_gauss(a, a, FIELD_SIGMA * self.span) + 1e-6 * np.eye(len(a)))
                        if len(a) else np.zeros((0, 0)))
        self.ms = 0.0

    @classmethod
    def from_reference(cls, img: np.ndarray, pose: Pose, anchors: dict[str, np.ndarray] | None = None
                       ) -> "FaceRig | None":
        """The rig of the face in the reference photo (BGR), or None (with a one-line notice) when
        Face Mesh finds no face there (the back of the head, a face too small or hidden)."""
        h, w = img.shape[:2]
        with FaceMeshEstimator("image") as est:
            face = est.detect(img, pose)
            if face is None and face_box(pose, w, h) is not None:
                est._box = None
                face = est.detect(img, None)
        if face is None:
            log.info("no face found in the reference photo: the face keeps the photo's expression")
            return None
        return cls(face, anchors)

    def points(self, expr: Expression) -> np.ndarray:
        """The mesh points (landmarks moved by the expression, the anchor vertices, then the fixed
        ring), reference px."""
        moved = denormalize(self.norm + expr.delta, self.origin, self.rot, self.unit)
        return np.vstack([moved, self.src[len(self.norm):]])

    def rolled(self, head: np.ndarray, expr: Expression, max_diff_deg: float = 30.0) -> np.ndarray:
        """The head's 2x3 similarity turned about the face's centre so that its rotation is the
        driver's eye-line roll change (the face mesh reads roll better than the pose's five head
        points); scale and the face centre's position stay the pose's. Kept as it is when the two
        disagree by more than ``max_diff_deg``."""
        lin = head[:, :2]
        scale = float(np.sqrt(abs(np.linalg.det(lin))))
        now = float(np.degrees(np.arctan2(lin[1, 0], lin[0, 0])))
        want = float(expr.roll_deg)
        if scale < 1e-9 or abs((want - now + 180) % 360 - 180) > max_diff_deg:
            return head
        a = np.radians(want)
        return self._about_centre(head, scale * np.array([[np.cos(a), -np.sin(a)], [np.sin(a), np.cos(a)]]))

    def sized(self, head: np.ndarray, expr: Expression, limit: float = SIZE_LIMIT) -> np.ndarray:
        """The head's 2x3 similarity ``head`` (from the pose) scaled about the face's centre to within
        ``limit``x either way of the driver's face size change (``expr.size``: its 3-D face width
        over its neutral's); rotation and the face centre's position stay the pose's. As it is
        without a size. See SIZE_LIMIT."""
        size = expr.size
        lin = head[:, :2]
        scale = float(np.sqrt(abs(np.linalg.det(lin))))
        if size is None or not np.isfinite(size) or size <= 0 or scale < 1e-9:
            return head
        want = float(np.clip(scale, size / limit, size * limit))
        return self._about_centre(head, lin * (want / scale))

    def _about_centre(self, head: np.ndarray, lin: np.ndarray) -> np.ndarray:
        """The 2x3 ``head`` with its linear part replaced by ``lin``, the face's centre (``origin``)
        landing where ``head`` put it (rolled, sized)."""
        c = np.asarray(self.origin, np.float64)
        out = np.empty((2, 3))
        out[:, :2] = lin
        out[:, 2] = head[:, :2] @ c + head[:, 2] - lin @ c
        return out

    def draw(self, patch: np.ndarray, origin: tuple[int, int], head: np.ndarray, expr: Expression | None,
             size: tuple[int, int], anchors: np.ndarray | None = None) -> tuple[np.ndarray, int, int, int, int] | None:
        """The head layer (premultiplied BGRA ``patch`` at reference ``origin``) warped by the head's
        2x3 similarity ``head`` with the face moved by ``expr`` (with a Face Mesh) and the anchors
        moved to ``anchors`` (output px, in ``anchor_names`` order; None: with the head), clipped to
        the output ``size`` (w, h): (warped, x0, y0, x1, y1) of its output box, or None off-canvas."""
        t0 = time.perf_counter()
        n, k = len(self.norm), len(self.src) - len(self.ring)
        expressive = self.face is not None and expr is not None
        if expressive:
            head = self.rolled(head, expr)
            pts = np.vstack([denormalize(self.norm + expr.delta, self.origin, self.rot, self.unit), self.src[n:k]])
        else:
            pts = self.src[:k]
        rest = apply(head, self.src[:k])
        dst = apply(head, pts)
        if anchors is not None and len(self.anchors):
            now = apply(head, self.anchors)
            if self.inner.any():       # where the landmarks (moved by the expression) carry them
                now[self.inner] += np.einsum("ak,akd->ad", self.near_w, (dst - rest)[:n][self.near])
            sigma = FIELD_SIGMA * self.span * float(np.sqrt(abs(np.linalg.det(head[:, :2]))))
            moves = np.asarray(anchors, np.float64).reshape(-1, 2) - now
            if expressive:   # inside the oval the Face Mesh (its roll, its expression) places the face
                moves[self.inner] = 0.0
            if sigma > 1e-9 and np.abs(moves).any():
                dst += _gauss(dst, now, sigma) @ (self.phi_inv @ moves)
        dst = np.vstack([dst, apply(head, self.ring)])
        post = None
        if expressive:
            post = lambda region, off: self._cavity(region, dst[:n] - off, expr)  # noqa: E731
        # the field without a Face Mesh is smooth: a coarse map grid carries it
        got = warp_with_mesh(patch, origin, head, self.src, dst, self.tri, size, post=post,
                             nodes=160 if self.face is not None else 40)
        self.ms = (time.perf_counter() - t0) * 1000.0
        return got

    def _cavity(self, face: np.ndarray, lm: np.ndarray, expr: Expression) -> None:
        """Darken the inner-lip polygon when the mouth opens wider than in the photo (in place)."""
        w_t = face_width(lm)
        open_t = float(np.linalg.norm(lm[INNER_LIPS[0]] - lm[INNER_LIPS[1]])) / max(w_t, 1e-6)
        if open_t <= self.opening + 0.01:
            return
        strength = float(np.clip(1.0 - self.opening / open_t, 0.0, 1.0)) * 0.9
        k = max(3, int(0.02 * w_t) | 1)
        # only the mouth's box, the blur's reach beyond it and more: outside the blurred polygon
        # the mask is 0 and leaves the face as it is (the same pixels as over the whole region)
        lips = lm[list(INNER_LIP_LOOP)]
        pad = k + 3
        x0, y0 = (max(int(np.floor(v)) - pad, 0) for v in lips.min(axis=0))
        x1, y1 = (int(np.ceil(v)) + pad for v in lips.max(axis=0))
        face = face[y0:y1, x0:x1]
        if face.size == 0:
            return
        poly = np.round((lips - (x0, y0)) * 16).astype(np.int32)
        mask = np.zeros(face.shape[:2], np.uint8)
        cv2.fillPoly(mask, [poly], 255, lineType=cv2.LINE_AA, shift=4)
        mask = cv2.GaussianBlur(mask, (k, k), 0)
        a = mask.astype(np.float32) * (strength / 255.0)
        pa = face[..., 3:4].astype(np.float32) / 255.0
        colour = np.array(CAVITY_BGR, np.float32) * pa
        face[..., :3] = np.clip(face[..., :3] * (1 - a[..., None]) + colour * a[..., None], 0, 255).astype(np.uint8)


def _oval_ring(oval: np.ndarray) -> np.ndarray:
    """RING_POINTS points around the face oval: its radius in each direction, times RING_SCALE, and
    never less than RING_ROUND x the radius in the mirrored direction (left for right). A face
    turned to three-quarters has its far side's oval on the cheek's outline, close to its centre:
    1.3x that radius left the far lens of the glasses half outside the mesh (pose_squats), where
    the head's rigid transform drew its rim while the landmarks inside, moving out as the driver
    turned to the camera, piled against the ring and folded their triangles over each other: the
    lens was drawn torn (self-reenacted bone error 3.38 -> 3.23 degrees; pose.jpg driven by it
    6.36 -> 6.31). A frontal face, as wide on both sides, keeps its ring: a ring rounded to its
    largest radius widened a frontal face's sides (presenter_desk AKD@256 4.75 -> 4.83, pose.jpg
    driven by webcam_talking 3.21 -> 3.30 deg)."""
    c = oval.mean(axis=0)
    ang = np.linspace(0, 2 * np.pi, RING_POINTS, endpoint=False)
    rel = oval - c
    theta = np.arctan2(rel[:, 1], rel[:, 0])
    radius = np.hypot(rel[:, 0], rel[:, 1])
    order = np.argsort(theta)
    r = np.interp(ang, theta[order], radius[order], period=2 * np.pi)
    mirrored = np.interp(np.pi - ang, theta[order], radius[order], period=2 * np.pi)
    r = np.maximum(r, RING_ROUND * mirrored)
    return c + RING_SCALE * r[:, None] * np.stack([np.cos(ang), np.sin(ang)], axis=1)


def _nearest(xy: np.ndarray, pts: np.ndarray, k: int = 4) -> tuple[np.ndarray, np.ndarray]:
    """(indices (P, k), weights (P, k)) of the ``k`` landmarks nearest each point, inverse-distance
    weighted: how a point is carried by the landmarks' motion."""
    if not len(pts):
        return np.zeros((0, k), np.int64), np.zeros((0, k))
    d = np.hypot(xy[None, :, 0] - pts[:, None, 0], xy[None, :, 1] - pts[:, None, 1])
    idx = np.argsort(d, axis=1)[:, :k]
    w = 1.0 / (np.take_along_axis(d, idx, axis=1) + 1e-3)
    return idx, w / w.sum(axis=1, keepdims=True)


def _gauss(pts: np.ndarray, centres: np.ndarray, sigma: float) -> np.ndarray:
    """(N, C) Gaussian radial basis exp(-(d / sigma)^2) of each point's distance to each centre: the
    field that moves the centres by M moves the points by gauss(pts, centres) @ inv(gauss(centres,
    centres)) @ M, exactly at the centres and fading away from them."""
    d = np.hypot(*(pts[:, None] - centres[None]).transpose(2, 0, 1))
    return np.exp(-(d / max(sigma, 1e-9)) ** 2)
