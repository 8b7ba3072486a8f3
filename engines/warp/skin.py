"""Skinned shoulders, hips and neck for the warp renderer: no wings, no tears, skirts that follow both
legs, a collar that stays when the head rolls.

With one rigid affine per part, an upper arm or thigh that turns at its shoulder or hip swings its
top edge out of the torso's outline (pointed "wings") and opens a wedge on the other side. Here the
pixels of the upper arms and thighs near their proximal joint follow a blend of the limb's and the
torso's transforms (linear blend skinning with the weights of one image per layer, as Animated
Drawings binds mesh vertices to bones; the blend is of rotation angle, stretch and joint position,
engines.warp.blend, so a large bend does not collapse the limb):
    w_torso(q) = (1 - smoothstep((s + r/2) / (ZONE r))) * (1 - smoothstep((|q - J| - r) / (FALLOFF r)))
    s = (q - J) . u,  J the shoulder or hip, u the bone's unit direction, r the limb's thickness (px).
The zone is kept small (about one limb thickness round the joint): a wide one turns an arm raised
overhead into a bat wing of jacket stretched from the hip to the elbow. The torso layer stays
rigid (one warpAffine); the limb's top stretches like cloth between the two. A limb squashed to
under 0.7 of its rest length (foreshortened) is skinned less, and not at all under 0.35; so is a
limb turned more than 70 degrees from its rest angle to the torso (not at all past 120), where the
blend would fan the sleeve out into shards; except an arm that hangs in the photo and is raised
overhead (``raised_turn_end``: up to 170), whose shoulder drawn rigid swung round the joint and
left the background between the raised arm and the head.
The neck: the head layer carries the neck and a disc of collar round the shoulders' midpoint; moved
rigidly with the head, a head roll swung the collar and the shoulders' top round with it (MediaPipe
then read the shoulders high) and opened a wedge beside it. Its pixels follow the torso up to the
shoulders' line and the head from NECK_TOP of the way to the face's centre, the lines rising to the
sides of the neck with the shoulders' slope (``_neck_skin``): the neck shears like a neck between the
collar, which stays, and the chin, which goes with the head (the face's mesh, engines.warp.face,
warps the rest of the layer as before). Only while the head rolls 10-60 degrees off the torso
(``neck_strength``: NECK_ROLL, NECK_ROLL_MAX); outside that band the head layer moves rigidly.
Skirts, dresses and long coats: when the reference's person mask fills the space between the thighs
(``covers_between_thighs``), the thigh pixels towards the body's middle follow the torso too
(weight by the pixel's lateral place between the two thigh bones), so the cloth between the legs
stretches across instead of splitting into two trouser legs; the middle follows the hips' mean.

Per frame, for each skinned layer, the backward map (output pixel -> reference pixel) is found on a
coarse grid of output nodes (``GRID`` px) by a fixed-point iteration (``ITERATIONS`` step(s), the neck NECK_ITERATIONS; starting
from the limb's own inverse; the weights are smooth, so one step is within a pixel or two), resized to the output box and sampled once with cv2.remap. Only the
five layers next to the torso are skinned, only the nodes within reach of the joint are iterated,
each layer is cut at prepare time into the pixels the blend can move (sampled through the map, in a
small box round the joint) and the rest (one warpAffine, as rigid layers), and a frame where limb
and torso move as one (or the blend has faded out) draws the whole layer rigid, so the cost stays
near the rigid path's. Coordinates: reference pixels (x right, y down); weight maps float32 over the patch.
"""
from __future__ import annotations

from dataclasses import dataclass, replace

import cv2
import numpy as np

from engines.warp.blend import Joint, _blend_inverse, _blend_setup
from engines.warp.layers import Layer

