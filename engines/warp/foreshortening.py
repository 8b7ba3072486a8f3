"""Foreshortened limbs: drawn short along their axis, never flipped by noise.

A forearm pointing at the camera is short in 2-D, and the direction of a short 2-D bone is mostly
estimator noise: frame to frame it swings, and a rigid part that follows it points the opposite way
(errors of 140-177 degrees were measured), a hand in front of the chest becoming a bare stub.
Per target pose, for every limb (thighs, shins, upper arms, forearms; parents first):
- confidence c = 2-D length / rest length (the reference's bone, in the same pixels). MediaPipe's
  z was tried as a second test (depth change over twice the 2-D length = foreshortened): its depth
  is noisy enough that arms brought from overhead to the chest were held up for frames, so z only
  orders the parts (engines.warp.renderer);
- c >= ``FORESHORTENED``: the direction is trusted and remembered;
- below it: the limb keeps its measured (short) length and, within 90 degrees of the remembered
  direction, its measured direction (a limb really moves while short: hands brought to the chest
  from overhead; blending towards the old direction kept such arms up); a measured direction more
  than 90 degrees from the remembered one is taken for noise and the remembered one drawn instead,
  for at most ``MAX_HELD`` frames in a row: a limb that stays turned round is then followed.
  A turn that the end point can make by a short move (at most ``THROUGH`` of the rest length from
  where it was drawn, as measured, in the last frame) is followed at once: the limb swung through the camera's
  axis (a forearm brought from up, over the camera's line, to down between two frames of a 5 fps
  squat clip); every flip below ``FORESHORTENED`` on the shared clips was such a swing, and holding
  it drew the forearm 160-170 degrees off for a frame. Noise flips a limb the estimator measured
  long a frame before, so its end point would jump.
  The end point and the limb's children move with it.
Poses without z (OpenPose/COCO files) follow the same rule, keeping the direction of the last
confident frame.
A forearm or shin drawn shorter than at rest (``HAND_KEEP``) keeps its extremity's length: a forearm
pointing at the camera is short in 2-D, but the hand at its end, turned to the camera, is not;
squashed with the forearm it became a sliver the estimator no longer read as a hand (squats: forearms
at 0.4-0.6 of their rest length, 15-23 degrees off). A shin hanging back under a knee lifted at the
camera is the same case for the foot, which hangs below the ankle at its own length (pose_1: the
squashed foot ended the leg at the real shin's middle; see parts.SHIN_MIN_SCALE). Each forearm and
shin layer is cut at prepare time (``cut_extremities``) into the limb (up to the wrist or ankle) and
the hand or foot (from ``HAND_CUT`` of the way on, overlapping the limb's end); the extremity is drawn
over the limb, anchored where the limb puts the wrist or ankle, at its own length
(``extremity_transform``). One more warpAffine of a small piece, only then. A limb drawn longer than
at rest (over 1 / HAND_KEEP: one foreshortened in the photo, hands clasped under the chin or raised at
the camera) keeps its extremity's length too: stretched with it, a hand became a long smear. The hand turns with its
forearm (below HAND_KEEP only partly, see below); the foot keeps the photo's orientation: under a shin short in 2-D the foot hangs or stands
as in the photo, and the short shin's direction (the knee's offset over the ankle) turned it 20-45
degrees, a diagonal foot along which the estimator read the ankle (pose_1: shin 12 -> 6 degrees).
The hand turns as the driver's own hand does (wrist -> index and pinky, ``hand_turns``) where both
poses show it; elsewhere, under a forearm drawn short, it takes only part of the forearm's turn, none
from ``HAND_TURN_FROM`` of its length down (``hand_direction``). A hand holding a ball (engines.warp.held)
turns with its forearm as before: the ball is carried by the forearm's transform, and the hand turned
its own way left it (basketball_dribble: 1.2 degrees more bone error).
Coordinates: COCO-17 pixels of the reference image.
"""
from __future__ import annotations

import numpy as np

from engines.warp.layers import Layer
from engines.warp.parts import PART_BY_NAME, PARTS, limb_transform

