"""The avatar's fingers in the warp renderer: the reference hand cut into palm and finger segments,
each moved into the driver's hand shape.

Prepared once: MediaPipe Hands (image mode) on a crop around each wrist of the reference (when the
renderer estimates the reference itself: the hands' pixels then go to their forearm layers whole,
however far the fingers reach past the wrist); a hand is rigged only when it is large enough
(``min_px``, wrist to middle-finger base), open enough (mean PIP bend under ``max_bend_deg``: a
fist cannot be opened without inventing fingers) and its fingers apart in the photo (finger_overlap
under ``max_overlap``: a hand seen from the side, or fingers held together, shows its fingers over
one another; cut apart, each piece carries slivers of its neighbours, spread along the driver's
fingers they drew pink shreds: pose_squats' half-closed hands, 0.51 and 0.52, pose.jpg's edge-on
hands 0.64 and 0.82; webcam_still's curled hand 0.42, webcam signing's open hands 0.01 and 0);
otherwise that hand stays rigid on its forearm, as before (a one-line notice).
On first use the forearm layer's hand pixels are cut into 16 pieces: the palm (the polygon of wrist,
thumb base and knuckles) and 15 finger segments (thumb CMC-MCP-IP-TIP, each finger MCP-PIP-DIP-TIP),
every pixel to the nearest (capsules 0.12 of the hand size wide; pixels of the hand's hull further
than that from every segment, the torso or background between the fingers, are not the hand's and
are left out); each piece overlaps its neighbours by a few pixels so a bend opens no crack.
Per frame, with the driver's hand on that side (realtime.hands, already mirrored as the pose is):
the driver's hand relative to its wrist, scaled by the two hands' sizes and the hand's scale (the
body's, which the renderer passes: its torso's; not the forearm's stretch, which is foreshortening:
a forearm raised at the camera in the photo and drawn at its full length blew its hand up 1.1-1.3
times, and MediaPipe found half the signing clip's hands no more),
is placed at the avatar's wrist as the forearm carries it; the palm takes the driver's palm shape
(palm_linear: the linear map fitted to the five palm points, anchored at the wrist: a foreshortened
or sheared driver palm squashes or shears the photo's; turned rigidly, the palm kept its knuckles
where the driver's were not and every finger kinked there); each finger starts at the avatar's
knuckle and follows the driver's segments (direction and foreshortened length), each segment's
texture mapped along its bone with its width kept. Pixels of the photo are only moved, never
invented: a part of the hand the photo does not show stays absent.
"""
from __future__ import annotations

import logging
import time

import cv2
import numpy as np

from engines.warp.parts import LENGTH_SCALE_RANGE, _affine, apply
from realtime.hands import FINGERS, SIDES, WRIST, Hand, HandEstimator, finger_bend
from realtime.pose import Pose

log = logging.getLogger(__name__)

PALM = (0, 1, 5, 9, 13, 17)
PALM_FIT = (0, 5, 9, 13, 17)
#: finger segments (proximal, distal), drawn in this order after the palm: fingers, then the thumb
BONES = ((5, 6), (6, 7), (7, 8), (9, 10), (10, 11), (11, 12), (13, 14), (14, 15), (15, 16),
         (17, 18), (18, 19), (19, 20), (1, 2), (2, 3), (3, 4))
WIDTH = 0.12        # capsule half-width of a finger, in hand sizes (wrist to middle-finger base)
REACH = 1.5         # hull pixels further than REACH capsule widths from every segment are not the hand
OVERLAP = 0.06      # each piece grows into its neighbours by this much of the hand size
#: the palm's stretches (palm_linear), relative to the hand's scale: a palm seen edge-on is drawn at
#: least this wide, never wider than 1.5 times the photo's
PALM_SCALE_RANGE = (0.3, 1.5)
#: finger_overlap's raster: px per hand size
OVERLAP_RES = 100


