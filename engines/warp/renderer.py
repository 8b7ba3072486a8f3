"""The warp renderer: the reference photo cut into body-part layers that follow the target's bones.

No weights, no training, CPU real time. Prepared once from the reference photo:
- its pose (MediaPipe, unless given) and person mask (MediaPipe selfie segmentation, unless given);
  an estimated pose's wrists are checked against the hands MediaPipe Hands finds (engines.warp.wrists:
  a wrist drawn onto the other side's hand is moved to its own hand, or not cut) before any part is;
- ten layers: torso, head, upper arms, forearms (with hands), thighs, shins (with feet). Every person
  pixel goes to the part whose bone capsule is nearest (distance divided by the part's measured
  thickness; past the knee or elbow a thigh's or upper arm's capsule is no thicker than the shin or
  forearm it carries: engines.warp.layers._limb_dist); each limb layer also carries a disc of the photo around its proximal joint (shoulder,
  elbow, hip, knee, neck), so when a joint bends the disc fills the wedge that would open there:
  chains of capsules, no cracks. Layer edges inside the body overlap the neighbour by a few pixels
  and are feathered; the outer edge follows the soft person mask. Texture colours are extended past
  the mask so feathered edges never pull in the old background;
- a background (engines.warp.background): the photo with the person removed (its hole grown past
  the halo and shadow, filled across by interpolation that follows the scene's bands: no ghost of
  the body), that blurred, a picture, a solid colour, or none (transparent).
Per frame: one affine per part (engines.warp.parts), layers warped into their bounding box only and
composited back to front. Order: the target's relative depth z (MediaPipe: smaller = nearer) when the
target has it, else the reference's, plus a small bias per part rank (limbs before the torso, the
head before the torso); without any z the rank alone (legs, torso, head, arms).
Missing target keypoints: a limb whose end is missing keeps its rest angle relative to its parent.
A limb much shorter in 2-D than at rest (pointing at the camera) keeps its length but not its noisy
direction: engines.warp.foreshortening (render() is stateful across frames there; call in order).

Output: BGR uint8 at the reference size, or BGRA (alpha = person) with ``alpha=True``.
"""
from __future__ import annotations

import logging
import math
from dataclasses import dataclass
from typing import Sequence

import cv2
import numpy as np

from engines.warp.background import KEYWORDS, NAMED_COLOURS, is_picture, make_background
from engines.warp.foreshortening import (LimbDirections, cut_extremities, cut_knees, extremity_transform, hand_turns,
                                         knee_transform)
from engines.warp.held import held_transforms
from engines.warp.layers import EDGE_REACH, Layer, build_layers, continue_below, mask_from_pose, soft_joints
from engines.warp.skin import (NECK_TOP, NECK_TOP_CHEST, blend_affine, blend_strength, covers_between_thighs,
                              limb_iterations, neck_strength, skin_box, skin_maps, weight_maps)
from engines.warp.parts import (FACE_POINTS, TORSO_POINTS, apply, bottom_edge, complete_hips, cut_at_chest,
                                hands_on_edge, head_anchors, hips_at_edge, legs_at_rest, neck, part_transforms)
from realtime.errors import InputError
from realtime.layouts import COCO17
from realtime.pose import Pose

log = logging.getLogger(__name__)

BACKGROUNDS = (*KEYWORDS, *NAMED_COLOURS)
BLENDS = ("seams", "rigid", "skin")


@dataclass
class WarpOptions:
    """Options of the warp renderer.

    background: "inpaint" (the photo without the person: engines.warp.background), "blur" (the same,
      blurred), a picture file (scaled to cover the frame), "transparent", a colour name
      (black, white, green, grey, blue) or a (B, G, R) tuple.
    alpha: return BGRA (alpha = person) instead of BGR.
    min_score: keypoint score at or above which a keypoint counts as present.
    feather_px: width of the soft seam between neighbouring layers, in reference pixels.
    blend: "seams" (default: upper arms and thighs skinned to the torso at the shoulders and hips,
      and the head's neck at the shoulders' line, engines.warp.skin: no wings or tears there, skirts
      follow both legs, the collar stays when the head rolls; elbows and knees rigid
      with joint discs), "rigid" (every layer one affine; joint discs fill the gaps) or "skin"
      (pixels near elbows and knees follow a blend of both bones: engines.warp.blend; rounder bends;
      2-3x slower).
    face: find the face in the reference (MediaPipe Face Mesh) so that ``render(target, expression)``
      moves it with the driver's expression (engines.warp.face); off: the photo's face, rigid.
    hands: find open hands in the reference (MediaPipe Hands) so that ``render(target, hands=...)``
      bends their fingers like the driver's (engines.warp.hands); off: rigid hands.
    """

    background: str | tuple[int, int, int] = "inpaint"
    alpha: bool = False
    min_score: float = 0.5
    feather_px: int = 3
    blend: str = "seams"
    face: bool = True
    hands: bool = True

    def __post_init__(self) -> None:
        if self.blend not in BLENDS:
            raise InputError(f"unknown blend {self.blend!r}: expected one of {', '.join(BLENDS)}")
        bg = self.background
        if isinstance(bg, str) and "," in bg:  # "B,G,R" from a command line
            try:
                bg = tuple(int(v) for v in bg.split(","))
            except ValueError:
                raise InputError(f"background {bg!r}: expected a name or three integers B,G,R") from None
        if is_picture(bg):
            from pathlib import Path

            if not Path(bg).is_file():
                raise InputError(f"background picture {bg}: no such file; expected an image file "
                                 f"(jpg, png, ...) or one of {', '.join(BACKGROUNDS)}")
        elif isinstance(bg, str):
            if bg not in BACKGROUNDS:
                raise InputError(f"unknown background {bg!r}: expected one of {', '.join(BACKGROUNDS)}, "
                                 "a B,G,R colour or a picture file")
        else:
            bg = tuple(int(c) for c in bg)
            if len(bg) != 3 or not all(0 <= c <= 255 for c in bg):
                raise InputError(f"background colour must be three values 0..255 (B,G,R), got {self.background}")
            self.background = bg


