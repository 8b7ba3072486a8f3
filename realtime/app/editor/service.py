"""The pose editor's work, independent of the web framework: estimate, render, evaluate, retarget.

Reference photos live in memory only (a small LRU keyed by a content hash of the decoded pixels),
never on disk; nothing is pickled. One estimator (MediaPipe, image mode) and one renderer serve all
requests behind one lock: MediaPipe is not thread-safe, and a renderer is prepared for one
reference at a time (it is re-prepared when a request names another reference).

Coordinates: every pose is in pixels of the stored reference image (origin top-left, x right,
y down), after the upload was scaled to at most ``max_side`` pixels on its longer side.
"""
from __future__ import annotations

import collections
import logging
import threading
import time
from dataclasses import dataclass, field, replace
from typing import Any, Callable

import numpy as np

from realtime.app.editor.uploads import DecodedImage, UploadError, UploadLimits, decode_upload
from realtime.errors import InputError
from realtime.pose import MIN_SCORE, Pose

log = logging.getLogger(__name__)


@dataclass
class EditorOptions:
    """Options of the editor server.

    renderer: a name in engines.renderer.RENDERERS ("warp", "learned", ...).
    renderer_options: keyword options for engines.renderer.create_renderer (e.g. the learned
    renderer's checkpoint and backend); `repose editor` builds them from the shared renderer flags.
    max_upload_bytes: largest request body (bytes); max_pixels: largest upload (width*height, from
    its header); max_side: uploads are scaled so their longer side is at most this (px).
    cache_size: how many reference photos (and as many rendered outputs) are kept in memory.
    """

    renderer: str = "warp"
    renderer_options: dict[str, Any] = field(default_factory=dict)
    max_upload_bytes: int = 12 * 1024 * 1024
    max_pixels: int = 40_000_000
    max_side: int = 1280
    cache_size: int = 8
    min_score: float = MIN_SCORE

    @property
    def limits(self) -> UploadLimits:
        return UploadLimits(max_pixels=self.max_pixels, max_side=self.max_side)



class NotFound(InputError):
    """A request named a reference the server does not hold (HTTP 404)."""


class NoPerson(InputError):
    """The estimator found nobody in a photo (HTTP 422)."""


@dataclass(frozen=True)
class Reference:
    """A stored reference photo (BGR uint8) and the pose estimated on it (MediaPipe-33)."""

    image_id: str
    bgr: np.ndarray
    pose: Pose
    scale: float

    @property
    def width(self) -> int:
        return int(self.bgr.shape[1])

    @property
    def height(self) -> int:
        return int(self.bgr.shape[0])


@dataclass(frozen=True)
class Rendered:
    """A render: BGR uint8 image at the reference's size and the time the renderer took (ms)."""

    bgr: np.ndarray
    render_ms: float
    cached: bool = False


@dataclass(frozen=True)
class Evaluation:
    """How well an output respects its target pose (engines.evaluation; COCO-17 keypoints).

    akd_px: mean distance (px of the output) between target keypoints and keypoints re-estimated on
    the output; akd_256: the same scaled to a 256-px output height; mkr: share of target keypoints
    not found on the output. NaN when undefined (nothing matched / nothing expected).
    """

    akd_px: float
    akd_256: float
    mkr: float
    expected: int
    missing: int
    found: Pose | None
    render_ms: float
    estimate_ms: float


@dataclass(frozen=True)
class Features:
    """What the face and hand stages see in a reference (reference px): the Face Mesh landmarks
    (478, 2) or None, the MediaPipe Hands landmarks {side: (21, 2)} and each hand's finger bend
    (mean PIP angle, degrees); face_stage / hand_stage: whether the renderer moves that face with a
    driver's expression, and the sides whose fingers follow a driver's (an open hand large enough);
    notes: one line for each part the stages leave as photographed."""

    face: np.ndarray | None
    hands: dict[str, np.ndarray]
    finger_bend: dict[str, float]
    face_stage: bool
    hand_stage: tuple[str, ...]
    notes: tuple[str, ...]
    ms: float


