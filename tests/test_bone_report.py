"""scripts/bone_report.py --akd: AKD per COCO-17 keypoint from engines.evaluation's own distances (the
parts sum to `repose evaluate`'s AKD@256), --neutral and --max-frames 0 passed to evaluate's path,
and bad input: exit 2 with one line."""
from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest

from engines.evaluation import KeypointScores, keypoint_distances_px
from realtime.layouts import COCO17
from realtime.pose import Pose

ROOT = Path(__file__).resolve().parents[1]


def _load():
    spec = importlib.util.spec_from_file_location("bone_report", ROOT / "scripts" / "bone_report.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def _pose(rng, score=None) -> Pose:
    xy = rng.uniform(-40, 680, (17, 2)).astype(np.float32)
    return Pose(xy, rng.uniform(0, 1, 17).astype(np.float32) if score is None else score, COCO17)


def test_per_keypoint_distances_pool_to_akd_unchanged():
    """The pooled per-keypoint distances are KeypointScores' AKD (px and @256) and MKR, as computed
    before the distances were exposed (norm over the keypoints present in both, summed in float32)."""
    rng = np.random.default_rng(3)
    scores, sums, matched, missing, expected = KeypointScores(), 0.0, 0, 0, 0
    for _ in range(40):
        t, f = _pose(rng), _pose(rng)
        scores.add(t, f, 480)
        both = (t.score >= 0.5) & (f.score >= 0.5)
        sums += float(np.linalg.norm(t.xy[both] - f.xy[both], axis=1).sum())
        matched, expected = matched + int(both.sum()), expected + int((t.score >= 0.5).sum())
        missing += int(((t.score >= 0.5) & ~(f.score >= 0.5)).sum())
        d = keypoint_distances_px(t, f)
        assert np.array_equal(np.isfinite(d), both)
    assert scores.akd_px == sums / matched
    assert scores.akd_256 == sums * (256 / 480) / matched
    assert scores.mkr == missing / expected
    assert np.isnan(keypoint_distances_px(t, None)).all()


def test_akd_table_parts_sum_to_akd_and_outside_share():
    br = _load()
    rng = np.random.default_rng(5)
    rows = []
    for _ in range(30):
        t, f = _pose(rng), _pose(rng)
        rows.append(br._keypoint_row(t, f, f, np.zeros((480, 640, 3), np.uint8), np.zeros((480, 640, 3), np.uint8)))
    tab = br.akd_table(rows)
    d = np.array([r["akd"] for r in rows], np.float64)
    assert np.nansum(tab["part"]) == pytest.approx(np.nanmean(d), rel=1e-12)
    assert np.nansum(tab["share"]) == pytest.approx(1.0)
    out = np.array([r["outside"] for r in rows])
    assert out.any() and tab["outside_all"] == pytest.approx(out.sum() / np.array([r["present"] for r in rows]).sum())
    assert np.allclose(tab["floor"], tab["mean"], equal_nan=True)   # the floor pose is the output pose here


def test_max_frames_0_is_the_whole_clip_and_neutral_reaches_evaluate(media_dir):
    br = _load()
    args = SimpleNamespace(media=str(media_dir), max_frames=0, no_retarget=False, neutral="reference", option=[])
    ns = br.evaluate_args("pose_1.mp4", args)
    assert ns.max_frames is None and ns.neutral == "reference" and ns.self_reenact
    args.max_frames = 7
    assert br.evaluate_args("pose_1.mp4", args).max_frames == 7


@pytest.mark.parametrize("argv, says", [
    (["--self", "pose_1.mp4", "--max-frames", "-1"], "--max-frames -1: out of range"),
    (["--self", "no_such_clip.mp4"], "no_such_clip.mp4"),
    (["--cross", "pose.jpg:pose_1.mp4", "--neutral", "reference"], "--neutral"),
    (["--self", "pose_1.mp4", "--max-frames", "1"], "--max-frames must be at least 2"),
    (["--self", "pose_1.mp4", "--neutral", "sideways"], "invalid choice"),
    (["--self", "pose_1.mp4", "--head-limit", "-0.1"], "--head-limit -0.1: out of range"),
])
def test_bad_input_exits_2_with_one_line(media_dir, tmp_path, argv, says):
    done = subprocess.run([sys.executable, str(ROOT / "scripts" / "bone_report.py"), *argv, "--media", str(media_dir),
                           "--out", str(tmp_path / "out")], capture_output=True, text=True, timeout=120, cwd=ROOT)
    assert done.returncode == 2 and done.stdout == ""
    assert len(done.stderr.strip().splitlines()) == 1 and says in done.stderr, done.stderr
    assert not (tmp_path / "out").exists()


@pytest.mark.slow
def test_akd_parts_sum_to_evaluates_akd(capsys, tmp_path, media_dir):
    """On a slice of a webcam clip, the per-keypoint parts sum to what `repose evaluate` reports for
    the same run; the sheet of the worst frames is written."""
    from realtime.app.cli import main

    br = _load()
    clip, n = "webcam_signing.mp4", 6
    assert main(["evaluate", "--driver", str(media_dir / clip), "--self", "--neutral", "reference",
                 "--max-frames", str(n), "--json"]) == 0
    cli = json.loads(capsys.readouterr().out)
    assert br.main(["--self", clip, "--neutral", "reference", "--akd", "--max-frames", str(n), "--worst", "3",
                    "--media", str(media_dir), "--out", str(tmp_path)]) == 0
    printed = capsys.readouterr().out
    import pickle

    got = pickle.loads((tmp_path / "webcam_signing.pkl").read_bytes())
    tab = br.akd_table([dict(zip(("akd", "akd_floor", "present", "outside"), r)) for r in
                        zip(got["akd"], got["akd_floor"], got["present"], got["outside"])])
    assert len(got["akd"]) == cli["rendered"] == n - 1
    assert float(np.nansum(tab["part"])) == pytest.approx(cli["akd_256"], abs=5e-4)
    assert got["summary"]["akd_256"] == pytest.approx(cli["akd_256"], abs=5e-4)
    floor = np.array([r for r in got["akd_floor"]], np.float64)
    assert float(np.nanmean(floor)) == pytest.approx(cli["floor_akd_256"], abs=5e-4)
    assert "| keypoint | mean AKD | floor |" in printed and "worst frames by AKD" in printed
    sheet = (tmp_path / "webcam_signing_akd.jpg")
    assert sheet.stat().st_size > 10_000


@pytest.mark.slow
def test_reference_frame_and_reestimate_reach_the_run_as_in_evaluate(media_dir):
    """`--option reference-frame=N` makes frame N the reference and every other frame a target, the
    earlier ones too, as `repose evaluate --reference-frame N` does (the report once took frame 0
    whatever was asked); `--option reestimate=image` re-reads in image mode."""
    br = _load()
    args = SimpleNamespace(media=str(media_dir), max_frames=5, no_retarget=False, neutral="reference",
                           option=["reference-frame=3", "reestimate=image"], akd=False, worst=0)
    got = br.run("webcam_signing.mp4", args)
    assert [r["i"] + 1 for r in got["rows"]] == [0, 1, 2, 4]   # a row's i is its frame index - 1
    assert got["summary"]["reestimate"] == "image"


def test_run_names_stay_inside_out_whatever_paths_are_given():
    """A clip or photo given by its whole path names its outputs by stem: they land in --out, not
    beside the media."""
    br = _load()
    assert br._run_name("/data/media/pose_1.mp4") == "pose_1"
    assert br._run_name("/data/pose.jpg:/data/media/pose_squats.mp4") == "pose_by_pose_squats"
    assert br._run_name("pose_1.mp4") == "pose_1"


def test_carried_takes_points_through_the_mesh_and_nan_outside():
    """A mesh moved by one affine carries any point inside it by that affine; a vertex moved alone
    carries itself to its destination (and a point halfway to it, half as far); outside: NaN."""
    from scipy.spatial import Delaunay

    br = _load()
    rng = np.random.default_rng(3)
    src = np.vstack([rng.uniform(0, 100, (40, 2)), [[-10, -10], [110, -10], [110, 110], [-10, 110]]])
    lin = np.array([[1.1, -0.2], [0.15, 0.9]])
    pts = rng.uniform(5, 95, (25, 2))
    np.testing.assert_allclose(br.carried(pts, src, src @ lin.T + (3.0, -4.0)), pts @ lin.T + (3.0, -4.0),
                               atol=1e-9)
    dst = src.copy()
    dst[0] += (2.0, -1.0)
    np.testing.assert_allclose(br.carried(src[:1], src, dst), dst[:1], atol=1e-9)
    tri = Delaunay(src).simplices
    t = tri[np.flatnonzero((tri == 0).any(axis=1))[0]]
    mid = 0.5 * src[0] + 0.25 * src[t[t != 0][0]] + 0.25 * src[t[t != 0][1]]
    np.testing.assert_allclose(br.carried(mid[None], src, dst)[0], mid + 0.5 * np.array([2.0, -1.0]), atol=1e-9)
    assert np.isnan(br.carried([[500.0, 500.0]], src, dst)).all()


def test_placement_line_separates_drawing_from_reading():
    """Face points drawn exactly on the target (a similarity of it) place at 0 degrees; points re-read
    with the nose 1 px lower count that bone error; a face point the target lacks counts in neither."""
    br = _load()
    ix = [COCO17.index[n] for n in ("nose", "left_eye", "right_eye", "left_ear", "right_ear")]
    xy = np.zeros((17, 2), np.float32)
    xy[ix] = [[100, 105], [104, 100], [96, 100], [110, 102], [90, 102]]
    score = np.ones(17, np.float32)
    read = xy.copy()
    read[ix[0], 1] += 1.0
    drawn = 2.0 * xy[ix].astype(np.float64) + (7.0, -3.0)
    line = br.placement_line([{"poses": [(xy, score), (read, score), None], "drawn": drawn}])
    assert "(placement) 0.00" in line
    want = np.nanmean(br.face_bone_angles(read[ix], xy[ix]))
    assert want > 1.0 and f"re-read vs target {want:.2f}" in line
    lacking = score.copy()
    lacking[ix[3]] = 0.0
    line = br.placement_line([{"poses": [(xy, lacking), (read, score), None], "drawn": drawn}])
    angles = br.face_bone_angles(read[ix], np.where(np.arange(5)[:, None] == 3, np.nan, xy[ix]))
    assert np.isnan(angles[3]) and f"re-read vs target {np.nanmean(angles):.2f}" in line
