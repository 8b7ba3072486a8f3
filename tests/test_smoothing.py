import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

from realtime.smoothing import OneEuroFilter, OneEuroOptions, PoseSmoother
from tests.pipeline_fakes import squat_poses


def test_constant_signal_passes_unchanged():
    f = OneEuroFilter()
    for i in range(30):
        out = f(np.array([5.0, -3.0]), i / 30)
    np.testing.assert_allclose(out, [5.0, -3.0])


@settings(max_examples=50, deadline=None)
@given(st.lists(st.floats(-1e3, 1e3), min_size=2, max_size=40),
       st.floats(0.01, 5.0), st.floats(0.0, 200.0))
def test_output_stays_within_the_inputs_seen(xs, min_cutoff, beta):
    # each step is a convex blend of the previous estimate and the new sample
    f = OneEuroFilter(OneEuroOptions(min_cutoff=min_cutoff, beta=beta))
    for i, x in enumerate(xs):
        y = float(f(np.array([x]), i / 30.0)[0])
        assert min(xs[: i + 1]) - 1e-6 <= y <= max(xs[: i + 1]) + 1e-6


def test_jitter_on_a_still_point_is_reduced():
    rng = np.random.default_rng(0)
    noisy = 100 + rng.normal(0, 2.0, 300)
    f = OneEuroFilter()
    # 2 px of jitter on a 200 px tall body, at 30 fps
    out = np.array([f(np.array([x]), i / 30.0, scale=200.0)[0] for i, x in enumerate(noisy)])
    assert out[30:].std() < 0.6 * noisy[30:].std()


def test_fast_motion_follows_with_little_lag_thanks_to_beta():
    t = np.arange(60) / 30.0
    ramp = 300.0 * t                       # 300 px/s, i.e. 1.5 body sizes/s for a 200 px body
    fast = OneEuroFilter(OneEuroOptions())
    slow = OneEuroFilter(OneEuroOptions(beta=0.0))
    lag_fast = [ramp[i] - fast(np.array([x]), ti, scale=200.0)[0] for i, (x, ti) in enumerate(zip(ramp, t))]
    lag_slow = [ramp[i] - slow(np.array([x]), ti, scale=200.0)[0] for i, (x, ti) in enumerate(zip(ramp, t))]
    assert abs(lag_fast[-1]) < 10.0            # pixels behind after two seconds
    assert abs(lag_slow[-1]) > 10 * abs(lag_fast[-1])


def test_invalid_channels_pass_through_and_gap_resets():
    f = OneEuroFilter()
    f(np.array([0.0, 0.0]), 0.0)
    out = f(np.array([50.0, 50.0]), 1 / 30, valid=np.array([True, False]))
    assert out[1] == 50.0 and out[0] < 50.0
    out = f(np.array([80.0, 80.0]), 5.0)   # a long gap: restart from the new sample
    np.testing.assert_allclose(out, [80.0, 80.0])


def test_bad_options_are_refused():
    with pytest.raises(ValueError):
        OneEuroOptions(min_cutoff=0)


def test_pose_smoother_on_real_squats_keeps_shape_and_reduces_frame_to_frame_noise():
    poses = squat_poses()
    rng = np.random.default_rng(1)
    sm = PoseSmoother()
    raw_step, sm_step, prev_raw, prev_sm = [], [], None, None
    for i, p in enumerate(poses[:20]):
        noisy = p.transformed(1.0)
        noisy = type(p)(xy=p.xy + rng.normal(0, 3.0, p.xy.shape), score=p.score, layout=p.layout,
                        width=p.width, height=p.height, z=p.z, timestamp_s=i / 5.0)
        out = sm(noisy)
        assert out.xy.shape == p.xy.shape and out.layout is p.layout and out.z is not None
        if prev_raw is not None:
            raw_step.append(np.abs(noisy.xy - prev_raw).mean())
            sm_step.append(np.abs(out.xy - prev_sm).mean())
        prev_raw, prev_sm = noisy.xy, out.xy
    assert np.mean(sm_step) < np.mean(raw_step)


def _pose_at(x: float, t: float, score=None) -> "Pose":
    from realtime.layouts import COCO17
    from realtime.pose import Pose

    k = len(COCO17)
    xy = np.stack([np.full(k, x), np.arange(k, dtype=float)], axis=1)
    return Pose(xy=xy, score=np.ones(k) if score is None else score, layout=COCO17, width=640, height=480,
                timestamp_s=t)


def test_pose_stride_estimates_every_nth_frame_and_every_frame_while_nobody_is_in_view():
    from realtime.smoothing import PoseStride

    s = PoseStride(every=3)
    assert s.due() and s.predict(0.0) is None       # nothing seen yet
    s.seen(None)                                    # nobody: estimate again at once
    assert s.due()
    s.seen(_pose_at(0.0, 0.0))
    pattern = []
    for _ in range(6):
        due = s.due()
        pattern.append(due)
        if due:
            s.seen(_pose_at(0.0, 0.0))
    assert pattern == [False, False, True, False, False, True]
    one = PoseStride(every=1)
    one.seen(_pose_at(0.0, 0.0))
    assert all(one.due() for _ in range(4))
    with pytest.raises(ValueError):
        PoseStride(every=0)


def test_pose_stride_predicts_half_the_last_velocity_and_holds_what_it_cannot_trust():
    from realtime.smoothing import PoseStride

    s = PoseStride(every=2, damping=0.5, max_gap_s=0.25)
    score = np.ones(17)
    score[3] = 0.0                                   # keypoint 3 absent from the first estimate
    s.seen(_pose_at(0.0, 0.0, score))
    s.seen(_pose_at(10.0, 0.1))                      # 100 px/s along x
    p = s.predict(0.15)
    assert p.timestamp_s == 0.15 and (p.width, p.height) == (640, 480)
    moved = np.delete(np.arange(17), 3)
    np.testing.assert_allclose(p.xy[moved, 0], 10.0 + 0.5 * 100.0 * 0.05, atol=1e-4)
    np.testing.assert_allclose(p.xy[:, 1], np.arange(17))    # no motion along y
    assert p.xy[3, 0] == 10.0                                 # held
    s.seen(_pose_at(50.0, 0.5))                      # 0.4 s after the last: too old a step to extend
    np.testing.assert_allclose(s.predict(0.53).xy[:, 0], 50.0)
    s.seen(None)
    assert s.predict(0.6) is None
