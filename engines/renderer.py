"""The renderer protocol: turn a target pose into an image of the reference person.

A renderer is prepared once from the reference photo (its pose, mask, layers or model inputs),
then ``render(target)`` runs per frame. The target pose is in the reference image's pixel
coordinates (the retargeter has already mapped the driver onto the avatar). Output: BGR uint8
HxWx3 at the reference image's size, or BGRA HxWx4 (alpha = person) when the renderer was
created with ``alpha=True``.
"""
from __future__ import annotations

from typing import Any, Protocol, runtime_checkable

import numpy as np

from engines.registry import load_entry
from realtime.errors import InputError
from realtime.pose import Pose


@runtime_checkable
class Renderer(Protocol):
    name: str

    def prepare(self, reference_bgr: np.ndarray, reference_pose: Pose | None = None,
                mask: np.ndarray | None = None) -> None:
        """Analyse the reference photo once.

        reference_pose: the person's pose in the photo's pixels (estimated when None).
        mask: person mask HxW (float in [0, 1] or uint8 0/255), estimated when None and needed;
        renderers that do not use a mask ignore it.
        """

    @property
    def rest_pose(self) -> Pose:
        """The reference person's own pose, in reference pixels (what 'at rest' renders)."""

    def render(self, target: Pose) -> np.ndarray:
        """The reference person in the target pose."""

    def close(self) -> None: ...


# name -> "module:factory"; factories take keyword options and return an unprepared Renderer.
RENDERERS: dict[str, str] = {
    "skeleton": "engines.skeleton:SkeletonRenderer",
    "learned": "engines.learned.renderer:create",
    "warp": "engines.warp.renderer:create",
}


def create_renderer(name: str, **options: Any) -> Renderer:
    """Make a renderer by name; InputError listing the known names when unknown."""
    if name not in RENDERERS:
        raise InputError(f"unknown renderer {name!r}: expected one of {', '.join(sorted(RENDERERS)) or '(none)'}")
    return load_entry(RENDERERS[name])(**options)
