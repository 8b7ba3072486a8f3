"""The warp renderer: the reference photo cut into body-part layers that follow the target's bones.

No weights, no training, CPU real time. Prepared once from the reference photo:
- its pose (MediaPipe, unless given) and person mask (MediaPipe selfie segmentation, unless given);
- ten layers: torso, head, upper arms, forearms (with hands), thighs, shins (with feet). Every person
  pixel goes to the part whose bone capsule is nearest (distance divided by the part's measured
  thickness); each limb layer also carries a disc of the photo around its proximal joint (shoulder,
  elbow, hip, knee, neck), so when a joint bends the disc fills the wedge that would open there:
  chains of capsules, no cracks. Layer edges inside the body overlap the neighbour by a few pixels
  and are feathered; the outer edge follows the soft person mask. Texture colours are extended past
  the mask so feathered edges never pull in the old background;
- a background: the photo with the person removed (OpenCV inpainting), a solid colour, or none
  (transparent).
Per frame: one affine per part (engines.warp_parts), layers warped into their bounding box only and
composited back to front. Order: the target's relative depth z (MediaPipe: smaller = nearer) when the
target has it, else the reference's, plus a small bias per part rank (limbs before the torso, the
head before the torso); without any z the rank alone (legs, torso, head, arms).
Missing target keypoints: a limb whose end is missing keeps its rest angle relative to its parent.

Output: BGR uint8 at the reference size, or BGRA (alpha = person) with ``alpha=True``.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Sequence

import cv2
import numpy as np

from engines.warp_parts import (FACE_POINTS, PART_BY_NAME, PARTS, TORSO_POINTS, PartSpec, apply, neck,
                                part_transforms)
from realtime.errors import InputError
from realtime.layouts import COCO17
from realtime.pose import Pose

log = logging.getLogger(__name__)

NAMED_COLOURS: dict[str, tuple[int, int, int]] = {
    "black": (0, 0, 0), "white": (255, 255, 255), "green": (0, 177, 64), "grey": (128, 128, 128),
    "gray": (128, 128, 128), "blue": (255, 0, 0),
}
BACKGROUNDS = ("inpaint", "transparent", *NAMED_COLOURS)


@dataclass
class WarpOptions:
    """Options of the warp renderer.

    background: "inpaint" (the photo without the person), "transparent", a colour name
      (black, white, green, grey, blue) or a (B, G, R) tuple.
    alpha: return BGRA (alpha = person) instead of BGR.
    min_score: keypoint score at or above which a keypoint counts as present.
    feather_px: width of the soft seam between neighbouring layers, in reference pixels.
    blend: "rigid" (every layer one affine; joint discs fill the gaps; default: measured as good
      and 2-3x faster) or "skin" (pixels near elbows and knees follow a blend of both bones:
      engines.warp_blend; rounder bends).
    """

    background: str | tuple[int, int, int] = "inpaint"
    alpha: bool = False
    min_score: float = 0.5
    feather_px: int = 3
    blend: str = "rigid"

    def __post_init__(self) -> None:
        if self.blend not in ("skin", "rigid"):
            raise InputError(f"unknown blend {self.blend!r}: expected skin or rigid")
        bg = self.background
        if isinstance(bg, str) and "," in bg:  # "B,G,R" from a command line
            try:
                bg = tuple(int(v) for v in bg.split(","))
            except ValueError:
                raise InputError(f"background {bg!r}: expected a name or three integers B,G,R") from None
        if isinstance(bg, str):
            if bg not in BACKGROUNDS:
                raise InputError(f"unknown background {bg!r}: expected one of {', '.join(BACKGROUNDS)} "
                                 "or a B,G,R colour")
        else:
            bg = tuple(int(c) for c in bg)
            if len(bg) != 3 or not all(0 <= c <= 255 for c in bg):
                raise InputError(f"background colour must be three values 0..255 (B,G,R), got {self.background}")
            self.background = bg


@dataclass
class _Layer:
    name: str
    patch: np.ndarray        # (h, w, 4) uint8: B, G, R premultiplied by alpha, and alpha
    origin: tuple[int, int]  # (x0, y0) of the patch in reference pixels
    rank: int
    keypoints: tuple[int, ...]  # COCO-17 indices whose mean depth orders the layer


class WarpRenderer:
    """Renderer protocol implementation (see engines.renderer): prepare once, render per frame."""

    name = "warp"

    def __init__(self, options: WarpOptions | None = None, **kw) -> None:
        self.options = options or WarpOptions(**kw)
        self._layers: list[_Layer] = []
        self._rest: Pose | None = None
        self._bg: np.ndarray | None = None

    # -- preparation -------------------------------------------------------------------------
    def prepare(self, reference_bgr: np.ndarray, reference_pose: Pose | None = None,
                mask: np.ndarray | None = None) -> None:
        """Analyse the reference photo (BGR uint8 HxWx3).

        reference_pose: the person's pose in this image's pixels (any layout); estimated when None.
        mask: person mask HxW (float in [0, 1] or uint8 0/255); MediaPipe segmentation when None.
        """
        img = _check_image(reference_bgr)
        h, w = img.shape[:2]
        if reference_pose is None or mask is None:
            est_pose, est_mask = _estimate(img)
            reference_pose = reference_pose or est_pose
            mask = est_mask if mask is None else mask
        if reference_pose is None:
            raise InputError("no person found in the reference image: use a photo that shows one person "
                             "whole, facing the camera, with arms and legs visible")
        if mask is None:
            mask = _mask_from_pose(reference_pose.to_layout(COCO17), h, w, self.options.min_score)
        m = np.asarray(mask, np.float32)
        if m.max() > 1.0:
            m = m / 255.0
        if m.shape != (h, w):
            raise InputError(f"mask size {m.shape[1]}x{m.shape[0]} differs from the reference {w}x{h}")
        pose = reference_pose.to_layout(COCO17)
        ok = pose.present(self.options.min_score)
        missing = [n for n in TORSO_POINTS if not ok[COCO17.index[n]]]
        if missing:
            raise InputError(f"the reference pose lacks {', '.join(missing)}: the warp renderer needs both "
                             "shoulders and hips visible in the reference photo")
        self._rest = reference_pose if reference_pose.width else _with_size(reference_pose, w, h)
        self._ref_xy = pose.xy.astype(np.float64)
        self._ref_ok = ok
        self._ref_z = None if pose.z is None else pose.z.astype(np.float64)
        self._size = (w, h)
        self._layers, segs, radius = _build_layers(img, m, self._ref_xy, ok, self.options.feather_px)
        self._joints = _soft_joints(segs, radius, self._ref_xy)
        self._bg = _background(img, m, self.options.background)
        torso = self._ref_xy[[COCO17.index[n] for n in TORSO_POINTS]]
        self._torso_h = float(np.linalg.norm(neck(self._ref_xy, COCO17.index)
                                             - (torso[2] + torso[3]) / 2)) or 1.0
        log.info("warp renderer prepared: %dx%d, layers %s", w, h, [l.name for l in self._layers])

    @property
    def rest_pose(self) -> Pose:
        if self._rest is None:
            raise RuntimeError("call prepare() before rest_pose")
        return self._rest

    @property
    def part_names(self) -> list[str]:
        return [l.name for l in self._layers]

    # -- rendering ---------------------------------------------------------------------------
    def transforms(self, target: Pose) -> dict[str, np.ndarray]:
        """The 2x3 reference->output affine of every part for this target pose."""
        t = target.to_layout(COCO17)
        return part_transforms(self._ref_xy, self._ref_ok, t.xy.astype(np.float64),
                               t.present(self.options.min_score), COCO17.index)

    def render(self, target: Pose) -> np.ndarray:
        """The reference person in ``target`` (reference pixels). BGR uint8, or BGRA with alpha."""
        if self._bg is None:
            raise RuntimeError("call prepare() before render()")
        t = target.to_layout(COCO17)
        ok = t.present(self.options.min_score)
        mats = part_transforms(self._ref_xy, self._ref_ok, t.xy.astype(np.float64), ok, COCO17.index)
        w, h = self._size
        canvas = self._bg.copy()
        transparent = self.options.background == "transparent"
        alpha = np.zeros((h, w), np.uint8) if (self.options.alpha or transparent) else None
        if self.options.blend == "skin":
            inv = {name: cv2.invertAffineTransform(mat) for name, mat in mats.items()}
            for layer in self._ordered(t, ok):
                if self._joints.get(layer.name):
                    self._draw_skinned(layer, mats, inv, canvas, alpha)
                else:
                    self._draw(layer, mats[layer.name], canvas, alpha)
        else:
            for layer in self._ordered(t, ok):
                self._draw(layer, mats[layer.name], canvas, alpha)
        if alpha is None:
            return canvas
        if transparent:
            # colours were premultiplied over black: divide by alpha for straight (unpremultiplied) BGRA
            a3 = cv2.cvtColor(np.maximum(alpha, 1), cv2.COLOR_GRAY2BGR)
            canvas = cv2.divide(canvas, a3, scale=255.0)
        if not self.options.alpha:
            return canvas
        return cv2.merge([*cv2.split(canvas), alpha])

    def close(self) -> None:
        self._layers = []
        self._bg = None

    # -- internals ---------------------------------------------------------------------------
    def _ordered(self, t: Pose, ok: np.ndarray) -> list[_Layer]:
        z = t.z if t.z is not None else None
        zsrc = z.astype(np.float64) if z is not None else self._ref_z
        bias = 0.06 * self._torso_h
        keys = []
        for layer in self._layers:
            depth = 0.0
            if zsrc is not None:
                idx = [i for i in layer.keypoints if (ok[i] if z is not None else self._ref_ok[i])]
                if idx:
                    depth = float(np.mean(zsrc[idx]))
            keys.append(depth - bias * layer.rank)
        # far (large z) first
        order = sorted(range(len(self._layers)), key=lambda i: -keys[i])
        return [self._layers[i] for i in order]

    def _draw(self, layer: _Layer, m: np.ndarray, canvas: np.ndarray, alpha: np.ndarray | None) -> None:
        """Warp one premultiplied layer into its output box and composite it over ``canvas``."""
        w, h = self._size
        ph, pw = layer.patch.shape[:2]
        x0, y0 = layer.origin
        m_patch = m.copy()
        m_patch[:, 2] += m[:, :2] @ np.array([x0, y0], np.float64)
        corners = apply(m_patch, np.array([[0, 0], [pw, 0], [0, ph], [pw, ph]], np.float64))
        rx0 = max(int(np.floor(corners[:, 0].min())) - 1, 0)
        ry0 = max(int(np.floor(corners[:, 1].min())) - 1, 0)
        rx1 = min(int(np.ceil(corners[:, 0].max())) + 2, w)
        ry1 = min(int(np.ceil(corners[:, 1].max())) + 2, h)
        if rx1 <= rx0 or ry1 <= ry0:
            return
        m_patch[:, 2] -= (rx0, ry0)
        warped = cv2.warpAffine(layer.patch, m_patch, (rx1 - rx0, ry1 - ry0), flags=cv2.INTER_LINEAR,
                                borderMode=cv2.BORDER_CONSTANT, borderValue=(0, 0, 0, 0))
        _composite(warped, rx0, ry0, rx1, ry1, canvas, alpha)

    def _draw_skinned(self, layer: _Layer, mats: dict[str, np.ndarray], inv: dict[str, np.ndarray],
                      canvas: np.ndarray, alpha: np.ndarray | None) -> None:
        """Sample one layer through its blended inverse map (engines.warp_blend) and composite it."""
        from engines.warp_blend import GRID, source_maps

        w, h = self._size
        ph, pw = layer.patch.shape[:2]
        x0, y0 = layer.origin
        joints = self._joints.get(layer.name, [])
        corners = np.array([[x0, y0], [x0 + pw, y0], [x0, y0 + ph], [x0 + pw, y0 + ph]], np.float64)
        pts = np.vstack([apply(mats[n], corners) for n in [layer.name, *(j.neighbour for j in joints)]])
        rx0 = max(int(np.floor(pts[:, 0].min())) - GRID, 0)
        ry0 = max(int(np.floor(pts[:, 1].min())) - GRID, 0)
        rx1 = min(int(np.ceil(pts[:, 0].max())) + GRID, w)
        ry1 = min(int(np.ceil(pts[:, 1].max())) + GRID, h)
        if rx1 <= rx0 or ry1 <= ry0:
            return
        mx, my = source_maps((rx0, ry0, rx1, ry1), layer.name, joints, mats, inv)
        mx -= x0
        my -= y0
        warped = cv2.remap(layer.patch, mx, my, cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT,
                           borderValue=(0, 0, 0, 0))
        _composite(warped, rx0, ry0, rx1, ry1, canvas, alpha)


def _composite(warped: np.ndarray, rx0: int, ry0: int, rx1: int, ry1: int, canvas: np.ndarray,
               alpha: np.ndarray | None) -> None:
    """Premultiplied BGRA ``warped`` over the canvas box (and the alpha plane), in uint8."""
    b, g, r, a = cv2.split(warped)
    inv = 255 - a
    roi = canvas[ry0:ry1, rx0:rx1]
    cv2.multiply(roi, cv2.cvtColor(inv, cv2.COLOR_GRAY2BGR), dst=roi, scale=1.0 / 255.0)
    cv2.add(roi, cv2.merge([b, g, r]), dst=roi)
    if alpha is not None:
        ar = alpha[ry0:ry1, rx0:rx1]
        cv2.multiply(ar, inv, dst=ar, scale=1.0 / 255.0)
        cv2.add(ar, a, dst=ar)


# -- preparation helpers ---------------------------------------------------------------------------
def _check_image(img: np.ndarray) -> np.ndarray:
    if not isinstance(img, np.ndarray) or img.ndim != 3 or img.shape[2] != 3 or img.dtype != np.uint8:
        got = type(img).__name__ if not isinstance(img, np.ndarray) else f"{img.dtype} {img.shape}"
        raise InputError(f"reference must be a BGR uint8 HxWx3 image, got {got}")
    if min(img.shape[:2]) < 32:
        raise InputError(f"reference image {img.shape[1]}x{img.shape[0]} is too small: need at least 32x32")
    return img


def _estimate(img: np.ndarray) -> tuple[Pose | None, np.ndarray | None]:
    from realtime.estimator import EstimatorOptions, MediaPipeEstimator

    with MediaPipeEstimator(EstimatorOptions(mode="image", segmentation=True)) as est:
        e = est.detect(img)
    return e.pose, e.mask


def _with_size(pose: Pose, w: int, h: int) -> Pose:
    from dataclasses import replace

    return replace(pose, width=w, height=h)


def _seg_dist(px: np.ndarray, py: np.ndarray, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Distance of pixel centres (px, py) to the segment a-b."""
    v = b - a
    ll = float(v @ v)
    if ll < 1e-9:
        return np.hypot(px - a[0], py - a[1])
    t = np.clip(((px - a[0]) * v[0] + (py - a[1]) * v[1]) / ll, 0.0, 1.0)
    return np.hypot(px - (a[0] + t * v[0]), py - (a[1] + t * v[1]))