class HandRig:
    """One reference hand cut into palm and finger pieces; ``draw`` renders its forearm layer with the
    driver's fingers (module doc)."""

    def __init__(self, hand: Hand) -> None:
        self.hand = hand
        self.src = hand.xy.astype(np.float64)
        self.size = max(hand.size, 1e-6)
        self.ms = 0.0
        self._cuts: dict[tuple, list[tuple[np.ndarray, tuple[int, int]]]] = {}

    def points(self, driver: Hand, forearm: np.ndarray, scale: float | None = None) -> np.ndarray:
        """(21, 2) output px of the avatar's hand: the palm turned like the driver's at the carried
        wrist, each finger from the avatar's knuckle along the driver's segments. scale: the hand's
        scale, reference -> output (module doc; None: the forearm's)."""
        palm = self.palm_transform(driver, forearm, scale)
        shape = self._driver_shape(driver, forearm, scale)
        out = apply(palm, self.src)
        for a, b in BONES:
            out[b] = out[a] + (shape[b] - shape[a])
        return out

    def _driver_shape(self, driver: Hand, forearm: np.ndarray, scale: float | None = None) -> np.ndarray:
        """The driver's 21 points relative to its wrist, in output px at this avatar's hand size."""
        s = _hand_scale(forearm, scale)
        k = float(np.clip(s * self.size / max(driver.size, 1e-6), 0.3 * s, 3.0 * s))
        return (driver.xy.astype(np.float64) - driver.xy[WRIST]) * k

    def palm_transform(self, driver: Hand, forearm: np.ndarray, scale: float | None = None) -> np.ndarray:
        """2x3 reference -> output of the palm: the driver's palm shape (palm_linear: turned, and
        squashed or sheared as the driver's palm is foreshortened), at the hand's scale, the wrist
        where the forearm carries it."""
        idx = list(PALM_FIT)
        lin = palm_linear(self.src[idx], self._driver_shape(driver, forearm, scale)[idx],
                          _hand_scale(forearm, scale))
        return _affine(lin, self.src[WRIST], apply(forearm, self.src[WRIST])[0])

    def transforms(self, driver: Hand, forearm: np.ndarray, scale: float | None = None) -> list[np.ndarray]:
        """2x3 maps of the pieces, in drawing order: forearm, palm, the finger segments (BONES)."""
        out = self.points(driver, forearm, scale)
        s = _hand_scale(forearm, scale)
        mats = [forearm, self.palm_transform(driver, forearm, scale)]
        mats += [_bone(self.src[a], self.src[b], out[a], out[b], s) for a, b in BONES]
        return mats

    def draw(self, patch: np.ndarray, origin: tuple[int, int], forearm: np.ndarray, driver: Hand,
             size: tuple[int, int], scale: float | None = None) -> tuple[np.ndarray, int, int, int, int] | None:
        """(premultiplied BGRA, x0, y0, x1, y1) of the forearm layer with the driver's fingers in the
        output box clipped to ``size`` (w, h), or None off-canvas. scale: the hand's scale (the
        body's; None: the forearm's)."""
        t0 = time.perf_counter()
        key = (id(patch), origin)
        if key not in self._cuts:
            self._cuts[key] = cut_hand(patch, origin, self.hand)
        got = draw_pieces(self._cuts[key], self.transforms(driver, forearm, scale), size)
        self.ms = (time.perf_counter() - t0) * 1000.0
        return got


def palm_linear(src: np.ndarray, dst: np.ndarray, scale: float) -> np.ndarray:
    """2x2 linear part of the least-squares affine map (with translation) of the reference's palm
    points ``src`` onto the driver's ``dst`` (N, 2), its stretches (singular values) clamped to
    PALM_SCALE_RANGE times ``scale``. Why not a rotation: a rigid palm keeps the photo's knuckles
    where the driver's foreshortened or sheared palm has moved them; the fingers, drawn from those
    knuckles along the driver's segments, then kink there and MediaPipe reads them curled (webcam
    signing). A mirrored fit (det < 0) is kept: the driver's palm may show its other face."""
    a = src - src.mean(axis=0)
    b = dst - dst.mean(axis=0)
    lin = np.linalg.lstsq(a, b, rcond=None)[0].T          # b ~ a @ lin.T
    u, sv, vt = np.linalg.svd(lin)
    sv = np.clip(sv, PALM_SCALE_RANGE[0] * scale, PALM_SCALE_RANGE[1] * scale)
    return (u * sv) @ vt


