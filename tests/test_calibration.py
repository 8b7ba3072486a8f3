"""Retargeting (properties), neutral capture, profiles, and the streaming retargeter."""
from __future__ import annotations

import json
from dataclasses import replace

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from calibration.neutral import DONE, WAITING, CaptureOptions, NeutralCapture, robust_average
from calibration.profile import CalibrationProfile, derive_thresholds
from calibration.retarget import PARENT, bone_directions, bone_lengths, retarget_pose
from calibration.retargeter import Retargeter
from realtime.app.demo.figure import reference_pose
from realtime.errors import InputError
from realtime.layouts import COCO17, MEDIAPIPE33
from realtime.pose import Pose

IX = COCO17.index


def avatar() -> Pose:
    return reference_pose()


def driver_neutral() -> Pose:
    """A differently proportioned driver: wider, shorter limbs, elsewhere in a 640x480 frame."""
    a = avatar()
    xy = a.xy.copy()
    c = xy.mean(axis=0)
    xy = (xy - c) * np.array([0.9, 0.6], np.float32) + np.array([300, 250], np.float32)
    return replace(a, xy=xy, width=640, height=480, z=None)


def rotate_bones(pose: Pose, angles: dict[str, float]) -> Pose:
    """Rotate each named keypoint's bone (from its tree parent) by an angle, keeping its length;
    children follow (forward kinematics down the COCO-17 tree)."""
    xy = pose.xy.astype(np.float64).copy()
    order = ["left_elbow", "left_wrist", "right_elbow", "right_wrist", "left_knee", "left_ankle",
             "right_knee", "right_ankle"]
    for name in order:
        if name not in angles:
            continue
        parent = PARENT[name]
        a = np.radians(angles[name])
        rot = np.array([[np.cos(a), -np.sin(a)], [np.sin(a), np.cos(a)]])
        pivot = xy[IX[parent]].copy()
        moved = [name] + [c for c in order if _descends(c, name)]
        for m in moved:
            xy[IX[m]] = pivot + rot @ (xy[IX[m]] - pivot)
    return replace(pose, xy=xy.astype(np.float32))


def _descends(child: str, ancestor: str) -> bool:
    p = PARENT.get(child)
    while p is not None and p in PARENT:
        if p == ancestor:
            return True
        p = PARENT.get(p)
    return False


LIMBS = ["left_elbow", "left_wrist", "right_elbow", "right_wrist", "left_knee", "left_ankle",
         "right_knee", "right_ankle"]
angle_sets = st.fixed_dictionaries({n: st.floats(-170, 170) for n in LIMBS})


@settings(max_examples=60, deadline=None)
@given(angle_sets)
def test_retarget_keeps_avatar_bone_lengths_and_driver_directions(angles):
    neutral = driver_neutral()
    driver = rotate_bones(neutral, angles)
    target = retarget_pose(driver, neutral, avatar())
    want_len = bone_lengths(avatar())
    got_len = bone_lengths(target)
    for bone, length in want_len.items():
        if bone[1].startswith("__") or bone[1] == "nose":
            continue  # bones from the virtual centre/neck are not body bones; the face: its own rule
        assert got_len[bone] == pytest.approx(length, rel=1e-3, abs=1e-2), bone
    want_dir = bone_directions(driver)
    got_dir = bone_directions(target)
    for bone, d in want_dir.items():
        if bone[1].startswith("__") or bone[1] == "nose":
            continue
        np.testing.assert_allclose(got_dir[bone], d, atol=1e-3, err_msg=str(bone))


FACE = ("left_eye", "right_eye", "left_ear", "right_ear")


def _turned_face(pose: Pose, deg: float, scale: float = 1.0, shift: dict | None = None) -> Pose:
    """The pose with its face points (about the nose) turned by ``deg``, scaled, and each moved by
    ``shift[name]`` (px)."""
    xy = pose.xy.astype(np.float64).copy()
    a = np.radians(deg)
    rot = scale * np.array([[np.cos(a), -np.sin(a)], [np.sin(a), np.cos(a)]])
    nose = xy[IX["nose"]]
    for n in FACE:
        xy[IX[n]] = nose + rot @ (xy[IX[n]] - nose) + np.asarray((shift or {}).get(n, (0.0, 0.0)))
    return replace(pose, xy=xy.astype(np.float32))


def _face_vectors(pose: Pose) -> np.ndarray:
    return np.array([pose.xy[IX[n]] - pose.xy[IX["nose"]] for n in FACE], np.float64)


