"""Body parts of the warp renderer and the per-frame bone transforms.

All coordinates are pixels of the reference image (x right, y down). Poses are handled in COCO-17
(every layout converts to it by name). A part is one layer of the reference photo that follows one
bone (limbs, head) or the torso quadrilateral; the hand rides on the forearm and the foot on the shin.

Transforms are 2x3 affine matrices mapping reference pixels to output pixels:
- limb: rotation + translation + a scale along the bone (target length / reference length,
  clamped), the width across the bone is kept;
- torso: least-squares affine of the four torso points, never flatter than TORSO_MAX_FLATTENING:1
  (``with_depth``: a body turned edge-on or bent towards the camera still shows its depth; a fit
  flatter than 4:1 or mirrored falls back to a similarity); for a photo cut above its hips (``cut_at_chest``) the affine of the two
  shoulders and the hips' midpoint, exact (``shoulder_torso``): the photo's bottom edge is where
  its torso ends (its layer goes on below it, its last rows continued: ``Edge.reach``), and
  ``complete_hips`` keeps that continued bottom at or below the output's edge;
- head: similarity (Umeyama) of the face points and the neck; on top of it the face points move to
  the target's within a bound (``head_anchors``: the head layer's mesh anchors, a head turn or nod).
A limb whose target end point is missing keeps its rest angle relative to its parent (it turns
with the parent); a part whose start is missing too moves rigidly with its parent.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple

import numpy as np

SHOULDERS = ("left_shoulder", "right_shoulder")
HIPS = ("left_hip", "right_hip")
TORSO_POINTS = ("left_shoulder", "right_shoulder", "right_hip", "left_hip")
FACE_POINTS = ("nose", "left_eye", "right_eye", "left_ear", "right_ear")
LENGTH_SCALE_RANGE = (0.25, 2.5)
#: the flattest a torso is drawn (ratio of the torso affine's singular values): see ``with_depth``
TORSO_MAX_FLATTENING = 2.0


@dataclass(frozen=True)
class PartSpec:
    """name; kind ('torso', 'head' or 'limb'); bone start/end keypoints (limbs); parent part;
    extension of the segment beyond the end point (hand, foot) as a fraction of the bone length;
    rank: default back-to-front order for a person facing the camera; min_scale: the shortest a limb
    is drawn along its bone, as a fraction of its rest length (``SHIN_MIN_SCALE``)."""

    name: str
    kind: str
    start: str = ""
    end: str = ""
    parent: str = ""
    extend: float = 0.0
    rank: int = 0
    min_scale: float = LENGTH_SCALE_RANGE[0]


# A shin much shorter in 2-D than at rest (the knee lifted at the camera, the lower leg hanging
# back) is drawn at no less than this fraction of its length, its end point (and the foot, which
# keeps its own length: engines.warp.foreshortening) that much further on: squashed to the
# target's 0.4, the lower leg and its foot ended at the real shin's middle and the estimator read
# the knee raised to the side (pose_1: the thigh 130-160 degrees off for 28 frames). The real foot
# hangs below the ankle there, so a longer lower leg is also where the picture has it.
SHIN_MIN_SCALE = 0.7

PARTS: tuple[PartSpec, ...] = (
    PartSpec("left_thigh", "limb", "left_hip", "left_knee", "torso", 0.0, 0),
    PartSpec("right_thigh", "limb", "right_hip", "right_knee", "torso", 0.0, 0),
    PartSpec("left_shin", "limb", "left_knee", "left_ankle", "left_thigh", 0.25, 1, SHIN_MIN_SCALE),
    PartSpec("right_shin", "limb", "right_knee", "right_ankle", "right_thigh", 0.25, 1, SHIN_MIN_SCALE),
    PartSpec("torso", "torso", rank=2),
    PartSpec("head", "head", parent="torso", rank=3),
    PartSpec("left_upper_arm", "limb", "left_shoulder", "left_elbow", "torso", 0.0, 4),
    PartSpec("right_upper_arm", "limb", "right_shoulder", "right_elbow", "torso", 0.0, 4),
    PartSpec("left_forearm", "limb", "left_elbow", "left_wrist", "left_upper_arm", 0.4, 5),
    PartSpec("right_forearm", "limb", "right_elbow", "right_wrist", "right_upper_arm", 0.4, 5),
)
PART_BY_NAME = {p.name: p for p in PARTS}


class Edge(NamedTuple):
    """The bottom edge of a reference photo cut at the chest (reference px): ``y``, the photo's
    height, and ``x0``..``x1``, where the torso layer (with the upper arms it carries while their
    elbows are out of view) reaches it (``bottom_edge``); ``reach``: how far below ``y`` the torso
    layer goes on, its last rows continued (engines.warp.layers.continue_below; 0: not at all)."""

    y: float
    x0: float
    x1: float
    reach: float = 0.0


def bottom_edge(alpha: np.ndarray, origin: tuple[int, int], height: int) -> Edge | None:
    """The Edge of the torso layer (``alpha``: its (h, w) uint8 alpha, placed at ``origin`` (x0, y0)
    in a photo ``height`` px tall) on the photo's last row; None where it does not reach it."""
    x0, y0 = origin
    row = height - 1 - y0
    if not 0 <= row < alpha.shape[0]:
        return None
    cols = np.flatnonzero(alpha[row] > 127)
    if not len(cols):
        return None
    return Edge(float(height), float(x0 + cols[0]), float(x0 + cols[-1] + 1))


