"""The coach's core: DTW, repetition segmentation, the score, and the offline analysis on real poses."""
from dataclasses import replace

import numpy as np
import pytest

from realtime.coaching.analysis import CoachOptions, analyze
from realtime.coaching.dtw import band_mask, dtw, frame_map
from realtime.coaching.motion import Motion
from realtime.coaching.reps import Rep, rep_signal, segment_reps
from realtime.coaching.score import JOINT_NAMES, features, pair_scores, pose_score, score_matrix
from realtime.errors import InputError
from tests.pipeline_fakes import squat_poses


# -- DTW ----------------------------------------------------------------------------------------
def _brute_dtw(c: np.ndarray) -> float:
    n, m = c.shape
    acc = np.full((n + 1, m + 1), np.inf)
    acc[0, 0] = 0
    for i in range(1, n + 1):
        for j in range(1, m + 1):
            acc[i, j] = c[i - 1, j - 1] + min(acc[i - 1, j - 1], acc[i - 1, j], acc[i, j - 1])
    return acc[n, m]


def test_dtw_recovers_a_known_warp():
    rng = np.random.default_rng(1)
    m, n = 60, 95
    tb = np.arange(m)
    bench = np.stack([np.sin(tb / 6.0), np.cos(tb / 9.0), np.sin(tb / 4.0 + 1)], axis=1)
    warp = (m - 1) * (np.arange(n) / (n - 1)) ** 1.6             # person time -> benchmark time
    person = np.stack([np.interp(warp, tb, bench[:, k]) for k in range(3)], axis=1)
    person += rng.normal(0, 0.01, person.shape)
    cost = np.linalg.norm(person[:, None] - bench[None], axis=2)
    al = dtw(cost, band=0.4)
    assert (al.path[0] == [0, 0]).all() and (al.path[-1] == [n - 1, m - 1]).all()
    assert (np.diff(al.path, axis=0) >= 0).all() and (np.diff(al.path, axis=0).sum(axis=1) >= 1).all()
    mapped = frame_map(al.path, n)
    assert np.abs(mapped - warp).max() <= 1.5
    assert al.cost == pytest.approx(_brute_dtw(cost))


def test_dtw_equals_brute_force_and_respects_the_band():
    rng = np.random.default_rng(0)
    for n, m in ((1, 1), (1, 5), (7, 3), (12, 17)):
        c = rng.uniform(0, 1, (n, m))
        assert dtw(c).cost == pytest.approx(_brute_dtw(c))
    c = rng.uniform(0, 1, (40, 20))
    mask = band_mask(40, 20, 0.1)
    al = dtw(c, band=0.1)
    assert mask[al.path[:, 0], al.path[:, 1]].all()
    assert al.cost == pytest.approx(_brute_dtw(np.where(mask, c, np.inf)))
    with pytest.raises(ValueError):
        dtw(np.zeros((0, 3)))


# -- repetitions --------------------------------------------------------------------------------
def _squat_angles(t: np.ndarray, period: float, depth: float = 90.0, rest_s: float = 0.0) -> np.ndarray:
    """(T, 8) angles of synthetic squats: knees and hips bend by ``depth``, arms rise, a pause between."""
    cycle = period + rest_s
    phase = np.clip((t % cycle) / period, 0, 1)
    bend = np.where((t % cycle) < period, 0.5 - 0.5 * np.cos(2 * np.pi * phase), 0.0)
    a = np.empty((len(t), len(JOINT_NAMES)))
    for k, j in enumerate(JOINT_NAMES):
        if j.endswith("shoulder"):
            a[:, k] = 20 + 70 * bend
        elif j.endswith("elbow"):
            a[:, k] = 170
        else:
            a[:, k] = 175 - depth * bend
    return a


@pytest.mark.parametrize("fps,period,rest,n", [(30, 2.0, 0.0, 5), (30, 1.2, 0.8, 6), (5, 3.0, 1.0, 3), (60, 4.0, 0.5, 2)])
def test_reps_of_synthetic_periodic_signals(fps, period, rest, n):
    t = np.arange(0, n * (period + rest) + 0.5, 1 / fps)
    angles = _squat_angles(t, period, rest_s=rest) + np.random.default_rng(0).normal(0, 2.0, (len(t), 8))
    angles[::7, 3] = np.nan                                        # a joint missing now and then
    reps = segment_reps(angles, fps)
    assert len(reps) == n
    for k, r in enumerate(reps):
        bottom = k * (period + rest) + period / 2
        assert abs(r.peak / fps - bottom) <= 0.15 * period
        assert r.start < r.peak < r.end
        assert 0.6 * period <= r.span / fps <= 1.3 * period + rest
    assert [r.start for r in reps[1:]] >= [r.end for r in reps[:-1]]


