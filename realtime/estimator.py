"""MediaPipe Pose estimator (BlazePose, weights bundled in the mediapipe wheel, no network).

Image mode runs person detection on every call (stills, unrelated images). Video mode detects
once and then tracks the same person from frame to frame (streams, video files): faster, steadier.
With several people in view MediaPipe Pose follows one: the one its detector scores highest when
detection runs (usually the largest, most central person), kept while tracking holds.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Protocol

import numpy as np

from realtime import quiet
from realtime.layouts import MEDIAPIPE33
from realtime.pose import Pose
from realtime.quiet import native_stderr_silenced

log = logging.getLogger(__name__)


@dataclass
class EstimatorOptions:
    """Options of the MediaPipe estimator.

    mode: "image" (detect in every call) or "video" (track between calls).
    segmentation: also return a person mask (float32 HxW in [0, 1]).
    """

    mode: str = "image"
    model_complexity: int = 1
    segmentation: bool = False
    smooth_landmarks: bool = True
    min_detection_confidence: float = 0.5
    min_tracking_confidence: float = 0.5

    def __post_init__(self) -> None:
        if self.mode not in ("image", "video"):
            raise ValueError(f"estimator mode must be 'image' or 'video', got {self.mode!r}")
        if self.model_complexity not in (0, 1, 2):
            raise ValueError(f"model_complexity must be 0, 1 or 2, got {self.model_complexity}")


@dataclass(frozen=True)
class Estimate:
    """What one estimator call found: the pose (None when nobody is in view) and the mask."""

    pose: Pose | None
    mask: np.ndarray | None = None


class PoseEstimator(Protocol):
    def estimate(self, image_bgr: np.ndarray, timestamp_s: float | None = None) -> Pose | None: ...
    def detect(self, image_bgr: np.ndarray, timestamp_s: float | None = None) -> Estimate: ...
    def close(self) -> None: ...


class MediaPipeEstimator:
    """MediaPipe Pose, returning MediaPipe-33 poses in pixels of the input image.

    Not thread-safe: use one instance per thread. Input images are BGR uint8 HxWx3.
    """

    def __init__(self, options: EstimatorOptions | None = None) -> None:
        self.options = options or EstimatorOptions()
        quiet.configure(quiet.verbose())   # log levels before MediaPipe reads them
        import mediapipe as mp  # heavy: imported only when an estimator is made

        o = self.options
        self._cv2 = __import__("cv2")
        self._quiet_calls = 3  # MediaPipe logs its start-up notices during the first calls
        with native_stderr_silenced():
            self._pose = self._make(mp, o)

    @staticmethod
    def _make(mp, o: EstimatorOptions):
        return mp.solutions.pose.Pose(
            static_image_mode=o.mode == "image",
            model_complexity=o.model_complexity,
            smooth_landmarks=o.smooth_landmarks,
            enable_segmentation=o.segmentation,
            smooth_segmentation=o.mode == "video",
            min_detection_confidence=o.min_detection_confidence,
            min_tracking_confidence=o.min_tracking_confidence,
        )

    def detect(self, image_bgr: np.ndarray, timestamp_s: float | None = None) -> Estimate:
        if image_bgr is None or image_bgr.ndim != 3 or image_bgr.shape[2] != 3 or image_bgr.dtype != np.uint8:
            got = None if image_bgr is None else f"{image_bgr.dtype} {image_bgr.shape}"
            raise ValueError(f"estimator expects a BGR uint8 HxWx3 image, got {got}")
        h, w = image_bgr.shape[:2]
        rgb = self._cv2.cvtColor(image_bgr, self._cv2.COLOR_BGR2RGB)
        rgb.flags.writeable = False
        if self._quiet_calls <= 0:
            result = self._pose.process(rgb)
        else:
            with native_stderr_silenced():
                result = self._pose.process(rgb)
            self._quiet_calls -= 1
        mask = None
        if self.options.segmentation:  # MediaPipe gives no mask when nobody is found: all background
            mask = (np.zeros((h, w), np.float32) if result.segmentation_mask is None
                    else np.asarray(result.segmentation_mask, dtype=np.float32))
        if result.pose_landmarks is None:
            return Estimate(None, mask)
        lm = np.array([(p.x, p.y, p.z, p.visibility) for p in result.pose_landmarks.landmark],
                      dtype=np.float32)
        xy = lm[:, :2] * np.array([w, h], np.float32)
        score = np.clip(lm[:, 3], 0.0, 1.0)
        pose = Pose(xy=xy, score=score, layout=MEDIAPIPE33, width=w, height=h,
                    z=lm[:, 2] * w, timestamp_s=timestamp_s)
        return Estimate(pose, mask)

    def estimate(self, image_bgr: np.ndarray, timestamp_s: float | None = None) -> Pose | None:
        """The pose of the person in view, or None when nobody is found."""
        return self.detect(image_bgr, timestamp_s).pose

    def close(self) -> None:
        if self._pose is not None:
            self._pose.close()
            self._pose = None

    def __enter__(self) -> "MediaPipeEstimator":
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def create_estimator(mode: str = "image", segmentation: bool = False, **options) -> MediaPipeEstimator:
    """The one place a pose estimator is made (MediaPipe Pose, weights from the wheel).

    mode: "image" (detect in every call: stills, unrelated images) or "video" (track between calls:
    videos, cameras). segmentation: also return a person mask. options: further
    :class:`EstimatorOptions` fields (``smooth_landmarks``, ``model_complexity``, ...).
    Reading inputs (files, folders, videos, cameras) goes through ``realtime.inputs``, which calls this.
    """
    return MediaPipeEstimator(EstimatorOptions(mode=mode, segmentation=segmentation, **options))
