"""Offline reenactment: drive a prepared renderer with a pose sequence, and measure the result.

Used by `repose render`, `repose evaluate`, `repose demo` and scripts/quality_report.py.
Coordinates: driver poses are in driver-frame pixels; targets and outputs in reference pixels.
"""
from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from typing import Callable, Iterable, Iterator, TypeVar

import numpy as np

from engines.evaluation import (FaceScores, HandScores, KeypointScores, PersonSegmenter, bone_angles_deg, ghost_l1,
                                ghost_region, l1, psnr, ssim)
from realtime.inputs import InputFrame
from realtime.pose import Pose

log = logging.getLogger(__name__)


T = TypeVar("T")


@dataclass
class Cues:
    """What a driver frame gives a renderer besides its pose: the expression (realtime.face) and, for
    the measures, the driver's face as found (camera orientation)."""

    expression: object = None
    face: object = None
    hands: object = None          # {side: realtime.hands.Hand} for the renderer (mirrored as the pose)
    driver_hands: object = None   # the driver's hands (mirrored as the pose), for the measures


def face_tracker(renderer, enabled: bool | None, mirror: bool = False, neutral=None,
                 neutral_frames: int = 5):
    """A realtime.face.FaceTracker for this prepared renderer, or None.

    enabled: True / False (--face / --no-face), None: on where the reference shows a face. A face
    asked for but not in the reference gives a one-line notice and None."""
    has = bool(getattr(renderer, "has_face", False))
    if enabled is False:
        return None
    if not has:
        if enabled:
            log.warning("--face: the reference shows no face the renderer can move; the face stays as photographed")
        return None
    from realtime.face import FaceTracker

    return FaceTracker(neutral=neutral, mirror=mirror, neutral_frames=neutral_frames)


def hand_tracker(renderer, enabled: bool | None, mirror: bool = False, every: int = 1):
    """A realtime.hands.HandTracker for this prepared renderer, or None.

    enabled: True / False (--hands / --no-hands), None: on where the reference shows an open hand.
    Asked for but not in the reference: a one-line notice and None."""
    if enabled is False:
        return None
    if not bool(getattr(renderer, "has_hands", False)):
        if enabled:
            log.warning("--hands: the reference shows no open hand the renderer can move; the hands stay rigid")
        return None
    from realtime.hands import HandTracker

    return HandTracker(mirror=mirror, every=every)


def driver_cues(frame: InputFrame, faces=None, hands=None, use_hands: bool = True) -> "Cues | None":
    """The Cues of one driver frame from a FaceTracker and a HandTracker (either may be None);
    use_hands: give the hands to the renderer too (else they are only measured)."""
    if frame.image is None or (faces is None and hands is None):
        return None
    c = Cues()
    if faces is not None:
        c.expression = faces(frame.image, frame.pose, frame.time_s)
        c.face = faces.last_face
    if hands is not None:
        c.driver_hands = hands(frame.image, frame.pose, frame.time_s)
        c.hands = c.driver_hands if use_hands else None
    return c


def render_with(renderer, target: Pose, cues: "Cues | None") -> np.ndarray:
    """renderer.render(target), with the expression and hands where there are some."""
    kw = {}
    if cues is not None and cues.expression is not None:
        kw["expression"] = cues.expression
    if cues is not None and cues.hands:
        kw["hands"] = cues.hands
    return renderer.render(target, **kw)


def hold_last(driven: Iterable[tuple[T, Pose | None]], rest: Pose) -> Iterator[tuple[T, Pose, bool]]:
    """(item, pose to render, whether the pose is new) for each (item, target) pair: a missing target
    repeats the last one (the rest pose before the first). The item (e.g. the driver frame) rides along."""
    last = rest
    for item, target in driven:
        if target is None:
            yield item, last, False
        else:
            last = target
            yield item, target, True


def person_box(pose: Pose, width: int, height: int, pad: float = 0.1) -> tuple[int, int, int, int] | None:
    """Integer (x0, y0, x1, y1) of the pose's box grown by ``pad`` of its size, clipped to the image."""
    b = pose.bbox()
    if b is None:
        return None
    x0, y0, x1, y1 = b
    px, py = pad * (x1 - x0) + 4, pad * (y1 - y0) + 4
    box = (max(0, int(x0 - px)), max(0, int(y0 - py)), min(width, int(np.ceil(x1 + px))),
           min(height, int(np.ceil(y1 + py))))
    if box[2] - box[0] < 7 or box[3] - box[1] < 7:
        return None
    return box