def _torso_dist(px: np.ndarray, py: np.ndarray, xy: np.ndarray, shape: tuple[int, int], r: float,
                spine: tuple[np.ndarray, np.ndarray]) -> np.ndarray:
    """Normalised distance of pixels to the shoulder-hip quadrilateral, with pixels below the hip
    line or beside the shoulders pushed away three times faster (they belong to the thighs and the
    upper arms); inside the quad a constant 0.8 (see the return)."""
    ix = COCO17.index
    quad = np.zeros(shape, np.uint8)
    cv2.fillConvexPoly(quad, np.round(xy[[ix[n] for n in TORSO_POINTS]]).astype(np.int32), 1)
    d = cv2.distanceTransform(1 - quad, cv2.DIST_L2, 5)[py.astype(np.int64), px.astype(np.int64)]
    top, bottom = spine
    axis = bottom - top
    axis = axis / (np.linalg.norm(axis) or 1.0)
    along = (px - top[0]) * axis[0] + (py - top[1]) * axis[1]
    length = float(np.linalg.norm(bottom - top)) or 1.0
    below = np.maximum(0.0, along - length)
    # beside the shoulders (top quarter of the torso) pixels outside the quad are the arm's deltoid
    # and sleeve: pushed away as fast as those below the hips, so they move with the upper arm
    near_top = np.clip(1.0 - along / (0.3 * length), 0.0, 1.0)
    # inside the quad: 0.8, so a limb lying over the torso keeps the pixels within 0.8 of its
    # radius from its bone
    return np.where(d > 0, (d * (1.0 + 2.0 * near_top) + 2.0 * below) / r, 0.8)


