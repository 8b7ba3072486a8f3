"""The outputs are re-read the way the driver was: an output equal to its real frame scores about zero.

`repose evaluate` re-estimates the outputs in the driver's estimator mode (video: tracking over the
clip) and, with --self, scores the real frames the same way (the estimator's floor). Detecting on every
output (image mode) against video-mode targets has a floor of its own, which the first test shows.
"""
from __future__ import annotations

import itertools

import pytest

from engines.reenact import self_reenactment
from realtime.inputs import open_input


class RealFrameCopy:
    """A 'renderer' whose outputs are the real later frames themselves, in order: the perfect renderer."""

    def __init__(self, frames):
        self._frames = iter(frames)
        self.rest_pose = None

    def prepare(self, reference_bgr, reference_pose=None, mask=None):
        return None

    def render(self, target, **_):
        return next(self._frames)


def _run(media_dir, reestimate: str, n: int = 16):
    with open_input(media_dir / "pose_squats.mp4", max_frames=n) as video:
        frames = list(video)
    assert video.mode == "video"
    renderer = RealFrameCopy([f.image for f in frames[1:]])
    return self_reenactment(renderer, frames[0], frames[1:], reestimate=reestimate, floor=True).summary()


def test_a_perfect_output_scores_its_floor_and_video_mode_has_almost_none(media_dir):
    video = _run(media_dir, "video")
    image = _run(media_dir, "image")
    # the perfect renderer scores exactly the floor, whatever the mode
    for s in (video, image):
        assert s["bone_deg"] == pytest.approx(s["floor_bone_deg"], abs=1e-6)
        assert s["akd_256"] == pytest.approx(s["floor_akd_256"], abs=1e-6)
        assert s["l1"] == 0.0
    # tracking from the second frame on reads (nearly) what tracking read from the first
    assert video["floor_bone_deg"] < 1.5
    assert image["floor_bone_deg"] > video["floor_bone_deg"]
    assert video["reestimate"] == "video" and image["reestimate"] == "image"


def test_evaluate_without_real_frames_has_no_floor():
    from engines.reenact import evaluate_sequence
    import numpy as np

    class Blank:
        def render(self, target, **_):
            return np.zeros((64, 64, 3), np.uint8)

    from realtime.layouts import COCO17
    from realtime.pose import Pose

    pose = Pose(xy=np.full((17, 2), 32, np.float32), score=np.ones(17, np.float32), layout=COCO17,
                width=64, height=64)
    s = evaluate_sequence(Blank(), itertools.islice(((i, pose, None) for i in range(3)), 3), floor=True).summary()
    assert s["rendered"] == 3 and s["mkr"] == 1.0
    assert "floor_bone_deg" not in s and s["reestimate"] == "image"