FORESHORTENED = 0.3
MAX_HELD = 4
THROUGH = 0.6
HAND_KEEP = 0.9
# a hand under a forearm drawn at this share of its rest length or less keeps the photo's
# orientation (``hand_direction``). Measured on whole clips (desk, pose_1, squats AKD@256, from
# 6.08, 1.238, 1.547): 0.6 gave 4.90, 1.286, 1.564 (the bone errors of pose_1 and squats up 0.18 and
# 0.29 deg); 0.45 gave 4.99, 1.278, 1.546 (up 0.07 and 0.17); 0.3 (FORESHORTENED) 5.59, 1.278, 1.554
HAND_TURN_FROM = 0.45
HAND_CUT = 0.9
# the driver's hand points (index, pinky) are trusted for the hand's own turn from this score
HAND_POINT_SCORE = 0.5
# ... and while the target's hand is at least this share of the reference's long in 2-D
HAND_SHORT = 0.5
# a thigh drawn under KNEE_KEEP of its rest length in 2-D (the knee brought at the camera: a deep
# squat) draws its knee end, the pixels from KNEE_CUT of the hip->knee bone on, over it at its own
# length and, from KNEE_TURN_FROM down, in the photo's orientation (``knee_transform``)
KNEE_CUT = 0.75
KNEE_KEEP = 0.7
KNEE_TURN_FROM = 0.5
# (measured on whole clips, bone error sq / x_sq / p1 / x_p1, main 3.23 / 6.31 / 3.37 / 6.88: these
# 3.11 / 6.21 / 3.36 / 6.84; KNEE_KEEP 0.6 with KNEE_TURN_FROM 0.45: 3.25 / 6.00 / 3.35 / 6.85; KNEE_CUT 0.65,
# 0.7, 0.8, 0.85 at 0.6 / 0.45: x_sq 6.34, 6.45, 6.30, 6.67. The squats' right thigh gains 2.7 degrees in all; the
# rest is MediaPipe reading the whole body a little otherwise, 0.1-0.3 degrees either way)
CHILDREN = {"left_elbow": ("left_wrist",), "right_elbow": ("right_wrist",),
            "left_knee": ("left_ankle",), "right_knee": ("right_ankle",)}


class LimbDirections:
    """Streaming direction memory of the limbs (one per renderer; call in frame order)."""

    def __init__(self, ref_xy: np.ndarray, ref_ok: np.ndarray, index: dict[str, int]) -> None:
        self._index = index
        self._limbs: list[tuple[str, int, int, float, str]] = []
        for part in PARTS:
            if part.kind != "limb":
                continue
            a, b = index[part.start], index[part.end]
            if ref_ok[a] and ref_ok[b]:
                rest = float(np.linalg.norm(ref_xy[b] - ref_xy[a]))
                if rest > 1e-6:
                    self._limbs.append((part.name, a, b, rest, part.end))
        self._last: dict[str, np.ndarray] = {}
        self._drawn: dict[str, np.ndarray] = {}   # the last frame's drawn bone vector (px)
        self._held: dict[str, int] = {}

    def reset(self) -> None:
        self._last.clear()
        self._drawn.clear()
        self._held.clear()

    def __call__(self, xy: np.ndarray, ok: np.ndarray, z: np.ndarray | None = None) -> np.ndarray:
        """The target's keypoints (K, 2) with foreshortened limbs steadied (a new array). ``z`` is
        accepted for the renderer's convenience and not used (see the module doc)."""
        out = np.asarray(xy, np.float64).copy()
        for name, a, b, rest, end in self._limbs:
            if not (ok[a] and ok[b]):
                continue
            v = out[b] - out[a]
            length = float(np.hypot(*v))
            c = length / rest
            if c >= FORESHORTENED and length > 1e-6:
                self._last[name] = v / length
                self._drawn[name] = v
                self._held[name] = 0
                continue
            prev = self._last.get(name)
            if prev is None:
                continue
            u = v / length if length > 1e-6 else prev
            # a swing through the camera's axis: the end point moved little since the last frame,
            # which was drawn as measured (while a flip is held, the hold runs its course)
            swing = (self._held.get(name, 0) == 0
                     and float(np.hypot(*(v - self._drawn.get(name, prev * rest)))) <= THROUGH * rest)
            if float(u @ prev) < 0.0 and not swing and self._held.get(name, 0) < MAX_HELD:
                self._held[name] = self._held.get(name, 0) + 1
                u = prev
            else:       # within a right angle (or turned round for good): follow the measurement
                self._last[name] = u
                self._held[name] = 0
            self._drawn[name] = u * length
            delta = out[a] + u * length - out[b]
            out[b] += delta
            for child in CHILDREN.get(end, ()):
                out[self._index[child]] += delta
        return out