@dataclass
class EvalResult:
    """Measures of one evaluation run (see `repose evaluate`)."""

    frames: int = 0
    rendered: int = 0
    render_ms: list[float] = field(default_factory=list)
    keypoints: KeypointScores = field(default_factory=KeypointScores)
    l1_full: list[float] = field(default_factory=list)
    ssim_full: list[float] = field(default_factory=list)
    psnr_full: list[float] = field(default_factory=list)
    l1_box: list[float] = field(default_factory=list)
    ssim_box: list[float] = field(default_factory=list)
    psnr_box: list[float] = field(default_factory=list)
    frame_index: list[int] = field(default_factory=list)
    bone_deg: list[float] = field(default_factory=list)   # per frame: mean bone-direction error
    bone_sum: float = 0.0                                 # pooled over (frame, bone) pairs
    bone_count: int = 0
    l1_ghost: list[float] = field(default_factory=list)
    reestimate: str = "image"                             # the estimator mode that re-reads the outputs
    # the same measures of the real frames against the targets (self-reenactment): what a renderer
    # that reproduced each real frame exactly would score, i.e. the floor of the estimator itself
    floor_keypoints: KeypointScores | None = None
    floor_bone_sum: float = 0.0
    floor_bone_count: int = 0

    @property
    def bone_direction_error(self) -> float:
        """Mean over frames and shared COCO-17 bones (engines.evaluation.bone_direction_error)."""
        return self.bone_sum / self.bone_count if self.bone_count else float("nan")
    face: FaceScores | None = None
    hands: HandScores | None = None
    floor_hands: HandScores | None = None                 # the real frames' hands (self-reenactment)

    @property
    def render_fps(self) -> float:
        return 1000.0 / float(np.mean(self.render_ms)) if self.render_ms else float("nan")

    def summary(self) -> dict[str, float | int]:
        def m(v: list[float]) -> float:
            vals = [x for x in v if np.isfinite(x)]
            return float(np.mean(vals)) if vals else float("nan")

        out: dict[str, float | int] = {
            "frames": self.frames, "rendered": self.rendered,
            "akd_px": self.keypoints.akd_px, "akd_256": self.keypoints.akd_256, "mkr": self.keypoints.mkr,
            "bone_deg": self.bone_direction_error,
            "render_ms": m(self.render_ms), "render_fps": self.render_fps,
        }
        for extra in (self.face, self.hands):
            if extra is not None:
                out.update(extra.summary())
        if self.l1_full:
            out.update({"l1": m(self.l1_full), "ssim": m(self.ssim_full), "psnr": m(self.psnr_full),
                        "l1_box": m(self.l1_box), "ssim_box": m(self.ssim_box), "psnr_box": m(self.psnr_box)})
        if self.l1_ghost:
            out["l1_ghost"] = m(self.l1_ghost)
        out["reestimate"] = self.reestimate
        if self.floor_hands is not None and self.floor_hands.driver_hand_frames:
            out["floor_hands_found"] = self.floor_hands.found / self.floor_hands.driver_hand_frames
        if self.floor_keypoints is not None and self.floor_keypoints.expected:
            out.update({"floor_akd_256": self.floor_keypoints.akd_256, "floor_mkr": self.floor_keypoints.mkr,
                        "floor_bone_deg": (self.floor_bone_sum / self.floor_bone_count
                                           if self.floor_bone_count else float("nan"))})
        return out


