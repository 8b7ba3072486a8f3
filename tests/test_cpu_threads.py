"""numpy's BLAS runs on one thread in repose's processes (realtime.cpu): its pool's threads spin on
the cores the live loop's stages need."""
import pytest
from threadpoolctl import threadpool_info, threadpool_limits

from realtime.app.cli import main
from realtime.pipeline import Pipeline, PipelineOptions
from realtime.sources import ArraySource
from tests.pipeline_fakes import ReplayEstimator, gray_frames, skeleton_renderer, squat_poses
from tests.test_pipeline import RecordingSink


def _blas_threads() -> list[int]:
    return [i["num_threads"] for i in threadpool_info() if i["user_api"] == "blas"]


@pytest.fixture
def two_blas_threads():
    """BLAS at two threads for the test (restored after it), as numpy starts on a 2-core machine."""
    with threadpool_limits(limits=2, user_api="blas"):
        got = _blas_threads()
        if not got:
            pytest.skip("numpy uses no BLAS library that threadpoolctl can see")
        if max(got) < 2:
            pytest.skip("this machine's BLAS allows only one thread: nothing to limit")
        yield


def test_the_live_pipeline_runs_numpy_blas_on_one_thread(two_blas_threads):
    p = Pipeline(ArraySource(gray_frames(5)), skeleton_renderer(), [RecordingSink()],
                 PipelineOptions(realtime=False), estimator_factory=lambda: ReplayEstimator(squat_poses()))
    p.run()
    assert _blas_threads() and max(_blas_threads()) == 1


def test_every_command_runs_numpy_blas_on_one_thread(two_blas_threads, tmp_path, capsys):
    assert main(["compare", str(tmp_path / "a.json"), str(tmp_path / "b.json")]) == 2
    assert max(_blas_threads()) == 1