class WarpRenderer:
    """Renderer protocol implementation (see engines.renderer): prepare once, render per frame."""

    name = "warp"

    def __init__(self, options: WarpOptions | None = None, **kw) -> None:
        self.options = options or WarpOptions(**kw)
        self._layers: list[Layer] = []
        self._rest: Pose | None = None
        self._bg: np.ndarray | None = None
        self._skins: dict = {}
        self._extremity_cuts: dict = {}
        self._knee_cuts: dict = {}   # thigh layer -> its knee piece (engines.warp.foreshortening)
        self._holding: set[str] = set()   # forearms whose hand holds a ball (engines.warp.held)
        self._edge = None   # parts.Edge: the bottom edge a photo cut at the chest keeps
        self._hand_edges: dict = {}   # forearm layer -> parts.Edge where its hand meets the photo's last row
        self._face = None
        self._face_src = None
        self._hands: dict | None = None
        self._hands_src = None

    # -- preparation -------------------------------------------------------------------------
    def prepare(self, reference_bgr: np.ndarray, reference_pose: Pose | None = None,
                mask: np.ndarray | None = None) -> None:
        """Analyse the reference photo (BGR uint8 HxWx3).

        reference_pose: the person's pose in this image's pixels (any layout); estimated when None.
        mask: person mask HxW (float in [0, 1] or uint8 0/255); MediaPipe segmentation when None.
        """
        img = _check_image(reference_bgr)
        h, w = img.shape[:2]
        estimated = reference_pose is None or mask is None
        if estimated:
            est_pose, est_mask = _estimate(img)
            reference_pose = reference_pose or est_pose
            mask = est_mask if mask is None else mask
        if reference_pose is None:
            raise InputError("no person found in the reference image: use a photo that shows one person "
                             "whole, facing the camera, with arms and legs visible")
        # hands: found with the pose when MediaPipe estimates the reference anyway (a given pose and
        # mask, as in tests, keep preparation free of it); the wrists are checked against them
        # (engines.warp.wrists) before any part is cut, and their pixels go to the forearm layers
        found = None
        if self.options.hands and estimated:
            from engines.warp.hands import find_hands
            from engines.warp.wrists import check_wrists

            found = find_hands(img, reference_pose)
            reference_pose, found = check_wrists(img, reference_pose, found, self.options.min_score)
        reference_pose, xy, ok = _framed(reference_pose, self.options.min_score, w, h)
        if mask is None:
            mask = mask_from_pose(_with_xy(reference_pose.to_layout(COCO17), xy, ok), h, w,
                                  self.options.min_score)
        m = np.asarray(mask, np.float32)
        if m.max() > 1.0:
            m = m / 255.0
        if m.shape != (h, w):
            raise InputError(f"mask size {m.shape[1]}x{m.shape[0]} differs from the reference {w}x{h}")
        pose = reference_pose.to_layout(COCO17)
        self._rest = reference_pose if reference_pose.width else _with_size(reference_pose, w, h)
        self._ref_xy = xy
        self._ref_ok = ok
        self._ref_z = None if pose.z is None else pose.z.astype(np.float64)
        self._size = (w, h)
        from engines.warp.hands import hand_regions

        self._layers, segs, radius = build_layers(img, m, self._ref_xy, ok, self.options.feather_px,
                                                  hand_regions(found, h, w) if found else None)
        self._joints = soft_joints(segs, radius, self._ref_xy)
        self._layers, self._edge, self._hand_edges = _at_bottom_edge(self._layers, self._ref_xy, ok, h)
        self._directions = LimbDirections(self._ref_xy, ok, COCO17.index)
        self._extremity_cuts, self._knee_cuts = self._cut_ends(ok)
        self._holding = {l.name.replace("held", "forearm") for l in self._layers if l.name.endswith("held")}
        self._skins = {}
        if self.options.blend == "seams":
            skirt = covers_between_thighs(m, segs, radius)
            chest = cut_at_chest(self._ref_xy, ok, COCO17.index, self._edge)
            self._skins = weight_maps(self._layers, segs, radius, skirt, NECK_TOP_CHEST if chest else NECK_TOP)
            if skirt:
                log.info("the reference's clothing covers the space between the thighs: it follows both legs")
        self._bg = make_background(img, m, self.options.background)
        torso = self._ref_xy[[COCO17.index[n] for n in TORSO_POINTS]]
        self._torso_h = float(np.linalg.norm(neck(self._ref_xy, COCO17.index)
                                             - (torso[2] + torso[3]) / 2)) or 1.0
        # the face rig is built on first use (has_face, or a render with an expression): preparing
        # stays free of Face Mesh for callers that never move the face
        self._face = None
        self._face_src = (img, reference_pose) if (self.options.face and any(
            l.name == "head" for l in self._layers)) else None
        self._head = None
        ix = COCO17.index
        face_pts = self._ref_xy[[ix[n] for n in FACE_POINTS if ok[ix[n]]]]
        self._face_span = float(max((np.hypot(*(a - b)) for a in face_pts for b in face_pts), default=0.0))
        if any(l.name == "head" for l in self._layers) and len(face_pts) >= 2:
            from engines.warp.face import FaceRig

            self._head = FaceRig(None, self._anchors())
        self._hands = {}
        self._hands_src = (img, reference_pose, found) if (self.options.hands and any(
            l.name.endswith("forearm") for l in self._layers)) else None
        log.info("warp renderer prepared: %dx%d, layers %s", w, h, [l.name for l in self._layers])

    def _cut_ends(self, ok: np.ndarray) -> tuple[dict, dict]:
        """The forearms' and shins' hand and foot pieces, the thighs' knee pieces
        (engines.warp.foreshortening); none with blend=skin."""
        if self.options.blend == "skin":
            return {}, {}
        return (cut_extremities(self._layers, self._ref_xy, ok, COCO17.index),
                cut_knees(self._layers, self._ref_xy, ok, COCO17.index))

    @property
    def rest_pose(self) -> Pose:
        if self._rest is None:
            raise RuntimeError("call prepare() before rest_pose")
        return self._rest

    @property
    def has_face(self) -> bool:
        """Whether the reference's face follows an expression (Face Mesh finds a face in the photo)."""
        if self._face_src is not None:
            from engines.warp.face import FaceRig

            self._face = FaceRig.from_reference(*self._face_src, anchors=self._anchors())
            self._face_src = None
        return self._face is not None

    def _anchors(self) -> dict[str, np.ndarray]:
        """The reference's face points that anchor the head layer's mesh (parts.head_anchors), every
        one it shows (beside a Face Mesh, those inside its oval steer its landmarks: FaceRig)."""
        ix = COCO17.index
        names = FACE_POINTS
        return {n: self._ref_xy[ix[n]] for n in names if self._ref_ok[ix[n]]}

    @property
    def has_hands(self) -> bool:
        """Whether the reference shows an open hand whose fingers can follow (built on first use)."""
        if self._hands_src is not None:
            from engines.warp.hands import rig_hands

            img, pose, found = self._hands_src
            names = {l.name for l in self._layers}
            self._hands = {s: r for s, r in rig_hands(img, pose, found=found).items() if f"{s}_forearm" in names}
            self._hands_src = None
        return bool(self._hands)

    @property
    def hand_sides(self) -> tuple[str, ...]:
        """The sides ("left", "right") whose fingers follow a driver's hand (has_hands)."""
        return tuple(self._hands) if self.has_hands else ()

    @property
    def face_ms(self) -> float:
        """Time of the last face warp, ms."""
        return self._face.ms if self._face is not None else 0.0

    @property
    def part_names(self) -> list[str]:
        return [l.name for l in self._layers]

    # -- rendering ---------------------------------------------------------------------------
    def transforms(self, target: Pose) -> dict[str, np.ndarray]:
        """The 2x3 reference->output affine of every part for this target pose."""
        t = target.to_layout(COCO17)
        return self._mats(t, t.present(self.options.min_score))

    def _mats(self, t: Pose, ok: np.ndarray) -> dict[str, np.ndarray]:
        """Part transforms; an upper-body target gets hips (parts.complete_hips) and legs at rest."""
        ix = COCO17.index
        steady = self._directions(t.xy, ok, t.z)   # foreshortened limbs steadied (engines.warp.foreshortening)
        xy, tok, placed = complete_hips(self._ref_xy, self._ref_ok, np.asarray(steady, np.float64), ok, ix, self._edge)
        mats = part_transforms(self._ref_xy, self._ref_ok, xy, tok, ix, self._edge)
        if placed:
            hips = [ix["left_hip"], ix["right_hip"]]
            scale = float(np.linalg.norm(xy[hips[0]] - xy[hips[1]])
                          / max(np.linalg.norm(self._ref_xy[hips[0]] - self._ref_xy[hips[1]]), 1e-6))
            legs_at_rest(mats, self._ref_xy, xy, tok, ix, scale)
        hands_on_edge(mats, self._hand_edges, self._ref_xy, ix)   # a hand cut by the photo's edge stays on it
        mats.update(held_transforms(mats, self._layers))   # a held ball follows its hand upright
        return mats

    def render(self, target: Pose, expression=None, hands=None) -> np.ndarray:
        """The reference person in ``target`` (reference pixels). BGR uint8, or BGRA with alpha.

        expression: the driver's realtime.face.Expression, or None (the photo's own face).
        hands: the driver's {side: realtime.hands.Hand} (mirrored as the target is), or None."""
        if self._bg is None:
            raise RuntimeError("call prepare() before render()")
        t = target.to_layout(COCO17)
        ok = t.present(self.options.min_score)
        mats = self._mats(t, ok)
        w, h = self._size
        canvas = self._bg.copy()
        transparent = self.options.background == "transparent"
        alpha = np.zeros((h, w), np.uint8) if (self.options.alpha or transparent) else None
        face = self._face if (expression is not None and self.has_face) else None
        if face is not None and "head" in mats:   # the head as large as the driver's face (FaceRig.sized)
            mats["head"] = face.sized(mats["head"], expression)
        seen = {f"{side}_forearm" for side in (hands or {}) if self.has_hands and side in self._hands}
        if self.has_hands:
            hands = mirrored_hidden_hand(hands, t, ok, tuple(self._hands))
        body = float(np.sqrt(abs(np.linalg.det(mats["torso"][:, :2])))) or 1.0   # the hands' scale
        fingers = {f"{side}_forearm": (self._hands[side], h, body) for side, h in (hands or {}).items()
                   if self.has_hands and side in self._hands}
        inv = ({name: cv2.invertAffineTransform(mat) for name, mat in mats.items()}
               if self.options.blend == "skin" else None)
        turns = hand_turns(self._rest, target) if self._extremity_cuts else {}
        for name in self._holding:   # a hand holding a ball turns with its forearm (foreshortening)
            turns.pop(name, None)
        for layer in seen_hand_in_front(self._ordered(t, ok), seen):
            self._draw_layer(layer, mats, inv, t, ok, expression if face is not None else None, fingers,
                             canvas, alpha, turns)
        if alpha is None:
            return canvas
        if transparent:
            # colours were premultiplied over black: divide by alpha for straight (unpremultiplied) BGRA
            a3 = cv2.cvtColor(np.maximum(alpha, 1), cv2.COLOR_GRAY2BGR)
            canvas = cv2.divide(canvas, a3, scale=255.0)
        if not self.options.alpha:
            return canvas
        return cv2.merge([*cv2.split(canvas), alpha])

    def _draw_layer(self, layer: Layer, mats, inv, t: Pose, ok, expression, fingers, canvas, alpha,
                    turns=None) -> None:
        """One layer by the mechanism that moves it: the head field, the finger rig, then with
        blend=skin (``inv``: the parts' inverse transforms) linear blend skinning at its joints, else
        the blended seams; a part with neither is drawn rigid. A thigh drawn short (pointing at the
        camera) gets its knee piece over it at the knee's own size (foreshortening.knee_transform).
        A forearm drawn short or long keeps its wrist and hand at their own length, with the fingers
        following or rigid (``_draw_hand``, ``_draw_part``)."""
        if layer.name == "head" and (self._head is not None or layer.name in self._skins):
            self._draw_head(layer, mats, t, ok, expression, canvas, alpha)
        elif layer.name in fingers:
            rig, hand, scale = fingers[layer.name]
            self._draw_hand(layer, mats[layer.name], rig, hand, canvas, alpha, scale, (turns or {}).get(layer.name))
        elif inv is not None:
            if self._joints.get(layer.name):
                self._draw_skinned(layer, mats, inv, canvas, alpha)
            else:
                self._draw(layer, mats[layer.name], canvas, alpha)
        elif layer.name in self._skins:
            self._draw_skin(layer, mats, canvas, alpha)
        else:
            self._draw_part(layer, mats[layer.name], canvas, alpha, (turns or {}).get(layer.name))
        knee = self._knee_cuts.get(layer.name)
        end = knee_transform(layer.name, mats[layer.name], self._ref_xy, COCO17.index) if knee is not None else None
        if end is not None:   # a thigh pointing at the camera: its knee at its own size over it
            self._draw(knee, end, canvas, alpha)

    def close(self) -> None:
        self._layers = []
        self._bg = None

    # -- internals ---------------------------------------------------------------------------
    def _ordered(self, t: Pose, ok: np.ndarray) -> list[Layer]:
        z = t.z if t.z is not None else None
        zsrc = z.astype(np.float64) if z is not None else self._ref_z
        bias = 0.06 * self._torso_h
        keys = []
        zs = None if zsrc is None else zsrc.tolist()   # plain floats: a few per layer, every frame
        present = (ok if z is not None else self._ref_ok).tolist()
        for layer in self._layers:
            depth = 0.0
            if zs is not None:
                idx = [i for i in layer.keypoints if present[i]]
                if idx:
                    depth = sum(zs[i] for i in idx) / len(idx)
            keys.append(depth - bias * layer.rank)
        # far (large z) first
        order = sorted(range(len(self._layers)), key=lambda i: -keys[i])
        return [self._layers[i] for i in order]

    def _draw(self, layer: Layer, m: np.ndarray, canvas: np.ndarray, alpha: np.ndarray | None) -> None:
        """Warp one premultiplied layer into its output box and composite it over ``canvas``."""
        w, h = self._size
        ph, pw = layer.patch.shape[:2]
        x0, y0 = layer.origin
        (a, b, c), (d, e, f) = m.tolist()    # plain floats: this runs for every layer of every frame
        tx, ty = a * x0 + b * y0 + c, d * x0 + e * y0 + f
        xs = (tx, tx + a * pw, tx + b * ph, tx + a * pw + b * ph)
        ys = (ty, ty + d * pw, ty + e * ph, ty + d * pw + e * ph)
        rx0, ry0 = max(math.floor(min(xs)) - 1, 0), max(math.floor(min(ys)) - 1, 0)
        rx1, ry1 = min(math.ceil(max(xs)) + 2, w), min(math.ceil(max(ys)) + 2, h)
        if rx1 <= rx0 or ry1 <= ry0:
            return
        m_patch = np.array([[a, b, tx - rx0], [d, e, ty - ry0]])
        warped = cv2.warpAffine(layer.patch, m_patch, (rx1 - rx0, ry1 - ry0), flags=cv2.INTER_LINEAR,
                                borderMode=cv2.BORDER_CONSTANT, borderValue=(0, 0, 0, 0))
        _composite(warped, rx0, ry0, rx1, ry1, canvas, alpha)

    def _draw_part(self, layer: Layer, m: np.ndarray, canvas: np.ndarray, alpha: np.ndarray | None,
                   hand_turn: float | None = None) -> None:
        """One rigid layer; a forearm or shin drawn shortened keeps its hand's or foot's length, the
        hand turned by ``hand_turn`` where the driver shows it (engines.warp.foreshortening)."""
        cut = self._extremity_cuts.get(layer.name)
        end = extremity_transform(layer.name, m, self._ref_xy, COCO17.index, hand_turn) if cut else None
        if end is None:
            self._draw(layer, m, canvas, alpha)
            return
        self._draw(cut[0], m, canvas, alpha)
        self._draw(cut[1], end, canvas, alpha)

    def _draw_head(self, layer: Layer, mats: dict[str, np.ndarray], t: Pose, ok: np.ndarray, expression,
                   canvas: np.ndarray, alpha: np.ndarray | None) -> None:
        """The head layer: its similarity, its face points moved towards the target's
        (parts.head_anchors) and, with an expression, its face moved by it (engines.warp.face); its
        neck skinned to the torso (``_neck``)."""
        m = mats["head"]
        rig = self._face if expression is not None else self._head
        if rig is None:   # a photo without two face points: the similarity alone, the neck skinned
            piece = self._neck(layer, m, mats["torso"], canvas, alpha)
            if piece is not None:
                self._draw(piece, m, canvas, alpha)
            return
        anchors = None
        if rig.anchor_names:
            anchors = head_anchors(self._ref_xy, t.xy.astype(np.float64), ok, COCO17.index, rig.anchor_names, m,
                                   self._face_span)
            if expression is None and float(np.abs(anchors - apply(m, rig.anchors)).max()) < 0.5:
                anchors = None
        own = rig.rolled(m, expression) if (expression is not None and rig.face is not None) else m
        piece = self._neck(layer, own, mats["torso"], canvas, alpha)
        if piece is None:
            return
        if expression is None and anchors is None:
            self._draw(piece, m, canvas, alpha)
            return
        got = rig.draw(piece.patch, piece.origin, m, expression, self._size, anchors)
        if got is not None:
            _composite(*got, canvas, alpha)

    def _neck(self, layer: Layer, own: np.ndarray, torso: np.ndarray, canvas: np.ndarray,
              alpha: np.ndarray | None) -> Layer | None:
        """Draw the head layer's neck skinned to the torso (engines.warp.skin: the collar stays with
        the shoulders when the head rolls) under the head's ``own`` 2x3 map (rolled by the face, as
        FaceRig.draw does); returns the rest of the layer (None: nothing left), which moves with the
        head and is drawn after, over it (a chin over the collar). The whole layer when the blend has
        nothing to do."""
        skin = self._skins.get(layer.name)
        if skin is None:
            return layer
        k, setup = neck_strength(skin.joint, own, torso)
        if k <= 0.0:
            return layer
        self._draw_near(skin, own, torso, k, setup, canvas, alpha)
        return skin.far

    def _draw_hand(self, layer: Layer, m: np.ndarray, rig, hand, canvas: np.ndarray,
                   alpha: np.ndarray | None, scale: float, hand_turn: float | None = None) -> None:
        """A forearm layer with its fingers moved like the driver's (engines.warp.hands), the hand at
        the body's ``scale`` (not the forearm's stretch: that is foreshortening). A forearm drawn short
        or long (foreshortening.extremity_transform) keeps its wrist end at its own length here too: the
        rig draws that end piece (``cut_extremities``: from HAND_CUT of the forearm on, the hand with
        it) by the hand piece's map, over the rest of the forearm drawn by ``m``.

        Moved whole by ``m``, a forearm pointing at the camera squashed its wrist (pose_squats' watch
        strap drawn as a thin line across a stub, the palm placed past it, the fingers in shreds) and
        MediaPipe read the wrist beside it: the left forearm, drawn at 0.2-0.7 of its length on 40 of
        64 frames, 5.47 degrees off (15-33 on its worst frames, the wrist 20-43 px away)."""
        cut = self._extremity_cuts.get(layer.name)
        end = extremity_transform(layer.name, m, self._ref_xy, COCO17.index, hand_turn) if cut else None
        if end is not None:
            self._draw(cut[0], m, canvas, alpha)
            got = rig.draw(cut[1].patch, cut[1].origin, end, hand, self._size, scale)
            if got is not None:
                _composite(*got, canvas, alpha)
            return
        got = rig.draw(layer.patch, layer.origin, m, hand, self._size, scale)
        if got is not None:
            _composite(*got, canvas, alpha)

    def _draw_skinned(self, layer: Layer, mats: dict[str, np.ndarray], inv: dict[str, np.ndarray],
                      canvas: np.ndarray, alpha: np.ndarray | None) -> None:
        """Sample one layer through its blended inverse map (engines.warp.blend) and composite it."""
        from engines.warp.blend import GRID, source_maps

        w, h = self._size
        ph, pw = layer.patch.shape[:2]
        x0, y0 = layer.origin
        joints = self._joints.get(layer.name, [])
        corners = np.array([[x0, y0], [x0 + pw, y0], [x0, y0 + ph], [x0 + pw, y0 + ph]], np.float64)
        pts = np.vstack([apply(mats[n], corners) for n in [layer.name, *(j.neighbour for j in joints)]])
        rx0 = max(int(np.floor(pts[:, 0].min())) - GRID, 0)
        ry0 = max(int(np.floor(pts[:, 1].min())) - GRID, 0)
        rx1 = min(int(np.ceil(pts[:, 0].max())) + GRID, w)
        ry1 = min(int(np.ceil(pts[:, 1].max())) + GRID, h)
        if rx1 <= rx0 or ry1 <= ry0:
            return
        mx, my = source_maps((rx0, ry0, rx1, ry1), layer.name, joints, mats, inv)
        mx -= x0
        my -= y0
        warped = cv2.remap(layer.patch, mx, my, cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT,
                           borderValue=(0, 0, 0, 0))
        _composite(warped, rx0, ry0, rx1, ry1, canvas, alpha)


    def _draw_skin(self, layer: Layer, mats: dict[str, np.ndarray], canvas: np.ndarray,
                   alpha: np.ndarray | None) -> None:
        """Draw one layer skinned to the torso at its proximal joint (engines.warp.skin): the part
        the blend moves through its map, the rest rigid; all rigid when the blend has nothing to do."""
        skin = self._skins[layer.name]
        own = mats[layer.name]
        k, setup = blend_strength(skin.joint, own, mats["torso"])
        if k <= 0.0:
            self._draw(layer, own, canvas, alpha)
            return
        if skin.far is not None:
            self._draw(skin.far, own, canvas, alpha)
        steps = limb_iterations(skin.joint, own, mats["torso"], setup, skin.iterations)
        self._draw_near(skin, own, mats["torso"], k, setup, canvas, alpha, steps)

    def _draw_near(self, skin, own: np.ndarray, torso: np.ndarray, k: float, setup: tuple, canvas: np.ndarray,
                   alpha: np.ndarray | None, steps: int | None = None) -> None:
        """The skinned layer's near piece, sampled through the blend of ``own`` and ``torso`` (its
        base, the pixels of torso weight 1, by one warpAffine); ``steps``: the backward map's
        fixed-point steps (None: the skin's own)."""
        if skin.base is not None:
            self._draw(skin.base, blend_affine(setup, k), canvas, alpha)
        box = skin_box(skin.near, own, torso, self._size)
        if box is None:
            return
        maps = skin_maps(box, skin.near, skin.weight, skin.joint, own, k, setup,
                         skin.iterations if steps is None else steps, skin.grid)
        warped = cv2.remap(skin.near.patch, maps, None, cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT,
                           borderValue=(0, 0, 0, 0))
        _composite(warped, *box, canvas, alpha)


