"""A recorded motion (per-frame poses at a frame rate) and the one function the coach reads one with.

``read_motion`` takes a video (estimated in video mode), an image (one pose) or a pose file (repose,
OpenPose or COCO JSON; ``repose pose VIDEO -o poses.json`` caches a video's poses) through the input
module (``realtime.inputs``). It is the coach's only way in, for offline coaching and for live coach
mode's benchmark.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from realtime.errors import InputError
from realtime.pose import Pose


@dataclass
class Motion:
    """Poses of one person over time (None where nobody was found).

    kind: "video", "image" or "poses" (a pose file: no pixels to show, skeletons are drawn on black).
    """

    poses: list[Pose | None]
    fps: float
    source: str = ""
    kind: str = "poses"
    width: int | None = None
    height: int | None = None

    @property
    def duration_s(self) -> float:
        return len(self.poses) / self.fps

    @property
    def name(self) -> str:
        return Path(self.source).name or "motion"


def read_motion(path: str | Path, what: str = "input", progress: bool = True) -> Motion:
    """The poses of a video, an image or a pose file, read through ``realtime.inputs`` (which owns
    the estimator); InputError when it cannot be read or shows nobody at all. ``what`` names the
    input in messages ("benchmark")."""
    from realtime.inputs import open_input
    from realtime.progress import bar

    with open_input(path, accept=("json", "image", "video"), what=what,
                    expected="a video, an image or a pose .json file") as source:
        items = source if source.kind != "video" else bar(
            source, total=source.total, desc=f"{what} poses", min_total=30, show=progress)
        poses = [f.pose for f in items]
        kind = "poses" if source.kind == "json" else source.kind
        motion = Motion(poses, source.fps, str(path), kind, source.width, source.height)
    if all(q is None for q in motion.poses):
        raise InputError(f"{what} {path}: no person found in any of its {len(motion.poses)} frame(s); "
                         "expected footage of one person, ideally the whole body")
    return motion
