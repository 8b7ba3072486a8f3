"""Training on a shared clip: the loss goes down, the run folder is complete, runs resume."""
from __future__ import annotations

import csv
import json

import numpy as np
import pytest

from realtime.errors import InputError

pytest.importorskip("torch", reason="training needs torch (pip install '.[train]')")


def _rows(path):
    with open(path, newline="") as fh:
        return [{k: float(v) for k, v in r.items()} for r in csv.DictReader(fh)]


@pytest.fixture(scope="module")
def trained(media_dir, tmp_path_factory):
    """A tiny generator trained 40 steps on the first 40 frames of pose_1.mp4.

    lr 1e-3 (5x the thesis' 2e-4) so that a few dozen steps show progress; the losses are the thesis'.
    """
    from engines.learned.datasets import DataOptions
    from engines.learned.training import TrainOptions, train

    out = tmp_path_factory.mktemp("runs") / "tiny"
    opts = TrainOptions(data=[media_dir / "pose_1.mp4"], out=out, config="tiny", epochs=5, batch_size=4, lr=1e-3,
                        max_steps=40, log_every=5, sample_every=20, checkpoint_every=0, progress=False,
                        data_options=DataOptions(max_frames=40, max_pairs=400))
    return out, train(opts)


@pytest.mark.slow
def test_loss_goes_down_and_the_run_folder_is_complete(trained):
    out, summary = trained
    assert summary["steps"] == 40 and summary["perceptual"] == "feature-matching"
    rows = _rows(out / "losses.csv")
    assert [r["step"] for r in rows] == list(range(5, 45, 5))
    first, last = rows[0], rows[-1]
    # the reconstruction loss falls (the adversarial parts move as G and D compete: not monotonic)
    assert last["g_l1"] < 0.9 * first["g_l1"], (first, last)
    assert all(np.isfinite(r[k]) for r in rows for k in ("g_gan", "g_perceptual", "d_a", "d_s"))
    for name in ("last.safetensors", "last.json", "last.train.safetensors", "losses.png", "options.json",
                 "samples/step_000020.png", "samples/step_000040.png", "validation.csv"):
        assert (out / name).is_file(), name
    val = _rows(out / "validation.csv")[-1]
    assert 0 <= val["mkr"] <= 1 and 0 < val["l1"] < 1 and -1 <= val["ssim"] <= 1 and val["n"] == 4
    meta = json.loads((out / "last.json").read_text())
    assert meta["training"]["step"] == 40 and meta["perceptual"] == "feature-matching"


@pytest.mark.slow
def test_resume_continues_and_refuses_to_overwrite(trained, media_dir, capsys):
    from realtime.app.cli import main

    out, _ = trained
    base = ["train", "--data", str(media_dir / "pose_1.mp4"), "--out", str(out), "--config", "tiny",
            "--max-frames", "40", "--pairs-per-epoch", "400", "--lr", "1e-3", "--checkpoint-every", "0", "--no-validate"]
    assert main(base + ["--max-steps", "45"]) == 2
    assert "--resume" in capsys.readouterr().err
    assert main(base + ["--max-steps", "50", "--resume"]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["steps"] == 50
    steps = [r["step"] for r in _rows(out / "losses.csv")]
    assert steps[-1] == 50 and steps[:8] == list(range(5, 45, 5))


def test_unusable_data_is_refused(tmp_path, media_dir):
    import cv2

    from engines.learned.datasets import DataOptions, load_data

    with pytest.raises(InputError, match="no such file"):
        load_data([tmp_path / "missing.mp4"], tmp_path)
    with pytest.raises(InputError, match="expected a video"):
        load_data([media_dir / "pose.jpg"], tmp_path)
    noise = tmp_path / "noise.avi"
    w = cv2.VideoWriter(str(noise), cv2.VideoWriter_fourcc(*"MJPG"), 10, (96, 96))
    rng = np.random.default_rng(0)
    for _ in range(6):
        w.write(rng.integers(0, 255, (96, 96, 3), dtype=np.uint8))
    w.release()
    with pytest.raises(InputError, match="found in only 0 of 6 frames"):
        load_data([noise], tmp_path / "cache")
    with pytest.raises(InputError, match="DeepFashion-style"):
        load_data([tmp_path], tmp_path / "cache")
    with pytest.raises(InputError, match="pairs in different poses"):
        load_data([media_dir / "pose_1.mp4"], tmp_path / "cache",
                  DataOptions(max_frames=12, min_pairs=10_000))


@pytest.mark.slow
def test_torchrun_ddp_on_cpu(media_dir, tmp_path):
    """Two processes (gloo backend) share the pairs under DistributedDataParallel; rank 0 writes the run."""
    import os
    import subprocess
    import sys
    from pathlib import Path

    torchrun = Path(sys.executable).with_name("torchrun")
    if not torchrun.is_file():
        pytest.skip(f"torchrun not found beside {sys.executable}")
    out = tmp_path / "ddp"
    cmd = [str(torchrun), "--nproc_per_node=2", "--master_port=29533", "-m", "realtime", "train",
           "--data", str(media_dir / "pose_1.mp4"), "--out", str(out), "--config", "tiny", "--max-frames", "30",
           "--pairs-per-epoch", "64", "--epochs", "1", "--device", "cpu", "--cache", str(tmp_path / "cache"),
           "--no-validate", "--time-budget", "5"]
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1])}
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=240, env=env)
    assert done.returncode == 0, done.stderr[-2000:]
    summaries = [line for line in done.stdout.splitlines() if line.startswith(' "world_size"')]
    assert summaries == [' "world_size": 2,']            # printed once, by rank 0
    assert json.loads((out / "last.json").read_text())["training"]["step"] == 8   # 64 pairs / 2 ranks / batch 4


def test_amp_dtype_choice():
    import torch

    from engines.learned.training import _amp_dtype

    assert _amp_dtype("cuda") is torch.float16
    assert _amp_dtype("cuda", "bf16") is torch.bfloat16 and _amp_dtype("cpu", "bf16") is torch.bfloat16
    with pytest.raises(InputError, match="fp16 needs a CUDA device"):
        _amp_dtype("cpu", "fp16")
    with pytest.raises(InputError, match="expected auto, fp16 or bf16"):
        _amp_dtype("cpu", "fp8")