def mirrored_hidden_hand(hands, target: Pose, ok: np.ndarray, rigged: tuple[str, ...]):
    """``hands`` with the hidden one added where the driver's camera shows one hand and the target's
    other wrist lies within 3/4 of a forearm of it (palms pressed together, hands clasped): the seen
    hand's mirror image, the nearest shape the photo's hand can take there (drawn as the photo's
    open hand, its fingers stuck out round the seen one, and MediaPipe read that side instead)."""
    if not hands or len(hands) != 1:
        return hands
    side = next(iter(hands))
    other = "right" if side == "left" else "left"
    if other not in rigged:
        return hands
    ix = COCO17.index
    w = [ix[f"{s}_wrist"] for s in (side, other)]
    e = [ix[f"{s}_elbow"] for s in (side, other)]
    if not all(ok[i] for i in (*w, *e)):
        return hands
    xy = target.xy.astype(np.float64)
    forearm = 0.5 * sum(float(np.linalg.norm(xy[a] - xy[b])) for a, b in zip(w, e))
    if float(np.linalg.norm(xy[w[0]] - xy[w[1]])) > 0.75 * forearm:
        return hands
    return {**hands, other: hands[side].flipped()}


def seen_hand_in_front(layers: list[Layer], seen) -> list[Layer]:
    """``layers`` with the forearm whose hand the driver's camera shows (``seen``: its layer name,
    one side only) drawn over the other forearm. Hands held together (palms pressed, one hand behind
    the other) show the camera one hand; the other, drawn over it as the photo's open hand by its
    depth, covered the driver's fingers (MediaPipe then read the hidden side's hand on 83 of the
    signing clip's 204 hand frames from frame 268)."""
    if len(seen) != 1:
        return layers
    names = [layer.name for layer in layers]
    front = next(iter(seen))
    other = ("right" if front.startswith("left") else "left") + "_forearm"
    if front not in names or other not in names or names.index(front) > names.index(other):
        return layers
    out = list(layers)
    out.insert(names.index(other), out.pop(names.index(front)))   # just after the other forearm
    return out