GRID = 8
ITERATIONS = 1
ZONE = 1.3
FALLOFF = 1.4
SKINNED = ("left_upper_arm", "right_upper_arm", "left_thigh", "right_thigh", "head")
# the head layer's neck: torso weight 1 up to the shoulders' line, 0 from NECK_TOP of the way from
# there to the face's centre (fractions of that distance); both lines rise by NECK_SLOPE of the
# distance to the side of the neck's axis (the slope of the shoulders' top: the collar and the
# trapezius beside the neck stay with the torso)
NECK_BASE = 0.0
NECK_TOP = 0.3
# ... and NECK_TOP_CHEST for a photo cut at the chest (parts.cut_at_chest: a webcam's framing, the body
# upright below the picture), about the jaw's height: there a head rolled off the torso is the neck
# bending over its whole length. Ended at 0.3, the neck's lower third took all of the roll and the
# rest went rigidly with the head: on webcam_talking's 30-degree tilts MediaPipe read the face ~25 px
# to the side and the shoulders off (AKD@256 on frames 56-104: 5.9 -> 4.9; 0.7 gave 4.8 but reaches
# the chin). Not for a full-length photo: a head far off its torso there is mostly a bent-over body
# (basketball_dribble: bone 17.7 -> 20.1 deg with 0.5; pose_1 3.50 -> 3.63)
NECK_TOP_CHEST = 0.5
NECK_SLOPE = 0.7
# a head rolls further from the torso than a limb's top turns (40 degrees on webcam_talking): one
# fixed-point step left a fold there (a spike of neck beside it, a pale line under the jaw)
NECK_ITERATIONS = 4
# the neck's near piece reaches this far (of the neck-to-face distance) into the rest of the head
# layer, under it: the face's mesh (engines.warp.face) moves the jaw a few px off the head's
# similarity, and with the usual 2-px overlap a grey sliver of background opened under the jaw
NECK_OVERLAP = 0.08
# the neck's map nodes lie this far apart (of the neck-to-face distance; GRID px at least): its
# weights ramp over 0.3 of it, so a coarse grid carries them (the cost of a frame: 1.2x at most)
NECK_GRID = 0.06
# the neck is skinned only when the head rolls off the torso by more than NECK_ROLL[0] degrees (fully
# from NECK_ROLL[1]): under that the rigid head's collar moves a few px, and the skin's shear tore the
# hair and hood beside the neck into spikes next to a hand held at the chin (webcam_signing frames
# 75-83 at a 3-5 degree roll: MediaPipe then took the photo's curled other hand for the signing one
# and the finger-bend correlation fell 0.55 -> 0.31)
NECK_ROLL = (10.0, 20.0)
# ... and it fades out again from NECK_ROLL_MAX[0] to none at NECK_ROLL_MAX[1]: a head that far off the
# torso is a bent-over body drawn from an upright photo (basketball_dribble frames 25-39), where the
# sheared neck made MediaPipe read the shoulders turned (bone error 19.5 -> 27.3 deg); webcam_talking's
# rolls reach about 42
NECK_ROLL_MAX = (45.0, 60.0)
# a limb's skinning fades out over TURN_FADE degrees up to TURN_END of turn off the torso; for a
# limb hanging in the photo and raised above the shoulder line (RAISED_FROM..RAISED_FULL: the sine
# of its elevation) up to RAISED_TURN_END. Rigid, pose_1's arms overhead (turned 118-128 degrees)
# swung the shoulder's sleeve round the joint: the raised upper arm thin at its base, the wall
# between it and the head, MediaPipe read the shoulders narrower and lower (shoulder-elbow bones
# 3.3 degrees off). Every limb to 170 (an earlier branch) mended that too but made basketball_dribble, squats from
# pose.jpg and webcam_signing (frame 268) worse: there the large turns are not an arm overhead.
TURN_END = 120.0
TURN_FADE = 50.0
RAISED_TURN_END = 170.0
RAISED_FROM, RAISED_FULL = 0.3, 0.6
# a raised limb (``raised_turn_end``) turned further than this off the torso gets RAISED_ITERATIONS
# fixed-point steps of its backward map: one step left a tear at the raised arm's outer armpit
# (pose_1 frames 45 and 71-75: a fleck of the wall inside the sleeve)
TURNED_DEG = 90.0
RAISED_ITERATIONS = 4


def _smoothstep(t: np.ndarray) -> np.ndarray:
    t = np.clip(t, 0.0, 1.0)
    return t * t * (3 - 2 * t)


def covers_between_thighs(mask: np.ndarray, segs: dict, radius: dict[str, float]) -> bool:
    """Whether the person mask fills the space between the thighs below the crotch (a skirt, a
    dress, a long coat) in the reference: the mask at 55-95 % of the way from the hips' middle to
    the knees' middle, with the knees far enough apart to tell (else False: trousers assumed)."""
    if "left_thigh" not in segs or "right_thigh" not in segs:
        return False
    (lh, lk), (rh, rk) = segs["left_thigh"], segs["right_thigh"]
    gap = float(np.linalg.norm(lk - rk))
    if gap < 2.2 * max(radius["left_thigh"], radius["right_thigh"]):
        return False
    top, bottom = (lh + rh) / 2, (lk + rk) / 2
    h, w = mask.shape
    for f in (0.55, 0.75, 0.95):
        x, y = top + f * (bottom - top)
        if mask[int(np.clip(round(y), 0, h - 1)), int(np.clip(round(x), 0, w - 1))] < 0.5:
            return False
    return True