class _LRU:
    """A tiny least-recently-used map (no pickling, no disk)."""

    def __init__(self, size: int) -> None:
        self.size = max(1, size)
        self._d: collections.OrderedDict = collections.OrderedDict()

    def get(self, key):
        if key in self._d:
            self._d.move_to_end(key)
            return self._d[key]
        return None

    def put(self, key, value) -> None:
        self._d[key] = value
        self._d.move_to_end(key)
        while len(self._d) > self.size:
            self._d.popitem(last=False)

    def __contains__(self, key) -> bool:
        return key in self._d

    def __len__(self) -> int:
        return len(self._d)


def _pose_key(pose: Pose) -> bytes:
    z = b"" if pose.z is None else np.round(pose.z, 2).tobytes()
    return pose.layout.name.encode() + np.round(pose.xy, 2).tobytes() + np.round(pose.score, 3).tobytes() + z


def default_retarget(source: Pose, reference: Pose, mirror: bool = False) -> Pose:
    """Retarget ``source`` onto the reference's body with calibration.retarget.

    The result takes the source's bone directions and the reference's bone lengths, anchored at
    the reference's body centre, in reference pixels. A single photo has no neutral pose of its
    own, so the source serves as its own neutral: no displacement, no distance-to-camera change,
    every bone at the reference's length (a limb foreshortened in the source is not shortened).
    """
    from calibration.retarget import RetargetOptions, retarget_pose

    return retarget_pose(source, source, reference, options=RetargetOptions(mirror=mirror))


def complete_pose(pose: Pose, rest: Pose) -> Pose:
    """``pose`` in ``rest``'s layout (the editor edits and renders MediaPipe-33).

    Keypoints ``pose`` has (by name) are taken from it; a keypoint it lacks (a COCO or OpenPose pose
    has no hand, heel or mouth points) moves with its nearest ancestor that ``pose`` has (the
    skeleton tree of calibration.retarget: hand points with the wrist, feet with the ankle, face
    with the nose), keeping its rest offset, scored no higher than that ancestor; with no such
    ancestor it stays at rest. Depths: ``pose``'s where it has them, else the rest pose's.
    """
    if pose.layout is rest.layout:
        return pose
    from calibration.retarget import PARENT

    src = pose.layout.index
    xy, score = rest.xy.copy(), rest.score.copy()
    z = None if rest.z is None else rest.z.copy()
    for i, name in enumerate(rest.layout.names):
        if name in src:
            j = src[name]
            xy[i], score[i] = pose.xy[j], pose.score[j]
            if z is not None and pose.z is not None:
                z[i] = pose.z[j]
            continue
        anc = PARENT.get(name)
        while anc is not None and anc not in src:
            anc = PARENT.get(anc)
        if anc is not None and anc in rest.layout.index:
            j, k = src[anc], rest.layout.index[anc]
            xy[i] = rest.xy[i] + (pose.xy[j] - rest.xy[k])
            score[i] = min(float(rest.score[i]), float(pose.score[j]))
    return Pose(xy=xy, score=score, layout=rest.layout, width=pose.width, height=pose.height, z=z,
                timestamp_s=pose.timestamp_s)


def _feature_notes(face: bool, face_stage: bool, hands: dict, hand_stage: tuple[str, ...],
                   renderer: str) -> tuple[str, ...]:
    """One line for each part the face and hand stages leave as photographed."""
    notes = []
    if not face:
        notes.append("no face found in the photo: the face keeps the photo's expression")
    elif not face_stage:
        notes.append(f"the {renderer} renderer does not move the face: it keeps the photo's expression")
    for side in ("left", "right"):
        if side not in hands:
            notes.append(f"no {side} hand found in the photo: it stays rigid on its forearm")
        elif side not in hand_stage:
            notes.append(f"the {side} hand is too small or closed to open its fingers: it stays rigid")
    return tuple(notes)