def _composite(warped: np.ndarray, rx0: int, ry0: int, rx1: int, ry1: int, canvas: np.ndarray,
               alpha: np.ndarray | None) -> None:
    """Premultiplied BGRA ``warped`` over the canvas box (and the alpha plane), in uint8."""
    a = cv2.extractChannel(warped, 3)
    inv = cv2.bitwise_not(a)
    roi = canvas[ry0:ry1, rx0:rx1]
    cv2.multiply(roi, cv2.cvtColor(inv, cv2.COLOR_GRAY2BGR), dst=roi, scale=1.0 / 255.0)
    cv2.add(roi, cv2.cvtColor(warped, cv2.COLOR_BGRA2BGR), dst=roi)
    if alpha is not None:
        ar = alpha[ry0:ry1, rx0:rx1]
        cv2.multiply(ar, inv, dst=ar, scale=1.0 / 255.0)
        cv2.add(ar, a, dst=ar)


# -- preparation helpers ---------------------------------------------------------------------------
def _check_image(img: np.ndarray) -> np.ndarray:
    if not isinstance(img, np.ndarray) or img.ndim != 3 or img.shape[2] != 3 or img.dtype != np.uint8:
        got = type(img).__name__ if not isinstance(img, np.ndarray) else f"{img.dtype} {img.shape}"
        raise InputError(f"reference must be a BGR uint8 HxWx3 image, got {got}")
    if min(img.shape[:2]) < 32:
        raise InputError(f"reference image {img.shape[1]}x{img.shape[0]} is too small: need at least 32x32")
    return img