def _profile(pose: Pose) -> Pose:
    """The pose with a face in profile: eyes and ears bunched towards one side of the nose."""
    xy = pose.xy.astype(np.float64).copy()
    nose = xy[IX["nose"]]
    for n, off in (("left_eye", (14, -17)), ("right_eye", (8, -18)), ("left_ear", (40, -8)), ("right_ear", (36, -9))):
        xy[IX[n]] = nose + np.array(off, np.float64)
    return replace(pose, xy=xy.astype(np.float32))


@settings(max_examples=30, deadline=None)
@given(st.floats(-40, 40), st.floats(0.8, 1.6))
def test_profile_avatar_keeps_its_face_turned_like_the_drivers(deg, scale):
    """A photo whose face is another view than the driver's (a profile under a frontal driver) keeps
    its own face, turned and scaled as the driver's face moves from neutral; every face bone scales
    alike (within the head bounds)."""
    neutral = driver_neutral()
    a = _profile(avatar())
    target = retarget_pose(_turned_face(neutral, deg, scale), neutral, a)
    got, rest = _face_vectors(target), _face_vectors(a)
    z_got, z_rest = got @ np.array([1, 1j]), rest @ np.array([1, 1j])
    ratio = z_got / z_rest
    np.testing.assert_allclose(ratio, ratio[0], rtol=1e-4, atol=1e-4)    # one similarity: its shape kept
    assert np.degrees(np.angle(ratio[0])) == pytest.approx(deg, abs=0.02)
    assert abs(ratio[0]) == pytest.approx(min(scale, 1.15), rel=1e-3)


@settings(max_examples=30, deadline=None)
@given(st.floats(-40, 40), st.floats(0.8, 1.6))
def test_same_view_avatar_takes_the_drivers_face_geometry(deg, scale):
    """An avatar whose face is the same view as the driver's takes the driver's face itself (its face
    point directions), scaled to the avatar's face size, one factor for every face bone."""
    neutral = avatar().transformed(0.7, (20.0, 10.0))
    neutral = replace(neutral, width=640, height=480)
    driver = _turned_face(neutral, deg, scale, {"left_ear": (3.0, 0.0), "left_eye": (1.5, 0.0)})
    target = retarget_pose(driver, neutral, avatar())
    got, want = _face_vectors(target), _face_vectors(driver)
    z_got, z_want = got @ np.array([1, 1j]), want @ np.array([1, 1j])
    ratio = z_got / z_want
    np.testing.assert_allclose(ratio, ratio[0], rtol=1e-4, atol=1e-4)     # the driver's shape, scaled
    assert abs(np.angle(ratio[0])) < 1e-3                                  # and its directions
    assert abs(ratio[0]) == pytest.approx(min(scale, 1.15) / scale / 0.7, rel=0.05)


def test_face_follows_the_drivers_head_turn():
    """A head turn (the eyes and ears moving against the nose) reaches the target, in avatar pixels,
    on a profile photo too."""
    neutral = driver_neutral()
    for a in (avatar(), _profile(avatar())):
        shift = {"left_ear": (-6.0, 0.0), "right_ear": (-6.0, 0.0), "left_eye": (-2.0, 0.0), "right_eye": (-2.0, 0.0)}
        still = retarget_pose(neutral, neutral, a)
        turned = retarget_pose(_turned_face(neutral, 0.0, 1.0, shift), neutral, a)
        moved = _face_vectors(turned) - _face_vectors(still)
        assert (moved[:, 0] < 0).all() and np.all(np.abs(moved[:, 1]) < 1.0)
        assert abs(moved[2, 0]) > 2 * abs(moved[0, 0])     # the ears move more than the eyes


@pytest.mark.parametrize("squeeze", [0.25, 0.4])
def test_a_head_turn_is_not_a_smaller_face(squeeze):
    """A head turned away from the neutral's view squeezes the face along one axis only (its points
    closer together across, as far apart up and down): not a smaller face. The head bounds (a face
    within head_range of the body's distance-to-camera factor) must not blow the driver's turned
    face up to make its similarity scale reach the bound (basketball_dribble: a head seen from the
    side in the first frame and from the front later had its face points drawn 2x apart)."""
    neutral = avatar()
    xy = neutral.xy.astype(np.float64).copy()
    nose = xy[IX["nose"]].copy()
    for n in FACE:
        xy[IX[n]] = nose + np.array([squeeze, 1.0]) * (xy[IX[n]] - nose)
    driver = replace(neutral, xy=xy.astype(np.float32))
    target = retarget_pose(driver, neutral, neutral)
    np.testing.assert_allclose(_face_vectors(target), _face_vectors(driver), atol=0.5)


