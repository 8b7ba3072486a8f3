"""Retargeting: put the driver's pose onto the avatar's body.

The target pose takes the driver's bone *directions* and the avatar's bone *lengths*. It is built
down a skeleton tree rooted at the body centre (the mean of the shoulders and hips):
- centre: the avatar's centre, moved by the driver's displacement from its neutral pose (converted
  to avatar pixels by the ratio of the two bodies' torso sizes);
- every other keypoint: parent + avatar bone length * length factor * driver bone direction.
  The length factor is the driver's current bone length over its neutral length (foreshortening
  and distance to the camera both show there); with ``foreshorten=False`` it is the global
  distance-to-camera factor (driver torso size now / at neutral) for every bone.
- the face points (eyes, ears, mouth) about the nose: the driver's face, scaled to the avatar's face
  size (one factor for every face bone), where the avatar's face is the same view as the driver's
  neutral face; where the photo shows another view (a profile under a frontal driver: their shapes
  differ beyond FACE_LIKE), the avatar's own face, turned and scaled as the driver's face is from its
  neutral, plus what that leaves of the driver's motion (a head turn or nod), and the neck -> nose
  bone turns from the avatar's own lean by the driver's turn since neutral; blended in between.
Ground contact (anchor="feet", the default): the whole target then moves vertically so that its
lower ankle sits at the avatar's rest ankle height plus the driver's ankle displacement from
neutral, so a squat bends the knees instead of sinking the avatar into the floor, and a jump lifts
it; without both ankles the centre rule alone applies.
A keypoint the driver lacks (score < min_score) keeps the avatar's rest offset from its parent
(scaled), with the driver's low score, so a renderer knows it is missing; unless, full body, the
avatar's photo does not show it either (its rest offset would be a guess) and the estimator placed
it (score above 0): its bone then takes the driver's direction, still with the driver's low score.
A limb, hand or foot bone the avatar's photo does not show (an arm hidden behind the body, or marked
not shown by the renderer's wrist check) takes the length of its other side's bone, measured so in
the driver's neutral too, or else the driver's neutral bone in avatar pixels (calibration.rest_bones).
Mirror: the driver is flipped left/right first (a webcam user sees a mirror image of themself).

Upper-body framing (the driver, its neutral pose or the avatar without both hips: a webcam at a
desk): the centre is the shoulder midpoint for all three, the distance-to-camera factor and the
driver-to-avatar size ratio come from the shoulders and the face (realtime.framing.size_ratio),
and what the driver does not show (hips, legs, a lowered arm) keeps the avatar's rest offset
turned with the shoulder line: the legs of a full-body avatar stay at rest under the torso.

All poses are in pixels of their own images; the result is in the avatar image's pixels, in the
avatar pose's layout when the driver converts to it, else COCO-17. z (relative depth) follows the
driver's, scaled to avatar pixels.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from calibration.rest_bones import other_side, rest_lengths
from realtime.framing import SHOULDERS, has_hips, size_ratio
from realtime.layouts import COCO17, KeypointLayout
from realtime.pose import MIN_SCORE, Pose

TORSO = ("left_shoulder", "right_shoulder", "left_hip", "right_hip")
CENTRE = "__centre__"
NECK = "__neck__"

# child -> parent over the names of all layouts; CENTRE and NECK are virtual nodes.
PARENT: dict[str, str] = {
    "left_shoulder": CENTRE, "right_shoulder": CENTRE, "left_hip": CENTRE, "right_hip": CENTRE,
    "neck": CENTRE, NECK: CENTRE, "nose": NECK,
    "left_elbow": "left_shoulder", "right_elbow": "right_shoulder",
    "left_wrist": "left_elbow", "right_wrist": "right_elbow",
    "left_knee": "left_hip", "right_knee": "right_hip",
    "left_ankle": "left_knee", "right_ankle": "right_knee",
}
for _side in ("left", "right"):
    for _n in ("pinky", "index", "thumb"):
        PARENT[f"{_side}_{_n}"] = f"{_side}_wrist"
    for _n in ("heel", "foot_index"):
        PARENT[f"{_side}_{_n}"] = f"{_side}_ankle"
    for _n in ("eye", "eye_inner", "eye_outer", "ear"):
        PARENT[f"{_side}_{_n}"] = "nose"
PARENT["mouth_left"] = "nose"
PARENT["mouth_right"] = "nose"
# bones of the head and neck (by child name): their length factor has its own, tighter bounds
HEAD_BONES = frozenset(n for n, p in PARENT.items() if p in ("nose", NECK)) | {"nose", "neck", NECK}


@dataclass
class RetargetOptions:
    """mirror: flip the driver left/right first. foreshorten: bone length factor per bone (see
    module doc). anchor: "feet" (the lower ankle follows the driver's lower ankle vertically, so a
    squat bends the knees instead of sinking the avatar into the floor; the centre rule when an
    ankle is missing) or "centre" (the body centre alone). min_score: keypoint presence threshold.
    length_range: clamp of the per-bone factor; scale_range: clamp of the distance-to-camera factor.
    max_stretch / head_range: bounds of the per-bone factor relative to the distance-to-camera
    factor: a bone never grows past its neutral length by more than max_stretch (a real bone cannot;
    a longer one means the neutral was foreshortened), and a head or neck bone stays within
    head_range of it (a neutral taken while looking down would otherwise double the neck).
    bounded: apply those bounds (length_range, max_stretch, head_range). Off only where the driver's
    neutral is the avatar's own pose (self-reenactment: the reference frame is the neutral): every
    factor times the avatar's bone is then the driver's own bone, the target the driver's keypoints,
    and a bound would only move it off them (a raised forearm's foreshortening is the avatar's too);
    a bone the neutral does not show (a wrist cut by the frame's edge) takes the driver's length."""

    mirror: bool = False
    foreshorten: bool = True
    anchor: str = "feet"
    min_score: float = MIN_SCORE
    length_range: tuple[float, float] = (0.15, 2.0)
    scale_range: tuple[float, float] = (0.4, 2.5)
    max_stretch: float = 1.25
    head_range: tuple[float, float] = (0.5, 1.15)
    bounded: bool = True

    def __post_init__(self) -> None:
        if self.anchor not in ("feet", "centre"):
            raise ValueError(f"retarget anchor must be 'feet' or 'centre', got {self.anchor!r}")


def _order(layout: KeypointLayout) -> list[str]:
    """Node names in parent-before-child order (virtual nodes included)."""
    names = [n for n in layout.names if n in PARENT]
    done = {CENTRE}
    out: list[str] = []
    todo = [*names, NECK]
    while todo:
        rest = []
        for n in todo:
            if PARENT[n] in done:
                out.append(n)
                done.add(n)
            else:
                rest.append(n)
        if len(rest) == len(todo):  # parents missing from this layout: attach to the centre
            for n in rest:
                out.append(n)
                done.add(n)
            break
        todo = rest
    return out


def _nodes(pose: Pose, min_score: float, centre_of: tuple[str, ...] = TORSO
           ) -> tuple[dict[str, np.ndarray], dict[str, bool]]:
    """Positions and presence of every keypoint plus the virtual centre (the mean of the
    ``centre_of`` points present) and neck."""
    ix = pose.layout.index
    ok = pose.present(min_score)
    pos = {n: pose.xy[i].astype(np.float64) for n, i in ix.items()}
    has = {n: bool(ok[i]) for n, i in ix.items()}
    torso = [n for n in centre_of if has.get(n)]
    pos[CENTRE] = np.mean([pos[n] for n in torso], axis=0) if torso else np.zeros(2)
    has[CENTRE] = len(torso) >= 2
    sh = [n for n in ("left_shoulder", "right_shoulder") if has.get(n)]
    pos[NECK] = np.mean([pos[n] for n in sh], axis=0) if sh else pos[CENTRE]
    has[NECK] = len(sh) == 2
    return pos, has


def torso_size(pose: Pose, min_score: float = MIN_SCORE, among: np.ndarray | None = None) -> float:
    """Mean length (px) of the torso's four sides present in the pose (and in ``among``)."""
    ix = pose.layout.index
    ok = pose.present(min_score) if among is None else among
    sides = (("left_shoulder", "right_shoulder"), ("left_hip", "right_hip"),
             ("left_shoulder", "left_hip"), ("right_shoulder", "right_hip"))
    lens = [float(np.linalg.norm(pose.xy[ix[a]] - pose.xy[ix[b]])) for a, b in sides
            if a in ix and b in ix and ok[ix[a]] and ok[ix[b]]]
    return float(np.mean(lens)) if lens else float("nan")


def _common(driver: Pose, neutral: Pose, avatar: Pose) -> tuple[Pose, Pose, Pose]:
    lay = avatar.layout
    try:
        return driver.to_layout(lay), neutral.to_layout(lay), avatar
    except ValueError:
        return driver.to_layout(COCO17), neutral.to_layout(COCO17), avatar.to_layout(COCO17)


def _flip(pose: Pose, width: float) -> Pose:
    return pose.flipped(width)


def _scales(d: Pose, n: Pose, a: Pose, o: RetargetOptions, upper: bool) -> tuple[float, float]:
    """(scale, k): the driver's size now over its neutral size (distance following, clipped to
    ``o.scale_range``) and the avatar's size over the driver's neutral size. Upper-body framing
    measures size from the shoulders and face, full body from the torso."""
    if upper:
        scale = size_ratio(d, n, o.min_score)
        scale = float(np.clip(scale, *o.scale_range)) if np.isfinite(scale) else 1.0
        k = size_ratio(a, n, o.min_score)
        return scale, (k if np.isfinite(k) and k > 1e-6 else 1.0)
    both = d.present(o.min_score) & n.present(o.min_score)
    s_now, s_neu = torso_size(d, o.min_score, both), torso_size(n, o.min_score, both)
    scale = s_now / s_neu if np.isfinite(s_now) and np.isfinite(s_neu) and s_neu > 1e-6 else 1.0
    scale = float(np.clip(scale, *o.scale_range))
    s_av, s_dn = torso_size(a, o.min_score), torso_size(n, o.min_score)
    return scale, (s_av / s_dn if np.isfinite(s_av) and np.isfinite(s_dn) and s_dn > 1e-6 else 1.0)


def retarget_pose(driver: Pose, driver_neutral: Pose, avatar: Pose, mirror: bool = False,
                  options: RetargetOptions | None = None) -> Pose:
    """The avatar (rest pose ``avatar``, avatar pixels) in the driver's pose.

    driver, driver_neutral: the driver now and in its neutral pose (driver camera pixels).
    """
    o = options or RetargetOptions(mirror=mirror)
    mirror = mirror or o.mirror
    if mirror:
        w = driver.width or driver_neutral.width or float(max(driver.xy[:, 0].max(), driver_neutral.xy[:, 0].max()))
        driver, driver_neutral = _flip(driver, w), _flip(driver_neutral, w)
    d, n, a = _common(driver, driver_neutral, avatar)
    lay = a.layout
    # upper-body framing (any of the three without both hips): the body centre is the shoulder
    # midpoint for all three, sizes come from the shoulders and the face (realtime.framing)
    upper = not all(has_hips(p, o.min_score) for p in (d, n, a))
    centre_of = SHOULDERS if upper else TORSO
    dpos, dhas = _nodes(d, o.min_score, centre_of)
    npos, nhas = _nodes(n, o.min_score, centre_of)
    apos, ahas = _nodes(a, o.min_score, centre_of)

    scale, k = _scales(d, n, a, o, upper)
    out: dict[str, np.ndarray] = {}
    if dhas[CENTRE] and nhas[CENTRE]:
        out[CENTRE] = apos[CENTRE] + (dpos[CENTRE] - npos[CENTRE]) * k
    else:
        out[CENTRE] = apos[CENTRE].copy()
    face = _face_motion(dpos, dhas, npos, nhas, apos, [n for n in lay.names if PARENT.get(n) == "nose"])
    used = _usable(d, dhas, ahas, o.min_score, upper)
    for name in _order(lay):
        parent = PARENT[name]
        if parent not in out:
            parent = CENTRE
        if parent == "nose" and face and "nose" in out:
            out[name] = _face_point(name, face, out["nose"], apos, scale, k, o)
            continue
        if name == NECK:  # derived, not placed: the head sits on the placed shoulders
            sh = [n for n in ("left_shoulder", "right_shoulder") if n in out]
            out[NECK] = np.mean([out[n] for n in sh], axis=0) if len(sh) == 2 else out[CENTRE] + (apos[NECK] - apos[CENTRE]) * scale
            continue
        rest = apos[name] - apos[parent]
        length, nl = _rest_pair(name, parent, (apos, ahas), (npos, nhas), k, a)
        if used.get(name) and used.get(parent):
            v = dpos[name] - dpos[parent]
            dl = float(np.linalg.norm(v))
            if dl < 1e-9:
                out[name] = out[parent] + rest * scale
                continue
            factor = scale
            if o.foreshorten and nl is not None:
                factor = dl / nl
            elif not o.bounded and length > 1e-9:
                # onto itself (the neutral is the avatar): a bone the reference frame does not show
                # (a wrist cut by the frame's edge) is the driver's own bone too
                factor = dl / length
            if o.bounded:
                factor = _bounded(factor, name, scale, o)
            u = v / dl
            if parent == NECK and nhas.get(name) and nhas.get(NECK) and length > 1e-9 and face.get("own"):
                # another view of a face: the head leans as the driver's leans from neutral, from the
                # avatar's own lean (a profile photo's nose stays ahead of its neck)
                u = u + face["own"] * (_turn(rest / length, npos[name] - npos[NECK], v) - u)
                u = u / max(float(np.linalg.norm(u)), 1e-9)
                factor = _own_neck_factor(factor, scale, face["own"])
            out[name] = out[parent] + u * length * factor
        else:
            if upper:  # what an upper-body driver does not show turns with their shoulder line
                rest = _shoulder_turn(apos, ahas, out) @ rest
            out[name] = out[parent] + rest * scale
    if o.anchor == "feet":
        dy = _ground_shift(out, dpos, dhas, npos, nhas, apos, ahas, k)
        if dy:
            out = {name: v + np.array([0.0, dy]) for name, v in out.items()}
    xy = np.array([out[nm] for nm in lay.names], np.float32)
    z = None
    if d.z is not None:
        z = (d.z * np.float32(k)).astype(np.float32)
    return Pose(xy=xy, score=d.score.copy(), layout=lay, width=a.width, height=a.height, z=z,
                timestamp_s=driver.timestamp_s)


def _rest_pair(name: str, parent: str, avatar: tuple[dict, dict], neutral: tuple[dict, dict],
               k: float, photo: Pose) -> tuple[float, float | None]:
    """(avatar length, neutral length or None) of a bone at rest: for a limb, hand or foot bone
    whose ends lie inside the avatar's ``photo``, calibration.rest_bones' (the other side's bone where
    the photo does not show this one); else, and where neither side gives one, the avatar's positions
    as they are. A limb cut by the photo's edge keeps the estimator's length, drawn on from the part
    that shows (webcam_still's right arm, below its bottom edge: the left forearm, raised to the head
    and nearer the camera, put the target's wrist 280 px further below the frame)."""
    (apos, ahas), (npos, nhas) = avatar, neutral
    raw = float(np.linalg.norm(apos[name] - apos[parent]))
    if (other_side(name) is not None and parent != CENTRE and name not in HEAD_BONES
            and _inside(photo, apos[name]) and _inside(photo, apos[parent])):
        length, nl = rest_lengths(name, parent, avatar, neutral, k)
        return (length if length is not None else raw), nl
    if nhas.get(name) and nhas.get(parent):
        nl = float(np.linalg.norm(npos[name] - npos[parent]))
        return raw, (nl if nl > 1e-6 else None)
    return raw, None


def _inside(photo: Pose, xy: np.ndarray) -> bool:
    """Whether a point lies inside the photo (True where its size is unknown)."""
    if not photo.width or not photo.height:
        return True
    return bool(0.0 <= xy[0] < photo.width and 0.0 <= xy[1] < photo.height)


def _usable(d: Pose, dhas: dict, ahas: dict, min_score: float, upper: bool) -> dict[str, bool]:
    """Which driver points give their bones' directions: those present, and, full body, a point
    scored under ``min_score`` (but above 0: the estimator placed it) that the avatar's photo does not
    show either: its rest offset would be a guess (basketball_dribble's first frame, its right arm
    drawn onto the ball), the driver's placing is the better one. The target keeps the driver's low
    score, so a renderer knows. Where the photo shows the point its rest offset stays: the warp
    renderer carries a limb whose start is missing from the parent's rest angle, and a wrist taken
    from the driver's arm while the photo's raised upper arm stayed up drew a forearm folded back
    from the raised elbow (pose.jpg driven by basketball_dribble, frames 1-5 and 23-25)."""
    used = dict(dhas)
    if upper:
        return used
    for name, i in d.layout.index.items():
        if not dhas.get(name) and name in PARENT and d.score[i] > 0.0 and not ahas.get(name):
            used[name] = True
    return used


def _bounded(factor: float, name: str, scale: float, o: RetargetOptions) -> float:
    """A bone's length factor within ``o.length_range``, and within ``o.head_range`` (head and neck
    bones) or ``o.max_stretch`` (the others) of the distance-to-camera factor ``scale``. The neck ->
    nose bone is bounded above only: a head bowed towards the camera shortens it in 2-D as a
    foreshortened limb shortens (basketball_dribble frames 21-29: 0.05-0.5 of the bent-over first
    frame's, whose head the lower bound held 30-64 px above the driver's)."""
    lo, hi = o.length_range
    if name in HEAD_BONES:
        lo = lo if name == "nose" else max(lo, o.head_range[0] * scale)
        hi = min(hi, o.head_range[1] * scale)
    else:
        hi = min(hi, o.max_stretch * scale)
    return float(np.clip(factor, lo, max(lo, hi)))


def _own_neck_factor(factor: float, scale: float, own: float) -> float:
    """The neck -> nose bone's length factor where the photo's face is another view than the
    driver's (``own`` in [0, 1], _face_motion): towards the distance-to-camera factor ``scale``, never
    below the driver's own factor.

    A frontal driver's neck shortens in 2-D when the shoulders rise towards the ears (both arms
    raised: pose_1 frames 46-72, 0.83 of neutral) or the head nods at the camera; neither shortens a
    profile's neck -> nose bone. The warp renderer's torso follows the raised shoulders, its collar
    with them, so a head kept at the driver's shortened neck sat sunk in the collar, and MediaPipe
    read that profile face 15-20 px higher than drawn. A longer driver neck (a head tipped back)
    still lengthens it."""
    return max(factor, factor + own * (scale - factor))


def _turn(u: np.ndarray, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """``u`` turned by the angle from vector ``a`` to vector ``b``."""
    ang = float(np.arctan2(b[1], b[0]) - np.arctan2(a[1], a[0]))
    c, s = np.cos(ang), np.sin(ang)
    return np.array([[c, -s], [s, c]]) @ u


FACE_LIKE = (0.15, 0.35)


def _similar(src: np.ndarray, dst: np.ndarray) -> tuple[complex, float]:
    """(a, e): the least-squares similarity x -> a x (complex, about the centroids) taking ``src``
    onto ``dst`` (N x 2), and what it leaves, RMS over the RMS size of ``dst`` (0: the same shape)."""
    zs = (src - src.mean(0)) @ np.array([1.0, 1j])
    zd = (dst - dst.mean(0)) @ np.array([1.0, 1j])
    den = float(np.sum(np.abs(zs) ** 2))
    if den < 1e-9:
        return 0j, float("inf")
    a = complex(np.sum(np.conj(zs) * zd) / den)
    size = float(np.sqrt(np.mean(np.abs(zd) ** 2)))
    return a, float(np.sqrt(np.mean(np.abs(zd - a * zs) ** 2))) / max(size, 1e-9)


def _face_motion(dpos, dhas, npos, nhas, apos, names: list[str]) -> dict:
    """The driver's face now against its neutral face, about the nose: ``lin`` (2x2, the least-squares
    rotation and scale, no reflection), ``rest`` {name: what it leaves, driver px} (a head turn or
    nod: the eyes and ears moving against the nose), ``size`` (avatar face over the driver's neutral
    face) and ``own`` in [0, 1], how far the avatar's face differs in shape from the driver's neutral
    one (0 within FACE_LIKE[0] of it: the same view of a face; 1 beyond FACE_LIKE[1]: a profile photo
    under a frontal driver). Empty with fewer than three shared points."""
    common = [n for n in ("nose", *names) if dhas.get(n) and nhas.get(n)]
    if len(common) < 3 or common[0] != "nose":
        return {}
    src = np.array([npos[n] - npos["nose"] for n in common])
    dst = np.array([dpos[n] - dpos["nose"] for n in common])
    a, _ = _similar(src, dst)
    if a == 0:
        return {}
    lin = np.array([[a.real, -a.imag], [a.imag, a.real]])
    av = np.array([apos[n] - apos["nose"] for n in common])
    size, diff = _similar(src, av)
    own = float(np.clip((diff - FACE_LIKE[0]) / (FACE_LIKE[1] - FACE_LIKE[0]), 0.0, 1.0))
    return {"lin": lin, "rest": {n: dst[i] - lin @ src[i] for i, n in enumerate(common) if n != "nose"},
            "now": {n: dst[i] for i, n in enumerate(common)}, "size": abs(size), "own": own,
            "grow": _face_growth(src, dst, abs(a))}


def _face_growth(src: np.ndarray, dst: np.ndarray, similarity: float) -> float:
    """How much the face grew from neutral (``src``) to now (``dst``), N x 2 about the nose: the
    larger stretch of the least-squares linear map between them. A head turn squeezes the face
    along one axis only (the eyes and ears closer across, as far apart up and down), which shrinks
    the similarity scale but not this (basketball_dribble, a face seen from the side at neutral and
    from the front later: similarity 0.3-0.4, this 1.05-1.15, the torso 1.15-1.3). ``similarity``
    where the neutral's points lie on one line (no second axis to measure)."""
    sv_src = np.linalg.svd(src, compute_uv=False)
    if len(sv_src) < 2 or sv_src[1] < 0.05 * max(sv_src[0], 1e-9):
        return similarity
    m = np.linalg.lstsq(src, dst, rcond=None)[0]
    grow = float(np.linalg.svd(m, compute_uv=False)[0])
    return grow if np.isfinite(grow) and grow > 1e-9 else similarity


def _face_point(name: str, face: dict, nose: np.ndarray, apos, scale: float, k: float,
                o: RetargetOptions) -> np.ndarray:
    """A face point of the target, about the placed nose. Where the avatar's face is another view
    than the driver's (``face["own"]``): the avatar's own face, turned and scaled as the driver's
    face is from its neutral, plus what that leaves of the driver's motion (a head turn), in avatar
    pixels (``k``): a profile photo is not given a frontal driver's face. Where it is the same view:
    the driver's face itself, scaled to the avatar's face size. Either way one scale for every face
    bone, within ``o.head_range`` of ``scale`` (per-bone factors clipped unevenly turned the
    eye-to-ear bones). The bounds hold the face's size: the avatar's own face is a similarity (its
    scale bounded); the driver's face counts as shrunk only where it shrank along both axes
    (``_face_growth``): a head turn, which squeezes it along one, keeps the driver's face as it is."""
    lo, hi = (o.head_range[0] * scale, o.head_range[1] * scale) if o.bounded else (0.0, np.inf)
    lin = face["lin"]
    s = float(np.sqrt(abs(np.linalg.det(lin))))
    turn = lin * (float(np.clip(s, lo, hi)) / s) if s > 1e-9 else lin
    own = nose + turn @ (apos[name] - apos["nose"]) + k * face["rest"].get(name, np.zeros(2))
    if name not in face["now"] or face["own"] >= 1.0:
        return own
    # smaller than the bounds only where it shrank along both axes; larger where its similarity grew
    grow = max(face.get("grow", s), s)
    f = lo / grow if 1e-9 < grow < lo else (hi / s if s > hi else 1.0)
    driver = nose + face["now"][name] * face["size"] * f
    return face["own"] * own + (1.0 - face["own"]) * driver


def _shoulder_turn(apos, ahas, out) -> np.ndarray:
    """Rotation (2x2) from the avatar's rest shoulder line to the target's (identity without both)."""
    if not (all(ahas.get(n) for n in SHOULDERS) and all(n in out for n in SHOULDERS)):
        return np.eye(2)
    a = apos[SHOULDERS[0]] - apos[SHOULDERS[1]]
    b = out[SHOULDERS[0]] - out[SHOULDERS[1]]
    ang = np.arctan2(b[1], b[0]) - np.arctan2(a[1], a[0])
    c, s = np.cos(ang), np.sin(ang)
    return np.array([[c, -s], [s, c]])


def _ground_shift(out, dpos, dhas, npos, nhas, apos, ahas, k: float) -> float:
    """Vertical shift (px) that puts the target's lower ankle where the driver's lower ankle says:
    the avatar's rest ankle height plus the driver's ankle displacement from neutral (times k)."""
    feet = ("left_ankle", "right_ankle")
    if not all(dhas.get(f) and nhas.get(f) and ahas.get(f) and f in out for f in feet):
        return 0.0
    low = max(feet, key=lambda f: dpos[f][1])          # the driver's standing foot (lowest in image)
    want = max(apos[f][1] for f in feet) + (dpos[low][1] - max(npos[f][1] for f in feet)) * k
    return float(want - max(out[f][1] for f in feet))


def bone_lengths(pose: Pose, min_score: float = 0.0) -> dict[tuple[str, str], float]:
    """Length (px) of every tree bone (child, parent) whose ends are present."""
    pos, has = _nodes(pose, min_score)
    out = {}
    for name in _order(pose.layout):
        parent = PARENT[name]
        if has.get(name) and has.get(parent):
            out[(name, parent)] = float(np.linalg.norm(pos[name] - pos[parent]))
    return out


def bone_directions(pose: Pose, min_score: float = 0.0) -> dict[tuple[str, str], np.ndarray]:
    """Unit vector of every tree bone (child, parent), pointing parent -> child."""
    pos, has = _nodes(pose, min_score)
    out = {}
    for name in _order(pose.layout):
        parent = PARENT[name]
        if has.get(name) and has.get(parent):
            v = pos[name] - pos[parent]
            nv = float(np.linalg.norm(v))
            if nv > 1e-9:
                out[(name, parent)] = v / nv
    return out
