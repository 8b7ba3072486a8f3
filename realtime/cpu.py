"""numpy's BLAS thread pool, sized for repose: one thread.

repose runs its own threads (capture, pose, cues, render, sinks) and MediaPipe runs its graphs'
threads; numpy's work in them is small (3x3 affine solves, a few hundred points), which a BLAS pool
only slows down. OpenBLAS (numpy's wheels) starts one thread per core and splits even a 3x3 LAPACK
solve across them; its threads then spin while they wait for the next call. On a 2-core machine
that spinning took the core the live loop needed: `scripts/bench_presenter.py` on webcam_talking
with the face on used 64-65 ms of CPU per 33 ms input frame and kept 0.81-0.88 of the frames (p95
latency 122-132 ms); with one BLAS thread, 51-55 ms and 0.91-0.98 (p95 81-106 ms) in the same
interleaved rounds (README, Presenter framing, Speed).

``single_threaded_blas()`` is called by the command line before any command runs and by the live
pipeline when it starts; torch's own intra-op threads (training) are not touched.
"""
from __future__ import annotations


def single_threaded_blas() -> None:
    """Limit every BLAS library loaded in this process (numpy's OpenBLAS) to one thread."""
    import numpy  # noqa: F401 - its BLAS must be loaded to be limited
    from threadpoolctl import threadpool_limits

    threadpool_limits(limits=1, user_api="blas")
