"""Properties of Move Mirror matching (hypothesis) and the joint-angle advice."""
import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from realtime.layouts import COCO17, OPENPOSE18
from realtime.matching import (compare, crop_normalize, euclidean_from_cosine, joint_angles, pose_vector,
                               weighted_distance)
from realtime.pose import Pose
from tests.strategies import poses

settings.register_profile("repose", max_examples=60, deadline=None)
settings.load_profile("repose")


@given(poses(), poses(), st.floats(-1e3, 1e3), st.floats(-1e3, 1e3), st.floats(0.05, 20.0))
def test_invariant_to_translation_and_uniform_scale(a, b, dx, dy, s):
    base = compare(a, b)
    moved = compare(a.transformed(s, (dx, dy)), b)
    assert abs(moved.cosine_similarity - base.cosine_similarity) < 1e-6
    assert moved.keypoints_used == base.keypoints_used


@given(poses(), poses())
def test_symmetric(a, b):
    ab, ba = compare(a, b), compare(b, a)
    assert ab.cosine_similarity == pytest.approx(ba.cosine_similarity, abs=1e-12)
    assert ab.euclidean_distance == pytest.approx(ba.euclidean_distance, abs=1e-9)
    if not np.isnan(ab.weighted_distance):
        assert ab.weighted_distance == pytest.approx(ba.weighted_distance, abs=1e-9)
    assert ab.keypoints_used == ba.keypoints_used
    for j, e in ab.joint_angle_errors_deg.items():
        assert ba.joint_angle_errors_deg[j] == pytest.approx(-e, abs=1e-9)


@given(poses(), poses())
def test_bounds_and_distance_identity(a, b):
    r = compare(a, b)
    # all coordinates are >= 0 after the bbox crop, so the cosine lies in [0, 1]
    assert 0.0 <= r.cosine_similarity <= 1.0
    assert 0.0 <= r.euclidean_distance <= np.sqrt(2) + 1e-12
    assert r.euclidean_distance == pytest.approx(np.sqrt(2 * (1 - r.cosine_similarity)), abs=1e-9)
    both = (a.present() & b.present()).sum()
    assert r.keypoints_used == both
    if both >= 2:
        u, v = crop_normalize(a.xy, a.present() & b.present()), crop_normalize(b.xy, a.present() & b.present())
        if np.linalg.norm(u) > 0 and np.linalg.norm(v) > 0:
            assert np.linalg.norm(u - v) == pytest.approx(r.euclidean_distance, abs=1e-6)  # sqrt(2(1-cos)) cancels near 0
        assert 0.0 <= r.weighted_distance <= 2.0


@given(poses())
def test_self_similarity_is_one(a):
    r = compare(a, a)
    assume(r.keypoints_used >= 2)
    assert r.cosine_similarity == pytest.approx(1.0, abs=1e-9)
    assert r.euclidean_distance < 1e-4 and r.weighted_distance < 1e-9
    assert all(abs(e) < 1e-9 for e in r.joint_angle_errors_deg.values())


@given(poses(), st.floats(100, 3000))
def test_mirror_invariant_comparison(a, width):
    mirrored = a.flipped(width=width)
    r = compare(a, mirrored, mirror=True)
    assume(r.keypoints_used >= 2)
    assert r.cosine_similarity == pytest.approx(1.0, abs=1e-6)


def test_only_shared_keypoints_count():
    rng = np.random.default_rng(3)
    a = Pose(xy=rng.uniform(0, 100, (17, 2)), score=np.ones(17), layout=COCO17)
    b_score = np.ones(17)
    b_score[[9, 10]] = 0.0  # wrists missing in b
    b_xy = a.xy.copy()
    b_xy[[9, 10]] = 1e4  # garbage where b has no keypoint
    r = compare(a, Pose(xy=b_xy, score=b_score, layout=COCO17))
    assert r.keypoints_used == 15 and r.cosine_similarity == pytest.approx(1.0)
    assert "left_elbow" not in r.joint_angle_errors_deg  # needs the wrist
    assert "left_knee" in r.joint_angle_errors_deg


def test_layouts_are_compared_by_name():
    rng = np.random.default_rng(4)
    a = Pose(xy=rng.uniform(0, 100, (17, 2)), score=np.ones(17), layout=COCO17)
    r = compare(a, a.to_layout(OPENPOSE18))
    assert r.keypoints_used == 17 and r.cosine_similarity == pytest.approx(1.0)


def _arm(angle_deg: float) -> Pose:
    """A standing figure whose left elbow is bent to angle_deg (image plane)."""
    xy = {n: (0.0, 0.0) for n in COCO17.names}
    xy.update(nose=(50, 0), left_eye=(52, -2), right_eye=(48, -2), left_ear=(55, 0), right_ear=(45, 0),
              left_shoulder=(60, 20), right_shoulder=(40, 20), right_elbow=(40, 40), right_wrist=(40, 60),
              left_hip=(58, 60), right_hip=(42, 60), left_knee=(58, 80), right_knee=(42, 80),
              left_ankle=(58, 100), right_ankle=(42, 100), left_elbow=(60, 40))
    t = np.radians(angle_deg)  # angle between elbow->shoulder (up) and elbow->wrist
    xy["left_wrist"] = (60 + 20 * np.sin(t), 40 - 20 * np.cos(t))
    return Pose(xy=np.array([xy[n] for n in COCO17.names]), score=np.ones(17), layout=COCO17)


def test_joint_angles_and_advice():
    assert joint_angles(_arm(90))["left_elbow"] == pytest.approx(90, abs=1e-4)
    assert joint_angles(_arm(180))["right_elbow"] == pytest.approx(180, abs=1e-4)
    r = compare(_arm(90), _arm(150))  # the person's elbow is 60° more bent than the benchmark's
    assert r.joint_angle_errors_deg["left_elbow"] == pytest.approx(-60, abs=1e-3)
    assert r.advice(1) == ["straighten left elbow 60°"]
    assert compare(_arm(150), _arm(90)).advice(1) == ["bend left elbow 60°"]
    assert r.worst_joints(5, min_deg=100) == []


def test_degenerate_inputs():
    assert euclidean_from_cosine(1.0) == 0.0
    assert np.isnan(weighted_distance(np.zeros(4), np.zeros(4), np.zeros(2)))
    one = Pose(xy=np.zeros((17, 2)), score=np.r_[1.0, np.zeros(16)], layout=COCO17)
    r = compare(one, one)
    assert r.keypoints_used == 1 and r.cosine_similarity == 0.0  # undefined: reported as no match
    assert np.allclose(pose_vector(one), 0)