EXTREMITY_LIMBS = ("forearm", "shin")   # the limbs that carry a hand or a foot


def _along_bone(layer: Layer, a: np.ndarray, b: np.ndarray) -> np.ndarray | None:
    """Each pixel of the layer's patch as its position along the bone a->b (0 at a, 1 at b); None
    for a bone under 1 px."""
    v = b - a
    ll = float(v @ v)
    if ll < 1.0:
        return None
    ph, pw = layer.patch.shape[:2]
    x0, y0 = layer.origin
    qx, qy = np.meshgrid(np.arange(pw, dtype=np.float64) + x0, np.arange(ph, dtype=np.float64) + y0)
    return ((qx - a[0]) * v[0] + (qy - a[1]) * v[1]) / ll


def cut_extremities(layers: list[Layer], xy: np.ndarray, ok: np.ndarray, index: dict[str, int]
                    ) -> dict[str, tuple[Layer, Layer]]:
    """{forearm or shin layer name: (limb piece, hand or foot piece)}: the pixels before the wrist or
    ankle (along the bone) and those from ``HAND_CUT`` of the limb's length on."""
    from engines.warp.skin import _piece

    out: dict[str, tuple[Layer, Layer]] = {}
    for layer in layers:
        part = PART_BY_NAME.get(layer.name)
        if part is None or not layer.name.endswith(EXTREMITY_LIMBS):
            continue
        e, w = index[part.start], index[part.end]
        t = _along_bone(layer, xy[e], xy[w]) if (ok[e] and ok[w]) else None
        if t is None:
            continue
        limb, end = _piece(layer, t < 1.0), _piece(layer, t >= HAND_CUT)
        if limb is not None and end is not None:
            out[layer.name] = (limb[0], end[0])
    return out


def cut_knees(layers: list[Layer], xy: np.ndarray, ok: np.ndarray, index: dict[str, int]) -> dict[str, Layer]:
    """{thigh layer name: its knee piece}: the pixels from KNEE_CUT of the hip->knee bone on (the
    knee's round end past it included), drawn over the thigh by ``knee_transform``."""
    from engines.warp.skin import _piece

    out: dict[str, Layer] = {}
    for layer in layers:
        part = PART_BY_NAME.get(layer.name)
        if part is None or not layer.name.endswith("thigh"):
            continue
        h, k = index[part.start], index[part.end]
        t = _along_bone(layer, xy[h], xy[k]) if (ok[h] and ok[k]) else None
        if t is None:
            continue
        got = _piece(layer, t >= KNEE_CUT)
        if got is not None:
            out[layer.name] = got[0]
    return out