def _affine(lin: np.ndarray, src: np.ndarray, dst: np.ndarray) -> np.ndarray:
    """2x3 matrix x -> lin @ (x - src) + dst."""
    m = np.empty((2, 3), np.float64)
    m[:, :2] = lin
    m[:, 2] = dst - lin @ src
    return m


def apply(m: np.ndarray, pts: np.ndarray) -> np.ndarray:
    """Apply a 2x3 affine to (N, 2) points."""
    pts = np.asarray(pts, np.float64).reshape(-1, 2)
    return pts @ m[:, :2].T + m[:, 2]


def limb_transform(a0: np.ndarray, b0: np.ndarray, a1: np.ndarray, b1: np.ndarray,
                   min_scale: float | None = None) -> np.ndarray:
    """Map bone a0->b0 (reference) onto a1->b1 (target): rotate, translate, scale along the bone
    (clamped to LENGTH_SCALE_RANGE; ``min_scale`` raises its lower end: b0 then lands beyond b1)."""
    v0, v1 = b0 - a0, b1 - a1
    l0, l1 = float(np.hypot(*v0)), float(np.hypot(*v1))
    if l0 < 1e-6:
        return _affine(np.eye(2), a0, a1)
    u0 = v0 / l0
    lo = max(LENGTH_SCALE_RANGE[0], min_scale or 0.0)
    if l1 < 1e-6:
        u1 = u0
        s = lo
    else:
        u1 = v1 / l1
        s = float(np.clip(l1 / l0, lo, LENGTH_SCALE_RANGE[1]))
    # reference frame (u0, n0) -> target frame (u1, n1), stretched by s along the bone
    r0 = np.array([u0, [-u0[1], u0[0]]])          # rows: along, across (reference)
    r1 = np.array([u1, [-u1[1], u1[0]]]).T        # columns: along, across (target)
    lin = r1 @ np.diag([s, 1.0]) @ r0
    return _affine(lin, a0, a1)