class EditorService:
    """Estimate, render, evaluate and retarget for the editor; thread-safe (one lock)."""

    def __init__(self, options: EditorOptions | None = None, estimator=None, renderer=None,
                 retarget: Callable[[Pose, Pose, bool], Pose] | None = None) -> None:
        self.options = options or EditorOptions()
        self._lock = threading.Lock()
        self._estimator = estimator
        if renderer is None:
            from engines.renderer import create_renderer

            renderer = create_renderer(self.options.renderer, **self.options.renderer_options)
        self._renderer = renderer
        self._prepared_for: str | None = None
        self._retarget = retarget or default_retarget
        self._references = _LRU(self.options.cache_size)
        self._outputs = _LRU(self.options.cache_size)
        self._features = _LRU(self.options.cache_size)

    # -- parts -------------------------------------------------------------------------------
    @property
    def renderer_name(self) -> str:
        return str(getattr(self._renderer, "name", self.options.renderer))

    def _get_estimator(self):
        if self._estimator is None:
            from realtime.estimator import create_estimator

            self._estimator = create_estimator("image")
        return self._estimator

    def _estimate(self, bgr: np.ndarray) -> Pose | None:
        return self._get_estimator().estimate(bgr)

    # -- API ---------------------------------------------------------------------------------
    def add_reference(self, data: bytes) -> Reference:
        """Decode an uploaded photo, estimate its pose and keep both; NoPerson when nobody is found."""
        img = decode_upload(data, self.options.limits)
        with self._lock:
            known = self._references.get(img.image_id)
            if known is not None:
                return known
            pose = self._estimate(img.bgr)
        if pose is None or not pose.present(self.options.min_score).any():
            raise NoPerson("no person found in the photo; choose a photo where one person is clearly "
                           "visible, ideally head to feet")
        ref = Reference(image_id=img.image_id, bgr=img.bgr, pose=pose, scale=img.scale)
        with self._lock:
            self._references.put(ref.image_id, ref)
        log.info("reference %s: %dx%d, %d keypoints present", ref.image_id, ref.width, ref.height,
                 int(pose.present(self.options.min_score).sum()))
        return ref

    def reference(self, image_id: str) -> Reference:
        """A stored reference; NotFound when the server does not hold it (restarted, evicted)."""
        with self._lock:
            ref = self._references.get(image_id)
        if ref is None:
            raise NotFound(f"unknown reference {image_id!r}: the server does not hold that photo "
                           "(restarted or evicted); upload it again with POST /api/estimate")
        return ref

    def check_target(self, ref: Reference, target: Pose) -> Pose:
        """The target in the reference's pixel frame and layout (completed from the rest pose, see
        complete_pose), with the reference's depths when it has none; InputError on a size mismatch."""
        if (target.width, target.height) != (ref.width, ref.height):
            raise InputError(f"the pose is for a {target.width}x{target.height} image but the reference is "
                             f"{ref.width}x{ref.height}; send a pose in the reference's pixels")
        if target.layout is not ref.pose.layout:
            target = complete_pose(target, ref.pose)
        if target.z is None and ref.pose.z is not None:   # depth order: keep the reference's
            target = replace(target, z=ref.pose.z)
        return target

    def render(self, image_id: str, target: Pose) -> Rendered:
        """The reference person in the target pose (BGR uint8 at the reference's size)."""
        ref = self.reference(image_id)
        target = self.check_target(ref, target)
        key = (image_id, _pose_key(target))
        with self._lock:
            hit = self._outputs.get(key)
            if hit is not None:
                return Rendered(hit.bgr, hit.render_ms, cached=True)
            self._prepare(ref)
            t0 = time.perf_counter()
            out = self._renderer.render(target)
            ms = (time.perf_counter() - t0) * 1e3
            out = np.asarray(out)
            if out.ndim == 3 and out.shape[2] == 4:     # BGRA: composite on white for viewing
                alpha = out[:, :, 3:4].astype(np.float32) / 255.0
                out = (out[:, :, :3] * alpha + 255.0 * (1 - alpha)).astype(np.uint8)
            if out.dtype != np.uint8 or out.ndim != 3 or out.shape[2] != 3:
                raise RuntimeError(f"renderer {self.renderer_name} returned {out.dtype} {out.shape}, "
                                   "expected BGR uint8 HxWx3")
            result = Rendered(out, ms)
            self._outputs.put(key, result)
        return result

    def _prepare(self, ref: Reference) -> None:
        """Prepare the renderer for ``ref`` unless it already is (call with the lock held)."""
        if self._prepared_for == ref.image_id:
            return
        t0 = time.perf_counter()
        self._prepared_for = None
        self._renderer.prepare(ref.bgr, ref.pose)
        self._prepared_for = ref.image_id
        log.info("renderer %s prepared for %s in %.0f ms", self.renderer_name, ref.image_id,
                 (time.perf_counter() - t0) * 1e3)

    def features(self, image_id: str) -> Features:
        """The face and hands of a reference as the face and hand stages see them (cached)."""
        from realtime.face import FaceMeshEstimator
        from realtime.hands import HandEstimator, finger_bend

        ref = self.reference(image_id)
        with self._lock:
            hit = self._features.get(image_id)
            if hit is not None:
                return hit
            t0 = time.perf_counter()
            with FaceMeshEstimator("image") as fm:
                face = fm.detect(ref.bgr, ref.pose)
            with HandEstimator("image") as he:
                hands = he.detect(ref.bgr, ref.pose)
            self._prepare(ref)
            face_stage = bool(getattr(self._renderer, "has_face", False))
            hand_stage = tuple(getattr(self._renderer, "hand_sides", ()))
            ms = (time.perf_counter() - t0) * 1e3
        notes = _feature_notes(face is not None, face_stage, hands, hand_stage, self.renderer_name)
        got = Features(face=None if face is None else face.xy.astype(np.float64),
                       hands={s: h.xy.astype(np.float64) for s, h in hands.items()},
                       finger_bend={s: finger_bend(h) for s, h in hands.items()},
                       face_stage=face_stage, hand_stage=hand_stage, notes=notes, ms=ms)
        with self._lock:
            self._features.put(image_id, got)
        return got

    def evaluate(self, image_id: str, target: Pose) -> Evaluation:
        """Render the target (or reuse the cached render) and measure AKD and MKR on it."""
        from engines.evaluation import KeypointScores

        rendered = self.render(image_id, target)
        target = self.check_target(self.reference(image_id), target)
        t0 = time.perf_counter()
        with self._lock:
            found = self._estimate(rendered.bgr)
        est_ms = (time.perf_counter() - t0) * 1e3
        scores = KeypointScores()
        scores.add(target, found, output_height=rendered.bgr.shape[0], min_score=self.options.min_score)
        return Evaluation(akd_px=scores.akd_px, akd_256=scores.akd_256, mkr=scores.mkr,
                          expected=scores.expected, missing=scores.missing, found=found,
                          render_ms=rendered.render_ms, estimate_ms=est_ms)

    def pose_from_photo(self, image_id: str, data: bytes, mirror: bool = False) -> tuple[Pose, Pose]:
        """The pose of another photo retargeted to the reference's proportions.

        Returns (target in reference pixels, the other photo's own pose in its pixels).
        """
        ref = self.reference(image_id)
        img: DecodedImage = decode_upload(data, self.options.limits)
        with self._lock:
            source = self._estimate(img.bgr)
        if source is None or not source.present(self.options.min_score).any():
            raise NoPerson("no person found in the other photo; choose one where a person is clearly visible")
        target = self._retarget(source, ref.pose, mirror)
        if (target.width, target.height) != (ref.width, ref.height):
            target = replace(target, width=ref.width, height=ref.height)
        return target, source

    def pose_from_file(self, image_id: str, pose: Pose, mirror: bool = False) -> tuple[Pose, bool]:
        """A pose loaded from a file (repose or OpenPose JSON) as a target for the reference.

        A pose of the reference's own size (or of unknown size), unmirrored, is taken as it is (a
        pose saved from this editor comes back exactly); any other is retargeted to the reference's
        proportions, as a photo's pose is. Returns (target in reference pixels and layout, retargeted).
        """
        ref = self.reference(image_id)
        same_frame = pose.width in (None, ref.width) and pose.height in (None, ref.height)
        if not pose.present(self.options.min_score).any():
            raise NoPerson("the pose file holds no keypoint with a score of at least "
                           f"{self.options.min_score}; expected a pose with visible joints")
        retargeted = mirror or not same_frame
        target = self._retarget(pose, ref.pose, mirror) if retargeted else pose
        target = complete_pose(replace(target, width=ref.width, height=ref.height), ref.pose)
        return target, retargeted

    def close(self) -> None:
        with self._lock:
            if self._estimator is not None:
                self._estimator.close()
                self._estimator = None
            if self._renderer is not None:
                self._renderer.close()
                self._renderer = None


__all__ = ["EditorOptions", "EditorService", "Evaluation", "Features", "NoPerson", "NotFound", "Reference",
           "Rendered", "UploadError"]
