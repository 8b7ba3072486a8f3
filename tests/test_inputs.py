"""The one input module (realtime.inputs): spec kinds, frames and poses of every kind, and the commands
that read through it (calibrate takes webcam:N as live does; eval_learned scores as evaluate --self)."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest

from realtime.app.cli import main
from realtime.errors import InputError
from realtime.inputs import InputFrame, kind_of_input, open_input, open_source, parse_input
from realtime.poseio import video_to_dict
from tests.pipeline_fakes import squat_poses

ROOT = Path(__file__).resolve().parents[1]


def _write_folder(folder: Path, n: int = 5) -> Path:
    folder.mkdir()
    for i in range(n):
        cv2.imwrite(str(folder / f"{i:03d}.png"), np.full((24, 32, 3), 10 * i, np.uint8))
    (folder / "notes.txt").write_text("not an image")
    return folder


def test_kinds_of_specs(tmp_path):
    folder = _write_folder(tmp_path / "imgs")
    (tmp_path / "a.jpg").write_bytes(b"x")
    (tmp_path / "a.mp4").write_bytes(b"x")
    (tmp_path / "a.json").write_text("{}")
    assert kind_of_input("webcam:0") == "webcam" and parse_input("webcam:3").target == 3
    assert kind_of_input("2") == "webcam"
    assert kind_of_input("rtsp://cam.local/stream") == "url"
    assert [kind_of_input(p) for p in (folder, tmp_path / "a.jpg", tmp_path / "a.mp4", tmp_path / "a.json")] == \
        ["folder", "image", "video", "json"]


@pytest.mark.parametrize("spec, kwargs, words", [
    ("webcam:x", {}, "expected webcam:N"),
    ("/no/such/clip.mp4", {}, "/no/such/clip.mp4: no such file or folder"),
    ("/no/such/clip.mp4", {"what": "--source", "accept": ("video",)}, "--source '/no/such/clip.mp4' not found: "
                                                                      "expected a video file"),
    ("webcam:0", {"accept": ("video", "image")}, "expected a video file or an image, got webcam:N"),
])
def test_bad_specs_say_what_is_expected(spec, kwargs, words):
    with pytest.raises(InputError, match=words):
        kind_of_input(spec, **kwargs)


def test_unknown_file_kind_and_pose_file_as_source(tmp_path):
    (tmp_path / "notes.txt").write_text("hi")
    with pytest.raises(InputError, match="unknown kind of file .txt"):
        kind_of_input(tmp_path / "notes.txt")
    (tmp_path / "p.json").write_text("{}")
    with pytest.raises(InputError, match="is a pose file"):
        open_source(str(tmp_path / "p.json"))


def test_pose_file_gives_poses_without_frames(tmp_path):
    poses = squat_poses()[:10]
    path = tmp_path / "v.json"
    path.write_text(json.dumps(video_to_dict(poses, 5.0, 720, 1280, "mediapipe33")))
    with open_input(path) as inp:
        assert (inp.kind, inp.fps, inp.total, inp.width, inp.height) == ("json", 5.0, 10, 720, 1280)
        items = list(inp)
    assert [f.index for f in items] == list(range(10)) and items[3].time_s == pytest.approx(0.6)
    assert all(f.image is None and f.pose is not None for f in items)
    with open_input(path, every=3, max_frames=3) as inp:
        assert inp.total == 3 and [f.index for f in inp] == [0, 3, 6]


def test_folder_frames_in_name_order_at_folder_fps(tmp_path):
    folder = _write_folder(tmp_path / "imgs")
    with open_input(folder, estimate=False, folder_fps=10.0) as inp:
        assert inp.kind == "folder" and inp.total == 5
        items = list(inp)
    assert [f.name for f in items] == [f"{i:03d}.png" for i in range(5)]
    assert [int(f.image[0, 0, 0]) for f in items] == [0, 10, 20, 30, 40]
    assert items[2].time_s == pytest.approx(0.2) and all(f.pose is None for f in items)


def test_video_frames_every_and_max_frames(media_dir):
    with open_input(media_dir / "pose_1.mp4", estimate=False, every=2, max_frames=4) as inp:
        assert inp.kind == "video" and inp.total == 4 and inp.fps > 0 and inp.width > 0 and inp.height > 0
        items = list(inp)
    assert [f.index for f in items] == [0, 2, 4, 6]
    assert items[1].time_s == pytest.approx(2 / inp.fps) and items[0].image.shape == (inp.height, inp.width, 3)


def test_video_poses_track_the_person(media_dir):
    with open_input(media_dir / "pose_1.mp4", max_frames=3) as inp:
        items = list(inp)
    assert len(items) == 3 and all(isinstance(f, InputFrame) and f.pose is not None for f in items)
    assert items[0].pose.width == inp.width


def test_still_without_a_person_is_refused_when_a_person_is_needed(tmp_path):
    blank = tmp_path / "blank.png"
    cv2.imwrite(str(blank), np.full((64, 64, 3), 128, np.uint8))
    with open_input(blank) as inp:
        assert inp.kind == "image" and inp.fps == 1.0 and [f.pose for f in inp] == [None]
    with pytest.raises(InputError, match="no person found"):
        open_input(blank, need_person=True)


def test_hold_last_repeats_the_last_target_and_starts_at_rest():
    from engines.reenact import hold_last

    rest, a, b = squat_poses()[:3]
    out = list(hold_last([("f0", None), ("f1", a), ("f2", None), ("f3", b)], rest))
    assert [(item, pose is expected, new) for (item, pose, new), expected in zip(out, [rest, a, a, b])] == \
        [("f0", True, False), ("f1", True, True), ("f2", True, False), ("f3", True, True)]


@pytest.mark.parametrize("spec", ["webcam:97", "97"])
def test_calibrate_takes_webcam_specs_as_live_does(capsys, tmp_path, spec):
    code = main(["calibrate", "--source", spec, "-o", str(tmp_path / "p.json")])
    err = capsys.readouterr().err.strip()
    assert code == 2 and "cannot open camera 97" in err and len(err.splitlines()) == 1
    assert not (tmp_path / "p.json").exists()


def test_calibrate_refuses_a_single_image(capsys, tmp_path, media_dir):
    code = main(["calibrate", "--source", str(media_dir / "pose.jpg"), "-o", str(tmp_path / "p.json")])
    assert code == 2 and "got an image" in capsys.readouterr().err


@pytest.mark.slow
def test_eval_learned_scores_as_evaluate_self(capsys, tmp_path, media_dir):
    """scripts/eval_learned.py runs the code of `repose evaluate --self`: the same figures on the same clip."""
    pytest.importorskip("torch")
    from tests.patn_helpers import save_tiny_checkpoint

    clip = tmp_path / "clip.avi"
    with open_input(media_dir / "pose_1.mp4", estimate=False, max_frames=6) as inp:
        writer = cv2.VideoWriter(str(clip), cv2.VideoWriter_fourcc(*"MJPG"), 25, (inp.width, inp.height))
        for f in inp:
            writer.write(f.image)
    writer.release()
    ckpt = save_tiny_checkpoint(tmp_path)
    assert main(["evaluate", "--driver", str(clip), "--self", "--renderer", "learned", "--checkpoint", str(ckpt),
                 "--backend", "torch", "--json"]) == 0
    cli = json.loads(capsys.readouterr().out)
    report = tmp_path / "report.json"
    done = subprocess.run([sys.executable, str(ROOT / "scripts" / "eval_learned.py"), "--checkpoint", str(ckpt),
                           "--video", str(clip), "--backend", "torch", "--held-out", "0", "-o", str(report)],
                          capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-2000:]
    trained = json.loads(report.read_text())["trained frames"]
    assert trained["n"] == cli["rendered"] == 5
    keys = ("akd_px", "mkr", "l1", "ssim", "psnr", "l1_box", "ssim_box", "psnr_box")
    as_float = lambda d: np.array([np.nan if d[k] is None else d[k] for k in keys], np.float64)  # noqa: E731
    np.testing.assert_allclose(as_float(trained), as_float(cli), rtol=1e-5, atol=1e-9)  # NaN == NaN here