def similarity(src: np.ndarray, dst: np.ndarray) -> np.ndarray:
    """Least-squares rotation + uniform scale + translation (Umeyama 1991) taking src onto dst."""
    src = np.asarray(src, np.float64)
    dst = np.asarray(dst, np.float64)
    ms, md = src.mean(0), dst.mean(0)
    s0, d0 = src - ms, dst - md
    var = (s0 ** 2).sum() / len(src)
    if var < 1e-9:
        return _affine(np.eye(2), ms, md)
    cov = d0.T @ s0 / len(src)
    u, sv, vt = np.linalg.svd(cov)
    d = np.eye(2)
    if np.linalg.det(u) * np.linalg.det(vt) < 0:
        d[1, 1] = -1
    rot = u @ d @ vt
    scale = float(np.trace(np.diag(sv) @ d) / var)
    return _affine(scale * rot, ms, md)


def _plausible(m: np.ndarray, max_anisotropy: float = 4.0) -> bool:
    """Whether a torso affine is one a body can show: not mirrored, not flatter than max_anisotropy:1."""
    sv = np.linalg.svd(m[:, :2], compute_uv=False)
    return bool(sv[1] > 1e-6 and sv[0] / sv[1] <= max_anisotropy and np.linalg.det(m[:, :2]) > 0)


def with_depth(m: np.ndarray, src: np.ndarray, max_flattening: float = TORSO_MAX_FLATTENING) -> np.ndarray:
    """The torso affine ``m`` widened across its flat direction to at most ``max_flattening``:1,
    about the centre of the reference points ``src`` (which it still maps where ``m`` does).

    The four torso points are a flat quadrilateral, the body is not: turned edge-on or bent towards
    the camera, a target's shoulders and hips fall close to one line, and their exact affine pressed
    the photo's torso into a strip a third of its width (basketball_dribble self-reenacted: 2.4-3.2:1
    in frames 4, 5 and 11, where the shirt became a thin band with the background between the arm
    and the back; 2.0-2.6:1 in frames 18-28, the bent-over photo's torso stood upright). A real
    torso's depth is about half its width, so its outline never gets flatter than about 2:1 (a
    profile); a fit within that is returned unchanged."""
    u, sv, vt = np.linalg.svd(m[:, :2])
    if sv[0] <= max_flattening * sv[1]:
        return m
    lin = u @ np.diag([sv[0], sv[0] / max_flattening]) @ vt
    c = np.asarray(src, np.float64).mean(axis=0)
    return _affine(lin, c, apply(m, c)[0])


def torso_transform(src: np.ndarray, dst: np.ndarray, max_anisotropy: float = 4.0) -> np.ndarray:
    """Affine from >= 3 torso points (least squares, ``with_depth``: never flatter than 2:1), a
    similarity for 2 points or a fit beyond ``max_anisotropy``:1 or mirrored, or a shift for 1."""
    n = len(src)
    if n >= 3:
        a = np.hstack([src, np.ones((n, 1))])
        sol, *_ = np.linalg.lstsq(a, dst, rcond=None)
        m = sol.T
        if _plausible(m, max_anisotropy):
            return with_depth(m, src)
    if n >= 2:
        return similarity(src, dst)
    return _affine(np.eye(2), src[0], dst[0])


def part_transforms(ref_xy: np.ndarray, ref_ok: np.ndarray, tgt_xy: np.ndarray, tgt_ok: np.ndarray,
                    index: dict[str, int], edge: Edge | None = None) -> dict[str, np.ndarray]:
    """2x3 reference->output affine of every part, parents before children.

    ref_xy/tgt_xy: (17, 2) COCO-17 pixels; ref_ok/tgt_ok: (17,) bool presence. edge: the reference
    photo's bottom edge where its torso reaches it (None: it does not): a photo cut above its hips
    (``cut_at_chest``) gets the torso of ``shoulder_torso``.
    """
    out: dict[str, np.ndarray] = {}
    ti = [index[n] for n in TORSO_POINTS]
    both = [i for i in ti if ref_ok[i] and tgt_ok[i]]
    torso = None
    if len(both) == len(ti) and cut_at_chest(ref_xy, ref_ok, index, edge):
        torso = shoulder_torso(ref_xy, tgt_xy, index)
    if torso is not None:
        out["torso"] = torso
    elif both:
        out["torso"] = torso_transform(ref_xy[both], tgt_xy[both])
    else:  # no torso point in the target: the body stays where it was
        out["torso"] = _affine(np.eye(2), np.zeros(2), np.zeros(2))
    torso = out["torso"]
    for part in PARTS:
        if part.kind == "limb":
            a, b = index[part.start], index[part.end]
            parent = out[part.parent]
            a1 = tgt_xy[a] if tgt_ok[a] else apply(parent, ref_xy[a])[0]
            if tgt_ok[b]:
                out[part.name] = limb_transform(ref_xy[a], ref_xy[b], a1, tgt_xy[b], part.min_scale)
            else:  # keeps its rest angle relative to the parent
                out[part.name] = _affine(parent[:, :2], ref_xy[a], a1)
        elif part.kind == "head":
            out["head"] = _head_transform(ref_xy, ref_ok, tgt_xy, tgt_ok, index, torso)
    return out


