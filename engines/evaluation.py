"""Quality measures of a pose-transfer output (the interactive reposing seed; image-animation papers).

AKD (average keypoint distance): mean distance between the target keypoints and the keypoints an
estimator finds on the rendered output, over keypoints present in both; reported in pixels and
normalized to a 256-px output height. MKR (missing keypoint rate): share of keypoints present in
the target that the estimator does not find on the output. Both are computed in COCO-17.
Bone-direction error (``bone_direction_error``): mean angle between target and re-estimated
COCO-17 bones, in degrees. Image measures (images BGR or RGB uint8, compared as [0, 1] floats): L1,
SSIM (scikit-image), PSNR, and the ghost L1: L1 where the reference frame showed the person and the
real frame shows background (``ghost_region``), which a renderer leaving a ghost of the reference
body fails.
Face (FaceScores): correlation of the driver's and the output's mouth and eye opening over a clip,
the output's mouth range against the driver's, head-roll error, share of frames without a face.
Hands (HandScores): share of driver hand frames with a hand on the output, finger-bend correlation.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Sequence

import numpy as np

from realtime.layouts import COCO17
from realtime.pose import MIN_SCORE, Pose

AKD_REFERENCE_HEIGHT = 256


@dataclass
class KeypointScores:
    """Running AKD/MKR over many (target, found) pairs; pooled over keypoints, not averaged per frame."""

    distance_sum_px: float = 0.0
    distance_sum_norm: float = 0.0
    matched: int = 0
    expected: int = 0
    missing: int = 0
    per_frame_akd_norm: list[float] = field(default_factory=list)

    def add(self, target: Pose, found: Pose | None, output_height: int, min_score: float = MIN_SCORE) -> None:
        t = target.to_layout(COCO17)
        want = t.present(min_score)
        n_want = int(want.sum())
        self.expected += n_want
        if found is None:
            self.missing += n_want
            self.per_frame_akd_norm.append(float("nan"))
            return
        per_keypoint = keypoint_distances_px(target, found, min_score)
        both = np.isfinite(per_keypoint)
        self.missing += int((want & ~both).sum())
        if both.any():
            d = per_keypoint[both]
            scale = AKD_REFERENCE_HEIGHT / float(output_height)
            self.distance_sum_px += float(d.sum())
            self.distance_sum_norm += float(d.sum()) * scale
            self.matched += int(both.sum())
            self.per_frame_akd_norm.append(float(d.mean()) * scale)
        else:
            self.per_frame_akd_norm.append(float("nan"))

    @property
    def akd_px(self) -> float:
        return self.distance_sum_px / self.matched if self.matched else float("nan")

    @property
    def akd_256(self) -> float:
        return self.distance_sum_norm / self.matched if self.matched else float("nan")

    @property
    def mkr(self) -> float:
        return self.missing / self.expected if self.expected else float("nan")


def keypoint_distances_px(target: Pose, found: Pose | None, min_score: float = MIN_SCORE) -> np.ndarray:
    """(17,) distance in pixels between each COCO-17 keypoint of ``target`` and the same keypoint of
    ``found`` (re-estimated on the output), NaN where either lacks it (all NaN when ``found`` is None).
    AKD is their pooled mean (KeypointScores); times AKD_REFERENCE_HEIGHT / output height: @256."""
    if found is None:
        return np.full(len(COCO17.names), np.nan)
    t, f = target.to_layout(COCO17), found.to_layout(COCO17)
    both = t.present(min_score) & f.present(min_score)
    d = np.linalg.norm(t.xy[both] - f.xy[both], axis=1)
    out = np.full(len(COCO17.names), np.nan, dtype=np.result_type(d.dtype, np.float32))  # float32 as the poses
    out[both] = d
    return out


def _as_float(img: np.ndarray) -> np.ndarray:
    if img.dtype == np.uint8:
        return img.astype(np.float32) / 255.0
    return img.astype(np.float32)


def l1(a: np.ndarray, b: np.ndarray) -> float:
    """Mean absolute error of two images scaled to [0, 1]."""
    _check_same(a, b)
    return float(np.abs(_as_float(a) - _as_float(b)).mean())


def psnr(a: np.ndarray, b: np.ndarray) -> float:
    """Peak signal-to-noise ratio in dB (images in [0, 1]); inf for identical images."""
    _check_same(a, b)
    mse = float(((_as_float(a) - _as_float(b)) ** 2).mean())
    return float("inf") if mse == 0 else 10.0 * np.log10(1.0 / mse)


def ssim(a: np.ndarray, b: np.ndarray) -> float:
    """Structural similarity (scikit-image), colour images compared per channel."""
    from skimage.metrics import structural_similarity

    _check_same(a, b)
    fa, fb = _as_float(a), _as_float(b)
    min_side = min(fa.shape[:2])
    win = min(7, min_side if min_side % 2 else min_side - 1)
    if win < 3:
        raise ValueError(f"images of {fa.shape[:2]} are too small for SSIM (need at least 3x3)")
    return float(structural_similarity(fa, fb, data_range=1.0, win_size=win,
                                       channel_axis=2 if fa.ndim == 3 else None))


def _check_same(a: np.ndarray, b: np.ndarray) -> None:
    if a.shape != b.shape:
        raise ValueError(f"images differ in shape: {a.shape} vs {b.shape}")


# -- bone directions -------------------------------------------------------------------------------
def bone_angles_deg(target: Pose, found: Pose | None, min_score: float = MIN_SCORE) -> np.ndarray:
    """Angle (degrees, 0..180) between each COCO-17 bone of ``target`` and the same bone of
    ``found`` (re-estimated on the output), for the bones whose two ends are present in both.
    Empty when ``found`` is None or no bone is shared."""
    if found is None:
        return np.zeros(0)
    t, f = target.to_layout(COCO17), found.to_layout(COCO17)
    ok = t.present(min_score) & f.present(min_score)
    pairs = COCO17.bone_indices
    sel = ok[pairs[:, 0]] & ok[pairs[:, 1]]
    if not sel.any():
        return np.zeros(0)
    a, b = pairs[sel, 0], pairs[sel, 1]
    vt = (t.xy[b] - t.xy[a]).astype(np.float64)
    vf = (f.xy[b] - f.xy[a]).astype(np.float64)
    nt, nf = np.linalg.norm(vt, axis=1), np.linalg.norm(vf, axis=1)
    good = (nt > 1e-6) & (nf > 1e-6)
    cos = np.sum(vt[good] * vf[good], axis=1) / (nt[good] * nf[good])
    return np.degrees(np.arccos(np.clip(cos, -1.0, 1.0)))


def bone_direction_error(targets, founds, min_score: float = MIN_SCORE) -> float:
    """Bone-direction error (degrees): the mean, over frames and the COCO-17 bones present in both,
    of the angle between the target's bone and the bone re-estimated on the output
    (``bone_angles_deg``, pooled over every (frame, bone) pair). NaN when no bone is shared."""
    angles = [bone_angles_deg(t, f, min_score) for t, f in zip(targets, founds)]
    pooled = np.concatenate(angles) if angles else np.zeros(0)
    return float(pooled.mean()) if pooled.size else float("nan")


# -- ghosts of the old body ------------------------------------------------------------------------
GHOST_DILATE_PX = 15


def ghost_region(reference_mask: np.ndarray, real_mask: np.ndarray, dilate_px: int = GHOST_DILATE_PX,
                 threshold: float = 0.5) -> np.ndarray:
    """Pixels (bool HxW) where the reference frame showed the person (segmentation > threshold,
    grown by ``dilate_px`` to take the halo and shadow) and the real frame shows background:
    where a renderer must draw the scene without the reference body."""
    ref = (np.asarray(reference_mask) > threshold).astype(np.uint8)
    if dilate_px > 0:
        import cv2

        k = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * dilate_px + 1, 2 * dilate_px + 1))
        ref = cv2.dilate(ref, k)
    return (ref > 0) & (np.asarray(real_mask) <= threshold)


def ghost_l1(output: np.ndarray, real: np.ndarray, region: np.ndarray) -> float:
    """L1 (images in [0, 1]) of output vs real over ``region`` (see ghost_region); NaN if empty."""
    _check_same(output, real)
    if not region.any():
        return float("nan")
    return float(np.abs(_as_float(output[region]) - _as_float(real[region])).mean())


class PersonSegmenter:
    """MediaPipe selfie segmentation (general model): person probability HxW float32 of a BGR frame.
    Used by the ghost measure; a context manager."""

    def __init__(self) -> None:
        import mediapipe as mp

        self._seg = mp.solutions.selfie_segmentation.SelfieSegmentation(model_selection=0)

    def __call__(self, image_bgr: np.ndarray) -> np.ndarray:
        import cv2

        rgb = cv2.cvtColor(image_bgr, cv2.COLOR_BGR2RGB)
        res = self._seg.process(rgb)
        if res.segmentation_mask is None:
            return np.zeros(image_bgr.shape[:2], np.float32)
        return np.asarray(res.segmentation_mask, np.float32)

    def close(self) -> None:
        self._seg.close()

    def __enter__(self) -> "PersonSegmenter":
        return self

    def __exit__(self, *exc) -> None:
        self.close()


# -- face -----------------------------------------------------------------------------------------------
def _corr(a: Sequence[float], b: Sequence[float]) -> float:
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    if len(a) < 3 or a.std() < 1e-9 or b.std() < 1e-9:
        return float("nan")
    return float(np.corrcoef(a, b)[0, 1])


@dataclass
class FaceScores:
    """The driver's face against the output's, frame by frame (realtime.face measures).

    Per frame where the driver shows a face: mouth opening (13-14 over 234-454), eye opening and roll
    of both; the output's are missing (counted) where Face Mesh finds no face on it.
    relative_roll: compare roll changes (output and driver each minus their median offset: a
    different person's head sits at its own angle) instead of absolute roll (self-reenactment).
    mirror: the driver was mirrored (the output's roll is the driver's negated).
    """

    relative_roll: bool = False
    mirror: bool = False
    driver_frames: int = 0
    missing: int = 0
    driver_mouth: list[float] = field(default_factory=list)
    out_mouth: list[float] = field(default_factory=list)
    driver_eyes: list[float] = field(default_factory=list)
    out_eyes: list[float] = field(default_factory=list)
    driver_roll: list[float] = field(default_factory=list)
    out_roll: list[float] = field(default_factory=list)

    def add(self, driver_face, out_face) -> None:
        from realtime.face import eye_opening, mouth_opening, roll_deg

        if driver_face is None:
            return
        self.driver_frames += 1
        if out_face is None:
            self.missing += 1
            return
        self.driver_mouth.append(mouth_opening(driver_face))
        self.out_mouth.append(mouth_opening(out_face))
        self.driver_eyes.append(eye_opening(driver_face))
        self.out_eyes.append(eye_opening(out_face))
        self.driver_roll.append(-roll_deg(driver_face) if self.mirror else roll_deg(driver_face))
        self.out_roll.append(roll_deg(out_face))

    def summary(self) -> dict[str, float]:
        if not self.driver_frames:
            return {}
        d = np.asarray(self.driver_roll) - np.asarray(self.out_roll)
        if self.relative_roll and len(d):
            d = d - np.median(d)
        dm, om = np.asarray(self.driver_mouth), np.asarray(self.out_mouth)
        return {
            "face_frames": self.driver_frames,
            "face_not_found": self.missing / self.driver_frames,
            "mouth_corr": _corr(dm, om),
            "mouth_range_ratio": float(np.ptp(om) / np.ptp(dm)) if len(dm) > 1 and np.ptp(dm) > 0 else float("nan"),
            "eye_corr": _corr(self.driver_eyes, self.out_eyes),
            "head_roll_err_deg": float(np.abs(d).mean()) if len(d) else float("nan"),
        }


# -- hands ----------------------------------------------------------------------------------------------
@dataclass
class HandScores:
    """The driver's hands against the output's (realtime.hands), frame by frame.

    driver_hand_frames: driver frames showing at least one hand; found: of those, frames where the
    output shows a hand on a side the driver shows one. Finger bend (mean PIP angle of the four
    fingers) is paired per side where both show the hand.
    """

    driver_hand_frames: int = 0
    found: int = 0
    driver_bend: list[float] = field(default_factory=list)
    out_bend: list[float] = field(default_factory=list)

    def add(self, driver_hands: dict | None, out_hands: dict | None) -> None:
        from realtime.hands import finger_bend

        if not driver_hands:
            return
        self.driver_hand_frames += 1
        out_hands = out_hands or {}
        common = [s for s in driver_hands if s in out_hands]
        if common:
            self.found += 1
        for s in common:
            self.driver_bend.append(finger_bend(driver_hands[s]))
            self.out_bend.append(finger_bend(out_hands[s]))

    def summary(self) -> dict[str, float]:
        if not self.driver_hand_frames:
            return {}
        return {"hand_frames": self.driver_hand_frames, "hands_found": self.found / self.driver_hand_frames,
                "finger_bend_corr": _corr(self.driver_bend, self.out_bend)}
