"""The chest that an arm hides in the reference photo is filled from the torso's clothing: no skin
or hair colour of the torso's edges (a neckline, hair over a shoulder) is continued into it, where
MediaPipe read the skin-coloured blob as a hand once the arm had moved away (presenter_desk)."""
from __future__ import annotations

import cv2
import numpy as np
import pytest

from engines.warp.clothing import clothing_pixels, fill_from
from engines.warp.layers import _neckline_skin, build_layers
from realtime.app.demo.figure import draw_figure
from realtime.layouts import COCO17

IX = COCO17.index
SHIRT = np.array((190, 120, 50), np.float32)   # BGR: a blue shirt
SKIN = np.array((150, 180, 225), np.float32)
HAIR = np.array((30, 35, 45), np.float32)


def folded_arm_figure():
    """The demo figure in a blue shirt with a V-neck of skin down to a bare left forearm folded
    across the chest, its hand at the chest's middle (like clasped hands under a neckline).
    Returns (image, mask, keypoints, the hand's region)."""
    fig = draw_figure()
    xy = fig.pose.xy.astype(np.float64)
    elbow = xy[IX["left_elbow"]]
    xy[IX["left_wrist"]] = (215.0, 262.0)
    mask = (fig.mask >= 0.5).astype(np.uint8)
    old = np.zeros_like(mask)
    cv2.line(old, (330, 300), (380, 420), 1, 40)               # the hanging forearm: gone
    mask[old > 0] = 0
    arm = np.zeros_like(mask)
    cv2.line(arm, tuple(int(v) for v in elbow), (215, 262), 1, 24)
    hand = np.zeros_like(mask)
    cv2.circle(hand, (205, 262), 14, 1, -1)
    mask |= arm | hand
    img = np.full(mask.shape + (3,), 230, np.uint8)
    img[mask > 0] = SHIRT
    face = np.zeros_like(mask)
    cv2.circle(face, (240, 115), 42, 1, -1)
    img[(face > 0) & (mask > 0)] = HAIR
    cv2.circle(img, (240, 125), 30, SKIN.tolist(), -1)           # the face below the hair
    cv2.fillConvexPoly(img, np.array([(212, 190), (268, 190), (240, 246)], np.int32), SKIN.tolist())  # V-neck
    cv2.rectangle(img, (228, 150), (252, 190), SKIN.tolist(), -1)  # the neck
    img[(arm | hand) > 0] = SKIN
    return img, mask.astype(np.float32), xy, hand


def _torso_rgb(layers):
    layer = next(l for l in layers if l.name == "torso")
    p = layer.patch.astype(np.float32)
    a = p[..., 3:] / 255.0
    return layer.origin, p[..., :3] / np.maximum(a, 1e-3), p[..., 3]


def test_the_chest_under_a_folded_arm_is_filled_with_shirt_not_the_necklines_skin():
    img, mask, xy, hand = folded_arm_figure()
    layers, _, _ = build_layers(img, mask, xy, np.ones(17, bool), 3, {"left": hand})
    (ox, oy), rgb, alpha = _torso_rgb(layers)
    arm = np.zeros(mask.shape, np.uint8)
    cv2.line(arm, tuple(int(v) for v in xy[IX["left_elbow"]]), (215, 262), 1, 16)
    cv2.circle(arm, (205, 262), 10, 1, -1)
    quad = np.zeros(mask.shape, np.uint8)
    cv2.fillConvexPoly(quad, np.round(xy[[IX[n] for n in ("left_shoulder", "right_shoulder", "right_hip",
                                                            "left_hip")]]).astype(np.int32), 1)
    ys, xs = np.nonzero((arm > 0) & (quad > 0))
    sel = alpha[ys - oy, xs - ox] > 200
    assert sel.mean() > 0.9                         # the torso layer takes the chest under the arm
    col = rgb[ys[sel] - oy, xs[sel] - ox]
    to_skin = np.linalg.norm(col - SKIN, axis=1)
    to_shirt = np.linalg.norm(col - SHIRT, axis=1)
    assert (to_shirt < to_skin).all(), f"{(to_shirt >= to_skin).sum()} skin-coloured pixels in the fill"
    assert np.median(to_shirt) < 25


def test_clothing_pixels_leave_out_skin_and_hair_colours():
    img = np.zeros((40, 60, 3), np.uint8)
    img[:, :40] = SHIRT
    img[:, 40:50] = SKIN
    img[:, 50:] = HAIR
    torso = np.ones((40, 60), bool)
    skin = np.zeros_like(torso)
    skin[:5, 40:50] = True
    hair = np.zeros_like(torso)
    hair[:5, 50:] = True
    cloth = clothing_pixels(img, torso, skin, hair)
    assert cloth[:, :40].all() and not cloth[:, 40:].any()
    # a bare chest (mostly skin): all of the torso is the fill's source, as without samples
    img[:, 8:] = SKIN
    assert clothing_pixels(img, torso, skin, hair).all()
    assert clothing_pixels(img, torso, np.zeros_like(torso), np.zeros_like(torso)).all()