def _estimate(img: np.ndarray) -> tuple[Pose | None, np.ndarray | None]:
    from realtime.inputs import estimate_still

    e = estimate_still(img, segmentation=True)
    return e.pose, e.mask


LEGS = ("left_knee", "right_knee", "left_ankle", "right_ankle")
# elbows and wrists the photo shows (inside it) at a lower score than min_score still make their
# arm's parts: a webcam view cuts the hanging hands at its bottom edge, where the estimator is
# unsure of the wrist (0.4), and a forearm left out of the layers was never drawn when the driver
# raised that arm to sign (108 degrees of bone error on the signing clip)
ARM_ENDS = (("left_shoulder", "left_elbow"), ("right_shoulder", "right_elbow"),
            ("left_elbow", "left_wrist"), ("right_elbow", "right_wrist"))
ARM_END_SCORE = 0.3


def _framed(pose: Pose, min_score: float, w: int, h: int) -> tuple[Pose, np.ndarray, np.ndarray]:
    """The reference pose, its COCO-17 xy (float64) and presence, for any framing from head and
    shoulders to full body: keypoints outside the w x h photo count as not shown (an estimator
    guesses them, but the photo has no pixels of them); hips out of view are placed where the body
    would have them (realtime.framing.virtual_hips; the returned pose carries them, at their low
    scores, so that retargeting uses the same torso), and legs below them count as not shown.
    InputError without both shoulders."""
    from dataclasses import replace

    from realtime.framing import HIPS, virtual_hips

    ix = COCO17.index
    coco = pose.to_layout(COCO17)
    xy = coco.xy.astype(np.float64)
    m = 0.01 * max(w, h)
    inside = (xy[:, 0] >= -m) & (xy[:, 0] <= w + m) & (xy[:, 1] >= -m) & (xy[:, 1] <= h + m)
    ok = coco.present(min_score) & inside
    for parent, end in ARM_ENDS:   # an arm the photo shows to its edge: its end, less sure, counts
        if ok[ix[parent]] and not ok[ix[end]] and inside[ix[end]] and coco.score[ix[end]] >= ARM_END_SCORE:
            ok[ix[end]] = True
    missing = [n for n in ("left_shoulder", "right_shoulder") if not ok[ix[n]]]
    if missing:
        raise InputError(f"the reference pose lacks {', '.join(missing)}: the warp renderer needs a photo "
                         "framed from the head and both shoulders (a webcam view) down to the whole body")
    if all(ok[ix[n]] for n in HIPS):
        return pose, xy, ok
    hips = virtual_hips(xy, ok, ix)
    for name, p in zip(HIPS, hips):
        xy[ix[name]] = p
        ok[ix[name]] = True
    for name in LEGS:
        ok[ix[name]] = False
    log.info("the reference shows no hips: upper-body framing, torso extended to the photo's edge")
    lay_xy = pose.xy.copy()
    for name, p in zip(HIPS, hips):
        if name in pose.layout.index:
            lay_xy[pose.layout.index[name]] = p
    return replace(pose, xy=lay_xy), xy, ok