def knee_transform(name: str, own: np.ndarray, ref_xy: np.ndarray, index: dict[str, int]) -> np.ndarray | None:
    """The knee piece's 2x3 affine (``cut_knees``) for a thigh drawn by ``own``, anchored where ``own``
    puts the knee; None while the thigh is drawn at KNEE_KEEP of its rest length or longer (the piece
    would be drawn as the thigh draws it).

    A thigh pointing at the camera is short in 2-D, and its rigid map squashes the knee's end with
    it into a thin strip across the 2-D bone: the band of pose_squats' shorts above the knee, drawn
    a few px thick and tilted 50 degrees, read as the knee, 24 px above the target on the deep
    frames (the right thigh 22-25 degrees off). Seen end-on the knee keeps its size and the band
    its width and lie, as the foot keeps the photo's orientation (``extremity_transform``). Under
    KNEE_KEEP of its length the piece keeps its own length; under KNEE_TURN_FROM also the photo's
    orientation, from there to KNEE_KEEP its turn ramps linearly to the thigh's. Its length jumps at
    KNEE_KEEP: ramped from the thigh's squash there to its own at KNEE_TURN_FROM, pose.jpg driven by
    pose_squats measured 6.42 degrees of bone error instead of 6.00 (main 6.31; at KNEE_KEEP 0.6,
    KNEE_TURN_FROM 0.45)."""
    part = PART_BY_NAME[name]
    knee = ref_xy[index[part.end]]
    bone = _drawn_bone(own, ref_xy[index[part.start]], knee)
    if bone is None:
        return None
    v0, l0, v1, across = bone
    share = float(np.hypot(*v1)) / (across * l0) if across > 1e-9 else 1.0
    if share >= KNEE_KEEP:
        return None
    f = min(max((share - KNEE_TURN_FROM) / (KNEE_KEEP - KNEE_TURN_FROM), 0.0), 1.0)
    return _end_piece(own, knee, v0, _turned(v0 / l0, f * _angle(v0, v1)) * l0, across)


def _drawn_bone(own: np.ndarray, a: np.ndarray, b: np.ndarray) -> tuple | None:
    """(rest bone a->b, its length, the bone as ``own`` draws it, ``own``'s scale across the bone);
    None for a bone under 1e-6 px."""
    v0 = b - a
    l0 = float(np.hypot(*v0))
    if l0 < 1e-6:
        return None
    across = float(np.hypot(*(own[:, :2] @ np.array([-v0[1], v0[0]])))) / l0
    return v0, l0, own[:, :2] @ v0, across


def _end_piece(own: np.ndarray, end: np.ndarray, v0: np.ndarray, v: np.ndarray, across: float) -> np.ndarray:
    """The affine that draws the piece at the bone's end ``end`` (rest bone ``v0``) along ``v``
    (its own length), at the scale ``across``, anchored where ``own`` puts ``end``."""
    e1 = own[:, :2] @ end + own[:, 2]
    m = limb_transform(end, end + v0, e1, e1 + v)
    m[:, :2] *= across
    m[:, 2] = e1 - m[:, :2] @ end
    return m


def extremity_transform(name: str, own: np.ndarray, ref_xy: np.ndarray, index: dict[str, int],
                        hand_turn: float | None = None) -> np.ndarray | None:
    """The hand or foot piece's 2x3 affine for a forearm or shin drawn by ``own``: the hand's own
    turn ``hand_turn`` (radians, ``hand_turns``) where the target shows it, else part of the
    forearm's turn (``hand_direction``; a foot: none), anchored where ``own`` puts the wrist or ankle, at the scale ``own`` gives across
    the bone; None when the limb is drawn about its rest length against that (within HAND_KEEP either way:
    draw it whole)."""
    part = PART_BY_NAME[name]
    w = ref_xy[index[part.end]]
    bone = _drawn_bone(own, ref_xy[index[part.start]], w)
    if bone is None:
        return None
    v0, l0, v1, across = bone
    l1 = float(np.hypot(*v1))
    if l1 < 1e-6 or HAND_KEEP * across * l0 <= l1 <= across * l0 / HAND_KEEP:
        return None
    if name.endswith("shin"):   # a foot keeps the photo's orientation (see the module doc)
        return np.hstack([across * np.eye(2), (own[:, :2] @ w + own[:, 2] - across * w)[:, None]])
    u = (hand_direction(v0, v1, l1 / (across * l0)) if hand_turn is None
         else _turned(v0 / l0, hand_turn))
    return _end_piece(own, w, v0, u * l0, across)


