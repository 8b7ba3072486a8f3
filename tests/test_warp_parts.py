"""Per-part transforms of the warp renderer (pure NumPy): properties with hypothesis."""
import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from engines.warp.layers import Layer, continue_below
from engines.warp.parts import (LENGTH_SCALE_RANGE, TORSO_MAX_FLATTENING, Edge, apply, bottom_edge, complete_hips,
                                hands_on_edge, hips_at_edge, limb_transform, part_transforms, similarity,
                                torso_transform)
from realtime.layouts import COCO17

pt = st.tuples(st.floats(-500, 500), st.floats(-500, 500)).map(lambda t: np.array(t, np.float64))


@settings(max_examples=80, deadline=None)
@given(pt, pt, pt, pt)
def test_limb_transform_puts_the_bone_on_the_target(a0, b0, a1, b1):
    l0, l1 = np.linalg.norm(b0 - a0), np.linalg.norm(b1 - a1)
    assume(l0 >= 1 and l1 >= 1)
    m = limb_transform(a0, b0, a1, b1)
    np.testing.assert_allclose(apply(m, a0)[0], a1, atol=1e-6)
    ratio = l1 / l0
    if LENGTH_SCALE_RANGE[0] <= ratio <= LENGTH_SCALE_RANGE[1]:
        np.testing.assert_allclose(apply(m, b0)[0], b1, atol=1e-6 * max(1.0, l1))
    # the width across the bone is kept: a point beside a0 stays at the same distance from the bone
    n0 = np.array([-(b0 - a0)[1], (b0 - a0)[0]]) / l0
    side = apply(m, a0 + 10 * n0)[0]
    assert abs(np.linalg.norm(side - a1) - 10) < 1e-6


@settings(max_examples=60, deadline=None)
@given(st.lists(pt, min_size=3, max_size=8), st.floats(-3.1, 3.1), st.floats(0.3, 3.0), pt)
def test_similarity_recovers_a_known_similarity(points, angle, scale, shift):
    src = np.array(points)
    assume(np.ptp(src, axis=0).max() >= 5)
    rot = scale * np.array([[np.cos(angle), -np.sin(angle)], [np.sin(angle), np.cos(angle)]])
    dst = src @ rot.T + shift
    m = similarity(src, dst)
    np.testing.assert_allclose(apply(m, src), dst, atol=1e-6 * max(1.0, np.abs(dst).max()))


def test_degenerate_bones_give_finite_maps():
    p = np.array([10.0, 20.0])
    for a0, b0, a1, b1 in ((p, p, p, p + 5), (p, p + 5, p, p), (p, p, p, p)):
        m = limb_transform(a0, b0, a1, b1)
        assert np.all(np.isfinite(m))
        np.testing.assert_allclose(apply(m, a0)[0], a1, atol=1e-9)


def test_torso_falls_back_to_similarity_for_a_flat_fit():
    src = np.array([[0, 0], [100, 0], [100, 200], [0, 200]], np.float64)
    squashed = src * np.array([0.05, 1.0])          # 20:1 anisotropy: a flattened torso
    m = torso_transform(src, squashed)
    sv = np.linalg.svd(m[:, :2], compute_uv=False)
    assert sv[0] / sv[1] < 1.0001                    # a similarity, not the 20:1 affine
    ok = torso_transform(src, src * np.array([0.5, 1.0]))   # 2:1 is kept as an affine
    np.testing.assert_allclose(apply(ok, src), src * np.array([0.5, 1.0]), atol=1e-6)


@settings(max_examples=60, deadline=None)
@given(st.floats(0.26, 0.49), st.floats(-3.1, 3.1), st.floats(0.5, 2.0), pt)
def test_torso_turned_edge_on_keeps_its_depth(narrow, angle, scale, shift):
    """Shoulders and hips nearly on one line (a body turned edge-on, basketball_dribble's bent-over
    frames): the torso is drawn no flatter than TORSO_MAX_FLATTENING:1 (the exact fit pressed it to a
    strip), about the same centre, its long side as fitted."""
    src = np.array([[0, 0], [100, 0], [90, 200], [10, 200]], np.float64)
    rot = scale * np.array([[np.cos(angle), -np.sin(angle)], [np.sin(angle), np.cos(angle)]])
    dst = (src * np.array([narrow, 1.0])) @ rot.T + shift
    m = torso_transform(src, dst)
    sv = np.linalg.svd(m[:, :2], compute_uv=False)
    assert sv[0] / sv[1] == pytest.approx(TORSO_MAX_FLATTENING, rel=1e-6)
    assert sv[0] == pytest.approx(scale, rel=1e-6)
    np.testing.assert_allclose(apply(m, src.mean(axis=0))[0], dst.mean(axis=0), atol=1e-6 * max(1.0, np.abs(dst).max()))


IX = COCO17.index


