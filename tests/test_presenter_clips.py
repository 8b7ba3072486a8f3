"""Presenter framing on the shared webcam footage (skipped where ../shared/data/media is absent)."""
from __future__ import annotations

import numpy as np
import pytest

from realtime.layouts import COCO17


def test_upper_body_photo_is_accepted(media_dir):
    from engines.warp.renderer import WarpRenderer
    from realtime.media import read_image

    r = WarpRenderer(face=False, hands=False)
    r.prepare(read_image(media_dir / "webcam_still.jpg"))
    assert "torso" in r.part_names and "head" in r.part_names
    assert not any(n.endswith(("thigh", "shin")) for n in r.part_names)
    rest = r.rest_pose.to_layout(COCO17)
    assert rest.xy[COCO17.index["left_hip"], 1] > 1000     # hips placed below the photo's edge region


def test_photo_without_shoulders_exits_2_with_the_framing_needed(media_dir, tmp_path, capsys):
    import cv2

    from realtime.app.cli import main
    from realtime.media import read_image

    face_only = read_image(media_dir / "webcam_still.jpg")[200:650, 850:1300]
    path = tmp_path / "face.png"
    cv2.imwrite(str(path), face_only)
    code = main(["render", "--reference", str(path), "--driver", str(media_dir / "pose.jpg"),
                 "-o", str(tmp_path / "out.png")])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2
    assert any("shoulder" in line for line in err), err


def test_self_reenactment_mouth_follows_on_presenter_desk(media_dir):
    from engines.evaluation import FaceScores
    from engines.reenact import driver_cues, evaluate_sequence, face_tracker
    from realtime.inputs import open_input
    from engines.warp.renderer import WarpRenderer

    r = WarpRenderer(hands=False)
    with open_input(media_dir / "presenter_desk.mp4", max_frames=30) as video:
        frames = iter(video)
        first = next(frames)
        r.prepare(first.image)
        tracker = face_tracker(r, None, neutral_frames=1)
        assert tracker is not None, "the presenter's face is found in the reference frame"
        tracker(first.image, first.pose, first.time_s)
        items = ((f.index, f.pose, f.image, driver_cues(f, tracker)) for f in frames)
        res = evaluate_sequence(r, items, face=FaceScores())
        tracker.close()
    s = res.summary()
    assert s["face_not_found"] < 0.1
    assert s["mouth_corr"] > 0.7 and s["mouth_range_ratio"] > 0.5
    assert s["head_roll_err_deg"] < 4
    assert np.isfinite(s["bone_deg"]) and s["bone_deg"] < 8


def test_signing_fingers_follow_from_a_reference_frame_that_shows_the_hands(media_dir):
    """The signing clip's first frame shows no hand (both cut by the bottom edge: nothing to bend,
    and nothing is invented); from frame 268 (both hands open, apart) the avatar's hands are found
    again on the outputs and their finger bend follows the driver's."""
    from engines.evaluation import HandScores
    from engines.reenact import driver_cues, evaluate_sequence, hand_tracker
    from engines.warp.renderer import WarpRenderer
    from realtime.inputs import open_input

    with open_input(media_dir / "webcam_signing.mp4", max_frames=300) as video:
        frames = iter(video)
        first = next(frames)
        r0 = WarpRenderer(face=False)
        r0.prepare(first.image)
        assert r0.hand_sides == ()
        frames = (f for f in frames if f.index >= 268)
        ref = next(frames)
        r = WarpRenderer(face=False)
        r.prepare(ref.image)
        assert set(r.hand_sides) == {"left", "right"}
        hands = hand_tracker(r, None)
        items = ((f.index, f.pose, f.image, driver_cues(f, None, hands)) for f in frames)
        res = evaluate_sequence(r, items, hands=HandScores())
        hands.close()
    s = res.summary()
    assert s["hand_frames"] >= 20
    assert s["hands_found"] >= 0.6, s
    assert s["finger_bend_corr"] > 0.2, s
