"""scripts/noise_band.py: the noise is seeded, small and clipped; the band is the seeds' min, max and
spread; the run as rendered is `repose evaluate`'s own figure and a noisy run differs from it; bad
input exits 2 with one line and writes nothing."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from scripts import noise_band

ROOT = Path(__file__).resolve().parents[1]


def test_noise_is_seeded_small_and_clipped():
    img = np.zeros((60, 80, 3), np.uint8)
    img[:, 40:] = 255
    a = noise_band.noisy(img, 2.0, np.random.default_rng(1))
    b = noise_band.noisy(img, 2.0, np.random.default_rng(1))
    c = noise_band.noisy(img, 2.0, np.random.default_rng(2))
    assert a.dtype == np.uint8 and np.array_equal(a, b) and not np.array_equal(a, c)
    d = a.astype(int) - img
    # black stays >= 0 and white <= 255 (clipped, not wrapped); the rest moves by a few grey levels
    assert (d[:, :40] >= 0).all() and (d[:, 40:] <= 0).all() and np.abs(d).max() <= 12
    mid = np.full((200, 200, 3), 128, np.uint8)
    m = noise_band.noisy(mid, 2.0, np.random.default_rng(3)).astype(float) - 128
    assert abs(m.mean()) < 0.05 and 1.8 < m.std() < 2.2


def test_band_is_min_max_spread_of_the_seeds_and_table_lists_every_run():
    runs = [{"bone_deg": 3.2, "akd_256": 1.6, "mouth_corr": None}, {"bone_deg": 3.5, "akd_256": 1.5, "mouth_corr": 0.9}]
    b = noise_band.band(runs)
    assert b["bone_deg"] == {"min": 3.2, "max": 3.5, "spread": pytest.approx(0.3)}
    assert b["akd_256"]["spread"] == pytest.approx(0.1)
    assert "mouth_corr" not in b          # missing on one seed: no band
    text = noise_band.table("clip", {"bone_deg": 3.1, "akd_256": 1.7}, runs, 2.0)
    assert "| as rendered | 3.1 | 1.7 |" in text and "| seed 1 | 3.5 | 1.5 |" in text
    assert "| spread | 0.3 | 0.1 |" in text


@pytest.mark.parametrize("argv, says", [
    (["--self", "pose_1.mp4", "--seeds", "1"], "--seeds 1: out of range"),
    (["--self", "pose_1.mp4", "--sigma", "0"], "--sigma 0"),
    (["--cross", "pose_1.mp4"], "expected IMAGE:CLIP"),
    (["--self", "no_such_clip.mp4"], "no_such_clip.mp4"),
    (["--self", "pose_1.mp4", "--neutral", "sideways"], "invalid choice"),
])
def test_bad_input_exits_2_with_one_line(media_dir, tmp_path, argv, says):
    out = tmp_path / "band.json"
    done = subprocess.run([sys.executable, str(ROOT / "scripts" / "noise_band.py"), *argv, "--media", str(media_dir),
                           "--json", str(out)], capture_output=True, text=True, timeout=120, cwd=ROOT)
    assert done.returncode == 2 and done.stdout == ""
    assert len(done.stderr.strip().splitlines()) == 1 and says in done.stderr, done.stderr
    assert not out.exists()


@pytest.mark.slow
def test_as_rendered_is_evaluates_figure_and_noise_moves_it(capsys, tmp_path, media_dir):
    """On a few frames of a full-body clip: the run as rendered reports what `repose evaluate` does;
    the noisy runs are re-read from other pixels (their whole-frame L1 against the real frames rises)."""
    from realtime.app.cli import main

    n = 4
    assert main(["evaluate", "--driver", str(media_dir / "pose_squats.mp4"), "--self", "--max-frames", str(n),
                 "--json"]) == 0
    cli = json.loads(capsys.readouterr().out)
    out = tmp_path / "band.json"
    assert noise_band.main(["--self", "pose_squats.mp4", "--max-frames", str(n), "--seeds", "2", "--media", str(media_dir),
                    "--json", str(out)]) == 0
    got = json.loads(out.read_text())
    assert got["as_rendered"]["bone_deg"] == pytest.approx(cli["bone_deg"], abs=1e-9)
    assert got["as_rendered"]["akd_256"] == pytest.approx(cli["akd_256"], abs=1e-9)
    assert all(s["l1"] > got["as_rendered"]["l1"] for s in got["seeds"])
    assert set(got["band"]) >= {"bone_deg", "akd_256"}
    assert "| as rendered |" in capsys.readouterr().out
