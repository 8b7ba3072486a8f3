"""Built-in motions keep the body's bone lengths and stay in the picture."""
import numpy as np
import pytest

from realtime.app.demo.figure import reference_pose
from realtime.app.demo.motions import MOTIONS, motion_poses
from realtime.errors import InputError
from realtime.layouts import COCO17

IX = COCO17.index
ARM_BONES = [("left_shoulder", "left_elbow"), ("left_elbow", "left_wrist"),
             ("right_shoulder", "right_elbow"), ("right_elbow", "right_wrist"),
             ("left_hip", "left_knee"), ("left_knee", "left_ankle")]


def length(p, a, b):
    return float(np.linalg.norm(p.xy[IX[a]] - p.xy[IX[b]]))


@pytest.mark.parametrize("name", list(MOTIONS))
def test_motion_keeps_bone_lengths(name):
    rest = reference_pose()
    seq = motion_poses(rest, [name], fps=10)
    assert len(seq) == round(MOTIONS[name][1] * 10)
    for _, p in seq:
        for a, b in ARM_BONES:
            assert length(p, a, b) == pytest.approx(length(rest, a, b), rel=0.01)
        assert np.all(p.xy[:, 1] < rest.height * 1.05)


def test_squat_lowers_hips_and_keeps_feet():
    rest = reference_pose()
    seq = motion_poses(rest, ["squat"], fps=10)
    deepest = max((p for _, p in seq), key=lambda p: p["left_hip"][1])
    assert deepest["left_hip"][1] - rest["left_hip"][1] > 20
    np.testing.assert_allclose(deepest["left_ankle"], rest["left_ankle"], atol=1e-3)


def test_wave_moves_right_hand_above_shoulder():
    rest = reference_pose()
    seq = motion_poses(rest, ["wave"], fps=10)
    assert any(p["right_wrist"][1] < p["right_shoulder"][1] for _, p in seq)
    np.testing.assert_allclose(seq[-1][1]["left_wrist"], rest["left_wrist"], atol=1e-3)


def test_unknown_motion():
    with pytest.raises(InputError, match="unknown motion"):
        motion_poses(reference_pose(), ["moonwalk"])