def _chest_photo() -> tuple[np.ndarray, np.ndarray]:
    """A head-and-shoulders reference (px): shoulders 200 px apart at y=300, a photo 400 px tall,
    hips (virtual) 270 px below the neck, out of the photo."""
    xy = np.zeros((17, 2))
    ok = np.zeros(17, bool)
    for n, p in {"nose": (500, 180), "left_eye": (520, 165), "right_eye": (480, 165), "left_ear": (545, 175),
                 "right_ear": (455, 175), "left_shoulder": (600, 300), "right_shoulder": (400, 300),
                 "left_hip": (570, 570), "right_hip": (430, 570)}.items():
        xy[IX[n]], ok[IX[n]] = p, True
    return xy, ok


@settings(max_examples=60, deadline=None)
@given(st.floats(-20, 20), st.floats(0.7, 1.3), st.floats(-60, 60), st.floats(-40, 40))
def test_chest_cut_torso_takes_the_shoulders_and_keeps_the_bottom_edge(tilt_deg, scale, dx, dy):
    edge = Edge(400.0, 350.0, 640.0)                      # the torso's bottom row: 150 left, 140 right of the neck
    ref, ok = _chest_photo()
    tgt = ref.copy()
    a = np.radians(tilt_deg)
    rot = scale * np.array([[np.cos(a), -np.sin(a)], [np.sin(a), np.cos(a)]])
    c = (ref[IX["left_shoulder"]] + ref[IX["right_shoulder"]]) / 2
    tok = ok.copy()
    tok[[IX["left_hip"], IX["right_hip"]]] = False       # an upper-body driver
    tgt[tok] = c + (dx, dy) + (ref[tok] - c) @ rot.T
    xy, tok2, placed = complete_hips(ref, ok, tgt, tok, IX, edge)
    assert placed
    torso = part_transforms(ref, ok, xy, tok2, IX, edge)["torso"]
    sh = [IX["left_shoulder"], IX["right_shoulder"]]
    np.testing.assert_allclose(apply(torso, ref[sh]), tgt[sh], atol=1e-6)
    ends = apply(torso, np.array([[edge.x0, edge.y], [edge.x1, edge.y]]))
    assert ends[:, 1].min() >= edge.y - 1e-6
    # lowered no further than needed: one end on the edge, or the hips where complete_hips put them
    unpushed, *_ = complete_hips(ref, ok, tgt, tok, IX)
    assert ends[:, 1].min() <= edge.y + 1e-6 or np.allclose(xy, unpushed)
    assert np.all(xy[[IX["left_hip"], IX["right_hip"]], 1] >= unpushed[[IX["left_hip"], IX["right_hip"]], 1] - 1e-9)


def test_a_torso_layer_continued_below_the_edge_covers_a_tilt_without_stretching():
    """The torso layer goes on ``reach`` px below the photo's bottom edge (layers.continue_below): a
    10-degree shoulder tilt lifts one end of the edge by ~17 px, which 40 continued rows cover, so
    the hips are not lowered and the chest keeps the driver's scale; with no reach they are lowered
    (the chest stretched), and a lift past the reach still lowers them."""
    ref, ok = _chest_photo()
    tok = ok.copy()
    tok[[IX["left_hip"], IX["right_hip"]]] = False
    tgt = ref.copy()
    tgt[IX["left_shoulder"], 1] -= 17.6                   # ~10 degrees over 200 px
    tgt[IX["right_shoulder"], 1] += 17.6
    plain, *_ = complete_hips(ref, ok, tgt, tok, IX)
    hips = [IX["left_hip"], IX["right_hip"]]
    covered, tok2, _ = complete_hips(ref, ok, tgt, tok, IX, Edge(400.0, 350.0, 640.0, reach=40.0))
    np.testing.assert_array_equal(covered, plain)
    down = part_transforms(ref, ok, covered, tok2, IX, Edge(400.0, 350.0, 640.0, 40.0))["torso"][:, :2] @ (0.0, 1.0)
    assert np.linalg.norm(down) == pytest.approx(1.0, abs=0.01)
    stretched, *_ = complete_hips(ref, ok, tgt, tok, IX, Edge(400.0, 350.0, 640.0))
    assert np.all(stretched[hips, 1] > plain[hips, 1] + 10)
    short, *_ = complete_hips(ref, ok, tgt, tok, IX, Edge(400.0, 350.0, 640.0, reach=5.0))
    assert np.all(plain[hips, 1] < short[hips, 1]) and np.all(short[hips, 1] < stretched[hips, 1])


