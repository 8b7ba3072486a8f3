"""An arm raised overhead from one hanging in the photo (engines.warp.skin.raised_turn_end): its shoulder
stays skinned to the torso past the 120 degrees of turn where other limbs are drawn rigid, and its
backward map takes more fixed-point steps; on the synthetic figure (arms hanging) and on plain maps."""
from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from engines.renderer import create_renderer
from engines.warp.blend import Joint
from engines.warp.skin import (ITERATIONS, RAISED_ITERATIONS, RAISED_TURN_END, TURN_END, blend_strength,
                               limb_iterations, raised_turn_end)
from realtime.app.demo.figure import draw_figure
from realtime.layouts import COCO17

IX = COCO17.index


@pytest.fixture(scope="module")
def renderer():
    fig = draw_figure()
    r = create_renderer("warp", background="black")
    r.prepare(fig.image, fig.pose, fig.mask)
    return r, fig


def raised(pose, deg: float):
    """The figure's left arm turned ``deg`` degrees about its shoulder (negative: outwards and up)."""
    xy = pose.xy.astype(np.float64).copy()
    c = xy[IX["left_shoulder"]].copy()
    a = np.radians(deg)
    rot = np.array([[np.cos(a), -np.sin(a)], [np.sin(a), np.cos(a)]])
    for n in ("left_elbow", "left_wrist"):
        xy[IX[n]] = c + rot @ (xy[IX[n]] - c)
    return replace(pose, xy=xy.astype(np.float32))


@pytest.mark.parametrize("deg", [-115.0, -125.0, -135.0])
def test_an_arm_raised_overhead_keeps_its_shoulder_skinned(renderer, deg):
    """pose_1 frames 40-70 (arms overhead, turned 118-128 degrees off the torso): drawn rigid, the
    upper arm's shoulder swung round the joint, background showed between the arm and the head and
    MediaPipe read the shoulders narrower and lower (shoulder-elbow bones 3.3 degrees off)."""
    r, fig = renderer
    skin = r._skins["left_upper_arm"]
    mats = r.transforms(raised(fig.pose, deg))
    k, setup = blend_strength(skin.joint, mats["left_upper_arm"], mats["torso"])
    assert abs(np.degrees(setup[2])) > 110.0
    assert k > 0.5
    assert limb_iterations(skin.joint, mats["left_upper_arm"], mats["torso"], setup, ITERATIONS) == RAISED_ITERATIONS


def test_a_bent_arm_below_the_shoulders_is_not_raised(renderer):
    """The arm turned inwards across the chest (below the shoulder line) keeps the usual fade and steps."""
    r, fig = renderer
    skin = r._skins["left_upper_arm"]
    mats = r.transforms(raised(fig.pose, 60.0))
    _, setup = blend_strength(skin.joint, mats["left_upper_arm"], mats["torso"])
    assert raised_turn_end(skin.joint, mats["left_upper_arm"], mats["torso"]) == TURN_END
    assert limb_iterations(skin.joint, mats["left_upper_arm"], mats["torso"], setup, ITERATIONS) == ITERATIONS


def _turned(deg: float) -> np.ndarray:
    a = np.radians(deg)
    return np.array([[np.cos(a), -np.sin(a), 0.0], [np.sin(a), np.cos(a), 0.0]])


def test_only_a_limb_that_hangs_in_the_photo_counts_as_raised():
    """A limb held level in the photo, or a head (its bone points up), keeps TURN_END however it turns;
    a hanging one raised straight up gets RAISED_TURN_END, one turned to the side only part of it."""
    torso = _turned(0.0)
    hanging = Joint(np.zeros(2), np.array([0.0, -1.0]), 8.0, 8.0, "torso")   # axis: into the torso
    level = Joint(np.zeros(2), np.array([-1.0, 0.0]), 8.0, 8.0, "torso")
    head = Joint(np.zeros(2), np.array([0.0, 1.0]), 8.0, 8.0, "torso")
    assert raised_turn_end(hanging, _turned(180.0), torso) == pytest.approx(RAISED_TURN_END)
    assert raised_turn_end(hanging, _turned(90.0), torso) == TURN_END          # held out level
    assert TURN_END < raised_turn_end(hanging, _turned(125.0), torso) <= RAISED_TURN_END
    assert raised_turn_end(level, _turned(-90.0), torso) == TURN_END
    assert raised_turn_end(head, _turned(10.0), torso) == TURN_END