def evaluate_sequence(renderer, items: Iterable[tuple[int, Pose | None, np.ndarray | None]],
                      total: int | None = None,
                      progress: Callable[[Iterable, int | None, str], Iterable] | None = None,
                      keep: Callable[[int, np.ndarray, Pose, np.ndarray | None, EvalResult], None] | None = None,
                      reference_frame: np.ndarray | None = None, face: FaceScores | None = None,
                      hands: HandScores | None = None, reestimate: str = "image",
                      floor: bool = False) -> EvalResult:
    """Render every (index, target, real frame or None) item (skipping targets that are None),
    re-estimate the pose on each output for AKD/MKR and the bone error, and where a real frame
    is given compare the output with it (L1, SSIM, PSNR over the full frame and inside the
    target's person box). Items are consumed one at a time (a generator keeps memory flat).
    reestimate: the MediaPipe mode that re-reads the outputs, "image" (detect on every output) or
    "video" (track over the output sequence): give the mode the targets were estimated in, so that
    an output equal to its real frame scores (almost) zero; image mode on video-mode targets has a
    floor of 2-3.5 degrees of bone error on the shared clips. floor: also score the real frames
    against the targets the same way (``floor_akd_256``, ``floor_mkr``, ``floor_bone_deg``).
    reference_frame (BGR, the frame the renderer was prepared from; self-reenactment): also the ghost
    L1 (engines.evaluation.ghost_region: MediaPipe selfie segmentation of it and of each real frame).
    The bone-direction error (degrees) is kept for every rendered frame.

    keep(i, output, target, real, result_so_far) is called after every rendered frame.
    Items may carry a fourth element, the frame's Cues: its expression and hands go to the renderer,
    and with ``face`` / ``hands`` (FaceScores, HandScores) the driver's are compared with those found
    on the output (Face Mesh in image mode; Hands in the ``reestimate`` mode, and with ``floor`` on
    the real frames too: ``floor_hands_found``).
    """
    from realtime.estimator import create_estimator

    res = EvalResult(face=face, hands=hands)
    it: Iterable = items
    if progress:
        it = progress(items, total, "rendering + scoring")
    seg = ref_mask = None
    if reference_frame is not None:
        seg = PersonSegmenter()
        ref_mask = seg(reference_frame)
    extra = _output_estimators(face, hands, reestimate, floor)
    res.floor_hands = HandScores() if "floor_hands" in extra else None
    res.reestimate = reestimate
    floor_est = None
    if floor:
        res.floor_keypoints = KeypointScores()
        floor_est = create_estimator(reestimate)
    try:
        with create_estimator(reestimate) as est:
            for item in it:
                i, target, real = item[:3]
                cues = item[3] if len(item) > 3 else None
                res.frames += 1
                if target is None:
                    continue
                t0 = time.perf_counter()
                out = render_with(renderer, target, cues)
                res.render_ms.append((time.perf_counter() - t0) * 1000.0)
                out = out[..., :3] if out.ndim == 3 and out.shape[2] == 4 else out
                res.rendered += 1
                res.frame_index.append(i)
                found = est.estimate(np.ascontiguousarray(out))
                res.keypoints.add(target, found, out.shape[0])
                angles = bone_angles_deg(target, found)
                res.bone_sum += float(angles.sum())
                res.bone_count += int(angles.size)
                res.bone_deg.append(float(angles.mean()) if angles.size else float("nan"))
                _score_cues(res, extra, cues, np.ascontiguousarray(out), target, real)
                if real is not None:
                    _compare(res, out, real, target)
                    if floor_est is not None:
                        _score_floor(res, floor_est.estimate(np.ascontiguousarray(real)), target, real.shape[0])
                    if seg is not None:
                        res.l1_ghost.append(ghost_l1(out, real, ghost_region(ref_mask, seg(real))))
                if keep:
                    keep(i, out, target, real, res)
    finally:
        if seg is not None:
            seg.close()
        if floor_est is not None:
            floor_est.close()
        for e in extra.values():
            e.close()
    return res


def _score_floor(res: EvalResult, found: Pose | None, target: Pose, height: int) -> None:
    """The real frame re-estimated like an output: the estimator's own floor of AKD/MKR/bone error."""
    res.floor_keypoints.add(target, found, height)
    angles = bone_angles_deg(target, found)
    res.floor_bone_sum += float(angles.sum())
    res.floor_bone_count += int(angles.size)