def neck(xy: np.ndarray, index: dict[str, int]) -> np.ndarray:
    """Midpoint of the shoulders (px)."""
    return (xy[index["left_shoulder"]] + xy[index["right_shoulder"]]) / 2.0


def cut_at_chest(ref_xy: np.ndarray, ref_ok: np.ndarray, index: dict[str, int], edge: Edge | None) -> bool:
    """Whether the reference photo is cut above its hips, its torso reaching its bottom ``edge``: both
    hips (placed there by realtime.framing.virtual_hips) lie below that edge."""
    if edge is None:
        return False
    return all(ref_ok[index[n]] and ref_xy[index[n], 1] > edge.y for n in HIPS)


# Hips a photo shows this close above its bottom edge (a fraction of the neck-to-hips length) are
# read from the picture around them (how much shows below the hem, where the hands are), not from
# the body: webcam_signing's frame 180 read its hips 25 px lower than frame 0 (video mode) with the
# body where it was; a torso that followed them was stretched 13 %, its hem and the jeans below it
# pushed out of the picture. The torso there takes the hips complete_hips places from the neck.
HIP_EDGE_MARGIN = 0.35


def hips_at_edge(ref_xy: np.ndarray, ref_ok: np.ndarray, index: dict[str, int], edge: Edge | None,
                 margin: float = HIP_EDGE_MARGIN) -> bool:
    """Whether the reference photo shows both hips just above its bottom ``edge`` (its torso
    reaching it): within ``margin`` x the neck-to-hips length of it, not below it (``cut_at_chest``)."""
    if edge is None or not all(ref_ok[index[n]] for n in SHOULDERS + HIPS):
        return False
    mid_hip = (ref_xy[index["left_hip"]] + ref_xy[index["right_hip"]]) / 2.0
    length = float(np.hypot(*(mid_hip - neck(ref_xy, index))))
    lowest = max(float(ref_xy[index[n], 1]) for n in HIPS)
    return length > 1e-6 and lowest <= edge.y and edge.y - lowest < margin * length


def _shoulders_and_mid_hip(xy: np.ndarray, index: dict[str, int]) -> np.ndarray:
    """(3, 2): left shoulder, right shoulder, midpoint of the hips (px)."""
    return np.array([xy[index["left_shoulder"]], xy[index["right_shoulder"]],
                     (xy[index["left_hip"]] + xy[index["right_hip"]]) / 2.0], np.float64)


def shoulder_torso(ref_xy: np.ndarray, tgt_xy: np.ndarray, index: dict[str, int]) -> np.ndarray | None:
    """The torso's 2x3 affine that puts both shoulders exactly on the target's and the hips'
    midpoint on the target's (three points, no least squares): a shoulder tilt or a narrower
    shoulder line shears and narrows the torso over its lower anchor instead of turning or shrinking
    all of it. None where that affine is degenerate or implausible (mirrored, flatter than 4:1)."""
    src, dst = _shoulders_and_mid_hip(ref_xy, index), _shoulders_and_mid_hip(tgt_xy, index)
    a = np.hstack([src, np.ones((3, 1))])
    if abs(np.linalg.det(a)) < 1e-6:
        return None
    m = np.linalg.solve(a, dst).T
    return m if _plausible(m) else None


