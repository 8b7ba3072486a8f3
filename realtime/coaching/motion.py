"""A recorded motion (per-frame poses at a frame rate) and the one function the coach reads one with.

``read_motion`` takes a video (estimated here, MediaPipe in video mode), an image (one pose) or a
pose file (repose, OpenPose or COCO JSON; ``repose pose VIDEO -o poses.json`` caches a video's
poses). It is the coach's only way in, for offline coaching and for live coach mode's benchmark.
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
    """The poses of a video, an image or a pose file; InputError when it cannot be read or shows
    nobody at all. ``what`` names the input in messages ("benchmark")."""
    from realtime.media import IMAGE_EXTS, VIDEO_EXTS

    p = Path(path)
    if not p.exists():
        raise InputError(f"{what} {p} not found: expected a video, an image or a pose .json file")
    ext = p.suffix.lower()
    if ext == ".json":
        from realtime.poseio import load_pose_video

        video = load_pose_video(p)
        motion = Motion(video.poses, video.fps, str(p), "poses", video.width, video.height)
    elif ext in IMAGE_EXTS:
        from realtime.estimator import EstimatorOptions, MediaPipeEstimator
        from realtime.media import read_image

        image = read_image(p)
        with MediaPipeEstimator(EstimatorOptions(mode="image")) as est:
            pose = est.estimate(image)
        motion = Motion([pose], 1.0, str(p), "image", image.shape[1], image.shape[0])
    elif ext in VIDEO_EXTS:
        motion = _estimate_video(p, what, progress)
    else:
        raise InputError(f"{what} {p}: unknown kind {ext or '(no extension)'}; expected a video "
                         f"({', '.join(sorted(VIDEO_EXTS))}), an image or a pose .json file")
    if all(q is None for q in motion.poses):
        raise InputError(f"{what} {p}: no person found in any of its {len(motion.poses)} frame(s); "
                         "expected footage of one person, ideally the whole body")
    return motion


def _estimate_video(path: Path, what: str, progress: bool) -> Motion:
    import sys

    from tqdm import tqdm

    from realtime.estimator import EstimatorOptions, MediaPipeEstimator
    from realtime.media import VideoReader

    poses: list[Pose | None] = []
    with VideoReader(path) as reader, MediaPipeEstimator(EstimatorOptions(mode="video")) as est:
        info = reader.info
        total = info.frame_count or None
        for _, t, img in tqdm(reader, total=total, desc=f"{what} poses", unit="frame", file=sys.stderr,
                              disable=None if progress and (total or 0) > 30 else True, leave=False):
            poses.append(est.estimate(img, t))
    return Motion(poses, info.fps, str(path), "video", info.width, info.height)
