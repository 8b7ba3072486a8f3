"""Neutral-pose checks of the calibration: a bowed head, raised arms or a turned body are refused;
retargeted head and neck bones stay bounded; the streaming retargeter replaces a bad stand-in."""
from __future__ import annotations

import logging
from dataclasses import replace

import numpy as np

from calibration.neutral import DONE, WAITING, CaptureOptions, NeutralCapture
from calibration.neutral_check import is_neutral, neutral_badness, neutral_problems
from calibration.retarget import retarget_pose
from calibration.retargeter import Retargeter
from realtime.app.demo.figure import reference_pose
from realtime.layouts import COCO17
from realtime.pose import Pose

IX = COCO17.index
FACE = ("nose", "left_eye", "right_eye", "left_ear", "right_ear")


def upright() -> Pose:
    return reference_pose()


def bowed(pose: Pose, drop: float = 0.8) -> Pose:
    """The head bowed: the face drops towards the shoulders (by ``drop`` of the nose's height above
    them), the eyes and nose falling further than the ears (the face turns down)."""
    xy = pose.xy.copy()
    neck_y = (xy[IX["left_shoulder"], 1] + xy[IX["right_shoulder"], 1]) / 2
    h = neck_y - xy[IX["nose"], 1]
    for n, extra in (("nose", 0.25), ("left_eye", 0.2), ("right_eye", 0.2), ("left_ear", 0.0), ("right_ear", 0.0)):
        xy[IX[n], 1] += drop * h * 0.6 + extra * h
    return replace(pose, xy=xy)


def test_upright_figure_is_neutral():
    assert neutral_problems(upright()) == []


def test_bowed_head_neutral_is_rejected():
    problems = neutral_problems(bowed(upright()))
    assert any(p.startswith(("head upright", "head level")) for p in problems), problems


def test_raised_arm_and_tilted_shoulders_are_rejected():
    p = upright()
    xy = p.xy.copy()
    s = xy[IX["left_shoulder"]]
    xy[IX["left_elbow"]] = s + (90, -20)       # upper arm out sideways
    xy[IX["left_wrist"]] = s + (180, -40)
    assert any(q.startswith("left arm down") for q in neutral_problems(replace(p, xy=xy)))
    xy = p.xy.copy()
    xy[IX["left_shoulder"], 1] -= 40           # one shoulder far up
    assert any(q.startswith("shoulders level") for q in neutral_problems(replace(p, xy=xy)))


def test_upper_body_driver_is_judged_on_what_is_visible():
    p = upright()
    sc = p.score.copy()
    for n in ("left_hip", "right_hip", "left_knee", "right_knee", "left_ankle", "right_ankle"):
        sc[IX[n]] = 0.0
    assert is_neutral(replace(p, score=sc))
    assert not is_neutral(bowed(replace(p, score=sc)))


def test_capture_never_completes_on_a_bowed_head():
    cap = NeutralCapture(CaptureOptions(seconds=0.5, steady_s=0.3, min_frames=3))
    pose = bowed(upright())
    for i in range(40):
        assert cap.feed(pose, i / 30) == WAITING
    assert cap.last_problems
    good = upright()
    states = [cap.feed(good, 2 + i / 30) for i in range(40)]
    assert DONE in states


def test_head_and_neck_stay_bounded_after_a_bowed_neutral():
    avatar = upright()
    neutral = bowed(upright())                    # the driver's neutral taken while looking down
    target = retarget_pose(upright(), neutral, avatar)
    ix = IX
    neck = lambda p: (p.xy[ix["left_shoulder"]] + p.xy[ix["right_shoulder"]]) / 2  # noqa: E731
    rest = float(np.linalg.norm(avatar.xy[ix["nose"]] - neck(avatar)))
    now = float(np.linalg.norm(target.xy[ix["nose"]] - neck(target)))
    assert now <= 1.2 * rest                      # not the 2x bobble head


