"""`repose render`, `demo`, `evaluate` and `calibrate` through the CLI (in-process)."""
from __future__ import annotations

import json
import math

import cv2
import numpy as np
import pytest

from realtime.app.demo.figure import draw_figure
from realtime.app.cli import main
from realtime.media import VideoReader
from realtime.poseio import load_pose_video


def run_cli(capsys, *argv):
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture(scope="module")
def figure_png(tmp_path_factory):
    path = tmp_path_factory.mktemp("ref") / "figure.png"
    cv2.imwrite(str(path), draw_figure().image)
    return path


def count_frames(path) -> int:
    with VideoReader(path) as r:
        return sum(1 for _ in r)


def test_render_pose_file_to_png(capsys, tmp_path, figure_png, media_dir):
    code, out, err = run_cli(capsys, "pose", media_dir / "pose.jpg", "-o", tmp_path / "p.json")
    assert code == 0, err
    code, out, err = run_cli(capsys, "render", "--reference", figure_png, "--pose", tmp_path / "p.json",
                             "-o", tmp_path / "out.png", "--side-by-side", "--targets-out", tmp_path / "t.json")
    assert code == 0, err
    img = cv2.imread(str(tmp_path / "out.png"))
    assert img.shape[0] == 640 and img.shape[1] > 480           # driver panel | render
    ref = cv2.imread(str(figure_png))
    assert np.abs(img[:, -480:].astype(int) - ref.astype(int)).mean() > 2  # the figure took the yoga pose
    targets = load_pose_video(tmp_path / "t.json")
    assert len(targets.poses) == 1 and targets.width == 480


def test_render_video_one_frame_per_driver_frame(capsys, tmp_path, media_dir):
    driver = media_dir / "pose_squats.mp4"
    ref = media_dir / "pose.jpg"
    code, out, err = run_cli(capsys, "render", "--reference", ref, "--driver", driver, "-o", tmp_path / "o.mp4",
                             "--targets-out", tmp_path / "t.json")
    assert code == 0, err
    n_driver = count_frames(driver)
    assert count_frames(tmp_path / "o.mp4") == n_driver
    with VideoReader(tmp_path / "o.mp4") as r:
        # the reference's size; H.264 (yuv420p) pads the odd height by one row
        assert (r.info.width, r.info.height) == (1000, 668)
    targets = load_pose_video(tmp_path / "t.json")
    assert len(targets.poses) == n_driver and all(p is not None for p in targets.poses)
    assert (targets.width, targets.height) == (1000, 667)


@pytest.mark.parametrize("argv, message", [
    (["--reference", "missing.jpg", "--pose", "x.json", "-o", "o.png"], "no such file"),
    (["--reference", "{fig}", "--pose", "{fig}", "-o", "o.png"], "must be a .json pose file"),
    (["--reference", "{fig}", "--driver", "{media}/pose_1.mp4", "-o", "o.png"], "to a video"),
    (["--reference", "{fig}", "--pose", "x.json", "-o", "o.gif"], "must end in"),
    (["--reference", "{fig}", "--pose", "x.json", "-o", "o.png", "--calibration", "nope.json"], "calibration profile"),
])
def test_render_bad_input(capsys, tmp_path, figure_png, media_dir, argv, message, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "x.json").write_text(json.dumps({"layout": "coco17", "width": 10, "height": 10,
                                                 "names": [], "keypoints": None}))
    argv = [a.format(fig=figure_png, media=media_dir) for a in argv]
    code, out, err = run_cli(capsys, "render", *argv)
    assert code == 2
    assert message in err and "Traceback" not in err
    assert not (tmp_path / "o.png").exists()


def test_demo_runs_and_reports(capsys, tmp_path):
    out_path = tmp_path / "demo.mp4"
    code, out, err = run_cli(capsys, "demo", "-o", out_path, "--motions", "wave,squat", "--fps", "6")
    assert code == 0, err
    assert "AKD" in out and "MKR" in out and "fps" in out
    akd = float(out.split("AKD: ")[1].split(" px")[0])
    mkr = float(out.split("MKR: ")[1].split()[0])
    assert 0 <= akd < 20 and 0 <= mkr <= 0.2
    assert count_frames(out_path) == 2 * 18
    with VideoReader(out_path) as r:
        assert (r.info.width, r.info.height) == (960, 640)


def test_evaluate_self_returns_finite_numbers(capsys, media_dir):
    code, out, err = run_cli(capsys, "evaluate", "--driver", media_dir / "pose_1.mp4", "--self",
                             "--max-frames", "10", "--json")
    assert code == 0, err
    data = json.loads(out)
    for key in ("akd_px", "akd_256", "mkr", "bone_deg", "l1", "ssim", "psnr", "l1_box", "ssim_box", "psnr_box",
                "l1_ghost", "render_fps"):
        assert data[key] is not None and math.isfinite(data[key]), key
    assert data["rendered"] == 9 and 0 <= data["mkr"] <= 1 and 0 < data["ssim"] <= 1 and data["retarget"] is True
    assert data["neutral"] == "auto"


def test_evaluate_reference_with_driver(capsys, media_dir, figure_png):
    code, out, err = run_cli(capsys, "evaluate", "--reference", figure_png, "--driver",
                             media_dir / "basketball_dribble.mp4", "--max-frames", "8", "--json")
    assert code == 0, err
    data = json.loads(out)
    assert math.isfinite(data["akd_256"]) and "l1" not in data


