"""Helpers the commands share: turning a path into a pose, progress bars, output checks."""
from __future__ import annotations

import sys
from pathlib import Path

from realtime.errors import InputError
from realtime.media import IMAGE_EXTS, VIDEO_EXTS, is_image_path, read_image
from realtime.pose import Pose

NO_PERSON_HINT = "expected a photo that shows one person, ideally the whole body, well lit"


def estimate_image(path: str | Path, segmentation: bool = False):
    """(image, Estimate) of a still, estimated in image mode."""
    from realtime.estimator import EstimatorOptions, MediaPipeEstimator

    image = read_image(path)
    with MediaPipeEstimator(EstimatorOptions(mode="image", segmentation=segmentation)) as est:
        return image, est.detect(image)


def pose_from_path(path: str | Path) -> Pose:
    """A single pose from an image (estimated) or a pose JSON file (repose, OpenPose or COCO)."""
    from realtime.poseio import load_pose

    p = Path(path)
    if p.suffix.lower() == ".json":
        return load_pose(p)
    if not is_image_path(p):
        raise InputError(f"{p}: expected an image ({', '.join(sorted(IMAGE_EXTS))}) or a pose .json file")
    _, found = estimate_image(p)
    if found.pose is None:
        raise InputError(f"{p}: no person found; {NO_PERSON_HINT}")
    return found.pose


def kind_of_input(path: str | Path) -> str:
    """'image', 'video', 'folder' or 'json' by name; InputError for anything else."""
    p = Path(path)
    if p.is_dir():
        return "folder"
    if not p.exists():
        raise InputError(f"{p}: no such file or folder")
    ext = p.suffix.lower()
    if ext == ".json":
        return "json"
    if ext in IMAGE_EXTS:
        return "image"
    if ext in VIDEO_EXTS:
        return "video"
    raise InputError(f"{p}: unknown kind of file {ext or '(no extension)'}; expected an image "
                     f"({', '.join(sorted(IMAGE_EXTS))}) or a video ({', '.join(sorted(VIDEO_EXTS))})")


def output_suffix(path: str | Path, allowed: tuple[str, ...], what: str) -> str:
    ext = Path(path).suffix.lower()
    if ext not in allowed:
        raise InputError(f"{path}: {what} must end in {' or '.join(allowed)}")
    return ext


def progress(iterable, total: int | None, desc: str):
    """A tqdm bar on stderr (only on a terminal or with --progress, and not for short runs)."""
    from realtime.progress import bar

    return bar(iterable, total=total, desc=desc, unit="frame", min_total=30)
