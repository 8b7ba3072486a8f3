"""The learned renderer: a trained PATN generator behind the Renderer protocol.

prepare(): once per reference photo. The reference pose (estimated when not given) sets the crop
size; the reference crop P_c and its pose maps S_c become the fixed ``cond_image``/``cond_pose``
inputs. The person is removed from the full reference frame (MediaPipe segmentation, inpainted)
to give the background plate that outputs are composited onto.
render(): per frame, only S_t changes: the target pose (reference pixels, already retargeted)
places a crop of the same size centred on the target; its pose maps go through the backend; the
generated crop is pasted back onto the plate with a feathered edge. Target keypoints missing from
the pose leave their map channel empty (the generator was trained that way). A target with no
keypoint at all renders the plate (nobody in view).

alpha=True returns BGRA; the alpha is an estimate of the person: where the generated crop differs
from the plate (the generator has no matte output), inside the pasted region.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from engines.backends.registry import BackendRequest, create_backend
from engines.learned.datasets import from_tensor_image, to_tensor_image
from engines.learned.personcrop import CropBox, crop_box, person_size
from engines.learned.posemaps import PoseMapOptions, keypoints18, pose_maps
from realtime.errors import InputError
from realtime.pose import Pose

log = logging.getLogger(__name__)


@dataclass
class LearnedOptions:
    """checkpoint: repose checkpoint (NAME.safetensors/.json or a run folder); onnx: an exported model
    (used by onnxruntime/tensorrt instead of exporting the checkpoint). backend: auto, torch,
    onnxruntime or tensorrt. feather_px: fade width at the crop edge in crop pixels.
    inpaint_background: composite onto the reference with the person removed (the ``background``
    option "inpaint"), else onto the reference as it is ("reference"). cache_dir: the model cache
    folder for exports and engines (engines/backends/model_cache.py).
    """

    checkpoint: Path | None = None
    onnx: Path | None = None
    backend: str = "auto"
    device: str = "auto"
    precision: str = "fp32"
    alpha: bool = False
    feather_px: float = 6.0
    inpaint_background: bool = True
    cache_dir: Path | None = None
    extra: dict = field(default_factory=dict)


def _generator_config(opts: LearnedOptions):
    if opts.checkpoint is not None:
        from engines.learned.checkpoint import read_meta
        from engines.learned.config import GeneratorConfig

        return GeneratorConfig.from_dict(read_meta(opts.checkpoint)["generator"])
    if opts.onnx is not None:
        from engines.learned.export import onnx_config

        if not Path(opts.onnx).is_file():
            raise InputError(f"{opts.onnx}: no such ONNX model; make one with `repose export --checkpoint CKPT -o MODEL.onnx`")
        cfg = onnx_config(opts.onnx)
        if cfg is None:
            raise InputError(f"{opts.onnx}: not a repose export (no generator config in its metadata)")
        return cfg
    raise InputError("the learned renderer needs a trained model: --checkpoint runs/NAME (from `repose train`) "
                     "or --onnx MODEL.onnx")


class LearnedRenderer:
    """Renderer protocol over a PATN generator (see the module docstring). Images BGR uint8."""

    name = "learned"

    def __init__(self, options: LearnedOptions | None = None, **kw: Any) -> None:
        self.options = options or LearnedOptions(**kw)
        o = self.options
        self.cfg = _generator_config(o)
        self.map_opts = PoseMapOptions(mode=self.cfg.pose_map, sigma=self.cfg.pose_sigma)
        self.backend = create_backend(o.backend, BackendRequest(
            checkpoint=Path(o.checkpoint) if o.checkpoint else None, onnx_path=Path(o.onnx) if o.onnx else None,
            device=o.device, precision=o.precision, cache_dir=o.cache_dir, extra=dict(o.extra)))
        log.info("learned renderer: %s backend, %dx%d crops", self.backend.name, self.cfg.height, self.cfg.width)
        self._rest: Pose | None = None
        self._plate: np.ndarray | None = None

    # -- once per reference ----------------------------------------------------------------------
    def prepare(self, reference_bgr: np.ndarray, reference_pose: Pose | None = None,
                mask: np.ndarray | None = None) -> None:
        """Analyse the reference photo (BGR uint8 HxWx3). reference_pose: estimated when None; mask: the
        person mask (HxW, [0, 1] or 0/255) for the background plate, segmented when None and needed.
        MediaPipe runs only for a missing pose or mask: with both given nothing here needs mediapipe."""
        if reference_bgr is None or reference_bgr.ndim != 3 or reference_bgr.shape[2] != 3 or reference_bgr.dtype != np.uint8:
            raise InputError("the reference must be a BGR uint8 HxWx3 image")
        if mask is not None:
            mask = np.asarray(mask, np.float32)
            mask = mask / 255.0 if mask.max() > 1.0 else mask
            if mask.shape != reference_bgr.shape[:2]:
                raise InputError(f"mask size {mask.shape[1]}x{mask.shape[0]} differs from the reference "
                                 f"{reference_bgr.shape[1]}x{reference_bgr.shape[0]}")
        if reference_pose is None or (self.options.inpaint_background and mask is None):
            from realtime.inputs import estimate_still

            found = estimate_still(reference_bgr, segmentation=True)
            mask = found.mask if mask is None else mask
            reference_pose = reference_pose or found.pose
        if reference_pose is None:
            raise InputError("no person found in the reference image; expected a photo showing the avatar's whole body")
        h, w = reference_bgr.shape[:2]
        kps = keypoints18(reference_pose)
        if int((kps[:, 0] >= 0).sum()) < 4:
            raise InputError(f"the reference pose has {int((kps[:, 0] >= 0).sum())} of 18 keypoints; "
                             "expected a photo where most of the body is visible")
        c = self.cfg
        self.size_px = person_size(kps, c.height, c.width, c.crop_margin)
        box = crop_box(kps, c.height, c.width, size_px=self.size_px)
        self.reference = reference_bgr.copy()
        self._plate = self._background(reference_bgr, mask) if self.options.inpaint_background else self.reference
        self._cond_image = to_tensor_image(box.crop(reference_bgr))[None]
        self._cond_pose = pose_maps(box.to_crop(kps), c.height, c.width, self.map_opts)[None]
        self._rest = reference_pose if reference_pose.width else Pose(
            reference_pose.xy, reference_pose.score, reference_pose.layout, w, h, reference_pose.z)

    @staticmethod
    def _background(image: np.ndarray, mask: np.ndarray | None) -> np.ndarray:
        """The reference with the person inpainted away (at most 512 px on the long side, then resized)."""
        if mask is None:
            return image.copy()
        h, w = image.shape[:2]
        f = min(1.0, 512.0 / max(h, w))
        small = cv2.resize(image, None, fx=f, fy=f, interpolation=cv2.INTER_AREA) if f < 1 else image
        m = cv2.resize((mask > 0.3).astype(np.uint8) * 255, (small.shape[1], small.shape[0]), interpolation=cv2.INTER_NEAREST)
        m = cv2.dilate(m, np.ones((9, 9), np.uint8))
        filled = cv2.inpaint(small, m, 7, cv2.INPAINT_TELEA)
        if f < 1:
            filled = cv2.resize(filled, (w, h), interpolation=cv2.INTER_LINEAR)
            m = cv2.resize(m, (w, h), interpolation=cv2.INTER_LINEAR)
        a = (m.astype(np.float32) / 255.0)[..., None]
        return np.clip(image * (1 - a) + filled * a + 0.5, 0, 255).astype(np.uint8)

    @property
    def rest_pose(self) -> Pose:
        if self._rest is None:
            raise RuntimeError("call prepare() first")
        return self._rest

    # -- per frame ------------------------------------------------------------------------------
    def target_box(self, target: Pose) -> tuple[CropBox | None, np.ndarray]:
        """The crop for a target pose (same size as the reference's, centred on the target)."""
        kps = keypoints18(target)
        if not (kps[:, 0] >= 0).any():
            return None, kps
        return crop_box(kps, self.cfg.height, self.cfg.width, size_px=self.size_px), kps

    def render_crop(self, target_maps: np.ndarray) -> np.ndarray:
        """Generator output (BGR uint8 crop) for (18,H,W) target pose maps in crop pixels."""
        out = self.backend.infer({"cond_image": self._cond_image, "cond_pose": self._cond_pose,
                                  "target_pose": target_maps[None]})["image"]
        return from_tensor_image(out[0])

    def render(self, target: Pose) -> np.ndarray:
        """The reference person in ``target`` (reference pixels); BGR, or BGRA when alpha=True."""
        if self._plate is None:
            raise RuntimeError("call prepare() first")
        box, kps = self.target_box(target)
        if box is None:
            image, alpha = self._plate.copy(), np.zeros(self._plate.shape[:2], np.float32)
        else:
            crop = self.render_crop(pose_maps(box.to_crop(kps), self.cfg.height, self.cfg.width, self.map_opts))
            image, alpha = box.paste(self._plate, crop, self.options.feather_px)
            if self.options.alpha:
                diff = np.abs(crop.astype(np.int16) - box.crop(self._plate).astype(np.int16)).mean(axis=2)
                person = cv2.GaussianBlur(np.clip((diff - 12.0) / 24.0, 0, 1).astype(np.float32), (5, 5), 0)
                _, alpha = box.paste(self._plate, crop, self.options.feather_px, weight=person)
        if not self.options.alpha:
            return image
        return np.dstack([image, np.clip(alpha * 255 + 0.5, 0, 255).astype(np.uint8)])

    def close(self) -> None:
        if self.backend is not None:
            self.backend.close()
            self.backend = None


BACKEND_EXTRAS = {"channels_last": bool, "cuda_graphs": bool, "compile": bool, "threads": int,
                  "optimized_model_path": str}
_TYPES = {"alpha": bool, "inpaint_background": bool, "feather_px": float}
# background name -> inpaint_background: the reference with the person removed, or the photo as it is
LEARNED_BACKGROUNDS = {"inpaint": True, "reference": False}


def _coerce(key: str, value: Any, kind: type) -> Any:
    """Values from the command line (``--renderer-opt alpha=true``) arrive as strings."""
    if not isinstance(value, str) or kind is str:
        return value
    if kind is bool:
        if value.lower() in ("1", "true", "yes", "on"):
            return True
        if value.lower() in ("0", "false", "no", "off"):
            return False
        raise InputError(f"learned renderer option {key}={value!r}: expected true or false")
    try:
        return kind(value)
    except ValueError:
        raise InputError(f"learned renderer option {key}={value!r}: expected a {kind.__name__}") from None


def create(**options: Any) -> LearnedRenderer:
    """Registry factory: LearnedOptions fields (checkpoint=..., backend="auto", ...) plus the backend
    extras channels_last, cuda_graphs, threads; TypeError for anything else."""
    known = set(LearnedOptions.__dataclass_fields__)
    extra = dict(options.pop("extra", None) or {})
    if "background" in options:   # the shared --background flag: the plate behind the generated person
        bg = options.pop("background")
        if bg not in LEARNED_BACKGROUNDS:
            raise InputError(f"learned renderer background {bg!r}: expected one of {', '.join(LEARNED_BACKGROUNDS)}")
        options["inpaint_background"] = LEARNED_BACKGROUNDS[bg]
    for key in list(options):
        if key in BACKEND_EXTRAS:
            extra[key] = _coerce(key, options.pop(key), BACKEND_EXTRAS[key])
        elif key not in known:
            raise TypeError(f"unexpected option {key!r}; the learned renderer takes "
                            f"{', '.join(sorted(known - {'extra'}) + ['background'] + sorted(BACKEND_EXTRAS))}")
        elif key in _TYPES:
            options[key] = _coerce(key, options[key], _TYPES[key])
    return LearnedRenderer(LearnedOptions(**options, extra=extra))