def _segments(xy: np.ndarray, ok: np.ndarray) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """The bone segment of every part that the reference shows, in reference pixels."""
    ix = COCO17.index
    segs: dict[str, tuple[np.ndarray, np.ndarray]] = {}
    nk = neck(xy, ix)
    hip_mid = (xy[ix["left_hip"]] + xy[ix["right_hip"]]) / 2
    segs["torso"] = (nk, hip_mid)
    face = [ix[n] for n in FACE_POINTS if ok[ix[n]]]
    if face:
        centre = xy[face].mean(axis=0)
        up = centre - nk
        segs["head"] = (nk + 0.35 * up, centre + 0.35 * up)
    for part in PARTS:
        if part.kind != "limb":
            continue
        a, b = ix[part.start], ix[part.end]
        if ok[a] and ok[b]:
            segs[part.name] = (xy[a], xy[b] + part.extend * (xy[b] - xy[a]))
    return segs


def _build_layers(img: np.ndarray, mask: np.ndarray, xy: np.ndarray, ok: np.ndarray,
                  feather: int) -> tuple[list[_Layer], dict, dict[str, float]]:
    """The layers of the reference, plus the bone segments and thickness (px) of every part."""
    h, w = mask.shape
    ix = COCO17.index
    hard = (mask >= 0.5).astype(np.uint8)
    inside = cv2.distanceTransform(hard, cv2.DIST_L2, 5)
    segs = _segments(xy, ok)
    shoulder_w = float(np.linalg.norm(xy[ix["left_shoulder"]] - xy[ix["right_shoulder"]]))
    torso_len = float(np.linalg.norm(segs["torso"][1] - segs["torso"][0]))
    body = max(torso_len, shoulder_w, 8.0)

    quad_pts = np.round(xy[[ix[n] for n in TORSO_POINTS]]).astype(np.float32).reshape(-1, 1, 2)
    # thickness (radius) of each part, measured on the mask along its bone
    radius: dict[str, float] = {}
    for name, (a, b) in segs.items():
        if name == "torso":
            r = max(0.5 * shoulder_w, 0.25 * torso_len)
        elif name == "head":
            r = max(0.5 * float(np.linalg.norm(b - a)), 0.15 * body)
        else:
            # the mask's inner distance along the bone, where the limb is not over the torso (there
            # the distance to the background says nothing about the limb's thickness)
            leg = name.endswith(("thigh", "shin"))
            cap = (0.22 if leg else 0.13) * body
            samples = [a + f * (b - a) for f in (0.2, 0.35, 0.5, 0.65, 0.8)]
            vals = [inside[int(np.clip(p[1], 0, h - 1)), int(np.clip(p[0], 0, w - 1))] for p in samples
                    if leg or cv2.pointPolygonTest(quad_pts, (float(p[0]), float(p[1])), False) < 0]
            r = float(np.median(vals)) if vals else (0.15 if leg else 0.09) * body
            r = min(r, cap)
        radius[name] = float(np.clip(r, 0.04 * body, 0.6 * body))

    # label every person pixel with the nearest capsule (distance / radius)
    ys, xs = np.nonzero(hard)
    px, py = xs.astype(np.float32) + 0.0, ys.astype(np.float32)
    names = list(segs)
    dist = np.stack([_seg_dist(px, py, *segs[n]) / radius[n] if n != "torso" else
                     _torso_dist(px, py, xy, hard.shape, 0.2 * max(shoulder_w, 0.2 * body), segs["torso"])
                     for n in names])
    lab = np.argmin(dist, axis=0)
    labels = np.full((h, w), -1, np.int16)
    labels[ys, xs] = lab

    texture = _extend_colours(img, hard)
    soft = np.clip(mask, 0, 1).astype(np.float32)
    # arms lying over the torso in the reference hide part of it: the torso layer gets those pixels
    # too, coloured by inpainting from the torso around them, so that an arm moving away uncovers
    # shirt rather than background
    arm_ids = [i for i, n in enumerate(names) if n.endswith(("upper_arm", "forearm"))]
    torso_id = names.index("torso")
    quad = np.zeros((h, w), np.uint8)
    cv2.fillConvexPoly(quad, np.round(xy[[ix[n] for n in TORSO_POINTS]]).astype(np.int32), 1)
    hidden = (np.isin(labels, arm_ids) & (quad > 0)).astype(np.uint8)
    torso_texture = texture
    if hidden.any():
        # grown by a few pixels: the arm's own edge (labelled torso) must not colour the fill
        grow = max(3, int(0.4 * min(radius[n] for n in names if n.endswith(("upper_arm", "forearm")))))
        hidden = cv2.dilate(hidden, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * grow + 1,) * 2))
        hidden &= (quad > 0) & (hard > 0)
        torso_texture = texture.copy()
        filled = _inpaint_region(img, hidden, keep=(labels == torso_id) & (hidden == 0))
        torso_texture[hidden > 0] = filled[hidden > 0]
    k = 2 * feather + 1
    kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (k, k))
    layers: list[_Layer] = []
    for li, name in enumerate(names):
        own = labels == li
        if li == torso_id:
            own = own | (hidden > 0)
        region = own.astype(np.uint8)
        if not region.any():
            continue
        region = cv2.dilate(region, kernel)
        spec = PART_BY_NAME[name]
        joint = _proximal_joint(spec, xy, ix)
        if joint is not None:
            r = 1.1 * radius[name]
            cv2.circle(region, (int(round(joint[0])), int(round(joint[1]))), int(round(r)), 1, -1,
                       lineType=cv2.LINE_AA)
        a = cv2.GaussianBlur(region.astype(np.float32), (k, k), 0) * soft
        a = np.where(own, soft, a)  # own pixels fully opaque (as opaque as the person mask)
        ys_, xs_ = np.nonzero(a > 1.0 / 512)
        if len(ys_) == 0:
            continue
        x0, x1, y0, y1 = xs_.min(), xs_.max() + 1, ys_.min(), ys_.max() + 1
        pa = a[y0:y1, x0:x1, None]
        tex = torso_texture if li == torso_id else texture
        patch = np.concatenate([tex[y0:y1, x0:x1].astype(np.float32) * pa, pa * 255.0], axis=2)
        patch = np.clip(patch + 0.5, 0, 255).astype(np.uint8)
        kps = _depth_keypoints(spec, ix)
        layers.append(_Layer(name, np.ascontiguousarray(patch), (int(x0), int(y0)), spec.rank, kps))
    return layers, segs, radius