def _hand_scale(forearm: np.ndarray, scale: float | None) -> float:
    return _scale(forearm) if scale is None else float(scale)


def _scale(m: np.ndarray) -> float:
    return float(np.sqrt(abs(np.linalg.det(m[:, :2])))) or 1.0


def _bone(a0: np.ndarray, b0: np.ndarray, a1: np.ndarray, b1: np.ndarray, across: float) -> np.ndarray:
    """Segment a0->b0 (reference) onto a1->b1 (output): rotated, stretched along it, its width times
    ``across``."""
    v0, v1 = b0 - a0, b1 - a1
    l0, l1 = float(np.hypot(*v0)), float(np.hypot(*v1))
    if l0 < 1e-6:
        return _affine(across * np.eye(2), a0, a1)
    u0 = v0 / l0
    u1 = v1 / l1 if l1 > 1e-6 else u0
    along = float(np.clip(l1 / l0, LENGTH_SCALE_RANGE[0] * across, LENGTH_SCALE_RANGE[1] * across))
    r0 = np.array([u0, [-u0[1], u0[0]]])
    r1 = np.array([u1, [-u1[1], u1[0]]]).T
    return _affine(r1 @ np.diag([along, across]) @ r0, a0, a1)


def _seg_dist(px: np.ndarray, py: np.ndarray, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    v = b - a
    ll = float(v @ v) or 1e-9
    t = np.clip(((px - a[0]) * v[0] + (py - a[1]) * v[1]) / ll, 0.0, 1.0)
    return np.hypot(px - (a[0] + t * v[0]), py - (a[1] + t * v[1]))


def cut_hand(patch: np.ndarray, origin: tuple[int, int], hand: Hand) -> list[tuple[np.ndarray, tuple[int, int]]]:
    """The forearm layer cut into pieces (premultiplied BGRA crop, its reference origin), in
    drawing order: the forearm without the hand, the palm, the finger segments (BONES). A piece the
    photo has no pixels of is an empty crop."""
    ph, pw = patch.shape[:2]
    x0, y0 = origin
    xy = hand.xy.astype(np.float64) - (x0, y0)
    size = max(hand.size, 1e-6)
    width = max(1.5, WIDTH * size)
    hull = np.zeros((ph, pw), np.uint8)
    cv2.fillConvexPoly(hull, np.round(cv2.convexHull(xy.astype(np.float32))).astype(np.int32), 1)
    r = max(2, int(round(WIDTH * size)))
    hull = cv2.dilate(hull, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * r + 1, 2 * r + 1)))
    hull &= (patch[..., 3] > 0).astype(np.uint8)
    ys, xs = np.nonzero(hull)
    px, py = xs.astype(np.float64), ys.astype(np.float64)
    palm = np.ones((ph, pw), np.uint8)
    cv2.fillConvexPoly(palm, np.round(cv2.convexHull(xy[list(PALM)].astype(np.float32))).astype(np.int32), 0)
    d_palm = cv2.distanceTransform(palm, cv2.DIST_L2, 3)[ys, xs].astype(np.float64)
    dist = np.stack([d_palm] + [_seg_dist(px, py, xy[a], xy[b]) for a, b in BONES]) / width
    lab = np.argmin(dist, axis=0) if len(px) else np.zeros(0, int)
    near = dist.min(axis=0) <= REACH if len(px) else np.zeros(0, bool)
    labels = np.full((ph, pw), -1, np.int16)
    labels[ys[near], xs[near]] = lab[near]
    # the layer's feathered edge round the hand (semi-transparent) goes too: left on the forearm it
    # would draw the hand's outline where the forearm carries it
    halo = cv2.dilate(hull, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * r + 9, 2 * r + 9)))
    rest = patch.copy()
    rest[(hull > 0) | ((halo > 0) & (patch[..., 3] < 250))] = 0
    pieces = [(rest, (x0, y0))]
    grow = max(1, int(round(OVERLAP * size)))
    kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * grow + 1, 2 * grow + 1))
    for k in range(1 + len(BONES)):
        own = (labels == k).astype(np.uint8)
        if not own.any():
            pieces.append((np.zeros((1, 1, 4), np.uint8), (x0, y0)))
            continue
        own = cv2.dilate(own, kernel) & np.isin(labels, _joined(k)).astype(np.uint8)
        yy, xx = np.nonzero(own)
        bx0, bx1, by0, by1 = xx.min(), xx.max() + 1, yy.min(), yy.max() + 1
        crop = patch[by0:by1, bx0:bx1] * own[by0:by1, bx0:bx1, None]
        pieces.append((np.ascontiguousarray(crop), (x0 + int(bx0), y0 + int(by0))))
    return pieces