# how far (a fraction of the neck-to-hips length) the torso layer of a photo that shows its hips just
# above its bottom edge goes on below that edge (layers.continue_below)
BELOW_EDGE = 0.25


def _at_bottom_edge(layers: list[Layer], xy: np.ndarray, ok: np.ndarray, h: int) -> tuple[list[Layer], object, dict]:
    """(the layers with the torso continued below the photo's bottom edge (``_below_edge_rows``),
    the parts.Edge the torso keeps (None: its layer ends above the photo's last row; ``reach`` = the
    rows continued for a photo cut at the chest), the parts.Edge of every forearm layer that meets
    the photo's last row (parts.hands_on_edge))."""
    torso = next((l for l in layers if l.name == "torso"), None)
    edge = bottom_edge(torso.patch[:, :, 3], torso.origin, h) if torso else None
    rows, chest = _below_edge_rows(xy, ok, edge)
    if rows > 0:
        layers = [continue_below(l, h, rows) if l is torso else l for l in layers]
        if chest:
            edge = edge._replace(reach=float(rows))
    hands = {l.name: e for l in layers if l.name.endswith("forearm")
             and (e := bottom_edge(l.patch[:, :, 3], l.origin, h)) is not None}
    return layers, edge, hands


def _below_edge_rows(xy: np.ndarray, ok: np.ndarray, edge) -> tuple[int, bool]:
    """(rows the torso layer goes on below the photo's bottom edge, whether the photo is cut at the
    chest). Cut at the chest (parts.cut_at_chest): EDGE_REACH shoulder widths, the body going on
    below the frame as a webcam's does, and parts.keep_bottom_edge stretches only past that reach.
    Hips just above the edge (parts.hips_at_edge): BELOW_EDGE of the neck-to-hips length; the torso
    then follows the shoulders, not the hips the estimator reads there, and is lifted off that edge
    when the driver rises. Otherwise none."""
    ix = COCO17.index
    if edge is None:
        return 0, False
    if cut_at_chest(xy, ok, ix, edge):
        return int(round(EDGE_REACH * float(np.linalg.norm(xy[ix["left_shoulder"]] - xy[ix["right_shoulder"]])))), True
    if hips_at_edge(xy, ok, ix, edge):
        mid_hip = (xy[ix["left_hip"]] + xy[ix["right_hip"]]) / 2.0
        return int(math.ceil(BELOW_EDGE * float(np.hypot(*(mid_hip - neck(xy, ix)))))), False
    return 0, False