def _soft_joints(segs: dict[str, tuple[np.ndarray, np.ndarray]], radius: dict[str, float],
                 xy: np.ndarray) -> dict:
    """The soft joints of every layer (engines.warp_blend), from the parts the reference shows."""
    from engines.warp_blend import build_joints

    ix = COCO17.index
    parents, starts = {}, {}
    for part in PARTS:
        if part.name in segs and part.parent:
            parents[part.name] = part.parent
            starts[part.name] = xy[ix[part.start]] if part.kind == "limb" else neck(xy, ix)
    return build_joints(segs, radius, parents, starts)


def _inpaint_region(img: np.ndarray, region: np.ndarray, keep: np.ndarray, work_px: int = 256) -> np.ndarray:
    """Colours for ``region`` pixels filled in from the ``keep`` pixels around them (OpenCV Telea,
    at <= work_px on the region's long side); pixels that are neither are treated as unknown too."""
    ys, xs = np.nonzero(region | keep)
    y0, y1, x0, x1 = ys.min(), ys.max() + 1, xs.min(), xs.max() + 1
    crop = img[y0:y1, x0:x1]
    unknown = ((region[y0:y1, x0:x1] > 0) | ~keep[y0:y1, x0:x1]).astype(np.uint8)
    f = min(1.0, work_px / max(crop.shape[:2]))
    size = (max(1, int(crop.shape[1] * f)), max(1, int(crop.shape[0] * f)))
    small = cv2.resize(crop, size, interpolation=cv2.INTER_AREA)
    small_m = (cv2.resize(unknown.astype(np.float32), size, interpolation=cv2.INTER_AREA) > 0).astype(np.uint8)
    filled = cv2.resize(cv2.inpaint(small, small_m, 7, cv2.INPAINT_TELEA), crop.shape[1::-1],
                        interpolation=cv2.INTER_LINEAR)
    out = img.copy()
    out[y0:y1, x0:x1] = filled
    return out