def test_no_reps_in_stillness_or_small_motion():
    t = np.arange(0, 10, 1 / 30)
    still = _squat_angles(t[:1], 2.0)[[0] * len(t)] + np.random.default_rng(0).normal(0, 3.0, (len(t), 8))
    assert segment_reps(still, 30) == []                                  # jitter is no repetition
    bob = _squat_angles(t, 2.0, depth=12.0)
    bob[:, [2, 3]] = 20                                                   # arms still, knees bend 12°
    assert segment_reps(bob, 30) == []                                    # a shallow bob is no squat
    assert segment_reps(np.full((50, 8), np.nan), 30) == []
    assert segment_reps(np.zeros((2, 8)), 30) == []


def test_rest_is_low_whichever_way_the_signal_points():
    t = np.arange(0, 9, 1 / 30)
    a = _squat_angles(t, 3.0)
    s = rep_signal(a, 30)
    assert s[0] < 0.1 * s.max() and s[45] > 0.9 * s.max()         # standing low, the bottom high
    s2 = rep_signal(a[20:], 30)                                    # starting mid-descent does not flip it
    assert s2[45 - 20] > 0.9 * s2.max()


def test_reps_on_the_real_squat_clip():
    poses = squat_poses()
    reps = segment_reps(features(poses).angles, 5.0)
    assert len(reps) == 3
    assert [r.peak for r in reps] == pytest.approx([10, 34, 59], abs=2)   # the three deepest frames


# -- the score ----------------------------------------------------------------------------------
def test_score_is_100_for_the_same_pose_and_invariant_to_position_and_scale():
    poses = squat_poses()
    p = poses[20]
    assert pose_score(p, p) == pytest.approx(100.0)
    moved = p.transformed(0.5, (100.0, -30.0))
    assert pose_score(moved, p) == pytest.approx(100.0, abs=1e-3)
    assert pose_score(poses[20], poses[59]) < 10                 # standing vs the deepest squat
    flipped = p.flipped()
    assert pose_score(flipped, p, mirror=True) == pytest.approx(100.0, abs=1e-3)
    assert pose_score(flipped, p, mirror=True) >= pose_score(flipped, p)
    f = features(poses)
    s = score_matrix(f, f)
    assert s.shape == (65, 65) and np.allclose(np.diag(s), 100) and np.allclose(s, s.T)
    assert ((0 <= s) & (s <= 100)).all()
    assert np.allclose(pair_scores(f, f[::-1]), s[np.arange(65), np.arange(65)[::-1]])


# -- analysis on the real squats ----------------------------------------------------------------
def _half_speed(poses, cut=4):
    return [p for p in poses[cut:] for _ in (0, 1)]


def test_half_speed_copy_scores_high_with_three_reps_and_tempo_two():
    poses = squat_poses()
    bench = Motion(poses, 5.0, "squats.json")
    report = analyze(Motion(_half_speed(poses), 5.0, "half.json"), bench)
    assert report.score >= 90 and len(report.reps) == 3
    assert 1.7 <= report.tempo_ratio <= 2.3
    d = report.to_dict()
    assert set(d) >= {"score", "tempo_ratio", "reps", "alignment", "mirrored"}
    times = np.array(d["alignment"])
    assert len(times) <= 201 and (np.diff(times[:, 0]) >= 0).all()       # person time runs forwards
    assert times[0, 0] == d["reps"][0]["start_s"] and times[-1, 0] == d["reps"][-1]["end_s"]
    rep = d["reps"][1]
    assert set(rep) >= {"start_s", "end_s", "score", "tempo_ratio", "worst_joints", "advice"}
    assert rep["start_s"] < rep["end_s"] and len(rep["worst_joints"]) == 3
    assert any("speed up" in a for a in rep["advice"])
    assert len(report.frame_map) == len(report.frame_scores) == 122


