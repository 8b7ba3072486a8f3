"""The avatar's fingers in the warp renderer: the reference hand's landmarks, triangulated, moved into
the driver's hand shape.

Prepared once: MediaPipe Hands (image mode) on a crop around each wrist of the reference (when the
renderer estimates the reference itself: the hands' pixels then go to their forearm layers whole,
however far the fingers reach past the wrist); a hand is
rigged only when it is large enough (``min_px``, wrist to middle-finger base) and open enough (mean
PIP bend under ``max_bend_deg``: a fist cannot be opened without inventing fingers); otherwise that
hand stays rigid on its forearm, as before (a one-line notice).
Per frame, with the driver's hand on that side (realtime.hands, already mirrored as the pose is):
the 21 points go where the driver's hand has them relative to its wrist, scaled by the two hands'
sizes, starting at the avatar's wrist as the forearm carries it; a ring of 16 points around the hand
(1.6x its reach) moves with the forearm. The forearm layer is sampled through that mesh
(engines.warp.mesh): fingers bend and spread, the forearm joins without a seam.
"""
from __future__ import annotations

import logging
import time

import numpy as np

from engines.warp.mesh import warp_with_mesh
from realtime.hands import SIDES, WRIST, Hand, HandEstimator, finger_bend
from realtime.pose import Pose

log = logging.getLogger(__name__)

RING_POINTS = 16
RING_SCALE = 1.6
PALM = (0, 5, 9, 13, 17)


class HandRig:
    """One reference hand's mesh; ``draw`` renders its forearm layer with the driver's fingers."""

    def __init__(self, hand: Hand) -> None:
        from scipy.spatial import Delaunay

        self.hand = hand
        xy = hand.xy.astype(np.float64)
        c = xy[list(PALM)].mean(axis=0)
        reach = float(np.linalg.norm(xy - c, axis=1).max())
        ang = np.linspace(0, 2 * np.pi, RING_POINTS, endpoint=False)
        self.ring = c + RING_SCALE * reach * np.stack([np.cos(ang), np.sin(ang)], axis=1)
        self.src = np.vstack([xy, self.ring])
        self.tri = Delaunay(self.src).simplices.astype(np.int32)
        self.size = max(hand.size, 1e-6)
        self.ms = 0.0

    def points(self, driver: Hand, forearm: np.ndarray) -> np.ndarray:
        """Mesh destinations (output px): the driver's hand shape at the avatar's carried wrist, then
        the ring moved by the forearm's 2x3 transform."""
        wrist = self.hand.xy[WRIST].astype(np.float64) @ forearm[:, :2].T + forearm[:, 2]
        k = float(np.clip(self.size / max(driver.size, 1e-6), 0.3, 3.0))
        fingers = wrist + (driver.xy.astype(np.float64) - driver.xy[WRIST]) * k
        return np.vstack([fingers, self.ring @ forearm[:, :2].T + forearm[:, 2]])

    def draw(self, patch: np.ndarray, origin: tuple[int, int], forearm: np.ndarray, driver: Hand,
             size: tuple[int, int]) -> tuple[np.ndarray, int, int, int, int] | None:
        t0 = time.perf_counter()
        got = warp_with_mesh(patch, origin, forearm, self.src, self.points(driver, forearm), self.tri, size)
        self.ms = (time.perf_counter() - t0) * 1000.0
        return got


def find_hands(img: np.ndarray, pose: Pose) -> dict[str, Hand]:
    """The reference's hands (MediaPipe Hands, image mode, wrist crops)."""
    with HandEstimator("image") as est:
        return est.detect(img, pose)


def hand_regions(hands: dict[str, Hand], h: int, w: int) -> dict[str, np.ndarray]:
    """{side: uint8 HxW mask}: each hand's landmark hull grown by an eighth of its size (the
    fingers' width), so the whole hand goes to its forearm layer (engines.warp.layers)."""
    import cv2

    out = {}
    for side, hand in hands.items():
        m = np.zeros((h, w), np.uint8)
        hull = cv2.convexHull(np.round(hand.xy).astype(np.int32))
        cv2.fillConvexPoly(m, hull, 1)
        r = max(2, int(0.12 * hand.size))
        out[side] = cv2.dilate(m, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * r + 1, 2 * r + 1)))
    return out


def rig_hands(img: np.ndarray, pose: Pose, min_px: float = 18.0, max_bend_deg: float = 45.0,
              found: dict[str, Hand] | None = None) -> dict[str, HandRig]:
    """{side: HandRig} of the reference's open, visible hands (BGR photo, its pose; ``found``: the
    hands already detected)."""
    if found is None:
        found = find_hands(img, pose)
    rigs = {}
    for side in SIDES:
        hand = found.get(side)
        if hand is None:
            continue
        if hand.size < min_px or finger_bend(hand) > max_bend_deg:
            log.info("the reference's %s hand is too small or closed (%.0f px, bend %.0f deg): it stays rigid",
                     side, hand.size, finger_bend(hand))
            continue
        rigs[side] = HandRig(hand)
    if not rigs:
        log.info("no open hand found in the reference photo: the avatar's hands stay rigid")
    return rigs