def test_fill_from_takes_only_the_source_colours():
    img = np.zeros((50, 50, 3), np.uint8)
    img[:] = SHIRT
    img[:10] = SKIN                                  # skin above, not a source
    region = np.zeros((50, 50), np.uint8)
    region[15:35, 10:40] = 1
    source = np.ones((50, 50), bool)
    source[:10] = False
    source[region > 0] = False
    img[region > 0] = SKIN                          # the arm's own pixels: replaced
    out = fill_from(img, region, source)
    assert np.abs(out[region > 0].astype(np.float32) - SHIRT).max() <= 2
    assert np.array_equal(out[region == 0], img[region == 0])
    assert np.array_equal(fill_from(img, np.zeros_like(region), source), img)


def _deep_neckline_figure():
    """The folded-arm figure with its V-neck reaching down to the hand and the forearm (clasped
    hands just under a neckline). Returns (image, mask, keypoints, hand, the V's pixels)."""
    img, mask, xy, hand = folded_arm_figure()
    v = np.zeros(mask.shape, np.uint8)
    cv2.fillConvexPoly(v, np.array([(212, 190), (268, 190), (236, 262)], np.int32), 1)
    v &= np.all(img == SHIRT.astype(np.uint8), axis=2).astype(np.uint8)   # not over the arm
    img[v > 0] = SKIN
    return img, mask, xy, hand, v > 0


def test_the_necklines_skin_above_clasped_hands_stays_skin():
    img, mask, xy, hand, v = _deep_neckline_figure()
    layers, _, _ = build_layers(img, mask, xy, np.ones(17, bool), 3, {"left": hand})
    (ox, oy), rgb, alpha = _torso_rgb(layers)
    arm = np.zeros(mask.shape, np.uint8)
    cv2.line(arm, tuple(int(v) for v in xy[IX["left_elbow"]]), (215, 262), 1, 24)
    cv2.circle(arm, (205, 262), 14, 1, -1)
    near = cv2.dilate(arm, np.ones((9, 9), np.uint8)) > 0            # the margin round the arm
    ys, xs = np.nonzero(v & near & (arm == 0))
    assert len(ys) > 20
    col = rgb[ys - oy, xs - ox]
    to_skin = np.linalg.norm(col - SKIN, axis=1)
    to_shirt = np.linalg.norm(col - SHIRT, axis=1)
    assert (to_skin < to_shirt).mean() > 0.9, "the neckline's skin by the hand repainted with the shirt"


def test_the_fill_continues_the_necklines_skin_but_not_an_arms_or_hairs():
    """Labels drawn by hand: a head over a torso, a forearm across the chest (hidden, grown 4 px).
    The V-neck's skin runs from the head down into the margin; a lock of hair too; the arm's own
    skin, beside it, also touches the hidden region but not the head."""
    names = ["torso", "head", "left_forearm"]
    labels = np.zeros((80, 80), np.int16)
    labels[:20] = 1
    labels[40:50, 10:70] = 2
    img = np.empty((80, 80, 3), np.uint8)
    img[:] = SHIRT
    img[:20] = HAIR
    img[5:20, 30:50] = SKIN                                       # the face
    img[20:40, 34:46] = SKIN                                      # the V-neck, into the margin
    img[:50, 60:66] = HAIR                                        # a lock, over the arm's end
    img[40:50, 10:60] = SKIN                                      # the bare forearm
    img[50:60, 12:20] = SKIN                                      # its edge, labelled torso, out of hidden
    hidden = np.zeros((80, 80), bool)
    hidden[36:54, 10:70] = True
    own = (labels == 0) & ~hidden
    skin = np.zeros_like(hidden)
    skin[5:20, 30:50] = True
    hair = (labels == 1) & ~skin
    neck_skin = _neckline_skin(img, hidden, labels, names, own, (skin, hair), 4)
    assert neck_skin[30:36, 34:46].all()                          # the V's skin just above the margin
    assert not neck_skin[:, :30].any() and not neck_skin[54:].any()   # not the arm's edge
    assert not (neck_skin & np.all(img == SHIRT.astype(np.uint8), axis=2)).any()
    assert not (neck_skin & np.all(img == HAIR.astype(np.uint8), axis=2)).any()
    assert not _neckline_skin(img, hidden, labels, ["torso", "left_forearm"], own, (skin, hair), 4).any()
