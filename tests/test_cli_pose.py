"""The CLI contract of `repose pose`, `compare` and `search` (run in-process through main())."""
import json
import subprocess
import sys

import cv2
import numpy as np
import pytest

from realtime.app.cli import main
from realtime.layouts import COCO17


def run_cli(capsys, *argv):
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


def test_pose_image_default_format(capsys, media_dir, tmp_path):
    code, out, err = run_cli(capsys, "pose", media_dir / "pose.jpg", "--draw", tmp_path / "d.png")
    assert code == 0
    data = json.loads(out)
    assert set(data) >= {"layout", "width", "height", "names", "keypoints"}
    assert data["layout"] == "coco17" and (data["width"], data["height"]) == (1000, 667)
    assert data["names"] == list(COCO17.names) and len(data["keypoints"]) == 17
    drawn = cv2.imread(str(tmp_path / "d.png"))
    assert drawn.shape == (667, 1000, 3)
    assert np.abs(drawn.astype(int) - cv2.imread(str(media_dir / "pose.jpg")).astype(int)).sum() > 0


def test_pose_formats_and_layouts(capsys, media_dir, tmp_path):
    assert run_cli(capsys, "pose", media_dir / "pose.jpg", "--layout", "openpose18", "-o", tmp_path / "a.json")[0] == 0
    assert len(json.loads((tmp_path / "a.json").read_text())["keypoints"]) == 18
    assert run_cli(capsys, "pose", media_dir / "pose.jpg", "--format", "openpose", "-o", tmp_path / "o.json")[0] == 0
    assert len(json.loads((tmp_path / "o.json").read_text())["people"][0]["pose_keypoints_2d"]) == 54
    code, out, _ = run_cli(capsys, "pose", media_dir / "pose.jpg", "--format", "coco")
    assert code == 0 and len(json.loads(out)["annotations"]) == 1


def test_pose_no_person_is_null(capsys, tmp_path):
    blank = tmp_path / "blank.png"
    cv2.imwrite(str(blank), np.full((240, 320, 3), 128, np.uint8))
    code, out, err = run_cli(capsys, "pose", blank)
    assert code == 0 and json.loads(out)["keypoints"] is None and "no person" in err


def test_pose_video_and_search(capsys, media_dir, tmp_path):
    lib = tmp_path / "squats.json"
    code, _, err = run_cli(capsys, "pose", media_dir / "pose_squats.mp4", "-o", lib, "--draw", tmp_path / "s.png")
    assert code == 0 and "65/65" in err
    data = json.loads(lib.read_text())
    assert data["fps"] == pytest.approx(5.0) and len(data["frames"]) == 65
    assert [f["index"] for f in data["frames"]] == list(range(65))
    assert data["frames"][10]["time_s"] == pytest.approx(2.0)
    assert cv2.imread(str(tmp_path / "s.png")) is not None
    # a frame of the library is its own nearest neighbour
    frame = dict(data, keypoints=data["frames"][30]["keypoints"])
    del frame["frames"], frame["fps"]
    (tmp_path / "q.json").write_text(json.dumps(frame))
    code, out, _ = run_cli(capsys, "search", "--library", lib, tmp_path / "q.json", "-k", "3", "--json")
    hits = json.loads(out)
    assert code == 0 and hits["library_size"] == 65 and len(hits["matches"]) == 3
    assert hits["matches"][0]["frame"] == 30 and hits["matches"][0]["cosine_similarity"] == pytest.approx(1.0)
    code, out, _ = run_cli(capsys, "search", "--library", lib, tmp_path / "q.json")
    assert code == 0 and "frame 30" in out.splitlines()[2]


def test_openpose_video_output_is_one_file_per_frame(capsys, media_dir, tmp_path):
    code, _, _ = run_cli(capsys, "pose", media_dir / "pose_squats.mp4", "--format", "openpose", "-o", tmp_path / "op")
    files = sorted((tmp_path / "op").glob("pose_squats_*_keypoints.json"))
    assert code == 0 and len(files) == 65 and files[0].name == "pose_squats_000000000000_keypoints.json"


