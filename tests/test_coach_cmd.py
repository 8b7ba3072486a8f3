"""`repose coach`: outputs from pose files, the real shared clips, and bad inputs (exit 2, one line,
nothing left behind)."""
import json

import cv2
import numpy as np
import pytest

from realtime.app.cli import main
from realtime.poseio import video_to_dict
from tests.pipeline_fakes import squat_poses


def _pose_file(path, poses, fps=5.0):
    path.write_text(json.dumps(video_to_dict(poses, fps, 720, 1280, "mediapipe33")))
    return path


@pytest.fixture
def squat_files(tmp_path):
    poses = squat_poses()
    bench = _pose_file(tmp_path / "bench.json", poses)
    half = _pose_file(tmp_path / "half.json", [p for p in poses[4:] for _ in (0, 1)])
    return bench, half


def test_coach_writes_report_plot_page_and_video(squat_files, tmp_path, capsys):
    bench, half = squat_files
    out = tmp_path / "out"
    rc = main(["coach", str(half), "--benchmark", str(bench), "-o", str(out / "r.json"), "--plot", str(out / "p.png"),
               "--html", str(out / "r.html"), "--video", str(out / "v.mp4")])
    cap = capsys.readouterr()
    assert rc == 0, cap.err
    assert cap.out.startswith("score ") and cap.out.count("  rep ") == 3
    d = json.loads((out / "r.json").read_text())
    assert d["score"] >= 90 and len(d["reps"]) == 3 and 1.7 <= d["tempo_ratio"] <= 2.3 and d["mirrored"] is False
    assert cv2.imread(str(out / "p.png")).shape[1] >= 800
    page = (out / "r.html").read_text()
    assert page.count("data:image/jpeg;base64,") == 3 and "data:image/png;base64," in page
    assert page.count("<tr>") == 4 and "http" not in page.replace("https://", "")   # self-contained
    video = cv2.VideoCapture(str(out / "v.mp4"))
    n = int(video.get(cv2.CAP_PROP_FRAME_COUNT))
    ok, frame = video.read()
    video.release()
    assert ok and n == 122 and frame.shape[1] > frame.shape[0]                    # two panels side by side
    assert sorted(p.name for p in out.iterdir()) == ["p.png", "r.html", "r.json", "v.mp4"]


def _one_line_error(capsys, argv, match):
    rc = main(argv)
    err = capsys.readouterr().err.strip().splitlines()
    assert rc == 2 and len(err) == 1 and err[0].startswith("repose coach: error:") and match in err[0], err


def test_bad_inputs_exit_2_with_one_line_and_leave_nothing(squat_files, tmp_path, capsys):
    bench, half = squat_files
    poses = squat_poses()
    outs = ["-o", str(tmp_path / "o" / "r.json"), "--plot", str(tmp_path / "o" / "p.png"),
            "--html", str(tmp_path / "o" / "r.html"), "--video", str(tmp_path / "o" / "v.mp4")]
    still = _pose_file(tmp_path / "still.json", [poses[20]] * 30)
    _one_line_error(capsys, ["coach", str(half), "--benchmark", str(still), *outs], "no repetitions")
    upper = _pose_file(tmp_path / "upper.json", [p.with_scores(np.where(np.arange(33) < 23, 1.0, 0.0)) for p in poses])
    legs = _pose_file(tmp_path / "legs.json", [p.with_scores(np.where(np.arange(33) >= 23, 1.0, 0.0)) for p in poses])
    _one_line_error(capsys, ["coach", str(upper), "--benchmark", str(legs), *outs], "share 0 keypoints")
    _one_line_error(capsys, ["coach", str(tmp_path / "missing.mp4"), "--benchmark", str(bench), *outs], "not found")
    _one_line_error(capsys, ["coach", str(half), "--benchmark", str(bench), "--plot", "x.jpg"], "--plot must end in .png")
    nobody = _pose_file(tmp_path / "nobody.json", [None] * 10)
    _one_line_error(capsys, ["coach", str(nobody), "--benchmark", str(bench), *outs], "no person found")
    assert not (tmp_path / "o").exists()


def test_a_video_with_no_person_exits_2(media_dir, tmp_path, capsys):
    from realtime.videoio import H264Writer

    empty = tmp_path / "empty.mp4"
    with H264Writer(empty, 5.0, (160, 120)) as w:
        for i in range(6):
            w.write(np.full((120, 160, 3), 40 * i, np.uint8))
    out = tmp_path / "o"
    _one_line_error(capsys, ["coach", str(empty), "--benchmark", str(media_dir / "pose_squats.full.json"),
                             "-o", str(out / "r.json")], "no person found in any of its 6 frame(s)")
    assert not out.exists()


@pytest.mark.slow
def test_real_clips_half_speed_mirrored_and_another_exercise(media_dir, tmp_path, capsys):
    """The issue's measurements on real footage (each clip estimated with MediaPipe)."""
    from realtime.media import VideoReader
    from realtime.videoio import H264Writer

    src = media_dir / "pose_squats.mp4"
    with VideoReader(src) as r:
        frames = [f for _, _, f in r]
    h, w = frames[0].shape[:2]
    half, mirror = tmp_path / "half.mp4", tmp_path / "mirror.mp4"
    with H264Writer(half, 5.0, (w, h)) as wh, H264Writer(mirror, 5.0, (w, h)) as wm:
        for f in frames[4:]:
            wh.write(f)
            wh.write(f)
        for f in frames:
            wm.write(cv2.flip(f, 1))
    bench = tmp_path / "bench.json"
    assert main(["pose", str(src), "--layout", "mediapipe33", "-o", str(bench)]) == 0   # estimated once

    def coach(video, *extra):
        assert main(["coach", str(video), "--benchmark", str(bench), "-o", str(tmp_path / "r.json"), *extra]) == 0
        return json.loads((tmp_path / "r.json").read_text())

    d = coach(half)
    assert d["score"] >= 90 and len(d["reps"]) == 3 and 1.7 <= d["tempo_ratio"] <= 2.3
    m = coach(mirror, "--mirror")
    assert m["score"] >= 90 and m["mirrored"]
    other = coach(media_dir / "basketball_dribble.mp4")
    assert other["score"] <= d["score"] - 15
