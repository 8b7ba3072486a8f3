"""The reference's wrists checked against its hands (engines.warp.wrists), on the drawn figure's
pose with hands placed as MediaPipe Hands would report them (no MediaPipe needed)."""
from dataclasses import replace

import numpy as np

from engines.warp.wrists import claim_hands, correct_wrists
from realtime.app.demo.figure import reference_pose
from realtime.hands import WRIST, Hand
from realtime.layouts import COCO17

IX = COCO17.index


def _hand(pose, side: str, size: float = 30.0) -> Hand:
    """A flat open hand at that side's wrist, fingers continuing the forearm (21 landmarks)."""
    e, w = pose.xy[IX[f"{side}_elbow"]].astype(np.float64), pose.xy[IX[f"{side}_wrist"]].astype(np.float64)
    along = (w - e) / np.linalg.norm(w - e)
    across = np.array([-along[1], along[0]])
    pts = [w]
    for finger in range(5):   # thumb, index, middle, ring, pinky: base at 1 hand size, 4 points each
        off = (finger - 2) * 0.35 * size * across
        pts += [w + off * (k / 4 + 0.5) + along * size * (0.5 + 0.3 * k) for k in range(4)]
    xy = np.array(pts, np.float32)
    xy[9] = w + along * size   # middle-finger base one hand size from the wrist
    return Hand(xy, np.zeros(21, np.float32), side, 480, 640)


def _moved(pose, name: str, xy, score: float | None = None):
    p_xy, p_score = pose.xy.copy(), pose.score.copy()
    p_xy[IX[name]] = xy
    if score is not None:
        p_score[IX[name]] = score
    return replace(pose, xy=p_xy, score=p_score)


def test_a_correct_pose_is_left_alone():
    pose = reference_pose()
    hands = [_hand(pose, "right"), _hand(pose, "left")]
    fixed, claimed, notes = correct_wrists(pose, hands)
    assert notes == []
    np.testing.assert_array_equal(fixed.xy, pose.xy)
    np.testing.assert_array_equal(fixed.score, pose.score)
    assert set(claimed) == {"left", "right"}
    np.testing.assert_allclose(claimed["left"].xy[WRIST], pose.xy[IX["left_wrist"]])


def test_a_fist_the_hands_model_misses_is_not_an_error():
    pose = reference_pose()
    fixed, claimed, notes = correct_wrists(pose, [_hand(pose, "left")])   # the right hand not found
    assert notes == [] and set(claimed) == {"left"}
    np.testing.assert_array_equal(fixed.score, pose.score)


def test_a_wrist_on_the_other_hand_moves_to_its_own():
    good = reference_pose()
    hands = [_hand(good, "left"), _hand(good, "right")]
    # the pose's left wrist drawn onto the right hand, a little off its wrist
    bad = _moved(good, "left_wrist", good.xy[IX["right_wrist"]] + (6, 4))
    fixed, claimed, notes = correct_wrists(bad, hands)
    assert len(notes) == 1 and "left wrist" in notes[0] and "right hand" in notes[0]
    np.testing.assert_allclose(fixed.xy[IX["left_wrist"]], good.xy[IX["left_wrist"]], atol=1e-4)
    np.testing.assert_allclose(fixed.xy[IX["right_wrist"]], good.xy[IX["right_wrist"]])
    assert claimed["left"].side == "left" and claimed["right"].side == "right"


def test_a_wrist_on_the_other_hand_with_none_of_its_own_is_not_cut():
    good = reference_pose()
    # basketball_dribble's first frame: the far (right) wrist, less sure, beside the near left hand;
    # its own hand (at the hip) is not found
    left = _hand(good, "left")
    bad = _moved(good, "right_wrist", left.xy[WRIST] + (40, 30), score=0.6)
    fixed, claimed, notes = correct_wrists(bad, [left])
    assert len(notes) == 1 and "marked not shown" in notes[0]
    assert fixed.score[IX["right_wrist"]] == 0.0
    assert fixed.score[IX["left_wrist"]] == 1.0 and set(claimed) == {"left"}
    assert fixed.score[IX["right_elbow"]] == 1.0   # an elbow the pose is sure of stays


def test_a_doubted_elbow_goes_with_its_hidden_wrist():
    good = reference_pose()
    left = _hand(good, "left")
    bad = _moved(_moved(good, "right_wrist", left.xy[WRIST] + (40, 30), score=0.6), "right_elbow",
                 good.xy[IX["right_elbow"]], score=0.5)
    fixed, _, notes = correct_wrists(bad, [left])
    assert "elbow" in notes[0]
    assert fixed.score[IX["right_elbow"]] == 0.0 and fixed.score[IX["right_shoulder"]] == 1.0


def test_two_wrists_on_one_hand_the_surer_keeps_it():
    good = reference_pose()
    left = _hand(good, "left")
    # as sure of both: the other hand may hide under this one (hands clasped), nothing is changed
    bad = _moved(good, "right_wrist", left.xy[WRIST] + (40, 30), score=1.0)
    fixed, _, notes = correct_wrists(bad, [left])
    assert notes == []
    np.testing.assert_array_equal(fixed.score, bad.score)


def test_claims_go_to_the_nearest_wrist_one_hand_a_side():
    pose = reference_pose()
    left = _hand(pose, "left")
    claimed = claim_hands(pose, [left, replace(left, xy=left.xy + 3)])   # two readings of one hand
    assert list(claimed) == ["left"]
    far = replace(left, xy=left.xy + 200)
    assert claim_hands(pose, [far]) == {}


def test_prepare_checks_the_estimated_reference_before_cutting(monkeypatch, caplog):
    """The check sits where the warp renderer prepares its reference (render, live, evaluate and the
    editor all prepare there): an estimated pose with the right wrist on the left hand, less sure,
    loses its right forearm, and the left hand's pixels go to the left forearm."""
    import logging

    import engines.warp.hands as warp_hands
    import engines.warp.renderer as warp_renderer
    import engines.warp.wrists as wrists
    from engines.warp.renderer import WarpRenderer
    from realtime.app.demo.figure import draw_figure

    fig = draw_figure()
    left = _hand(fig.pose, "left")
    bad = _moved(fig.pose, "right_wrist", left.xy[WRIST] + (40, 30), score=0.6)
    monkeypatch.setattr(warp_renderer, "_estimate", lambda img: (bad, fig.mask))
    monkeypatch.setattr(warp_hands, "find_hands", lambda img, pose: {})
    monkeypatch.setattr(wrists, "hands_in_box", lambda solution, img, box, side="left": [left])
    r = WarpRenderer(face=False)
    with caplog.at_level(logging.INFO, logger="engines.warp.wrists"):
        r.prepare(fig.image)
    assert any("right wrist" in m and "not shown" in m for m in caplog.messages)
    assert "right_forearm" not in r.part_names and "left_forearm" in r.part_names
    rest = r.rest_pose.to_layout(COCO17)
    assert rest.score[IX["right_wrist"]] == 0.0
    np.testing.assert_allclose(rest.xy[IX["left_wrist"]], fig.pose.xy[IX["left_wrist"]])
