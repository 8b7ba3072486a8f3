import json

import numpy as np
import pytest

from realtime.coaching.live import Benchmark, Coach, load_benchmark
from realtime.errors import InputError
from tests.pipeline_fakes import squat_poses  # noqa: F401


def test_video_benchmark_plays_along_in_time_and_loops():
    poses = squat_poses()
    b = Benchmark(poses, fps=5.0)
    assert b.is_video and b.duration_s == pytest.approx(13.0)
    assert b.pose_at(0.0) is poses[0] and b.pose_at(1.01) is poses[5]
    assert b.pose_at(13.0 + 0.2) is poses[1]
    still = Benchmark([poses[3]])
    assert still.pose_at(123.0) is poses[3]


def test_coach_on_real_squats_counts_three_and_writes_csv_and_plot(tmp_path):
    pytest.importorskip("realtime.matching")
    poses = squat_poses()
    coach = Coach(Benchmark([poses[59]], 1.0, "deep.json"))
    readings = [coach.update(p, i / 5.0) for i, p in enumerate(poses)]
    coach.update(None, 13.0)               # nobody in view: recorded as a gap
    assert readings[59].similarity == pytest.approx(1.0, abs=1e-6)
    assert readings[0].similarity < 0.95 and readings[0].advice   # standing vs deep squat: knees named
    assert any("knee" in a or "hip" in a for a in readings[0].advice)
    assert readings[59].score == pytest.approx(100.0, abs=1e-6) and readings[0].score < 50
    assert coach.reps() == 3
    coach.write_csv(tmp_path / "c.csv")
    rows = (tmp_path / "c.csv").read_text().splitlines()
    assert rows[0] == "time_s,similarity,score" and len(rows) == 67 and rows[-1] == "13.000,,"
    coach.write_plot(tmp_path / "c.png", count_reps_too=True)
    import cv2

    assert cv2.imread(str(tmp_path / "c.png")).shape[2] == 3
    s = coach.summary()
    assert s["samples"] == 66 and s["matched"] == 65 and s["reps"] == 3
    assert 0 < s["mean_score"] < 100


def test_reps_come_from_the_driver_whatever_the_benchmark():
    # the benchmark is the very same squat clip, playing along: similarity-peak counting gave 1 of 3
    poses = squat_poses()
    coach = Coach(Benchmark(poses, 5.0, "squats.json"))
    for i, p in enumerate(poses):
        coach.update(p, 0.1 + i / 5.0)
    assert coach.reps() == 3
    assert Coach(Benchmark(poses[:1], 1.0)).reps() == 0       # nothing recorded yet: no reps
    # live: counted as the session goes, over a sliding 30 s window, each rep once
    live = Coach(Benchmark([poses[59]], 1.0), rep_window_s=30.0)
    counts = []
    for i in range(10 * len(poses)):                         # the clip ten times: 130 s, 30 squats
        live.update(poses[i % len(poses)], i / 5.0)
        if i % 3 == 0:
            counts.append(live.live_reps(0.5))
    assert live.reps() == 30 and counts == sorted(counts)
    standing = Coach(Benchmark([poses[59]], 1.0))
    for i in range(40):                                       # standing still is not a repetition
        standing.update(poses[20], i / 5.0)
    assert standing.reps() == 0


def test_load_benchmark_from_pose_json_video(tmp_path):
    from realtime.poseio import video_to_dict

    poses = squat_poses()[:10]
    path = tmp_path / "b.json"
    path.write_text(json.dumps(video_to_dict(poses, 5.0, 720, 1280, "mediapipe33")))
    b = load_benchmark(path)
    assert b.is_video and b.fps == 5.0 and len(b.poses) == 10
    with pytest.raises(InputError, match="not found"):
        load_benchmark(tmp_path / "missing.json")
    (tmp_path / "x.txt").write_text("hi")
    with pytest.raises(InputError, match="unknown kind"):
        load_benchmark(tmp_path / "x.txt")


def test_load_benchmark_from_an_image(media_dir):
    b = load_benchmark(media_dir / "pose.jpg")
    assert not b.is_video and b.poses[0].present().sum() > 20


def test_load_benchmark_from_a_video_estimates_every_frame(media_dir, tmp_path):
    from realtime.media import VideoReader
    from realtime.videoio import H264Writer

    clip = tmp_path / "bench.mp4"
    with VideoReader(media_dir / "pose_squats.mp4") as r, H264Writer(clip, 5.0, (360, 640)) as w:
        import cv2

        for i, _, img in r:
            if i >= 8:
                break
            w.write(cv2.resize(img, (360, 640)))
    b = load_benchmark(clip, progress=False)
    assert b.is_video and len(b.poses) == 8 and b.fps == pytest.approx(5.0)
    assert all(p is not None and p.width == 360 for p in b.poses)