@dataclass
class Skin:
    """A skinned layer cut in two: ``near`` (the pixels with a torso weight, plus an overlap (2 px; the neck more);
    sampled through the blend) and ``far`` (the rest, None if empty; one warpAffine like any rigid
    layer). The overlap is drawn by both with the same map (weight 0 there): no seam."""

    near: Layer
    far: Layer | None
    weight: np.ndarray   # float32 torso weight over near.patch
    joint: Joint
    iterations: int = ITERATIONS   # fixed-point steps of the backward map (skin_maps)
    base: Layer | None = None      # the neck's pixels of torso weight 1 (one warpAffine: blend_affine)
    grid: int = GRID               # px between the backward map's nodes


def _piece(layer: Layer, keep: np.ndarray) -> tuple[Layer, tuple[int, int, int, int]] | None:
    """The layer's pixels where ``keep`` (bool over its patch), cropped: (layer, crop box in patch)."""
    keep = keep & (layer.patch[..., 3] > 0)
    ys, xs = np.nonzero(keep)
    if len(ys) == 0:
        return None
    y0, y1, x0, x1 = ys.min(), ys.max() + 1, xs.min(), xs.max() + 1
    patch = layer.patch[y0:y1, x0:x1].copy()
    patch[~keep[y0:y1, x0:x1]] = 0
    ox, oy = layer.origin
    return replace(layer, patch=patch, origin=(int(ox + x0), int(oy + y0))), (int(x0), int(y0), int(x1), int(y1))


def weight_maps(layers: list, segs: dict, radius: dict[str, float], skirt: bool,
                neck_top: float = NECK_TOP) -> dict[str, Skin]:
    """The skinned form (torso weights, near and far pieces, blend joint) of every skinned layer;
    ``neck_top``: where the neck's torso weight reaches 0 (NECK_TOP, or NECK_TOP_CHEST)."""
    out: dict[str, Skin] = {}
    for layer in layers:
        if layer.name not in SKINNED or layer.name not in segs:
            continue
        ph, pw = layer.patch.shape[:2]
        x0, y0 = layer.origin
        qx, qy = np.meshgrid(np.arange(pw, dtype=np.float32) + x0, np.arange(ph, dtype=np.float32) + y0)
        if layer.name == "head":
            got = _neck_skin(layer.name, qx, qy, segs, radius, neck_top)
        else:
            got = _limb_skin(layer.name, qx, qy, segs, radius, skirt)
        if got is None:
            continue
        w, joint, grow, grid = got
        core = w > 1e-3
        neck = layer.name == "head"
        # the neck's pixels that follow the torso wholly (the collar's disc): a piece of their own
        full = (w > 1 - 1e-3) if neck else np.zeros_like(core)
        band = cv2.dilate((core & ~full).astype(np.uint8), np.ones((2 * grow + 1,) * 2, np.uint8)) > 0
        near = _piece(layer, band)
        if near is None:
            continue
        far = _piece(layer, ~core)
        base = _piece(layer, full) if neck else None
        bx0, by0, bx1, by1 = near[1]
        weight = np.ascontiguousarray(w[by0:by1, bx0:bx1].astype(np.float32))
        out[layer.name] = Skin(near[0], None if far is None else far[0], weight, joint,
                               NECK_ITERATIONS if neck else ITERATIONS, None if base is None else base[0], grid)
    return out


def _limb_skin(name: str, qx: np.ndarray, qy: np.ndarray, segs: dict, radius: dict[str, float],
               skirt: bool) -> tuple[np.ndarray, Joint, int, int] | None:
    """(torso weight at the reference pixels (qx, qy), joint, overlap px of the near piece, map grid px)
    of an upper arm or thigh (module doc)."""
    a, b = (np.asarray(v, np.float64) for v in segs[name])
    length = float(np.linalg.norm(b - a))
    if length < 1e-6:
        return None
    u = (b - a) / length
    r = radius[name]
    s = (qx - a[0]) * u[0] + (qy - a[1]) * u[1]
    w = 1.0 - _smoothstep((s + 0.5 * r) / (ZONE * r))
    w *= 1.0 - _smoothstep((np.hypot(qx - a[0], qy - a[1]) - r) / (FALLOFF * r))
    if skirt and name.endswith("thigh"):
        other = segs["right_thigh" if name.startswith("left") else "left_thigh"]
        d_own = _seg_dist(qx, qy, a, b)
        d_other = _seg_dist(qx, qy, *(np.asarray(v, np.float64) for v in other))
        t = d_own / np.maximum(d_own + d_other, 1e-6)
        w = np.maximum(w, _smoothstep((t - 0.2) / 0.3))
    return w, Joint(a, -u, r, r, "torso"), 2, GRID