def hand_direction(v0: np.ndarray, v1: np.ndarray, share: float) -> np.ndarray:
    """The unit direction the hand's bone takes for a forearm turned from ``v0`` (reference) to
    ``v1`` (drawn) at ``share`` of its rest length in 2-D: the forearm's whole turn at HAND_KEEP and
    over (where the layer is drawn whole, so the hand turns with it there, no jump), none at
    HAND_TURN_FROM and under, in between a linear part of it.

    A forearm short in 2-D is tilted out of the picture (towards the camera, or lying on a desk
    towards it), and its 2-D turn then says little of the hand's: presenter_desk's forearms, laid
    on the desk at 0.7-0.75 of their length, turned the photo's hands (clasped at the chest) about 30
    degrees down with them, a shape MediaPipe did not read as the hand at the wrist (the left
    wrist 17 px off at 256, 27% of the clip's AKD), while the real hands lay on the desk at about
    the photo's angle.
    Kept unturned at every foreshortening, hands jumped round at HAND_KEEP and MediaPipe found fewer
    of them (hands_found 0.81 -> 0.73)."""
    u0 = v0 / np.hypot(*v0)
    k = float(np.clip((share - HAND_TURN_FROM) / (HAND_KEEP - HAND_TURN_FROM), 0.0, 1.0))
    return _turned(u0, k * _angle(v0, v1))


def _angle(v0: np.ndarray, v1: np.ndarray) -> float:
    """The signed 2-D angle (radians) from ``v0`` to ``v1``."""
    return float(np.arctan2(v0[0] * v1[1] - v0[1] * v1[0], v0 @ v1))


def _turned(u: np.ndarray, turn: float) -> np.ndarray:
    c, s = np.cos(turn), np.sin(turn)
    return np.array([c * u[0] - s * u[1], s * u[0] + c * u[1]])


def hand_turns(rest, target, min_score: float = HAND_POINT_SCORE) -> dict[str, float]:
    """{forearm layer name: the 2-D turn (radians) of that hand's own direction (wrist -> mean of
    index and pinky) from the reference pose ``rest`` to ``target``}, for the sides where both
    show the wrist, index and pinky with ``min_score`` and the target's hand is not much shorter
    than the reference's (``HAND_SHORT``: an edge-on hand's direction is noise); MediaPipe's 33
    points carry them, COCO-17 does not (no entry: ``hand_direction``'s share of the forearm's turn).

    The driver's hand shows its own direction where the forearm's 2-D turn does not: a forearm
    short in 2-D is tilted out of the picture and its turn says little of the hand's (presenter_desk's
    hands laid on the desk), while a straight wrist under a forearm pointing at the camera does turn
    with it (pose_1, squats), which a share of the forearm's turn by length alone got wrong."""
    out: dict[str, float] = {}
    scale = _scale(rest, target)
    for side in ("left", "right"):
        d0, d1 = _hand_vector(rest, side, min_score), _hand_vector(target, side, min_score)
        if d0 is None or d1 is None:
            continue
        if np.hypot(*d1) < HAND_SHORT * np.hypot(*d0) * scale:
            continue
        out[f"{side}_forearm"] = _angle(d0, d1)
    return out


def _hand_vector(pose, side: str, min_score: float) -> np.ndarray | None:
    """wrist -> mean of index and pinky (px), or None where a point is missing or under ``min_score``."""
    ix = pose.layout.index
    names = [f"{side}_{n}" for n in ("wrist", "index", "pinky")]
    if not all(n in ix and pose.score[ix[n]] >= min_score for n in names):
        return None
    w, a, b = (pose.xy[ix[n]].astype(np.float64) for n in names)
    v = (a + b) / 2.0 - w
    return v if float(np.hypot(*v)) > 1e-6 else None


def _scale(rest, target) -> float:
    """The target's size over the reference's (shoulder width; 1 where either lacks it). Not
    realtime.framing.size_ratio (the median of the torso's sides): a squat bends the torso towards
    the camera, its sides shorten while the hands do not, and with that ratio more edge-on hands
    passed the HAND_SHORT gate (pose_squats bone error 3.55 -> 3.64 deg, measured)."""
    def width(p):
        ix = p.layout.index
        if "left_shoulder" not in ix or "right_shoulder" not in ix:
            return 0.0
        return float(np.hypot(*(p.xy[ix["left_shoulder"]] - p.xy[ix["right_shoulder"]])))

    a, b = width(rest), width(target)
    return b / a if a > 1e-6 and b > 1e-6 else 1.0
