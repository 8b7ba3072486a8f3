"""Calibration wired into `repose live`: the LiveRetarget hook and a bounded run with a profile."""
from __future__ import annotations

import json
from dataclasses import replace

import numpy as np

from calibration.live import LiveRetarget
from calibration.neutral import robust_average
from calibration.profile import CalibrationProfile
from calibration.retarget import retarget_pose
from realtime.app.demo.figure import reference_pose
from realtime.app.cli import main


def driver() -> "Pose":  # noqa: F821
    a = reference_pose()
    xy = (a.xy - a.xy.mean(axis=0)) * np.float32(0.7) + np.float32([320, 240])
    return replace(a, xy=xy, width=640, height=480, z=None)


def test_hook_auto_calibrates_and_recalibrates_on_its_own_thread():
    mirrored = {"on": False}
    hook = LiveRetarget(reference_pose(), mirrored=lambda: mirrored["on"])
    d = driver()
    for i in range(30):
        hook(replace(d, timestamp_s=i / 30))
    assert hook.source == "steady frames"
    hook.recalibrate()                      # from another thread: only a flag
    assert hook.source == "steady frames"
    hook(replace(d, timestamp_s=1.1))       # acted on at the next frame
    assert hook.source in ("first frame", "none")


def test_hook_flips_a_profile_neutral_with_the_mirror():
    d = driver()
    avg, jitter = robust_average([d] * 5)
    profile = CalibrationProfile(avg, jitter, 100.0)
    mirrored = {"on": False}
    hook = LiveRetarget(reference_pose(), profile, mirrored=lambda: mirrored["on"])
    plain = hook(d)
    np.testing.assert_allclose(plain.xy, retarget_pose(d, avg, reference_pose()).xy, atol=1e-4)
    mirrored["on"] = True                   # the pipeline now flips the driver before the hook
    flipped_driver = d.flipped(640)
    got = hook(flipped_driver)
    want = retarget_pose(flipped_driver, avg.flipped(640), reference_pose())
    np.testing.assert_allclose(got.xy, want.xy, atol=1e-4)


def test_hook_returns_rest_pose_before_any_torso():
    d = driver()
    hook = LiveRetarget(reference_pose())
    no_torso = d.with_scores(np.zeros(17, np.float32))
    assert hook(no_torso) is hook.avatar


def test_live_run_with_warp_and_a_profile(media_dir, tmp_path, capsys):
    from realtime.estimator import MediaPipeEstimator
    from realtime.media import VideoReader

    with VideoReader(media_dir / "pose_1.mp4") as r, MediaPipeEstimator() as est:
        _, _, img = next(iter(r))
        pose = est.estimate(img)
    avg, jitter = robust_average([pose] * 5)
    CalibrationProfile(avg, jitter, 100.0, mirror=False).save(tmp_path / "p.json")
    out, stats = tmp_path / "o.mp4", tmp_path / "s.json"
    rc = main(["live", "--reference", str(media_dir / "pose.jpg"), "--source", str(media_dir / "pose_1.mp4"),
               "--output", f"file:{out}", "--max-frames", "12", "--no-realtime", "--output-size", "320x240",
               "--calibration", str(tmp_path / "p.json"), "--stats-json", str(stats)])
    assert rc == 0, capsys.readouterr().err
    d = json.loads(stats.read_text())
    assert d["frames_out"] == 12 and "retarget" in d["stages"]


def test_live_rejects_a_bad_profile(media_dir, tmp_path, capsys):
    (tmp_path / "p.json").write_text(json.dumps({"format": "repose-calibration", "version": 9}))
    rc = main(["live", "--reference", str(media_dir / "pose.jpg"), "--source", str(media_dir / "pose_1.mp4"),
               "--output", "null", "--calibration", str(tmp_path / "p.json")])
    assert rc == 2 and "version 9 is not supported" in capsys.readouterr().err