def _with_xy(pose: Pose, xy: np.ndarray, ok: np.ndarray) -> Pose:
    from dataclasses import replace

    return replace(pose, xy=xy.astype(np.float32), score=np.where(ok, 1.0, 0.0).astype(np.float32))


def _with_size(pose: Pose, w: int, h: int) -> Pose:
    from dataclasses import replace

    return replace(pose, width=w, height=h)


def create(**options) -> WarpRenderer:
    """Factory for the RENDERERS registry: ``create_renderer("warp", alpha=False, background=...)``."""
    return WarpRenderer(WarpOptions(**options))


def resize_reference(img: np.ndarray, pose: Pose | None, size: Sequence[int]) -> tuple[np.ndarray, Pose | None]:
    """Resize a reference image (and its pose) to (width, height)."""
    w, h = int(size[0]), int(size[1])
    sx, sy = w / img.shape[1], h / img.shape[0]
    out = cv2.resize(img, (w, h), interpolation=cv2.INTER_AREA if sx < 1 else cv2.INTER_LINEAR)
    if pose is None:
        return out, None
    from dataclasses import replace

    xy = pose.xy * np.array([sx, sy], np.float32)
    z = None if pose.z is None else pose.z * np.float32(sx)
    return out, replace(pose, xy=xy, z=z, width=w, height=h)
