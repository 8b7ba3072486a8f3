"""Retargeting an avatar whose photo does not give an arm's length (calibration.rest_bones), and a
driver whose elbow is scored low while its wrist shows: basketball_dribble's first frame, whose right
elbow and wrist MediaPipe drew onto the ball (the wrist check then hides them), put the target's right
wrist 170-260 px from the driver's."""
from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from calibration.rest_bones import given_length, other_side, rest_lengths
from calibration.retarget import RetargetOptions, bone_lengths, retarget_pose
from calibration.retargeter import Retargeter
from realtime.app.demo.figure import reference_pose
from realtime.layouts import COCO17

IX = COCO17.index
RIGHT_ARM = ("right_elbow", "right_wrist")


def _with(pose, xy: dict | None = None, score: dict | None = None):
    """``pose`` with some keypoints moved and / or rescored."""
    p = pose.xy.copy()
    s = pose.score.copy()
    for n, v in (xy or {}).items():
        p[IX[n]] = v
    for n, v in (score or {}).items():
        s[IX[n]] = v
    return replace(pose, xy=p, score=s)


def _arm_on_other_hand(pose):
    """The photo's right arm drawn onto the left hand, short (as MediaPipe read basketball_dribble's
    first frame): the raw pose, whose neutral keeps those points with passing scores."""
    lw = pose["left_wrist"]
    return _with(pose, xy={"right_elbow": lw + [-40.0, -10.0], "right_wrist": lw + [-20.0, 10.0]},
                 score={"right_elbow": 0.5, "right_wrist": 0.63})


def _driver_arm(pose, elbow_score: float, wrist_score: float):
    """The driver's right arm hanging straight down in front of the body (the real arm), scored low."""
    sh = pose["right_shoulder"]
    return _with(pose, xy={"right_elbow": sh + [10.0, 104.0], "right_wrist": sh + [15.0, 198.0]},
                 score={"right_elbow": elbow_score, "right_wrist": wrist_score})


@pytest.mark.parametrize("elbow,wrist", [(0.3, 0.9), (0.3, 0.3), (0.9, 0.9)])
def test_hidden_arm_in_the_photo_puts_the_wrist_on_the_drivers(elbow, wrist):
    """Self-reenactment on the auto path: the photo hides its right arm (wrist check), the neutral
    (the same frame, raw) shows it on the other hand; the driver's real arm hangs down, its elbow
    (and wrist) scored low. The target's arm is the driver's, with the driver's scores."""
    raw = _arm_on_other_hand(reference_pose())
    avatar = _with(raw, score={"right_elbow": 0.0, "right_wrist": 0.0})
    driver = _driver_arm(raw, elbow, wrist)
    ret = Retargeter(avatar)
    ret(raw, 0.0)                                   # the first frame stands in as the neutral
    target = ret(driver, 0.04)
    for n in RIGHT_ARM:
        assert np.linalg.norm(target[n] - driver[n]) < 2.0, n
    assert target.score[IX["right_elbow"]] == pytest.approx(elbow)


def test_hidden_arm_takes_the_other_arms_length_across_bodies():
    """Another driver (shorter arms): the photo's hidden right arm is as long as its left arm times the
    driver's right arm over its left at neutral; directions are the driver's."""
    avatar = _with(_arm_on_other_hand(reference_pose()), score={"right_elbow": 0.0, "right_wrist": 0.0})
    src = reference_pose()
    c = src.xy.mean(axis=0)
    neutral = replace(src, xy=(src.xy - c) * 0.7 + np.array([320.0, 240.0], np.float32), width=640, height=480)
    driver = _driver_arm(neutral, 0.9, 0.9)
    target = retarget_pose(driver, neutral, avatar)
    want, got = bone_lengths(reference_pose()), bone_lengths(target)
    for bone in (("right_elbow", "right_shoulder"), ("right_wrist", "right_elbow")):
        d = bone_lengths(driver)[bone] / bone_lengths(neutral)[(other_side(bone[0]), other_side(bone[1]))]
        assert got[bone] == pytest.approx(want[bone] * min(d, 1.25), rel=1e-3), bone
        v_t = target[bone[0]] - target[bone[1]]
        v_d = driver[bone[0]] - driver[bone[1]]
        assert v_t @ v_d / np.linalg.norm(v_t) / np.linalg.norm(v_d) == pytest.approx(1.0, abs=1e-6)