def _proximal_joint(spec: PartSpec, xy: np.ndarray, ix: dict[str, int]) -> np.ndarray | None:
    if spec.kind == "limb":
        return xy[ix[spec.start]]
    if spec.kind == "head":
        return neck(xy, ix)
    return None


def _depth_keypoints(spec: PartSpec, ix: dict[str, int]) -> tuple[int, ...]:
    if spec.kind == "limb":
        return (ix[spec.start], ix[spec.end])
    if spec.kind == "head":
        return tuple(ix[n] for n in FACE_POINTS)
    return tuple(ix[n] for n in TORSO_POINTS)


def _extend_colours(img: np.ndarray, hard: np.ndarray) -> np.ndarray:
    """The image with every non-person pixel given the colour of the nearest person pixel."""
    if not hard.any():
        return img
    _, lab = cv2.distanceTransformWithLabels((1 - hard).astype(np.uint8), cv2.DIST_L2, 5,
                                             labelType=cv2.DIST_LABEL_PIXEL)
    ys, xs = np.nonzero(hard == 1)
    # labels number the zero pixels (person pixels) in row-major scan order, starting at 1
    lut_y = np.concatenate([[0], ys])
    lut_x = np.concatenate([[0], xs])
    return img[lut_y[lab], lut_x[lab]]