def _neck_to_nose(pose: Pose) -> float:
    xy = pose.xy.astype(np.float64)
    return float(np.linalg.norm(xy[IX["nose"]] - (xy[IX["left_shoulder"]] + xy[IX["right_shoulder"]]) / 2))


def _shrugged(pose: Pose, lift: float) -> Pose:
    """The pose with both shoulders raised ``lift`` px towards the ears (both arms raised over the
    head: MediaPipe's shoulders rise), the head where it was."""
    xy = pose.xy.copy()
    for n in ("left_shoulder", "right_shoulder"):
        xy[IX[n], 1] -= lift
    return replace(pose, xy=xy)


@pytest.mark.parametrize("bow", [0.2, 0.35])
def test_a_bowed_head_brings_the_nose_down_to_the_neck(bow):
    """A head bowed towards the camera shortens the 2-D neck -> nose bone as a foreshortened limb
    shortens (basketball_dribble frames 21-29: 0.05-0.5 of the first frame's): the target's nose
    comes down with the driver's instead of stopping at half its length, which drew the head
    30-64 px above the driver's. The face keeps its shape about the nose."""
    neutral = avatar()
    xy = neutral.xy.astype(np.float64).copy()
    neck = (xy[IX["left_shoulder"]] + xy[IX["right_shoulder"]]) / 2
    drop = (1.0 - bow) * (xy[IX["nose"]] - neck)
    for n in ("nose", *FACE):
        xy[IX[n]] -= drop
    driver = replace(neutral, xy=xy.astype(np.float32))
    target = retarget_pose(driver, neutral, neutral)
    assert _neck_to_nose(target) == pytest.approx(_neck_to_nose(driver), rel=0.02)
    np.testing.assert_allclose(_face_vectors(target), _face_vectors(driver), atol=0.5)


def test_profile_avatar_keeps_its_neck_when_the_drivers_shoulders_rise():
    """A frontal driver raising both shoulders (arms over the head) shortens their 2-D neck; a
    profile photo's neck -> nose bone keeps its length (times the distance-to-camera factor) instead
    of its head sinking into a collar that rises with the torso. A photo of the same view as the
    driver follows the driver's shorter neck."""
    from calibration.retarget import torso_size

    neutral = driver_neutral()
    lift = 0.3 * _neck_to_nose(neutral)
    driver = _shrugged(neutral, lift)
    shrink = _neck_to_nose(driver) / _neck_to_nose(neutral)
    scale = torso_size(driver) / torso_size(neutral)
    assert shrink < 0.8 and scale > 1.0
    profile = _profile(avatar())
    got = _neck_to_nose(retarget_pose(driver, neutral, profile)) / _neck_to_nose(profile)
    assert got == pytest.approx(scale, rel=0.02)
    same = _neck_to_nose(retarget_pose(driver, neutral, avatar())) / _neck_to_nose(avatar())
    assert same == pytest.approx(shrink, rel=0.05)


def test_neutral_driver_gives_avatar_proportions_at_avatar_centre():
    a = avatar()
    target = retarget_pose(a, a, a)
    np.testing.assert_allclose(target.xy, a.xy, atol=1e-3)
    assert (target.width, target.height) == (a.width, a.height)


@given(st.floats(-100, 100), st.floats(-100, 100))
@settings(max_examples=30, deadline=None)
def test_driver_displacement_moves_the_target(dx, dy):
    neutral = driver_neutral()
    moved = neutral.transformed(1.0, (dx, dy))
    a = avatar()
    t0 = retarget_pose(neutral, neutral, a)
    t1 = retarget_pose(moved, neutral, a)
    # driver pixels -> avatar pixels by the ratio of torso sizes
    from calibration.retarget import torso_size

    k = torso_size(a) / torso_size(neutral)
    np.testing.assert_allclose(t1.xy - t0.xy, np.tile([dx * k, dy * k], (17, 1)), atol=1e-2)


def test_closer_driver_makes_a_bigger_target():
    neutral = driver_neutral()
    c = neutral.xy.mean(axis=0)
    closer = neutral.transformed(1.5, tuple(c - 1.5 * c))  # 1.5x bigger about its own centre
    t = retarget_pose(closer, neutral, avatar())
    ratio = bone_lengths(t)[("left_wrist", "left_elbow")] / bone_lengths(avatar())[("left_wrist", "left_elbow")]
    assert ratio == pytest.approx(1.5, rel=1e-3)