def _head_transform(ref_xy: np.ndarray, ref_ok: np.ndarray, tgt_xy: np.ndarray, tgt_ok: np.ndarray,
                    index: dict[str, int], torso: np.ndarray) -> np.ndarray:
    fi = [index[n] for n in FACE_POINTS if ref_ok[index[n]] and tgt_ok[index[n]]]
    if not fi:
        return torso
    src = list(ref_xy[fi])
    dst = list(tgt_xy[fi])
    ls, rs = index["left_shoulder"], index["right_shoulder"]
    if ref_ok[ls] and ref_ok[rs] and tgt_ok[ls] and tgt_ok[rs]:
        src.append(neck(ref_xy, index))
        dst.append(neck(tgt_xy, index))
    if len(src) < 2:
        return _affine(torso[:, :2], np.asarray(src[0]), np.asarray(dst[0]))
    m = similarity(np.array(src), np.array(dst))
    # a head never shrinks or grows far beyond the torso's own scale change
    torso_scale = float(np.sqrt(abs(np.linalg.det(torso[:, :2]))))
    head_scale = float(np.sqrt(abs(np.linalg.det(m[:, :2]))))
    if head_scale > 1e-6:
        want = float(np.clip(head_scale, 0.6 * torso_scale, 1.6 * torso_scale))
        if want != head_scale:
            c_src = np.mean(src, axis=0)
            c_dst = apply(m, c_src)[0]
            m = _affine(m[:, :2] * (want / head_scale), c_src, c_dst)
    return m


HEAD_TURN_LIMIT = 0.15


def head_anchors(ref_xy: np.ndarray, tgt_xy: np.ndarray, tgt_ok: np.ndarray, index: dict[str, int],
                 names: tuple[str, ...], head: np.ndarray, span: float,
                 limit: float | None = None) -> np.ndarray:
    """(len(names), 2) output px of the reference's face points ``names`` (the head layer's mesh
    anchors, engines.warp.face.FaceRig): each where the target has it, moved from where the head's
    2x3 similarity ``head`` puts it by at most ``limit`` (HEAD_TURN_LIMIT) x the reference's face ``span`` (px) x the
    head's scale (the turn or nod one photo can bear: the eyes and ears shift against the nose, the
    head's outline stays); where the target lacks it, where the similarity puts it."""
    src = ref_xy[[index[n] for n in names]].astype(np.float64)
    base = apply(head, src)
    cap = (HEAD_TURN_LIMIT if limit is None else limit) * span * float(np.sqrt(abs(np.linalg.det(head[:, :2]))))
    out = base.copy()
    for k, n in enumerate(names):
        if tgt_ok[index[n]]:
            d = tgt_xy[index[n]] - base[k]
            length = float(np.hypot(*d))
            out[k] = base[k] + d * (min(1.0, cap / length) if length > 1e-9 else 0.0)
    return out