def test_mirrored_copy_needs_mirror_and_a_different_motion_scores_low():
    poses = squat_poses()
    bench = Motion(poses, 5.0, "squats.json")
    mirrored = Motion([p.flipped() for p in poses], 5.0, "mirrored.json")
    plain = analyze(mirrored, bench)
    both = analyze(mirrored, bench, CoachOptions(mirror=True))
    assert both.mirrored and both.score >= 90 and both.score > plain.score
    # arms held straight up through the whole squat: the same legs, other arms
    from realtime.layouts import MEDIAPIPE33

    def arms_up(p):
        xy = p.xy.copy()
        for side in ("left", "right"):
            s = xy[MEDIAPIPE33.index[f"{side}_shoulder"]]
            for k, name in enumerate(("elbow", "wrist", "pinky", "index", "thumb")):
                xy[MEDIAPIPE33.index[f"{side}_{name}"]] = s + [0, -(130 if k == 0 else 250)]
        return replace(p, xy=xy)

    other = analyze(Motion([arms_up(p) for p in poses], 5.0, "arms.json"), bench)
    assert len(other.reps) == 3 and other.score <= both.score - 15


def test_a_person_without_reps_gets_a_whole_clip_score_and_a_notice():
    poses = squat_poses()
    report = analyze(Motion([poses[20]] * 30, 5.0, "standing.json"), Motion(poses, 5.0, "squats.json"))
    assert report.reps == [] and report.tempo_ratio is None and report.notice
    assert 0 < report.score < 90 and report.to_dict()["reps"] == []


def test_bad_inputs_raise_input_errors():
    poses = squat_poses()
    with pytest.raises(InputError, match="no repetitions"):
        analyze(Motion(poses, 5.0, "p.json"), Motion([poses[20]] * 30, 5.0, "still.json"))
    upper = [p.with_scores(np.where(np.arange(33) < 23, 1.0, 0.0)) for p in poses]   # no hips or legs
    lower = [p.with_scores(np.where(np.arange(33) >= 23, 1.0, 0.0)) for p in poses]  # legs only
    with pytest.raises(InputError, match="share 0 keypoints"):
        analyze(Motion(upper, 5.0, "upper.json"), Motion(lower, 5.0, "lower.json"))


def test_feature_vectors_are_move_mirror_vectors():
    from realtime.matching import crop_normalize, pose_vector

    poses = squat_poses()
    some = [p.with_scores(np.where(np.arange(33) % 5 == 0, 0.0, 1.0)) for p in poses[:10]]   # some missing
    f = features(some + [None])
    assert not f.found[-1] and not f.vectors[-1].any() and np.isnan(f.angles[-1]).all()
    for p, v in zip(some, f.vectors):
        assert np.allclose(v, pose_vector(p), atol=1e-6)
    keep = np.zeros(17, bool)
    keep[5:] = True                                              # no face
    g = features(poses[:3], keep)
    from realtime.layouts import COCO17

    for p, v in zip(poses[:3], g.vectors):
        c = p.to_layout(COCO17)
        assert np.allclose(v, crop_normalize(c.xy, keep), atol=1e-6)


def test_layouts_compare_by_keypoint_name():
    from realtime.layouts import KeypointLayout

    poses = squat_poses()
    bench = Motion(poses, 5.0, "squats.json")
    as_openpose = Motion([p.to_layout("openpose18") for p in poses], 5.0, "openpose.json")
    assert analyze(as_openpose, bench).score == pytest.approx(100.0, abs=0.5)
    # a layout without face keypoints (only the 12 body points) still compares, over those it has
    body = ("left_shoulder", "right_shoulder", "left_elbow", "right_elbow", "left_wrist", "right_wrist",
            "left_hip", "right_hip", "left_knee", "right_knee", "left_ankle", "right_ankle")
    layout = KeypointLayout("body12", body, (("left_hip", "left_knee"),), (("left_hip", "right_hip"),))
    idx = [poses[0].layout.index[n] for n in body]
    from realtime.pose import Pose

    body_poses = [Pose(p.xy[idx], p.score[idx], layout, 720, 1280) for p in poses]
    report = analyze(Motion(body_poses, 5.0, "body.json"), bench)
    assert report.score == pytest.approx(100.0, abs=0.5) and len(report.reps) == 3