def _background(img: np.ndarray, mask: np.ndarray, bg) -> np.ndarray:
    h, w = img.shape[:2]
    if bg == "transparent":
        return np.zeros((h, w, 3), np.uint8)
    if isinstance(bg, tuple) or bg in NAMED_COLOURS:
        colour = bg if isinstance(bg, tuple) else NAMED_COLOURS[bg]
        return np.broadcast_to(np.array(colour, np.uint8), (h, w, 3)).copy()
    return inpaint_person(img, mask)


def inpaint_person(img: np.ndarray, mask: np.ndarray, work_px: int = 320) -> np.ndarray:
    """The photo with the person removed: OpenCV Telea inpainting at <= work_px on the long side."""
    h, w = img.shape[:2]
    hard = (mask >= 0.3).astype(np.uint8)
    grow = max(2, int(0.008 * max(h, w)))
    hard = cv2.dilate(hard, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * grow + 1, 2 * grow + 1)))
    f = min(1.0, work_px / max(h, w))
    small = cv2.resize(img, (max(1, int(w * f)), max(1, int(h * f))), interpolation=cv2.INTER_AREA)
    small_m = (cv2.resize(hard.astype(np.float32), small.shape[1::-1], interpolation=cv2.INTER_AREA) > 0)
    small_m = cv2.dilate(small_m.astype(np.uint8), np.ones((3, 3), np.uint8))
    filled = cv2.inpaint(small, small_m, 5, cv2.INPAINT_TELEA)
    big = cv2.resize(filled, (w, h), interpolation=cv2.INTER_LINEAR)
    out = img.copy()
    out[hard > 0] = big[hard > 0]
    return out