def _joined(k: int) -> list[int]:
    """Piece k and the pieces it joins at a joint (0 = palm, 1 + j = BONES[j]): the overlap of a
    piece reaches only into those, never into the finger beside it."""
    if k == 0:
        return [0] + [1 + j for j in range(0, len(BONES), 3)]
    p = (k - 1) % 3
    return [k] + ([0] if p == 0 else [k - 1]) + ([k + 1] if p < 2 else [])


def draw_pieces(pieces: list[tuple[np.ndarray, tuple[int, int]]], mats: list[np.ndarray],
                size: tuple[int, int]) -> tuple[np.ndarray, int, int, int, int] | None:
    """Warp each (crop, origin) piece by its 2x3 map and composite them in order into one
    premultiplied BGRA box: (box, x0, y0, x1, y1) clipped to ``size`` (w, h), or None."""
    w, h = size
    boxes = []
    for (crop, (ox, oy)), m in zip(pieces, mats):
        ch, cw = crop.shape[:2]
        c = apply(m, np.array([[ox, oy], [ox + cw, oy], [ox, oy + ch], [ox + cw, oy + ch]], np.float64))
        boxes.append(c)
    allc = np.vstack(boxes)
    rx0, ry0 = max(int(np.floor(allc[:, 0].min())) - 1, 0), max(int(np.floor(allc[:, 1].min())) - 1, 0)
    rx1, ry1 = min(int(np.ceil(allc[:, 0].max())) + 2, w), min(int(np.ceil(allc[:, 1].max())) + 2, h)
    if rx1 <= rx0 or ry1 <= ry0:
        return None
    out = np.zeros((ry1 - ry0, rx1 - rx0, 4), np.uint8)
    empty = True
    for (crop, (ox, oy)), m, c in zip(pieces, mats, boxes):
        if crop.shape[0] < 2:
            continue
        bx0, by0 = max(int(np.floor(c[:, 0].min())) - 1, rx0), max(int(np.floor(c[:, 1].min())) - 1, ry0)
        bx1, by1 = min(int(np.ceil(c[:, 0].max())) + 2, rx1), min(int(np.ceil(c[:, 1].max())) + 2, ry1)
        if bx1 <= bx0 or by1 <= by0:
            continue
        mp = m.copy()
        mp[:, 2] += m[:, :2] @ np.array([ox, oy], np.float64) - (bx0, by0)
        roi = out[by0 - ry0:by1 - ry0, bx0 - rx0:bx1 - rx0]
        if empty:   # the first piece (the forearm, the largest) goes over zeros: the same as a copy
            cv2.warpAffine(crop, mp, (bx1 - bx0, by1 - by0), dst=roi, flags=cv2.INTER_LINEAR,
                           borderMode=cv2.BORDER_CONSTANT, borderValue=(0, 0, 0, 0))
            empty = False
            continue
        warped = cv2.warpAffine(crop, mp, (bx1 - bx0, by1 - by0), flags=cv2.INTER_LINEAR,
                                borderMode=cv2.BORDER_CONSTANT, borderValue=(0, 0, 0, 0))
        inv = cv2.merge([255 - warped[..., 3]] * 4)
        cv2.multiply(roi, inv, dst=roi, scale=1.0 / 255.0)
        cv2.add(roi, warped, dst=roi)
    return out, rx0, ry0, rx1, ry1