def test_compare_images_and_json(capsys, media_dir, tmp_path):
    assert run_cli(capsys, "pose", media_dir / "pose.jpg", "--format", "openpose", "-o", tmp_path / "p.json")[0] == 0
    code, out, _ = run_cli(capsys, "compare", media_dir / "pose.jpg", tmp_path / "p.json", "--draw",
                           tmp_path / "c.png", "-o", tmp_path / "c.json")
    data = json.loads(out)
    assert code == 0
    assert set(data) >= {"cosine_similarity", "euclidean_distance", "weighted_distance", "keypoints_used",
                         "joint_angle_errors_deg"}
    assert data["cosine_similarity"] > 0.9999 and data["keypoints_used"] == 17
    assert set(data["joint_angle_errors_deg"]) == {f"{s}_{j}" for s in ("left", "right")
                                                   for j in ("elbow", "shoulder", "hip", "knee")}
    assert json.loads((tmp_path / "c.json").read_text()) == data
    assert cv2.imread(str(tmp_path / "c.png")).shape[1] == 1024


def test_compare_mirror(capsys, media_dir, tmp_path):
    flipped = tmp_path / "flipped.jpg"
    cv2.imwrite(str(flipped), cv2.flip(cv2.imread(str(media_dir / "pose.jpg")), 1))
    plain = json.loads(run_cli(capsys, "compare", media_dir / "pose.jpg", flipped)[1])
    mirrored = json.loads(run_cli(capsys, "compare", media_dir / "pose.jpg", flipped, "--mirror")[1])
    assert mirrored["mirrored"] and mirrored["cosine_similarity"] > plain["cosine_similarity"]
    assert mirrored["cosine_similarity"] > 0.999


@pytest.mark.parametrize("name, content, message", [
    ("missing.jpg", None, "no such file"),
    ("bad.jpg", b"not an image", "not a readable image"),
    ("empty.mp4", b"", "video"),
    ("corrupt.mp4", b"\x00" * 4096, "video"),
    ("notes.txt", b"hi", "unknown kind of file"),
])
def test_pose_bad_input_exits_2(capsys, tmp_path, name, content, message):
    path = tmp_path / name
    if content is not None:
        path.write_bytes(content)
    code, out, err = run_cli(capsys, "pose", path, "-o", tmp_path / "out.json")
    assert code == 2 and message in err and "Traceback" not in err
    assert len(err.strip().splitlines()) == 1
    assert not (tmp_path / "out.json").exists()


def test_compare_bad_inputs_exit_2(capsys, tmp_path, media_dir):
    (tmp_path / "wrong.json").write_text(json.dumps({"hello": 1}))
    code, _, err = run_cli(capsys, "compare", tmp_path / "wrong.json", media_dir / "pose.jpg")
    assert code == 2 and "wrong shape" in err
    blank = tmp_path / "blank.png"
    cv2.imwrite(str(blank), np.zeros((200, 200, 3), np.uint8))
    code, _, err = run_cli(capsys, "compare", blank, media_dir / "pose.jpg")
    assert code == 2 and "no person found" in err
    code, _, err = run_cli(capsys, "compare", media_dir / "pose.jpg", media_dir / "pose.jpg", "--draw", tmp_path / "x.gif")
    assert code == 2 and "--draw must end in" in err and not (tmp_path / "x.gif").exists()


def test_console_script_usage_error_exits_2():
    r = subprocess.run([sys.executable, "-m", "realtime", "pose"], capture_output=True, text=True)
    assert r.returncode == 2 and "INPUT" in r.stderr and "Traceback" not in r.stderr
    r = subprocess.run([sys.executable, "-m", "realtime", "--help"], capture_output=True, text=True)
    assert r.returncode == 0 and all(c in r.stdout for c in ("pose", "compare", "search"))