def test_retargeter_replaces_a_bowed_stand_in(caplog):
    avatar = upright()
    rt = Retargeter(avatar)
    moving = [bowed(upright()).transformed(1.0, (3.0 * i, 0.0)) for i in range(3)]
    for i, p in enumerate(moving):          # moving: no steady capture yet
        rt(replace(p, timestamp_s=i / 30), i / 30)
    assert rt.source == "first frame"
    bad = rt.neutral
    assert neutral_badness(bad) > 0
    with caplog.at_level(logging.INFO, logger="calibration.retargeter"):
        rt(replace(upright().transformed(1.0, (40.0, 0.0)), timestamp_s=0.2), 0.2)
    assert rt.neutral is not bad
    assert "replaced" in caplog.text


def test_self_reenactment_targets_are_the_drivers_poses_on_a_non_neutral_reference():
    """`repose evaluate --self --neutral reference`: the reference frame is the
    driver's neutral, so on a first frame that is not neutral (head bowed, one forearm raised and
    foreshortened: hands under the chin) every later frame's target is that frame's pose itself,
    even a forearm stretched past the bone bounds' 1.25 and a head raised past their 1.15; with
    --neutral auto (the default) the auto-calibration of `repose render` runs instead."""
    from realtime.app.commands.evaluate_cmd import RETARGET_FOR

    first = bowed(upright())
    xy = first.xy.copy()
    elbow = xy[IX["left_elbow"]]
    xy[IX["left_wrist"]] = elbow + np.array([0.0, -0.3]) * np.linalg.norm(xy[IX["left_wrist"]] - elbow)
    first = replace(first, xy=xy)
    assert neutral_badness(first) > 0.05
    rt = RETARGET_FOR["reference"](first)
    assert rt.source == "given" and not rt.capturing
    np.testing.assert_allclose(rt(first, 0.0).xy, first.xy, atol=1e-3)
    for i, later in enumerate((upright(), upright().transformed(1.1, (25.0, -10.0)), bowed(upright(), 0.3))):
        t = 0.1 * (i + 1)
        np.testing.assert_allclose(rt(replace(later, timestamp_s=t), t).xy, later.xy, atol=1e-3)
    auto = RETARGET_FOR["auto"](first)
    assert auto.capturing and auto.neutral is None


def test_self_reenactment_target_keeps_a_bone_the_reference_frame_does_not_show():
    """A reference frame whose wrists are cut by the frame's edge (webcam_signing's frame 0: score
    below 0.5, the position a guess): a later frame that shows the wrist gets the driver's wrist as
    its target, not the guessed rest forearm's length along the driver's direction."""
    from realtime.app.commands.evaluate_cmd import RETARGET_FOR

    first = upright()
    score = first.score.copy()
    score[[IX["left_wrist"], IX["right_wrist"]]] = 0.1
    xy = first.xy.copy()
    xy[IX["left_wrist"]] += (0.0, 60.0)          # the estimator's guess below the edge: too long
    first = replace(first, xy=xy, score=score)
    rt = RETARGET_FOR["reference"](first)
    later = upright().transformed(1.05, (10.0, -20.0))
    np.testing.assert_allclose(rt(replace(later, timestamp_s=0.1), 0.1).xy, later.xy, atol=1e-3)


def test_bounded_retarget_keeps_its_bounds_on_the_same_non_neutral_pair():
    """The bone bounds stay on everywhere else: the same pair retargeted with a bounded profile-like
    neutral does not reproduce the stretched forearm (what --neutral reference turns off)."""
    first = upright()
    xy = first.xy.copy()
    elbow = xy[IX["left_elbow"]]
    xy[IX["left_wrist"]] = elbow + 0.3 * (xy[IX["left_wrist"]] - elbow)
    first = replace(first, xy=xy)
    out = retarget_pose(upright(), first, first)
    full = np.linalg.norm(upright().xy[IX["left_wrist"]] - upright().xy[IX["left_elbow"]])
    got = np.linalg.norm(out.xy[IX["left_wrist"]] - out.xy[IX["left_elbow"]])
    assert got < 0.5 * full
