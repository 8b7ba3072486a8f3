"""The warp renderer: rest pose reproduces the reference, limbs move where they should, no cracks."""
from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from engines.demo_figure import draw_figure
from engines.evaluation import ssim
from engines.renderer import create_renderer
from engines.warp import WarpRenderer
from realtime.errors import InputError
from realtime.layouts import COCO17
from realtime.pose import Pose

IX = COCO17.index


@pytest.fixture(scope="module")
def figure():
    return draw_figure()


@pytest.fixture(scope="module")
def fig_renderer(figure):
    """Prepared from the figure's known pose and mask (no MediaPipe: fast and exact)."""
    r = create_renderer("warp", background="black")
    r.prepare(figure.image, figure.pose, figure.mask)
    return r


def rotate(pose: Pose, names: list[str], centre: str, deg: float) -> Pose:
    p = pose.to_layout(COCO17)
    xy = p.xy.astype(np.float64).copy()
    c = xy[IX[centre]].copy()
    a = np.radians(deg)
    rot = np.array([[np.cos(a), -np.sin(a)], [np.sin(a), np.cos(a)]])
    for n in names:
        xy[IX[n]] = c + rot @ (xy[IX[n]] - c)
    return replace(p, xy=xy.astype(np.float32))


def box_of(pose: Pose, w: int, h: int) -> tuple[int, int, int, int]:
    x0, y0, x1, y1 = pose.bbox()
    return max(0, int(x0) - 20), max(0, int(y0) - 20), min(w, int(x1) + 20), min(h, int(y1) + 20)


def test_registry_gives_warp():
    assert isinstance(create_renderer("warp"), WarpRenderer)


def test_rest_pose_reproduces_drawn_reference(figure):
    r = create_renderer("warp")
    r.prepare(figure.image, figure.pose, figure.mask)
    out = r.render(r.rest_pose)
    assert out.shape == figure.image.shape and out.dtype == np.uint8
    x0, y0, x1, y1 = box_of(figure.pose, 480, 640)
    assert ssim(out[y0:y1, x0:x1], figure.image[y0:y1, x0:x1]) >= 0.9


def test_rest_pose_reproduces_photo(pose_jpg_estimate):
    image, est = pose_jpg_estimate
    r = create_renderer("warp")
    r.prepare(image, est.pose, est.mask)
    out = r.render(r.rest_pose)
    x0, y0, x1, y1 = box_of(est.pose, image.shape[1], image.shape[0])
    assert ssim(out[y0:y1, x0:x1], image[y0:y1, x0:x1]) >= 0.9


def test_raising_one_arm_changes_only_that_side(fig_renderer, figure):
    rest = fig_renderer.render(fig_renderer.rest_pose)
    # the figure's left arm is on the image's right; swing it up by 100 degrees about the shoulder
    raised = rotate(figure.pose, ["left_elbow", "left_wrist"], "left_shoulder", -100)
    out = fig_renderer.render(raised)
    diff = np.abs(out.astype(int) - rest.astype(int)).sum(axis=2) > 30
    mid = int(figure.pose["nose"][0])
    arm_side = diff[:, mid + 40:].sum()
    other_side = diff[:, : mid - 40].sum()
    assert arm_side > 2000, "the raised arm should change many pixels on its side"
    assert other_side == 0, "nothing on the other side of the body may change"
    # the hand is now above the shoulder: pixels there were background before
    wx, wy = raised["left_wrist"].astype(int)
    assert diff[wy - 5:wy + 5, wx - 5:wx + 5].any()


@pytest.mark.parametrize("bend", [60, 90, 120])
def test_no_crack_at_a_bent_elbow(figure, bend):
    r = create_renderer("warp", background="black", alpha=True)
    r.prepare(figure.image, figure.pose, figure.mask)
    bent = rotate(figure.pose, ["right_wrist"], "right_elbow", bend)
    out = r.render(bent)
    assert out.shape == (640, 480, 4)
    ex, ey = bent["right_elbow"]
    radius = 10  # the drawn forearm is 12-16 px thick (radius)
    ys, xs = np.mgrid[0:640, 0:480]
    disc = (xs - ex) ** 2 + (ys - ey) ** 2 <= radius ** 2
    assert out[..., 3][disc].min() >= 200, "the elbow must stay covered when it bends"
    # and along both bones the limb is solid
    for a, b in (("right_shoulder", "right_elbow"), ("right_elbow", "right_wrist")):
        for f in np.linspace(0.1, 0.9, 9):
            x, y = (bent[a] + f * (bent[b] - bent[a])).astype(int)
            assert out[y, x, 3] >= 200


def test_alpha_and_transparent_background(figure):
    r = create_renderer("warp", background="transparent", alpha=True)
    r.prepare(figure.image, figure.pose, figure.mask)
    out = r.render(r.rest_pose)
    assert out.shape == (640, 480, 4)
    assert out[5, 5, 3] == 0                       # far from the person
    cx, cy = ((figure.pose["left_hip"] + figure.pose["right_shoulder"]) / 2).astype(int)
    assert out[cy, cx, 3] == 255                   # on the chest
    # straight alpha: the person's colours are not darkened by premultiplication
    assert np.abs(out[cy, cx, :3].astype(int) - figure.image[cy, cx].astype(int)).max() <= 6


def test_missing_wrist_keeps_rest_angle_with_upper_arm(fig_renderer, figure):
    raised = rotate(figure.pose, ["left_elbow", "left_wrist"], "left_shoulder", -60)
    score = raised.score.copy()
    score[IX["left_wrist"]] = 0.0
    mats = fig_renderer.transforms(raised.with_scores(score))
    np.testing.assert_allclose(mats["left_forearm"][:, :2], mats["left_upper_arm"][:, :2], atol=1e-9)
    out = fig_renderer.render(raised.with_scores(score))
    assert out.shape == (640, 480, 3)


def test_bad_options_and_inputs(figure):
    with pytest.raises(InputError, match="background"):
        create_renderer("warp", background="purple-ish")
    with pytest.raises(InputError, match="B,G,R"):
        create_renderer("warp", background=(1, 2))
    r = create_renderer("warp")
    with pytest.raises(InputError, match="BGR uint8"):
        r.prepare(figure.image.astype(np.float32), figure.pose, figure.mask)
    no_hips = figure.pose.with_scores(np.where(np.isin(np.arange(17), [IX["left_hip"], IX["right_hip"]]), 0, 1))
    with pytest.raises(InputError, match="lacks right_hip, left_hip"):
        r.prepare(figure.image, no_hips, figure.mask)
    with pytest.raises(InputError, match="unknown renderer"):
        create_renderer("nope")


def test_depth_order_follows_z(fig_renderer, figure):
    """An arm swung across the chest is drawn in front when its z is nearer, behind when farther."""
    across = rotate(figure.pose, ["right_elbow", "right_wrist"], "right_shoulder", -70)
    p = across.to_layout(COCO17)
    x, y = (across["right_elbow"] + 0.3 * (across["right_wrist"] - across["right_elbow"])).astype(int)
    rest = fig_renderer.render(fig_renderer.rest_pose)
    z_front = np.zeros(17, np.float32)
    z_front[[IX["right_elbow"], IX["right_wrist"]]] = -200
    front = fig_renderer.render(replace(p, z=z_front))
    back = fig_renderer.render(replace(p, z=-z_front))
    assert np.abs(front[y, x].astype(int) - rest[y, x].astype(int)).sum() > 100   # forearm over the shirt
    assert np.abs(back[y, x].astype(int) - rest[y, x].astype(int)).sum() < 40     # hidden behind the chest