def test_squat_keeps_the_feet_on_the_floor():
    from calibration.retarget import RetargetOptions
    from realtime.app.demo.motions import Frame, apply_frame

    neutral = driver_neutral()          # proportions unlike the avatar's: legs and torso scale differently
    squat = replace(apply_frame(neutral, Frame(squat=0.5)), width=640, height=480)
    a = avatar()
    floor = max(a["left_ankle"][1], a["right_ankle"][1])
    feet = retarget_pose(squat, neutral, a)
    centre = retarget_pose(squat, neutral, a, options=RetargetOptions(anchor="centre"))
    assert max(feet["left_ankle"][1], feet["right_ankle"][1]) == pytest.approx(floor, abs=1e-3)
    assert abs(max(centre["left_ankle"][1], centre["right_ankle"][1]) - floor) > 2   # sinks or floats
    # a jump lifts the avatar by the driver's ankle rise (in avatar pixels)
    jump = neutral.transformed(1.0, (0.0, -30.0))
    up = retarget_pose(jump, neutral, a)
    from calibration.retarget import torso_size

    k = torso_size(a) / torso_size(neutral)
    assert max(up["left_ankle"][1], up["right_ankle"][1]) == pytest.approx(floor - 30 * k, abs=1e-3)
    with pytest.raises(ValueError, match="anchor"):
        RetargetOptions(anchor="head")


def test_mirror_swaps_sides():
    neutral = driver_neutral()
    driver = rotate_bones(neutral, {"left_elbow": 120, "left_wrist": 30})  # driver's left arm up
    plain = retarget_pose(driver, neutral, avatar())
    mirrored = retarget_pose(driver, neutral, avatar(), mirror=True)
    still = retarget_pose(neutral, neutral, avatar())
    still_m = retarget_pose(neutral, neutral, avatar(), mirror=True)
    # without mirror the avatar's left arm moves; with mirror its right arm does
    assert np.linalg.norm(plain["left_wrist"] - still["left_wrist"]) > 50
    assert np.linalg.norm(plain["right_wrist"] - still["right_wrist"]) < 1e-3
    assert np.linalg.norm(mirrored["right_wrist"] - still_m["right_wrist"]) > 50
    assert np.linalg.norm(mirrored["left_wrist"] - still_m["left_wrist"]) < 1e-3


def test_missing_driver_keypoint_keeps_avatar_offset_and_low_score():
    neutral = driver_neutral()
    driver = neutral.with_scores(np.where(np.arange(17) == IX["left_wrist"], 0.0, 1.0))
    t = retarget_pose(driver, neutral, avatar())
    a = avatar()
    np.testing.assert_allclose(t["left_wrist"] - t["left_elbow"], a["left_wrist"] - a["left_elbow"], atol=1e-3)
    assert t.score[IX["left_wrist"]] == 0.0


def test_retarget_mediapipe_driver_onto_coco_avatar():
    rng = np.random.default_rng(1)
    xy = rng.uniform(100, 400, (33, 2)).astype(np.float32)
    mp = Pose(xy=xy, score=np.ones(33, np.float32), layout=MEDIAPIPE33, width=640, height=480)
    t = retarget_pose(mp, mp, avatar())
    assert t.layout is COCO17 and np.all(np.isfinite(t.xy))


# -- neutral capture ----------------------------------------------------------------------------
def noisy(pose: Pose, sigma: float, rng, t: float) -> Pose:
    return replace(pose, xy=pose.xy + rng.normal(0, sigma, pose.xy.shape).astype(np.float32), timestamp_s=t)


def test_capture_waits_for_steady_then_measures_jitter():
    rng = np.random.default_rng(0)
    base = driver_neutral()
    cap = NeutralCapture(CaptureOptions(seconds=1.0, steady_s=0.5, steady_fraction=0.05))
    states = []
    # 1 s of movement first: the whole body sways by 40 px
    for i in range(30):
        t = i / 30
        states.append(cap.feed(noisy(base.transformed(1.0, (40 * np.sin(6 * t), 0)), 0.5, rng, t), t))
    assert set(states) == {WAITING}
    for i in range(30, 120):
        t = i / 30
        if cap.feed(noisy(base, 1.0, rng, t), t) == DONE:
            break
    assert cap.state == DONE
    res = cap.result
    np.testing.assert_allclose(res.pose.xy, base.xy, atol=1.0)
    # 1.4826 * MAD of the 2-D distance of N(0, 1) per axis: median of a Rayleigh(1) is 1.177
    j = np.array(list(res.jitter_px.values()))
    assert 1.2 < np.median(j) < 2.3
    assert len(res.jitter_px) == 17