def _neck_skin(name: str, qx: np.ndarray, qy: np.ndarray, segs: dict, radius: dict[str, float],
               top: float = NECK_TOP) -> tuple[np.ndarray, Joint, int, int] | None:
    """(torso weight at the reference pixels (qx, qy), joint, overlap px, grid px) of the head layer: its neck and the
    collar round it follow the torso at and below the shoulders' line (NECK_BASE) and the head from
    ``top`` (NECK_TOP) of the way up to the face's centre (weights ramping between); the joint is the
    shoulders' midpoint."""
    if "torso" not in segs:
        return None
    a, b = (np.asarray(v, np.float64) for v in segs[name])
    length = float(np.linalg.norm(b - a))    # the head's bone: as long as the neck to the face's centre
    if length < 1e-6:
        return None
    u = (b - a) / length
    nk = np.asarray(segs["torso"][0], np.float64)
    s = ((qx - nk[0]) * u[0] + (qy - nk[1]) * u[1]) / length
    side = np.abs((qx - nk[0]) * u[1] - (qy - nk[1]) * u[0]) / length
    w = 1.0 - _smoothstep((s - NECK_SLOPE * side - NECK_BASE) / (top - NECK_BASE))
    return (w, Joint(nk, -u, radius[name], radius[name], "torso"), max(2, int(round(NECK_OVERLAP * length))),
            max(GRID, int(NECK_GRID * length)))


