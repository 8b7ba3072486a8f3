"""The side-by-side video of a coach report: each person frame beside the benchmark frame the
alignment gives it, skeletons drawn, the rep and its score written on it (H.264, person's frame rate)."""
from __future__ import annotations

from pathlib import Path

from realtime.coaching.analysis import CoachReport
from realtime.coaching.frames import MotionFrames, pair_image, panel

VIDEO_HEIGHT = 480


def write_video(report: CoachReport, path: str | Path, height: int = VIDEO_HEIGHT, progress: bool = True) -> None:
    """Write the video atomically (nothing is left at ``path`` when it fails)."""
    from realtime.progress import bar
    from realtime.videoio import H264Writer

    n = len(report.person.poses)
    rep_of = [None] * n
    for k, r in enumerate(report.reps):
        for i in range(r.rep.start, r.rep.end + 1):
            rep_of[i] = k
    a, b = MotionFrames(report.person), MotionFrames(report.benchmark)
    writer = None
    try:
        for i in bar(range(n), total=n, desc="coach video", min_total=30, show=progress):
            j = int(report.frame_map[i])
            k = rep_of[i]
            title = "person" if k is None else f"rep {k + 1}/{len(report.reps)}: score {report.reps[k].score:.0f}"
            left = panel(a, i, report.person.poses[i], height, title)
            right = panel(b, j, report.benchmark.poses[j], height, "benchmark" + (" (mirrored)" if report.mirrored else ""),
                          mirrored=report.mirrored)
            frame = pair_image(left, right, f"{i / report.person.fps:.1f} s   frame score {report.frame_scores[i]:.0f}")
            if writer is None:
                writer = H264Writer(path, report.person.fps, (frame.shape[1], frame.shape[0]))
            writer.write(frame)
    except BaseException:
        if writer is not None:
            writer.abort()
        raise
    finally:
        a.close()
        b.close()
    if writer is not None:
        writer.close()
