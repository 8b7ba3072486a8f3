"""Streaming retargeting for a run: a profile's neutral pose, or the run's first steady frames.

``Retargeter(avatar_pose, profile=None)`` maps each driver pose to a target pose on the avatar
(calibration.retarget.retarget_pose). Without a profile it calibrates itself: until the driver has
held still in a neutral pose for a moment (calibration.neutral.NeutralCapture, short window; only
frames that pass calibration.neutral_check count), the first pose with a visible torso stands in,
replaced (with a log line) by a later pose that passes the neutral checks when the stand-in did not; once steady neutral frames are seen,
their robust average becomes the neutral pose for the rest of the run. ``recalibrate()`` starts that over (the live
pipeline's `c` hotkey). ``neutral=``: the driver's neutral pose known beforehand (a chosen frame of
the driver, `repose calibrate --frame N`); ``Retargeter.onto_itself(avatar)``: self-reenactment, where
the avatar's own pose is the neutral and the target is the driver's pose unchanged.
"""
from __future__ import annotations

import logging

from calibration.neutral import DONE, CaptureOptions, NeutralCapture
from calibration.neutral_check import neutral_badness
from calibration.profile import CalibrationProfile
from calibration.retarget import RetargetOptions, retarget_pose, torso_size
from realtime.pose import Pose

log = logging.getLogger(__name__)

AUTO_CAPTURE = CaptureOptions(seconds=0.5, steady_s=0.4, steady_fraction=0.04, min_frames=3)


class Retargeter:
    """Driver pose -> avatar target pose, frame after frame (one instance per run; not thread-safe)."""

    def __init__(self, avatar_pose: Pose, profile: CalibrationProfile | None = None, mirror: bool | None = None,
                 options: RetargetOptions | None = None, auto_capture: CaptureOptions | None = None,
                 neutral: Pose | None = None) -> None:
        """neutral: the driver's neutral pose when it is known without a profile (a given frame of
        the driver: in self-reenactment the reference frame, the avatar's own pose); no capture then."""
        if profile is not None and neutral is not None:
            raise ValueError("give the driver's neutral pose either in a profile or as neutral=, not both")
        self.avatar = avatar_pose
        self.options = options or RetargetOptions()
        if mirror is not None:
            self.options.mirror = mirror
        elif profile is not None:
            self.options.mirror = profile.mirror
        self.profile = profile
        self._auto = auto_capture or AUTO_CAPTURE
        self.neutral: Pose | None = profile.neutral if profile else neutral
        self.source = "profile" if profile else ("given" if neutral is not None else "none")
        self._capture: NeutralCapture | None = (None if (profile or neutral is not None)
                                                else NeutralCapture(self._auto))
        self._badness = float("inf")

    @classmethod
    def onto_itself(cls, avatar_pose: Pose) -> "Retargeter":
        """Self-reenactment: the driver is the avatar's own body, filmed by the same camera, so the
        avatar's pose (the reference frame's) is the driver's neutral, and the bone bounds are off
        (RetargetOptions.bounded): each target is the driver's pose itself, whatever the reference
        frame shows (hands clasped under the chin, arms raised)."""
        return cls(avatar_pose, mirror=False, options=RetargetOptions(bounded=False), neutral=avatar_pose)

    def recalibrate(self) -> None:
        """Forget the neutral pose; the next steady frames become the new one."""
        self.neutral = None
        self.source = "none"
        self._capture = NeutralCapture(self._auto)
        self._badness = float("inf")

    @property
    def capturing(self) -> bool:
        """True while the neutral pose is still being captured (no steady frames seen yet)."""
        return self._capture is not None

    def flip_neutral(self) -> None:
        """The driver's mirror state changed: flip a settled neutral pose left/right; a neutral still
        being captured (or the first frame standing in) is started over instead."""
        if self.neutral is not None and self.source != "first frame" and not self.capturing:
            self.neutral = self.neutral.flipped(self.neutral.width)
        else:
            self.recalibrate()

    def __call__(self, driver: Pose | None, t: float | None = None) -> Pose | None:
        """The target pose for this driver pose (None when driver is None)."""
        if driver is None:
            if self._capture is not None:
                self._capture.feed(None, t or 0.0)
            return None
        if self._capture is not None:
            tt = t if t is not None else (driver.timestamp_s or 0.0)
            if self._capture.feed(driver, tt) == DONE and self._capture.result is not None:
                self.neutral = self._capture.result.pose
                self.source = "steady frames"
                log.info("auto-calibrated from %d steady frames", self._capture.result.frames)
                self._capture = None
            elif torso_size(driver, self.options.min_score) > 0:
                self._stand_in(driver)
        if self.neutral is None:
            return None
        return retarget_pose(driver, self.neutral, self.avatar, options=self.options)

    def _stand_in(self, driver: Pose) -> None:
        """Keep the most neutral pose seen so far as the stand-in neutral (before a steady capture)."""
        bad = neutral_badness(driver, self.options.min_score)
        # replaced only by a pose that passes every neutral check (badness below its 0.05 share of
        # room), and clearly better: a stand-in is not swapped for another non-neutral pose
        if self.neutral is not None and not (bad <= 0.05 and bad < self._badness - 0.1):
            return
        if self.neutral is not None:
            log.info("stand-in neutral pose replaced by a more neutral one at %.2f s (badness %.2f -> %.2f)",
                     driver.timestamp_s or 0.0, self._badness, bad)
        self.neutral = driver
        self._badness = bad
        self.source = "first frame"
