"""Shared fixtures. Real footage lives beside the checkout in ../shared/data/media (never copied here)."""
from __future__ import annotations

from pathlib import Path

import pytest

MEDIA_DIR = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "media"


@pytest.fixture(scope="session")
def media_dir() -> Path:
    if not MEDIA_DIR.is_dir():
        pytest.skip(f"shared footage not found at {MEDIA_DIR} (it sits beside the checkout on "
                    "developer machines and in CI, not in a fresh clone)")
    return MEDIA_DIR


@pytest.fixture(scope="session")
def pose_jpg_estimate(media_dir):
    """(image, Estimate with mask) of the shared pose.jpg, estimated once per session."""
    from realtime.commands.common import estimate_image

    return estimate_image(media_dir / "pose.jpg", segmentation=True)
