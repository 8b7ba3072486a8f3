"""The avatar's palm takes the driver's palm shape (engines.warp.hands.palm_linear): a foreshortened,
sheared or mirrored driver palm moves the photo's knuckles onto the driver's, within clamped
stretches."""
from __future__ import annotations

import numpy as np
import pytest

from engines.warp.hands import PALM_FIT, PALM_SCALE_RANGE, HandRig, palm_linear
from realtime.hands import FINGERS, THUMB, WRIST, Hand

KNUCKLES = [f[0] for f in FINGERS]


def open_hand(lin=np.eye(2), at=(300.0, 350.0)) -> Hand:
    """A straight open hand pointing up (wrist at ``at``, knuckles 120 px wide), its shape mapped
    by the 2x2 ``lin`` about the wrist; px."""
    xy = np.zeros((21, 2))
    for k, (mcp, pip, dip, tip) in enumerate(FINGERS):
        for j, idx in enumerate((mcp, pip, dip, tip)):
            xy[idx] = (-60 + 40 * k, -90.0 - 30 * j)
    for j, idx in enumerate(THUMB):
        xy[idx] = (-50 - 20 * j, -20 - 20 * j)
    xy = xy @ np.asarray(lin, np.float64).T + at
    return Hand(xy.astype(np.float32), np.zeros(21, np.float32), "left", 640, 480)


def _driven_knuckles(driver: Hand):
    """(the avatar's knuckles as drawn, where the driver's palm puts them): output px, the forearm
    moved by (10, -5), the hand's scale 1."""
    avatar = open_hand()
    forearm = np.array([[1.0, 0.0, 10.0], [0.0, 1.0, -5.0]])
    rig = HandRig(avatar)
    pts = rig.points(driver, forearm, scale=1.0)
    k = avatar.size / driver.size
    want = avatar.xy[WRIST] + (10, -5) + k * (driver.xy[KNUCKLES] - driver.xy[WRIST])
    return pts[KNUCKLES], want


@pytest.mark.parametrize("lin", [
    [[0.5, 0.0], [0.0, 1.0]],     # palm squashed to half width (turned away from the camera)
    [[1.0, 0.4], [0.0, 0.8]],     # sheared and foreshortened
    [[-1.0, 0.0], [0.0, 1.0]],    # mirrored: the other face of the palm
], ids=["half-width", "sheared", "mirrored"])
def test_the_avatars_knuckles_land_on_the_drivers(lin):
    """A rigid palm (the photo's turned) left these knuckles 27-180 px off the driver's, and the
    fingers drawn from them kinked; the fitted palm puts them within a pixel."""
    got, want = _driven_knuckles(open_hand(lin, at=(100.0, 200.0)))
    np.testing.assert_allclose(got, want, atol=1.0)


def test_an_unchanged_palm_stays_the_photos():
    got, want = _driven_knuckles(open_hand(at=(100.0, 200.0)))
    np.testing.assert_allclose(got, want, atol=1e-6)
    np.testing.assert_allclose(got, open_hand().xy[KNUCKLES] + (10, -5), atol=1e-4)


@pytest.mark.parametrize("lin, scale", [
    ([[0.0, 0.0], [0.0, 1.0]], 1.0),      # palm edge-on: its points on one line
    ([[0.0, 0.0], [0.0, 0.0]], 2.0),      # every point at one place
    ([[4.0, 0.0], [0.0, 0.05]], 0.7),     # 4x wide, 1/20 tall
])
def test_a_degenerate_palm_is_not_stretched_past_the_range(lin, scale):
    src = open_hand().xy[list(PALM_FIT)].astype(np.float64)
    dst = scale * (src @ np.asarray(lin).T) + (7.0, -3.0)
    got = palm_linear(src, dst, scale)
    sv = np.linalg.svd(got, compute_uv=False)
    assert np.all(np.isfinite(got))
    assert sv.min() >= PALM_SCALE_RANGE[0] * scale - 1e-9
    assert sv.max() <= PALM_SCALE_RANGE[1] * scale + 1e-9


def test_an_edge_on_palm_keeps_a_third_of_its_width():
    """The driver's palm seen edge-on: the avatar's knuckles are drawn 0.3 of the photo's span apart,
    not on top of each other."""
    avatar = open_hand()
    rig = HandRig(avatar)
    pts = rig.points(open_hand([[0.0, 0.0], [0.0, 1.0]]), np.eye(2, 3), scale=1.0)
    span = np.ptp(pts[KNUCKLES][:, 0])
    assert span == pytest.approx(PALM_SCALE_RANGE[0] * np.ptp(avatar.xy[KNUCKLES][:, 0]), rel=0.05)


def fingers_together(gap: float) -> Hand:
    """open_hand with its four fingers drawn ``gap`` px apart past the knuckles (a hand seen from
    the side or held flat with its fingers together: each finger over its neighbour)."""
    hand = open_hand()
    xy = hand.xy.copy()
    for k, finger in enumerate(FINGERS):
        for j, idx in enumerate(finger[1:]):
            xy[idx] = (300.0 - 20 + gap * (k - 1.5), 350.0 - 120 - 30 * j)
    return Hand(xy, hand.z, hand.side, hand.width, hand.height)


def test_a_hand_whose_fingers_lie_over_one_another_stays_rigid():
    from engines.warp.hands import rig_hands

    img = np.zeros((480, 640, 3), np.uint8)
    apart, together = open_hand(), fingers_together(8.0)
    assert set(rig_hands(img, None, found={"left": apart})) == {"left"}
    assert rig_hands(img, None, found={"left": together}) == {}
    # fingers a finger's width apart (their capsules just touch) are still cut apart
    assert set(rig_hands(img, None, found={"left": fingers_together(0.25 * apart.size)})) == {"left"}


def test_finger_overlap_reads_fingers_over_one_another_at_any_size():
    from engines.warp.hands import finger_overlap

    assert finger_overlap(open_hand()) == pytest.approx(0.0, abs=1e-6)
    together = fingers_together(8.0)
    assert finger_overlap(together) > 0.8
    small = Hand(together.xy * 0.25, together.z, together.side, together.width, together.height)
    assert finger_overlap(small) == pytest.approx(finger_overlap(together), abs=0.03)