def test_low_scored_elbow_keeps_the_photos_arm_where_the_photo_shows_it():
    """A photo that shows the arm; the driver's elbow is scored low: the arm keeps its rest offsets
    (the renderer carries it from the parent's rest angle; a wrist taken from the driver's arm beside
    that drew a forearm folded back), and a full-body photo that hides the arm takes the driver's."""
    a = reference_pose()
    driver = _with(a, xy={"right_elbow": a["right_shoulder"] + [-100.0, 20.0],
                          "right_wrist": a["right_shoulder"] + [-120.0, -70.0]},
                   score={"right_elbow": 0.3, "right_wrist": 0.9})
    t = retarget_pose(driver, a, a)
    np.testing.assert_allclose(t["right_elbow"] - t["right_shoulder"], a["right_elbow"] - a["right_shoulder"],
                               atol=1e-3)
    hidden = _with(a, score={"right_elbow": 0.0, "right_wrist": 0.0})
    t = retarget_pose(driver, hidden, hidden)
    assert np.linalg.norm(t["right_wrist"] - driver["right_wrist"]) < 1e-3
    gone = _with(driver, score={"right_elbow": 0.0})    # not placed by the estimator: the rest offset
    t = retarget_pose(gone, hidden, hidden)
    np.testing.assert_allclose(t["right_elbow"] - t["right_shoulder"], a["right_elbow"] - a["right_shoulder"],
                               atol=1e-3)


def test_rest_lengths_fall_back_to_the_other_side_then_the_driver():
    a = reference_pose()
    pos = {n: a.xy[i].astype(np.float64) for n, i in IX.items()}
    pos["right_wrist"] = pos["right_elbow"] + [5.0, 5.0]          # a guess where the photo hides it
    has = {n: True for n in IX}
    hidden = {**has, "right_wrist": False}
    forearm = given_length(pos, has, "left_wrist", "left_elbow")
    assert forearm == pytest.approx(94.9, abs=0.1)
    assert given_length(pos, hidden, "right_wrist", "right_elbow") is None
    # the photo hides it: the left forearm, in both poses (the neutral's own is a guess too)
    assert rest_lengths("right_wrist", "right_elbow", (pos, hidden), (pos, has), 2.0) == pytest.approx(
        (forearm, forearm))
    # no side shows it in the photo: the driver's neutral forearm in avatar pixels
    gone = {**hidden, "left_wrist": False}
    assert rest_lengths("right_wrist", "right_elbow", (pos, gone), (pos, hidden), 2.0) == pytest.approx(
        (2.0 * forearm, forearm))
    assert rest_lengths("right_wrist", "right_elbow", (pos, gone), (pos, gone), 2.0) == (None, None)
    assert other_side("nose") is None and other_side("left_ear") == "right_ear"


def test_onto_itself_still_gives_the_drivers_pose():
    """--neutral reference: the photo hides its right arm; each target is still the driver's pose."""
    avatar = _with(_arm_on_other_hand(reference_pose()), score={"right_elbow": 0.0, "right_wrist": 0.0})
    driver = _driver_arm(avatar, 0.9, 0.9)
    target = retarget_pose(driver, avatar, avatar, options=RetargetOptions(bounded=False))
    np.testing.assert_allclose(target.xy, driver.xy, atol=1e-3)


def test_a_limb_cut_by_the_photos_edge_keeps_the_estimators_length():
    """The photo's right wrist lies below its bottom edge (a webcam still): not shown, but its length
    is the estimator's, drawn on from the part that shows, not the other arm's."""
    a = reference_pose()
    cut = _with(a, xy={"right_wrist": a["right_elbow"] + [0.0, 150.0]}, score={"right_wrist": 0.3})
    cut = replace(cut, height=int(a["right_elbow"][1]) + 100)
    driver = _driver_arm(a, 0.9, 0.9)
    t = retarget_pose(driver, a, cut)
    assert bone_lengths(t)[("right_wrist", "right_elbow")] == pytest.approx(150.0 * 94.0 / 94.9, rel=0.02)
