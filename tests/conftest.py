"""Shared fixtures. Real footage lives beside the checkout in ../shared/data/media (never copied here)."""
from __future__ import annotations

from pathlib import Path

import pytest



def _find_media() -> Path:
    """``../shared/data/media`` beside the checkout, searched upwards (git worktrees sit deeper)."""
    here = Path(__file__).resolve().parents[1]
    for d in [here.parent, *here.parent.parents]:
        if (d / "shared" / "data" / "media").is_dir():
            return d / "shared" / "data" / "media"
    return here.parent / "shared" / "data" / "media"


MEDIA_DIR = _find_media()


def video_frame(path: Path, index: int):
    """Frame ``index`` (BGR) of a video file."""
    from realtime.media import VideoReader

    with VideoReader(path) as reader:
        return next(frame for i, _, frame in reader if i == index)


@pytest.fixture(scope="session")
def media_dir() -> Path:
    if not MEDIA_DIR.is_dir():
        pytest.skip(f"shared footage not found at {MEDIA_DIR} (it sits beside the checkout on "
                    "developer machines and in CI, not in a fresh clone)")
    return MEDIA_DIR


@pytest.fixture(scope="session")
def pose_jpg_estimate(media_dir):
    """(image, Estimate with mask) of the shared pose.jpg, estimated once per session."""
    from realtime.inputs import estimate_image

    return estimate_image(media_dir / "pose.jpg", segmentation=True)
