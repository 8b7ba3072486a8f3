"""The ``skeleton`` renderer: draws the target pose (OpenPose colours) instead of a person.

Useful to debug the live path before a pose-transfer renderer is chosen, and for fitness users who
only want to see their own movement. Background: ``black`` (default), ``reference`` (the reference
photo) or ``dim`` (the reference at 35% brightness). Output: BGR uint8 at the reference image's
size, or BGRA with alpha = drawn pixels when created with ``alpha=True``.
"""
from __future__ import annotations

import logging

import numpy as np

from realtime.errors import InputError
from realtime.pose import Pose

log = logging.getLogger(__name__)
BACKGROUNDS = ("black", "reference", "dim")


class SkeletonRenderer:
    name = "skeleton"

    def __init__(self, background: str = "black", alpha: bool = False, thickness: float | None = None) -> None:
        if background not in BACKGROUNDS:
            raise InputError(f"skeleton renderer background {background!r}: expected one of {', '.join(BACKGROUNDS)}")
        self.background, self.alpha, self.thickness = background, alpha, thickness
        self._bg: np.ndarray | None = None
        self._rest: Pose | None = None

    def prepare(self, reference_bgr: np.ndarray, reference_pose: Pose | None = None,
                mask: np.ndarray | None = None) -> None:
        """Keep the background and the reference's pose (estimated with MediaPipe when not given).

        mask: accepted for the Renderer protocol; a skeleton needs none.
        """
        if reference_bgr is None or reference_bgr.ndim != 3 or reference_bgr.shape[2] != 3:
            raise InputError("the reference must be a BGR colour image (HxWx3)")
        h, w = reference_bgr.shape[:2]
        if reference_pose is None:
            from realtime.inputs import estimate_still

            reference_pose = estimate_still(reference_bgr).pose
            if reference_pose is None:
                raise InputError("no person found in the reference image; expected a photo showing one "
                                 "person's whole body")
        self._rest = reference_pose
        bg = {"black": lambda: np.zeros((h, w, 3), np.uint8),
              "reference": lambda: reference_bgr.copy(),
              "dim": lambda: (reference_bgr.astype(np.float32) * 0.35).astype(np.uint8)}[self.background]
        self._bg = bg()

    @property
    def rest_pose(self) -> Pose:
        if self._rest is None:
            raise RuntimeError("call prepare() before rest_pose")
        return self._rest

    @property
    def size(self) -> tuple[int, int]:
        """(width, height) of the output."""
        if self._bg is None:
            raise RuntimeError("call prepare() first")
        return self._bg.shape[1], self._bg.shape[0]

    def render(self, target: Pose) -> np.ndarray:
        """The target pose drawn over the background (target in reference pixels)."""
        from realtime.drawing import draw_skeleton

        if self._bg is None:
            raise RuntimeError("call prepare() before render()")
        out = draw_skeleton(self._bg, target, thickness=self.thickness)
        if not self.alpha:
            return out
        a = (np.abs(out.astype(np.int16) - self._bg).max(axis=2) > 0).astype(np.uint8) * 255
        return np.dstack([out, a])

    def close(self) -> None:
        self._bg = None
