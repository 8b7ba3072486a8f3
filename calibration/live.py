"""The live pipeline's retarget hook: calibration.retargeter.Retargeter, thread-aware and mirror-aware.

The pipeline mirrors the driver itself (--mirror, hotkey m) before calling the hook, and asks for a
recalibration from another thread (hotkey c). This hook:
- retargets on the pose thread; ``recalibrate()`` only raises a flag that the next call acts on, so
  the neutral pose never changes in the middle of a frame;
- keeps the neutral pose in the same mirror state as the incoming driver: when the mirror is
  toggled the neutral pose is flipped with it (a capture still in progress starts over);
- returns the avatar's rest pose while no neutral pose exists yet (the driver shows no torso).
"""
from __future__ import annotations

import logging
import threading
from typing import Callable

from calibration.profile import CalibrationProfile
from calibration.retargeter import Retargeter
from realtime.pose import Pose

log = logging.getLogger(__name__)


class LiveRetarget:
    """``hook(driver_pose) -> target pose`` for ``realtime.pipeline.Pipeline(retarget=...)``.

    mirrored: reports whether the pipeline currently mirrors the driver (read on every call).
    """

    def __init__(self, avatar_pose: Pose, profile: CalibrationProfile | None = None,
                 mirrored: Callable[[], bool] = lambda: False) -> None:
        self.avatar = avatar_pose
        self.retargeter = Retargeter(avatar_pose, profile, mirror=False)
        self._mirrored = mirrored
        # mirror state of the neutral pose: a profile's is unmirrored; an automatic capture takes
        # whatever the first call sees (``mirrored`` is not called before the first frame)
        self._neutral_mirrored: bool | None = False if profile is not None else None
        self._recalibrate = threading.Event()

    @property
    def source(self) -> str:
        """Where the neutral pose came from: profile, steady frames, first frame or none."""
        return self.retargeter.source

    def recalibrate(self) -> None:
        """Ask for a new neutral pose (the next steady frames); safe from any thread."""
        self._recalibrate.set()

    def __call__(self, driver: Pose) -> Pose:
        r = self.retargeter
        if self._recalibrate.is_set():
            self._recalibrate.clear()
            r.recalibrate()
            log.info("recalibrating: hold still for a moment")
        m = bool(self._mirrored())
        if self._neutral_mirrored is None:
            self._neutral_mirrored = m
        if m != self._neutral_mirrored:
            r.flip_neutral()
            self._neutral_mirrored = m
        target = r(driver, driver.timestamp_s)
        return target if target is not None else self.avatar