def test_capture_never_completes_while_moving():
    rng = np.random.default_rng(0)
    base = driver_neutral()
    cap = NeutralCapture(CaptureOptions(seconds=0.5, steady_s=0.5))
    for i in range(90):
        t = i / 30
        cap.feed(noisy(base.transformed(1.0, (30 * np.sin(4 * t), 20 * np.cos(3 * t))), 0.5, rng, t), t)
    assert cap.state != DONE and cap.finish_early() is None


def test_robust_average_ignores_outliers():
    base = driver_neutral()
    frames = [base] * 8 + [base.transformed(1.0, (200, 0))] * 2
    avg, jitter = robust_average(frames)
    np.testing.assert_allclose(avg.xy, base.xy, atol=1e-4)
    assert max(jitter.values()) == pytest.approx(0.0)


# -- profiles -----------------------------------------------------------------------------------
def make_profile() -> CalibrationProfile:
    rng = np.random.default_rng(3)
    base = driver_neutral()
    frames = [noisy(base, 1.0, rng, i / 30) for i in range(30)]
    avg, jitter = robust_average(frames)
    thr = derive_thresholds(frames, avg, jitter)
    return CalibrationProfile(avg, jitter, 100.0, thr, mirror=True, frames=30, source="test")


def test_thresholds_come_from_jitter():
    p = make_profile()
    assert set(p.thresholds) == {"still_px", "match_euclidean", "match_cosine", "angle_deg"}
    assert 2.0 < p.thresholds["still_px"] < 8.0            # 3 x about 1.2-2 px
    assert 0 < p.thresholds["match_euclidean"] < 0.1
    assert 0.99 < p.thresholds["match_cosine"] <= 1.0


def test_profile_round_trip(tmp_path):
    p = make_profile()
    path = tmp_path / "profile.json"
    p.save(path)
    q = CalibrationProfile.load(path)
    np.testing.assert_allclose(q.neutral.xy, p.neutral.xy, atol=1e-3)
    np.testing.assert_allclose(q.neutral.score, p.neutral.score, atol=1e-4)
    assert q.neutral.layout is p.neutral.layout and q.mirror is True and q.frames == 30
    assert q.jitter_px == pytest.approx(p.jitter_px, abs=1e-4)
    assert q.thresholds == pytest.approx(p.thresholds, abs=1e-5)


@pytest.mark.parametrize("change, message", [
    ({"version": 1}, "version 1 is not supported"),
    ({"version": 3}, "version 3 is not supported"),
    ({"format": "something"}, "not a repose calibration profile"),
    ({"layout": "body25"}, "unknown layout"),
    ({"layout": "mediapipe33"}, "names do not match"),
    ({"neutral": [[1, 2, 1]] * 3}, "17 finite"),
    ({"neutral": [[float("nan"), 2, 1]] * 17}, "17 finite"),
    ({"jitter_px": {"tail": 1.0}}, "jitter_px"),
    ({"body_size_px": -1}, "body_size_px"),
    ({"width": 0}, "width and height"),
])
def test_bad_profiles_are_rejected(tmp_path, change, message):
    data = make_profile().to_dict()
    data.update(change)
    path = tmp_path / "bad.json"
    path.write_text(json.dumps(data))
    with pytest.raises(InputError, match=message):
        CalibrationProfile.load(path)


def test_unreadable_profile(tmp_path):
    with pytest.raises(InputError, match="no such calibration profile"):
        CalibrationProfile.load(tmp_path / "missing.json")
    (tmp_path / "x.json").write_text("{not json")
    with pytest.raises(InputError, match="not valid JSON"):
        CalibrationProfile.load(tmp_path / "x.json")


# -- streaming retargeter -------------------------------------------------------------------------
def test_retargeter_auto_calibrates_on_first_steady_frames():
    rng = np.random.default_rng(5)
    base = driver_neutral()
    r = Retargeter(avatar())
    assert r(None, 0.0) is None
    first = base.transformed(1.0, (30, 0))
    out = r(noisy(first, 0.3, rng, 0.0), 0.0)
    assert out is not None and r.source == "first frame"
    for i in range(1, 40):
        t = i / 30
        r(noisy(base, 0.3, rng, t), t)
    assert r.source == "steady frames"
    np.testing.assert_allclose(r.neutral.xy, base.xy, atol=0.5)
    # the neutral driver now maps where a perfect neutral would put it
    np.testing.assert_allclose(r(base, 2.0).xy, retarget_pose(base, base, avatar()).xy, atol=1.0)
    r.recalibrate()
    assert r.neutral is None


def test_retargeter_uses_profile_and_its_mirror():
    p = make_profile()
    r = Retargeter(avatar(), p)
    assert r.source == "profile" and r.options.mirror is True
    assert r(p.neutral, 0.0) is not None
