"""The `gpu` benchmark suite: registered, and on a machine without CUDA it says so and exits 0."""
from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def _load(name: str):
    spec = importlib.util.spec_from_file_location(name, ROOT / "scripts" / f"{name}.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_suite_is_registered():
    assert "gpu" in _load("benchmark").SUITES


def test_sizes_and_feeds():
    bench = _load("bench_gpu")
    assert bench.parse_sizes("256x176, 512X352") == [(256, 176), (512, 352)]
    with pytest.raises(SystemExit, match="HxW"):
        bench.parse_sizes("256")
    feeds = bench.make_feeds(256, 176)
    assert {k: v.shape for k, v in feeds.items()} == {
        "cond_image": (1, 3, 256, 176), "cond_pose": (1, 18, 256, 176), "target_pose": (1, 18, 256, 176)}


def test_without_cuda_it_says_so_and_exits_0():
    bench = _load("bench_gpu")
    why = bench.cuda_status()
    if why is None:
        pytest.skip("a CUDA GPU is present: the suite would measure instead (run it by hand, see README)")
    res = subprocess.run([sys.executable, "scripts/benchmark.py", "gpu"], cwd=ROOT, capture_output=True,
                         text=True, timeout=300)
    assert res.returncode == 0, res.stderr
    assert "GPU: not measured here: " in res.stdout and "(no rows)" in res.stdout
    assert why in res.stdout


def test_plot_of_measured_rows(tmp_path):
    cv2 = pytest.importorskip("cv2")
    bench = _load("bench_gpu")
    rows = [{"size": "256x176", "variant": "torch fp32 eager", "ms/frame": 12.0, "fps": 83.3, "speedup": 1.0},
            {"size": "256x176", "variant": "torch fp16 + channels_last + CUDA graph", "ms/frame": 3.0, "fps": 333.0,
             "speedup": 4.0},
            {"size": "512x352", "variant": "torch fp32 eager", "ms/frame": 40.0, "fps": 25.0, "speedup": 1.0},
            {"size": "512x352", "variant": "TensorRT fp16", "ms/frame": None, "fps": None, "speedup": None}]
    out = bench.plot_rows(rows, tmp_path / "chart.png", "test chart")
    img = cv2.imread(str(out))
    assert img is not None and img.shape[0] > 100 and img.shape[1] > 500
    assert img.std() > 10  # not a blank canvas
    with pytest.raises(ValueError):
        bench.plot_rows(rows[3:], tmp_path / "none.png", "nothing measured")
    assert not (tmp_path / "none.png").exists()