def _compare(res: EvalResult, out: np.ndarray, real: np.ndarray, target: Pose) -> None:
    """Image measures of one output against its real frame: whole frame and person box."""
    h, w = out.shape[:2]
    res.l1_full.append(l1(out, real))
    res.ssim_full.append(ssim(out, real))
    res.psnr_full.append(psnr(out, real))
    box = person_box(target, w, h)
    if box is None:
        res.l1_box.append(float("nan"))
        res.ssim_box.append(float("nan"))
        res.psnr_box.append(float("nan"))
        return
    x0, y0, x1, y1 = box
    a, b = out[y0:y1, x0:x1], real[y0:y1, x0:x1]
    res.l1_box.append(l1(a, b))
    res.ssim_box.append(ssim(a, b))
    res.psnr_box.append(psnr(a, b))


def _output_estimators(face: FaceScores | None, hands: HandScores | None, mode: str = "image",
                       floor: bool = False) -> dict:
    """Face Mesh (image mode) and Hands (``mode``: the outputs' re-reading mode, the driver's hands
    being tracked in video mode; image mode on the real frames of webcam_signing against exact
    targets finds 0.77 of the hands, video mode 0.96) for scoring outputs, as the scores ask; with
    ``floor`` a second Hands for the real frames."""
    out = {}
    if face is not None:
        from realtime.face import FaceMeshEstimator

        out["face"] = FaceMeshEstimator("image")
    if hands is not None:
        from realtime.hands import HandEstimator

        out["hands"] = HandEstimator(mode)
        if floor:
            out["floor_hands"] = HandEstimator(mode)
    return out


def _score_cues(res: EvalResult, extra: dict, cues: "Cues | None", out: np.ndarray, target: Pose,
                real: np.ndarray | None = None) -> None:
    """The driver's face and hands against those found on the output (and on the real frame: the
    hands' floor)."""
    if cues is None:
        return
    if "face" in extra:
        res.face.add(cues.face, extra["face"].detect(out, target))
    if "hands" in extra:
        res.hands.add(cues.driver_hands, extra["hands"].detect(out, target))
    if "floor_hands" in extra and real is not None:
        res.floor_hands.add(cues.driver_hands, extra["floor_hands"].detect(np.ascontiguousarray(real), target))


def self_reenactment(renderer, first: InputFrame, later: Iterable[InputFrame], total: int | None = None,
                     progress: Callable[[Iterable, int | None, str], Iterable] | None = None,
                     keep: Callable[[int, np.ndarray, Pose, np.ndarray | None, EvalResult], None] | None = None,
                     retarget_for: Callable[[Pose], Callable[[Pose | None, float], Pose | None]] | None = None,
                     cues: Callable[[InputFrame], object] | None = None, face: FaceScores | None = None,
                     hands: HandScores | None = None, prepared: bool = False, reestimate: str = "video",
                     floor: bool = True) -> EvalResult:
    """Self-reenactment (`repose evaluate --self`): the renderer is prepared on the first frame, the later
    frames' poses are the targets and each output is scored against the real later frame
    (:func:`evaluate_sequence`, ghost L1 included; item index = frame index - 1).
    retarget_for(rest_pose) -> retarget(pose, time_s): makes the driver -> target mapping of `repose
    render` once the renderer's rest pose is known (the caller may import calibration; the mapping is
    fed the first frame too); None: the poses unchanged.
    cues(frame): the frame's driver Cues (face, hands) for the renderer, with ``face``/``hands`` scores
    (evaluate_sequence); prepared: the caller already prepared the renderer on ``first.image`` (it
    needed the prepared renderer to set up its cues).
    reestimate: the estimator mode of the later frames' poses ("video" for a clip read by
    realtime.inputs), used to re-read the outputs; floor: also score the real frames the same way.
    total: how many later frames (for the progress bar)."""
    if not prepared:
        renderer.prepare(first.image)
    retarget = None
    if retarget_for is not None:
        retarget = retarget_for(renderer.rest_pose)
        retarget(first.pose, first.time_s)

    def item(f: InputFrame) -> tuple:
        pose = f.pose if retarget is None else retarget(f.pose, f.time_s)
        return (f.index - 1, pose, f.image) if cues is None else (f.index - 1, pose, f.image, cues(f))

    return evaluate_sequence(renderer, (item(f) for f in later), total, progress=progress, keep=keep,
                             reference_frame=first.image, face=face, hands=hands, reestimate=reestimate,
                             floor=floor)