def complete_hips(ref_xy: np.ndarray, ref_ok: np.ndarray, tgt_xy: np.ndarray, tgt_ok: np.ndarray,
                  index: dict[str, int], edge: Edge | None = None) -> tuple[np.ndarray, np.ndarray, bool]:
    """The target with both hips placed when it shows both shoulders but not both hips (an
    upper-body driver), and whether they were placed: the reference's hips relative to its neck,
    scaled by the head-and-shoulders size ratio (realtime.framing.size_ratio), not turned: the torso
    keeps the avatar's length instead of following a shoulder width that shrinks when the driver
    turns, and a shoulder tilt leans the upper torso over hips that stay level (a seated or standing
    body does not swing its legs when the shoulders roll).

    edge: the reference photo's bottom edge where its torso reaches it (None: it does not). A photo
    that shows its hips just above that edge (``hips_at_edge``) has the target's hips placed the
    same way, whether the target shows them or not. A photo cut above its hips (``cut_at_chest``:
    its hips are realtime.framing.virtual_hips, for the transforms only) then has the target's hips,
    placed or its own, lowered where needed for that edge to stay on the output's
    (``keep_bottom_edge``)."""
    if hips_at_edge(ref_xy, ref_ok, index, edge):   # the target's hips are no steadier than the photo's
        tgt_ok = tgt_ok.copy()
        tgt_ok[[index[n] for n in HIPS]] = False
    xy, ok, placed = _placed_hips(ref_xy, ref_ok, tgt_xy, tgt_ok, index)
    names = SHOULDERS + HIPS
    if cut_at_chest(ref_xy, ref_ok, index, edge) and all(ok[index[n]] and ref_ok[index[n]] for n in names):
        xy = keep_bottom_edge(ref_xy, xy, index, edge)
    return xy, ok, placed


def _placed_hips(ref_xy: np.ndarray, ref_ok: np.ndarray, tgt_xy: np.ndarray, tgt_ok: np.ndarray,
                 index: dict[str, int]) -> tuple[np.ndarray, np.ndarray, bool]:
    """complete_hips without the bottom edge: the hips placed from the neck, and whether they were."""
    from realtime.framing import size_ratio
    from realtime.layouts import COCO17
    from realtime.pose import Pose

    ls, rs = index["left_shoulder"], index["right_shoulder"]
    hips = [index[n] for n in HIPS]
    if all(tgt_ok[h] for h in hips) or not (tgt_ok[ls] and tgt_ok[rs] and ref_ok[ls] and ref_ok[rs]):
        return tgt_xy, tgt_ok, False
    if not all(ref_ok[h] for h in hips):
        return tgt_xy, tgt_ok, False
    la = float(np.hypot(*(ref_xy[ls] - ref_xy[rs])))
    lb = float(np.hypot(*(tgt_xy[ls] - tgt_xy[rs])))
    if la < 1e-6 or lb < 1e-6:
        return tgt_xy, tgt_ok, False
    s = float("nan")
    if len(ref_xy) == len(COCO17):
        s = size_ratio(Pose(tgt_xy, tgt_ok.astype(np.float32)), Pose(ref_xy, ref_ok.astype(np.float32)))
    if not np.isfinite(s) or s <= 0:
        s = lb / la
    xy, ok = tgt_xy.copy(), tgt_ok.copy()
    n0, n1 = neck(ref_xy, index), neck(tgt_xy, index)
    for h in hips:
        xy[h] = n1 + s * (ref_xy[h] - n0)
        ok[h] = True
    return xy, ok, True


def keep_bottom_edge(ref_xy: np.ndarray, tgt_xy: np.ndarray, index: dict[str, int], edge: Edge) -> np.ndarray:
    """The target (a copy when changed) with both hips moved down, never up, by as much as the
    bottom of the torso layer (the photo's bottom ``edge``, both ends of the torso on it, continued
    ``edge.reach`` px below it) needs to land at or below the output's under ``shoulder_torso``. A
    photo cut at the chest has no pixels below that edge: a torso lifted off it (a shoulder tilt
    raises one side, a smaller body all of it) would leave the background showing beneath. The
    layer's continued rows cover a lift of up to ``reach`` with the body's own colours; only past
    that does the chest stretch (an affine keeps the edge parallel to the shoulder line: under a
    tilt its lower end goes past the output's edge, as a real body's would). Stretched to cover
    every lift (no reach), webcam_talking's chest was drawn 1.3-1.5x taller on its tilted frames,
    the shoulders' tops and straps pulled up, and MediaPipe read both shoulders 20-45 px high.
    Unchanged where shoulder_torso is None."""
    m = shoulder_torso(ref_xy, tgt_xy, index)
    if m is None:
        return tgt_xy
    tri = _shoulders_and_mid_hip(ref_xy, index)
    bottom = edge.y + edge.reach
    ends = np.array([[edge.x0, bottom], [edge.x1, bottom]])
    # each end's barycentric weight on the hips' midpoint: how far down it goes per pixel the hips go
    weight = np.linalg.solve(np.vstack([tri.T, np.ones(3)]), np.vstack([ends.T, np.ones(2)]))[2]
    lift = edge.y - apply(m, ends)[:, 1]   # below the output's edge: the photo's height, as the reference's
    need = [l / w for l, w in zip(lift, weight) if l > 0 and w > 1e-6]
    if not need:
        return tgt_xy
    out = tgt_xy.copy()
    out[[index[n] for n in HIPS], 1] += max(need)
    return out