def test_evaluate_needs_reference_or_self(capsys, media_dir):
    code, out, err = run_cli(capsys, "evaluate", "--driver", media_dir / "pose_1.mp4")
    assert code == 2 and "--self" in err


def test_evaluate_self_from_another_reference_frame(capsys, media_dir):
    code, out, err = run_cli(capsys, "evaluate", "--driver", media_dir / "pose_1.mp4", "--self",
                             "--reference-frame", "4", "--max-frames", "6", "--json", "--no-face", "--no-hands")
    assert code == 0, err
    data = json.loads(out)
    assert data["reference"] == "frame 4" and data["rendered"] == 5    # frames 0-3 and 5: every other one


@pytest.mark.parametrize("args, words", [
    (("--reference-frame", "3"), "add --self"),
    (("--self", "--reference-frame", "-1"), "expected 0 <= reference-frame"),
    (("--self", "--reference-frame", "9", "--max-frames", "4"), "holds no frame 9"),
    (("--neutral", "auto"), "add --self"),
    (("--self", "--neutral", "auto", "--no-retarget"), "drop it with --no-retarget"),
])
def test_evaluate_reference_frame_bad_input(capsys, media_dir, args, words):
    code, out, err = run_cli(capsys, "evaluate", "--driver", media_dir / "pose_1.mp4", *args)
    assert code == 2 and words in err, err
    assert len(err.strip().splitlines()) == 1


def still_frames(folder, img, n: int = 20):
    """``img`` filmed ``n`` times with camera shake and noise, as numbered PNGs in ``folder``."""
    rng = np.random.default_rng(0)
    folder.mkdir()
    h, w = img.shape[:2]
    for i in range(n):
        m = np.float32([[1, 0, rng.normal(0, 0.7)], [0, 1, rng.normal(0, 0.7)]])
        f = cv2.warpAffine(img, m, (w, h), borderMode=cv2.BORDER_REFLECT)
        f = np.clip(f + rng.normal(0, 4, f.shape), 0, 255).astype(np.uint8)
        cv2.imwrite(str(folder / f"{i:03d}.png"), f)
    return folder


def test_calibrate_from_still_frames(capsys, tmp_path, media_dir):
    """A neutral figure filmed 20 times with camera noise: the capture completes, the jitter is small."""
    from realtime.app.demo.figure import draw_figure

    folder = still_frames(tmp_path / "still", draw_figure().image)
    code, out, err = run_cli(capsys, "calibrate", "--source", folder, "-o", tmp_path / "p.json", "--seconds", "1")
    assert code == 0, err
    from calibration.profile import CalibrationProfile

    p = CalibrationProfile.load(tmp_path / "p.json")
    assert p.frames >= 5 and p.neutral.layout.name == "mediapipe33"
    assert 0 < np.median(list(p.jitter_px.values())) < 5
    assert "jitter" in out and "thresholds" in out
    # the profile drives a render
    code, out, err = run_cli(capsys, "render", "--reference", media_dir / "pose.jpg", "--driver", folder / "000.png",
                             "--calibration", tmp_path / "p.json", "-o", tmp_path / "r.png")
    assert code == 0, err


def test_calibrate_refuses_a_pose_that_is_not_neutral(capsys, tmp_path, media_dir):
    """pose.jpg (arms stretched out, a lunge) held still is steady but not neutral: no profile."""
    folder = still_frames(tmp_path / "still", cv2.resize(cv2.imread(str(media_dir / "pose.jpg")), (600, 400)))
    code, out, err = run_cli(capsys, "calibrate", "--source", folder, "-o", tmp_path / "p.json", "--seconds", "1")
    assert code == 2 and "not neutral" in err and "arm down" in err
    assert not (tmp_path / "p.json").exists()


def test_calibrate_on_a_given_frame_takes_it_as_it_is(capsys, tmp_path, media_dir):
    """--frame N: pose.jpg (not neutral) is the neutral as it is, one frame, said so on stdout, and the
    profile drives a render of that same photo; a frame past the end exits 2 with one line."""
    from calibration.profile import CalibrationProfile

    folder = still_frames(tmp_path / "still", cv2.resize(cv2.imread(str(media_dir / "pose.jpg")), (600, 400)), n=4)
    code, out, err = run_cli(capsys, "calibrate", "--source", folder, "--frame", 2, "-o", tmp_path / "p.json")
    assert code == 0, err
    assert err == "" and "not a neutral pose" in out and "arm down" in out
    p = CalibrationProfile.load(tmp_path / "p.json")
    assert p.frames == 1 and p.source.endswith("frame 2") and p.body_size_px > 0
    code, out, err = run_cli(capsys, "render", "--reference", folder / "002.png", "--driver", folder / "002.png",
                             "--calibration", tmp_path / "p.json", "-o", tmp_path / "r.png")
    assert code == 0, err
    code, out, err = run_cli(capsys, "calibrate", "--source", folder, "--frame", 9, "-o", tmp_path / "q.json")
    assert code == 2 and "holds no frame 9" in err and len(err.strip().splitlines()) == 1
    assert not (tmp_path / "q.json").exists()


def test_calibrate_moving_clip_fails_clearly(capsys, tmp_path, media_dir):
    code, out, err = run_cli(capsys, "calibrate", "--source", media_dir / "pose_squats.mp4", "-o", tmp_path / "p.json")
    assert code == 2 and "no neutral pose captured" in err
    assert not (tmp_path / "p.json").exists()