def _mask_from_pose(pose: Pose, h: int, w: int, min_score: float) -> np.ndarray:
    """A rough person mask of capsules around the bones (when segmentation finds nobody)."""
    m = np.zeros((h, w), np.uint8)
    ok = pose.present(min_score)
    xy = pose.xy
    ix = COCO17.index
    sw = float(np.linalg.norm(xy[ix["left_shoulder"]] - xy[ix["right_shoulder"]])) or 0.1 * h
    torso = np.array([xy[ix[n]] for n in TORSO_POINTS], np.int32)
    cv2.fillConvexPoly(m, torso, 255)
    for a, b in COCO17.bones:
        ia, ib = ix[a], ix[b]
        if ok[ia] and ok[ib]:
            cv2.line(m, tuple(int(v) for v in xy[ia]), tuple(int(v) for v in xy[ib]), 255,
                     max(2, int(0.25 * sw)))
    return m.astype(np.float32) / 255.0


def create(**options) -> WarpRenderer:
    """Factory for the RENDERERS registry: ``create_renderer("warp", alpha=False, background=...)``."""
    return WarpRenderer(WarpOptions(**options))


def resize_reference(img: np.ndarray, pose: Pose | None, size: Sequence[int]) -> tuple[np.ndarray, Pose | None]:
    """Resize a reference image (and its pose) to (width, height)."""
    w, h = int(size[0]), int(size[1])
    sx, sy = w / img.shape[1], h / img.shape[0]
    out = cv2.resize(img, (w, h), interpolation=cv2.INTER_AREA if sx < 1 else cv2.INTER_LINEAR)
    if pose is None:
        return out, None
    from dataclasses import replace

    xy = pose.xy * np.array([sx, sy], np.float32)
    z = None if pose.z is None else pose.z * np.float32(sx)
    return out, replace(pose, xy=xy, z=z, width=w, height=h)
