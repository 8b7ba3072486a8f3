"""JSON round trips of the three pose formats."""
import json

import numpy as np
import pytest
from hypothesis import given, settings

from realtime import poseio
from realtime.errors import InputError
from realtime.layouts import COCO17, MEDIAPIPE33, OPENPOSE18
from tests.strategies import poses


def _write(tmp_path, data, name="p.json"):
    p = tmp_path / name
    p.write_text(json.dumps(data))
    return p


@settings(max_examples=25, deadline=None)
@given(poses(layout=MEDIAPIPE33))
def test_repose_round_trip(tmp_path_factory, pose):
    tmp = tmp_path_factory.mktemp("rt")
    back = poseio.load_pose(_write(tmp, poseio.pose_to_dict(pose, "mediapipe33", 640, 480)))
    assert back.layout is MEDIAPIPE33 and (back.width, back.height) == (640, 480)
    np.testing.assert_allclose(back.xy, pose.xy, atol=0.006)
    np.testing.assert_allclose(back.score, pose.score, atol=6e-5)


@settings(max_examples=25, deadline=None)
@given(poses(layout=COCO17))
def test_openpose_round_trip(tmp_path_factory, pose):
    tmp = tmp_path_factory.mktemp("op")
    data = poseio.openpose_dict(pose, 800, 600)
    assert len(data["people"][0]["pose_keypoints_2d"]) == 54
    back = poseio.load_pose(_write(tmp, data))
    assert back.layout is OPENPOSE18 and (back.width, back.height) == (800, 600)
    again = back.to_layout(COCO17)
    ok = pose.score > 0
    np.testing.assert_allclose(again.xy[ok], pose.xy[ok], atol=0.0006)
    np.testing.assert_allclose(again.score, pose.score, atol=6e-4)


@settings(max_examples=25, deadline=None)
@given(poses(layout=COCO17))
def test_coco_round_trip_keeps_presence(tmp_path_factory, pose):
    tmp = tmp_path_factory.mktemp("coco")
    data = poseio.coco_dict([pose, None], 800, 600, ["a.jpg", "b.jpg"])
    assert len(data["images"]) == 2 and len(data["annotations"]) == 1
    video = poseio.load_pose_video(_write(tmp, data))
    assert video.poses[1] is None
    back = video.poses[0]
    present = pose.present()
    assert np.array_equal(back.present(), present)
    np.testing.assert_allclose(back.xy[present], pose.xy[present], atol=0.006)


def test_video_round_trip(tmp_path):
    rng = np.random.default_rng(0)
    frames = [None if i == 2 else poseio.Pose(xy=rng.uniform(0, 99, (17, 2)), score=np.ones(17), layout=COCO17)
              for i in range(4)]
    data = poseio.video_to_dict(frames, 25.0, 100, 100, "coco17")
    assert [f["keypoints"] is None for f in data["frames"]] == [False, False, True, False]
    video = poseio.load_pose_video(_write(tmp_path, data))
    assert video.fps == 25.0 and len(video.poses) == 4 and video.poses[2] is None
    np.testing.assert_allclose(video.poses[3].xy, frames[3].xy, atol=0.006)
    with pytest.raises(InputError, match="holds 4 poses"):
        poseio.load_pose(tmp_path / "p.json")


@pytest.mark.parametrize("data, message", [
    ({"foo": 1}, "wrong shape"),
    ({"layout": "coco17", "keypoints": [[1, 2, 3]]}, "expected 17 keypoints"),
    ({"layout": "body25", "keypoints": []}, "unknown keypoint layout"),
    ({"people": [{"pose_keypoints_2d": [1, 2]}]}, "54 numbers"),
    ({"layout": "coco17", "keypoints": None}, "holds no person"),
])
def test_bad_json_is_a_clear_error(tmp_path, data, message):
    with pytest.raises(InputError, match=message):
        poseio.load_pose(_write(tmp_path, data))


def test_not_json(tmp_path):
    p = tmp_path / "x.json"
    p.write_text("{not json")
    with pytest.raises(InputError, match="not valid JSON"):
        poseio.load_pose(p)
