"""`repose live` from the command line: bounded runs on real footage, errors, Ctrl-C/SIGTERM."""
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from realtime.app.cli import main
from tests.pipeline_fakes import count_frames  # noqa: F401

ROOT = Path(__file__).resolve().parents[1]


def test_help_lists_the_options(capsys):
    with pytest.raises(SystemExit) as e:
        main(["live", "--help"])
    assert e.value.code == 0
    out = capsys.readouterr().out
    for opt in ("--reference", "--source", "--output", "--renderer", "--benchmark", "--stats-json",
                "--max-frames", "--no-realtime", "--count-reps", "--mjpg", "--loop"):
        assert opt in out


@pytest.mark.parametrize("extra, words", [
    (["--output", "zoom"], "unknown output 'zoom'"),
    (["--source", "/nope.mp4"], "source '/nope.mp4' not found"),
    (["--renderer", "nope"], "unknown renderer 'nope'"),
    (["--renderer-opt", "background"], "expected KEY=VALUE"),
    (["--renderer-opt", "colour=red"], "does not accept colour=red"),
])
def test_bad_input_is_one_line_and_exit_2(media_dir, capsys, extra, words):
    argv = ["live", "--reference", str(media_dir / "pose.jpg"), "--source", str(media_dir / "pose_1.mp4"),
            "--output", "null", *extra]
    assert main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert words in err and len(err.splitlines()) == 1


def test_no_virtual_camera_is_explained(media_dir, capsys, monkeypatch):
    import pyvirtualcam

    class Missing:
        def __init__(self, **kw):
            raise RuntimeError("no loopback device")

    monkeypatch.setattr(pyvirtualcam.camera, "BACKENDS", {"v4l2loopback": Missing})
    assert main(["live", "--reference", str(media_dir / "pose.jpg"), "--source",
                 str(media_dir / "pose_1.mp4"), "--output-size", "320x240"]) == 2
    err = capsys.readouterr().err
    assert "no virtual camera available" in err and "v4l2loopback" in err and "--output mjpeg:8080" in err


def test_bounded_run_with_stats_and_mp4(media_dir, tmp_path, capsys):
    out, stats = tmp_path / "o.mp4", tmp_path / "stats.json"
    rc = main(["live", "--reference", str(media_dir / "pose.jpg"), "--source", str(media_dir / "pose_1.mp4"),
               "--output", f"file:{out}", "--output", "null", "--max-frames", "25", "--no-realtime",
               "--output-size", "320x240", "--renderer", "skeleton", "--renderer-opt", "background=dim", "--stats-json", str(stats)])
    assert rc == 0, capsys.readouterr().err
    d = json.loads(stats.read_text())
    assert d["frames_in"] == d["frames_out"] == 25 and d["dropped"] == 0
    for key in ("fps_in", "fps_out", "latency_capture_to_output", "stages"):
        assert key in d
    assert set(d["latency_capture_to_output"]) >= {"p50_ms", "p95_ms", "p99_ms"}
    assert {"estimate", "smooth", "render", "overlay"} <= set(d["stages"])
    assert count_frames(out) == 25


def test_coach_mode_counts_squats_and_writes_curve(media_dir, tmp_path, capsys):
    pytest.importorskip("realtime.matching")
    import cv2

    # benchmark: the deepest squat, a still taken from the clip itself
    cap = cv2.VideoCapture(str(media_dir / "pose_squats.mp4"))
    for _ in range(59):
        cap.read()
    ok, img = cap.read()
    cap.release()
    bench = tmp_path / "deep_squat.png"
    cv2.imwrite(str(bench), img)
    stem = tmp_path / "coach"
    rc = main(["live", "--reference", str(media_dir / "pose.jpg"), "--source", str(media_dir / "pose_squats.mp4"),
               "--output", "null", "--no-realtime", "--benchmark", str(bench), "--count-reps",
               "--coach-out", str(stem), "--stats-json", str(tmp_path / "s.json")])
    err = capsys.readouterr().err
    assert rc == 0, err
    assert "3 reps" in err
    rows = (tmp_path / "coach.csv").read_text().splitlines()
    assert rows[0] == "time_s,similarity,score" and len(rows) == 66
    assert cv2.imread(str(tmp_path / "coach.png")) is not None
    assert json.loads((tmp_path / "s.json").read_text())["coach"]["reps"] == 3


@pytest.mark.slow
@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_ctrl_c_or_sigterm_stops_cleanly_and_the_mp4_plays(media_dir, tmp_path, sig):
    out, stats = tmp_path / "o.mp4", tmp_path / "s.json"
    proc = subprocess.Popen(
        [sys.executable, "-m", "realtime", "live", "--reference", str(media_dir / "pose.jpg"),
         "--source", str(media_dir / "pose_1.mp4"), "--loop", "--output", f"file:{out}",
         "--output-size", "320x240", "--stats-json", str(stats)],
        cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        env={**os.environ, "PYTHONPATH": str(ROOT)})
    try:
        deadline = time.monotonic() + 60
        # wait until the outputs are open (the temporary mp4 exists), then let it run a little
        while time.monotonic() < deadline and not list(tmp_path.glob(".o.*.mp4")):
            assert proc.poll() is None, proc.communicate()[1]
            time.sleep(0.1)
        time.sleep(2.0)
        proc.send_signal(sig)
        _, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0, err
    n = json.loads(stats.read_text())["sinks"][f"file:{out}"]["frames"]
    assert n > 0 and count_frames(out) == n
    assert not list(tmp_path.glob(".o.*"))
