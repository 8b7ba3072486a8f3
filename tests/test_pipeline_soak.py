"""A bounded soak run: the pipeline at a live pace for a few seconds must not grow in memory."""
import gc
import time

import pytest

from realtime.pipeline import Pipeline, PipelineOptions
from realtime.sources import ArraySource
from tests.pipeline_fakes import ReplayEstimator, gray_frames, skeleton_renderer, squat_poses

psutil = pytest.importorskip("psutil", reason="psutil measures the process's memory (pip install psutil)")


@pytest.mark.slow
def test_memory_does_not_grow_over_a_bounded_live_run(tmp_path):
    poses = squat_poses() + [None] * 10     # people leaving the frame too
    proc = psutil.Process()
    p = Pipeline(ArraySource(gray_frames(30, 640, 480), fps=60.0, realtime=True, loop=True),
                 skeleton_renderer(640, 480), ["null", "mjpeg:0", f"frames:{tmp_path / 'f'}"],
                 PipelineOptions(realtime=True, duration_s=8.0),
                 estimator_factory=lambda: ReplayEstimator(poses))
    samples = []
    with p:
        t0 = time.perf_counter()
        while not p.wait(0.5):
            samples.append((time.perf_counter() - t0, proc.memory_info().rss))
    p.raise_error()
    stats = p.stats_dict()
    gc.collect()
    assert stats["frames_out"] > 100, stats          # it really ran (60 fps in, 8 s)
    warm = [rss for t, rss in samples if t >= 2.0]
    assert len(warm) >= 6
    growth_mb = (max(warm[-3:]) - min(warm[:3])) / 2**20
    # frames_out frames of 0.9 MB each went through: a leak of even one buffer per frame would be GBs
    assert growth_mb < 25, f"RSS grew {growth_mb:.1f} MB over the run ({stats['frames_out']} frames)"