# A hand the photo cuts at its bottom edge, on a forearm hanging within this angle of straight down,
# is stretched along its bone (by at most HAND_EDGE_STRETCH) so that its cut stays on the output's
# bottom edge: lifted off it, the cut hand ended in mid-air over the background (webcam_signing,
# arms down: the output's wrists and hips read 12-24 px higher than the real frame's). 1.1 mended
# few frames (AKD@256 5.72 -> 5.58), 1.3 more (5.41), 1.5 most (5.29; 64 frames stretched, the
# largest by 1.48: the hand runs out of the picture as the real one does, the forearm looks no longer).
HAND_EDGE_ANGLE_DEG = 35.0
HAND_EDGE_STRETCH = 1.5


def hands_on_edge(mats: dict[str, np.ndarray], edges: dict[str, Edge], ref_xy: np.ndarray,
                  index: dict[str, int]) -> None:
    """Forearms whose layer meets the photo's bottom row (``edges``: parts.Edge per forearm layer)
    stretched along their bone where a hanging forearm's cut would land above the output's bottom
    edge (in place): the hand goes on out of the picture, as the real one does."""
    for name, edge in edges.items():
        side = name.split("_")[0]
        a0, b0 = ref_xy[index[f"{side}_elbow"]], ref_xy[index[f"{side}_wrist"]]
        m = mats.get(name)
        l0 = float(np.hypot(*(b0 - a0)))
        if m is None or l0 < 1e-6:
            continue
        u0 = (b0 - a0) / l0
        along = m[:, :2] @ u0
        s = float(np.hypot(*along))
        if s < 1e-6 or along[1] / s < np.cos(np.radians(HAND_EDGE_ANGLE_DEG)):
            continue
        ends = np.array([[edge.x0, edge.y], [edge.x1, edge.y]])
        low = apply(m, ends)[:, 1]
        t = (ends - a0) @ u0                      # how far along the bone each end of the cut lies
        if low.min() >= edge.y or np.any(t <= 1e-6):
            continue
        grow = float(np.max((edge.y - low) / (t * along[1] / s)))   # the stretch (along-scale) each needs
        if grow <= 0 or (s + grow) > HAND_EDGE_STRETCH * s:
            continue
        lin = m[:, :2] + grow * np.outer(along / s, u0)
        a1 = apply(m, a0)[0]
        mats[name] = _affine(lin, a0, a1)


def legs_at_rest(mats: dict[str, np.ndarray], ref_xy: np.ndarray, tgt_xy: np.ndarray, tgt_ok: np.ndarray,
                 index: dict[str, int], scale: float) -> None:
    """Legs the target does not show, under placed hips: moved and scaled with their hip, never
    turned or sheared by the torso (in place)."""
    for part in PARTS:
        if part.kind != "limb" or part.name not in mats or not part.start.endswith("hip"):
            continue
        knee = index[part.end]
        if tgt_ok[knee]:
            continue
        hip = index[part.start]
        m = _affine(scale * np.eye(2), ref_xy[hip], tgt_xy[hip])
        mats[part.name] = m
        shin = part.name.replace("thigh", "shin")
        if shin in mats and not tgt_ok[index[part.end.replace("knee", "ankle")]]:
            mats[shin] = m