def find_hands(img: np.ndarray, pose: Pose) -> dict[str, Hand]:
    """The reference's hands (MediaPipe Hands, image mode, wrist crops)."""
    with HandEstimator("image") as est:
        return est.detect(img, pose)


def hand_regions(hands: dict[str, Hand], h: int, w: int) -> dict[str, np.ndarray]:
    """{side: uint8 HxW mask}: each hand's landmark hull grown by an eighth of its size (the
    fingers' width), so the whole hand goes to its forearm layer (engines.warp.layers)."""
    out = {}
    for side, hand in hands.items():
        m = np.zeros((h, w), np.uint8)
        hull = cv2.convexHull(np.round(hand.xy).astype(np.int32))
        cv2.fillConvexPoly(m, hull, 1)
        r = max(2, int(0.12 * hand.size))
        out[side] = cv2.dilate(m, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * r + 1, 2 * r + 1)))
    return out


def finger_overlap(hand: Hand) -> float:
    """How much the four fingers lie over one another in the image: the mean share of a finger's
    capsule (PIP to tip, cut_hand's half-width WIDTH) that a neighbour's capsule covers too; 0 for
    fingers apart, 1 for fingers drawn one on another. Measured on a raster of OVERLAP_RES px per
    hand size, so the same for any size of photo."""
    size = max(hand.size, 1e-6)
    xy = (hand.xy.astype(np.float64) - hand.xy.min(axis=0)) * (OVERLAP_RES / size) + OVERLAP_RES
    w, h = (xy.max(axis=0) + OVERLAP_RES).astype(int) + 1
    masks = []
    for finger in FINGERS:
        m = np.zeros((h, w), np.uint8)
        for a, b in zip(finger[1:], finger[2:]):
            cv2.line(m, tuple(int(v) for v in np.round(xy[a])), tuple(int(v) for v in np.round(xy[b])), 1,
                     int(round(2 * WIDTH * OVERLAP_RES)))
        masks.append(m)
    count = np.sum(masks, axis=0)
    return float(np.mean([((m > 0) & (count > m)).sum() / max(int(m.sum()), 1) for m in masks]))


def rig_hands(img: np.ndarray, pose: Pose, min_px: float = 18.0, max_bend_deg: float = 45.0,
              found: dict[str, Hand] | None = None, max_overlap: float = 0.46) -> dict[str, HandRig]:
    """{side: HandRig} of the reference's open, visible hands whose fingers are apart (module doc;
    BGR photo, its pose; ``found``: the hands already detected)."""
    if found is None:
        found = find_hands(img, pose)
    rigs = {}
    for side in SIDES:
        hand = found.get(side)
        if hand is None:
            continue
        bend, overlap = finger_bend(hand), finger_overlap(hand)
        if hand.size < min_px or bend > max_bend_deg or overlap > max_overlap:
            log.info("the reference's %s hand is too small, closed or its fingers over one another (%.0f px, "
                     "bend %.0f deg, overlap %.2f): it stays rigid", side, hand.size, bend, overlap)
            continue
        rigs[side] = HandRig(hand)
    if not rigs:
        log.info("no open hand found in the reference photo: the avatar's hands stay rigid")
    return rigs