def test_continue_below_repeats_the_last_rows_under_the_photo():
    patch = np.zeros((20, 6, 4), np.uint8)
    patch[:, 1:5] = (10, 20, 30, 255)
    patch[-1, 1:5] = (40, 50, 60, 255)                    # the last rows' mean is repeated
    layer = Layer("torso", patch, (100, 380), 2, ())
    out = continue_below(layer, 400, 30)
    assert out.origin == layer.origin and out.patch.shape == (50, 6, 4)
    np.testing.assert_array_equal(out.patch[:20], patch)
    np.testing.assert_array_equal(out.patch[20:, 1:5], np.full((30, 4, 4), (20, 30, 40, 255)))
    assert not out.patch[20:, [0, 5]].any()
    assert continue_below(layer, 500, 30) is layer        # the layer ends above the photo's last row
    assert continue_below(layer, 400, 0) is layer


def test_full_photo_torso_is_unchanged_by_the_bottom_edge():
    ref, ok = _chest_photo()                              # the hips inside a 700-px photo: not cut
    tgt = ref + (5.0, -10.0)
    tgt[IX["left_shoulder"], 1] -= 30                     # tilted
    tok = ok.copy()
    tok[[IX["left_hip"], IX["right_hip"]]] = False
    edge = Edge(700.0, 350.0, 640.0)
    xy, tok2, _ = complete_hips(ref, ok, tgt, tok, IX, edge)
    plain, tok3, _ = complete_hips(ref, ok, tgt, tok, IX)
    np.testing.assert_array_equal(xy, plain)
    np.testing.assert_array_equal(part_transforms(ref, ok, xy, tok2, IX, edge)["torso"],
                                  part_transforms(ref, ok, plain, tok3, IX)["torso"])


def test_bottom_edge_is_where_the_torso_layer_meets_the_photos_last_row():
    alpha = np.zeros((50, 80), np.uint8)
    alpha[:, 20:61] = 255                                # the torso's columns 20..60 (patch px)
    alpha[-1, 10:20] = 100                               # a feathered rim: not the torso
    assert bottom_edge(alpha, (100, 350), 400) == Edge(400.0, 120.0, 161.0)
    assert bottom_edge(alpha, (100, 300), 400) is None   # the layer ends above the last row


def test_hips_just_above_the_bottom_edge_are_placed_from_the_neck():
    ref, ok = _chest_photo()                              # hips 270 px below the neck at y=570
    tgt = ref + (10.0, -5.0)
    tgt[[IX["left_hip"], IX["right_hip"]], 1] += 25       # the estimator's hips, lower than the body's
    near, far = Edge(600.0, 420.0, 580.0), Edge(800.0, 420.0, 580.0)
    assert hips_at_edge(ref, ok, IX, near) and not hips_at_edge(ref, ok, IX, far)
    assert not hips_at_edge(ref, ok, IX, Edge(560.0, 420.0, 580.0))   # below the edge: cut at the chest
    xy, tok, placed = complete_hips(ref, ok, tgt, ok, IX, near)
    assert placed and tok[IX["left_hip"]] and tok[IX["right_hip"]]
    np.testing.assert_allclose(xy[[IX["left_hip"], IX["right_hip"]]], ref[[IX["left_hip"], IX["right_hip"]]] + (10, -5))
    kept, _, placed_far = complete_hips(ref, ok, tgt, ok, IX, far)   # far above the edge: the target's own
    assert not placed_far
    np.testing.assert_array_equal(kept, tgt)


def test_hanging_hand_cut_by_the_photo_stays_on_the_bottom_edge():
    ref = np.zeros((17, 2))
    ref[IX["left_elbow"]], ref[IX["left_wrist"]] = (100.0, 300.0), (100.0, 380.0)
    edge = Edge(400.0, 90.0, 111.0)                       # the hand meets the photo's last row 20 px below the wrist
    def forearm(elbow, wrist):
        return limb_transform(ref[IX["left_elbow"]], ref[IX["left_wrist"]], np.array(elbow), np.array(wrist))
    ends = np.array([[edge.x0, edge.y], [edge.x1, edge.y]])
    lifted = {"left_forearm": forearm((104.0, 302.0), (102.0, 376.0))}   # hanging, a bit shorter: the cut lifts
    assert apply(lifted["left_forearm"], ends)[:, 1].min() < edge.y - 3
    hands_on_edge(lifted, {"left_forearm": edge}, ref, IX)
    low = apply(lifted["left_forearm"], ends)[:, 1]
    assert low.min() == pytest.approx(edge.y, abs=1e-6)  # on the edge, not past it
    np.testing.assert_allclose(apply(lifted["left_forearm"], ref[[IX["left_elbow"]]])[0], (104.0, 302.0), atol=1e-9)
    raised = {"left_forearm": forearm((100.0, 300.0), (120.0, 225.0))}   # a raised arm is left alone
    far = {"left_forearm": forearm((100.0, 260.0), (100.0, 330.0))}     # lifted further than a stretch can mend
    for mats in (raised, far):
        before = mats["left_forearm"].copy()
        hands_on_edge(mats, {"left_forearm": edge}, ref, IX)
        np.testing.assert_array_equal(mats["left_forearm"], before)