def _seg_dist(px: np.ndarray, py: np.ndarray, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    v = b - a
    ll = float(v @ v) or 1e-9
    t = np.clip(((px - a[0]) * v[0] + (py - a[1]) * v[1]) / ll, 0.0, 1.0)
    return np.hypot(px - (a[0] + t * v[0]), py - (a[1] + t * v[1]))


def skin_box(layer, own: np.ndarray, torso: np.ndarray, size: tuple[int, int]) -> tuple[int, int, int, int] | None:
    """Output box (x0, y0, x1, y1) that the skinned layer can reach (its patch under both maps)."""
    ph, pw = layer.patch.shape[:2]
    x0, y0 = layer.origin
    corners = ((x0, y0), (x0 + pw, y0), (x0, y0 + ph), (x0 + pw, y0 + ph))
    xs, ys = [], []
    for (a, b, c), (d, e, f) in (own.tolist(), torso.tolist()):   # plain floats: every frame
        xs += [a * x + b * y + c for x, y in corners]
        ys += [d * x + e * y + f for x, y in corners]
    w, h = size
    bx0, by0 = max(int(min(xs)) - GRID, 0), max(int(min(ys)) - GRID, 0)
    bx1, by1 = min(int(max(xs)) + 1 + GRID, w), min(int(max(ys)) + 1 + GRID, h)
    if bx1 <= bx0 or by1 <= by0:
        return None
    return bx0, by0, bx1, by1


def blend_strength(joint: Joint, own: np.ndarray, torso: np.ndarray) -> tuple[float, tuple]:
    """(k, setup): how much of the torso weight applies this frame (0 = draw the layer rigid) and the
    blend's per-frame constants (engines.warp.blend)."""
    setup = _blend_setup(joint, own, torso)
    turn = abs(setup[2]) * (180.0 / np.pi)
    # limb and torso moving nearly as one (within 3 degrees and 2 px at the joint): the rigid part
    # and its disc show no seam there, and the blend is not worth its cost
    if turn < 3.0 and abs(setup[6][0]) + abs(setup[6][1]) < 2.0:
        return 0.0, setup
    # a limb much shorter than at rest (pointing at the camera) is drawn squashed along its bone:
    # its top must not stay hanging from the torso, so the skinning fades out (rigid with its disc)
    ax, ay = joint.axis
    stretch = float(np.hypot(own[0, 0] * ax + own[0, 1] * ay, own[1, 0] * ax + own[1, 1] * ay))
    k = min(max((stretch - 0.35) / 0.35, 0.0), 1.0)
    # past a right angle between limb and torso the blend would fan the sleeve out into shards
    # (every weight a different angle): it fades out between 70 and 120 degrees; an arm raised
    # overhead from one hanging in the photo keeps it further (``raised_turn_end``)
    end = raised_turn_end(joint, own, torso)
    k *= min(max((end - turn) / TURN_FADE, 0.0), 1.0)
    return k, setup


def limb_iterations(joint: Joint, own: np.ndarray, torso: np.ndarray, setup: tuple, steps: int) -> int:
    """The fixed-point steps of a limb's backward map this frame (``skin_maps``): ``steps``, or
    RAISED_ITERATIONS for a raised limb (``raised_turn_end``) turned past TURNED_DEG."""
    if abs(setup[2]) > np.radians(TURNED_DEG) and raised_turn_end(joint, own, torso) > TURN_END:
        return max(steps, RAISED_ITERATIONS)
    return steps


def raised_turn_end(joint: Joint, own: np.ndarray, torso: np.ndarray) -> float:
    """The turn (degrees) by which the skinning has faded out: TURN_END, or up to RAISED_TURN_END for
    a limb that hangs in the photo (its bone within 60 degrees of straight down) and is raised above
    the torso's shoulder line in the output (RAISED_FROM..RAISED_FULL of the sine of its elevation
    over the torso's crosswise axis)."""
    u = -np.asarray(joint.axis, np.float64)          # the limb's bone direction (reference)
    if u[1] < 0.5:
        return TURN_END
    up = torso[:, :2] @ np.array([0.0, -1.0])
    along = own[:, :2] @ u
    nu, na = float(np.hypot(*up)), float(np.hypot(*along))
    if nu < 1e-9 or na < 1e-9:
        return TURN_END
    rise = float(up @ along) / (nu * na)
    f = min(max((rise - RAISED_FROM) / (RAISED_FULL - RAISED_FROM), 0.0), 1.0)
    return TURN_END + f * (RAISED_TURN_END - TURN_END)


def neck_strength(joint: Joint, own: np.ndarray, torso: np.ndarray) -> tuple[float, tuple]:
    """``blend_strength`` for the head layer's neck, faded in with the head's roll off the torso
    (NECK_ROLL) and out again past NECK_ROLL_MAX."""
    k, setup = blend_strength(joint, own, torso)
    roll = abs(setup[2]) * (180.0 / np.pi)
    lo, hi = NECK_ROLL
    top, end = NECK_ROLL_MAX
    fade = min(max((roll - lo) / (hi - lo), 0.0), 1.0) * min(max((end - roll) / (end - top), 0.0), 1.0)
    return k * fade, setup


def blend_affine(setup: tuple, k: float) -> np.ndarray:
    """The 2x3 map of the joint's blend (``blend_strength``'s setup) at the constant torso weight
    ``k``: rotation angle, stretch and joint position of both sides mixed (k = 1: the torso's map)."""
    centre, t_own, dt, p0, dp, j0, dj = setup
    theta = t_own + k * dt
    c, s = np.cos(theta), np.sin(theta)
    lin = np.array([[c, -s], [s, c]]) @ (p0 + k * dp)
    out = np.empty((2, 3))
    out[:, :2] = lin
    out[:, 2] = j0 + k * dj - lin @ centre
    return out


def skin_maps(box: tuple[int, int, int, int], layer, weight: np.ndarray, joint: Joint, own: np.ndarray,
              k: float, setup: tuple, iterations: int = ITERATIONS, grid: int = GRID) -> np.ndarray:
    """The (h, w, 2) float32 map over the output box: the patch pixel (patch coordinates) that lands on
    each output pixel under the skinned blend (``blend_strength``) of the layer's and the torso's
    maps (the near piece's box: every node is near the joint)."""
    x0, y0, x1, y1 = box
    gw = (x1 - x0 + grid - 1) // grid
    gh = (y1 - y0 + grid - 1) // grid
    c = grid / 2.0 - 0.5
    px, py = np.meshgrid(x0 + c + np.arange(gw) * grid, y0 + c + np.arange(gh) * grid)
    inv = cv2.invertAffineTransform(own)
    qx = inv[0, 0] * px + inv[0, 1] * py + inv[0, 2]
    qy = inv[1, 0] * px + inv[1, 1] * py + inv[1, 2]
    ox, oy = layer.origin
    hw = np.array([weight.shape[1] - 1, weight.shape[0] - 1], np.float64)
    for _ in range(iterations):
        w = weight[np.clip(qy - oy + 0.5, 0, hw[1]).astype(np.intp), np.clip(qx - ox + 0.5, 0, hw[0]).astype(np.intp)]
        qx, qy = _blend_inverse(setup, k * w.astype(np.float64), px, py)
    nodes = np.dstack([qx - ox, qy - oy]).astype(np.float32)
    full = cv2.resize(nodes, (gw * grid, gh * grid), interpolation=cv2.INTER_LINEAR)
    return np.ascontiguousarray(full[: y1 - y0, : x1 - x0])
