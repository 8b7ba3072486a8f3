"""Preparation of the warp renderer: the reference photo cut into premultiplied body-part layers,
their soft joints (see engines.warp.renderer for the method; the background: engines.warp.background).

All coordinates are reference pixels (x right, y down); images BGR uint8; masks float in [0, 1].
"""
from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from engines.warp.clothing import clothing_pixels, colour_classes, continued_edge, face_skin, fill_from, linked_to
from engines.warp.collar import SEAM, seam_ramp, shoulder_tops
from engines.warp.held import find_held_ball, held_layer
from engines.warp.parts import FACE_POINTS, PART_BY_NAME, PARTS, TORSO_POINTS, PartSpec, neck
from realtime.layouts import COCO17
from realtime.pose import Pose

# the limb each limb carries at its end joint (thigh: shin, upper arm: forearm)
CHILD = {p.parent: p.name for p in PARTS if p.kind == "limb" and PART_BY_NAME.get(p.parent, p).kind == "limb"}


@dataclass
class Layer:
    """One body part of the reference, ready to warp."""

    name: str
    patch: np.ndarray        # (h, w, 4) uint8: B, G, R premultiplied by alpha, and alpha
    origin: tuple[int, int]  # (x0, y0) of the patch in reference pixels
    rank: int
    keypoints: tuple[int, ...]  # COCO-17 indices whose mean depth orders the layer



def _seg_dist(px: np.ndarray, py: np.ndarray, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Distance of pixel centres (px, py) to the segment a-b."""
    v = b - a
    ll = float(v @ v)
    if ll < 1e-9:
        return np.hypot(px - a[0], py - a[1])
    t = np.clip(((px - a[0]) * v[0] + (py - a[1]) * v[1]) / ll, 0.0, 1.0)
    return np.hypot(px - (a[0] + t * v[0]), py - (a[1] + t * v[1]))


def _limb_dist(px: np.ndarray, py: np.ndarray, name: str, segs: dict, radius: dict[str, float]) -> np.ndarray:
    """Distance of pixel centres to a part's bone in its thicknesses (the capsule a pixel is labelled
    by). Past its end joint a limb's capsule is no thicker than the limb it carries there (the knee's
    shin, the elbow's forearm): a thigh lifted at the camera is short and wide in the photo, and with
    its own thickness its round end reached far down the thinner shin below the knee, its pixels cut
    into the thigh's layer (pose_1: the trousers' outer side down to the shin's middle), which the
    thigh then squashed up beside the hip into a jagged flap read as a knee raised to the side."""
    a, b = segs[name]
    d = _seg_dist(px, py, a, b) / radius[name]
    child = CHILD.get(name)
    if child is None or child not in segs or radius[child] >= radius[name]:
        return d
    v = b - a
    ll = float(v @ v)
    if ll < 1e-9:
        return d
    past = ((px - a[0]) * v[0] + (py - a[1]) * v[1]) > ll
    return np.where(past, np.hypot(px - b[0], py - b[1]) / radius[child], d)


def _torso_dist(px: np.ndarray, py: np.ndarray, xy: np.ndarray, shape: tuple[int, int], r: float,
                spine: tuple[np.ndarray, np.ndarray], legs: bool = True) -> np.ndarray:
    """Normalised distance of pixels to the shoulder-hip quadrilateral, with pixels below the hip
    line or beside the shoulders pushed away three times faster (they belong to the thighs and the
    upper arms); inside the quad a constant 0.8 (see the return). legs: whether the photo shows
    thighs; without them the pixels below the hip line are the torso's (a hoodie's hem, not a
    forearm hanging beside it)."""
    ix = COCO17.index
    quad = np.zeros(shape, np.uint8)
    cv2.fillConvexPoly(quad, np.round(xy[[ix[n] for n in TORSO_POINTS]]).astype(np.int32), 1)
    d = cv2.distanceTransform(1 - quad, cv2.DIST_L2, 5)[py.astype(np.int64), px.astype(np.int64)]
    top, bottom = spine
    axis = bottom - top
    axis = axis / (np.linalg.norm(axis) or 1.0)
    along = (px - top[0]) * axis[0] + (py - top[1]) * axis[1]
    length = float(np.linalg.norm(bottom - top)) or 1.0
    below = np.maximum(0.0, along - length) if legs else 0.0
    # beside the shoulders (top quarter of the torso) pixels outside the quad are the arm's deltoid
    # and sleeve: pushed away as fast as those below the hips, so they move with the upper arm
    near_top = np.clip(1.0 - along / (0.3 * length), 0.0, 1.0)
    # inside the quad: 0.8, so a limb lying over the torso keeps the pixels within 0.8 of its
    # radius from its bone
    return np.where(d > 0, (d * (1.0 + 2.0 * near_top) + 2.0 * below) / r, 0.8)


def _segments(xy: np.ndarray, ok: np.ndarray) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """The bone segment of every part that the reference shows, in reference pixels."""
    ix = COCO17.index
    segs: dict[str, tuple[np.ndarray, np.ndarray]] = {}
    nk = neck(xy, ix)
    hip_mid = (xy[ix["left_hip"]] + xy[ix["right_hip"]]) / 2
    segs["torso"] = (nk, hip_mid)
    face = [ix[n] for n in FACE_POINTS if ok[ix[n]]]
    if face:
        centre = xy[face].mean(axis=0)
        up = centre - nk
        segs["head"] = (nk + 0.35 * up, centre + 0.35 * up)
    for part in PARTS:
        if part.kind != "limb":
            continue
        a, b = ix[part.start], ix[part.end]
        if ok[a] and ok[b]:
            segs[part.name] = (xy[a], xy[b] + part.extend * (xy[b] - xy[a]))
    return segs


def _part_radii(segs: dict, inside: np.ndarray, quad_pts: np.ndarray, shoulder_w: float, torso_len: float,
                body: float) -> dict[str, float]:
    """The thickness (radius, px) of each part, measured on the mask along its bone."""
    h, w = inside.shape
    radius: dict[str, float] = {}
    for name, (a, b) in segs.items():
        if name == "torso":
            r = max(0.5 * shoulder_w, 0.25 * torso_len)
        elif name == "head":
            r = max(0.5 * float(np.linalg.norm(b - a)), 0.15 * body)
        else:
            # the mask's inner distance along the bone, where the limb is not over the torso (there
            # the distance to the background says nothing about the limb's thickness)
            leg = name.endswith(("thigh", "shin"))
            cap = (0.22 if leg else 0.13) * body
            samples = [a + f * (b - a) for f in (0.2, 0.35, 0.5, 0.65, 0.8)]
            vals = [inside[int(np.clip(p[1], 0, h - 1)), int(np.clip(p[0], 0, w - 1))] for p in samples
                    if leg or cv2.pointPolygonTest(quad_pts, (float(p[0]), float(p[1])), False) < 0]
            r = float(np.median(vals)) if vals else (0.15 if leg else 0.09) * body
            r = min(r, cap)
        radius[name] = float(np.clip(r, 0.04 * body, 0.6 * body))
    return radius


def _torso_texture(img: np.ndarray, texture: np.ndarray, labels: np.ndarray, names: list[str],
                   radius: dict[str, float], xy: np.ndarray, hard: np.ndarray,
                   rivals: tuple[np.ndarray, np.ndarray] | None = None) -> tuple[np.ndarray, np.ndarray]:
    """(pixels the torso layer takes over from arms, the torso's texture).

    Arms lying over the torso in the reference hide part of it: the torso layer gets those pixels
    too, coloured from the torso's clothing around them (engines.warp.clothing: not its skin or
    hair, given as ``rivals`` = (skin, hair) samples, bool HxW), so that an arm moving away uncovers
    shirt rather than background, or a skin-coloured blob read as a hand.
    """
    h, w = labels.shape
    ix = COCO17.index
    arm_ids = [i for i, n in enumerate(names) if n.endswith(("upper_arm", "forearm"))]
    torso_id = names.index("torso")
    quad = np.zeros((h, w), np.uint8)
    cv2.fillConvexPoly(quad, np.round(xy[[ix[n] for n in TORSO_POINTS]]).astype(np.int32), 1)
    hidden = (np.isin(labels, arm_ids) & (quad > 0)).astype(np.uint8)
    torso_texture = texture
    if hidden.any():
        # grown by a few pixels: the arm's own edge (labelled torso) must not colour the fill
        grow = max(3, int(0.4 * min(radius[n] for n in names if n.endswith(("upper_arm", "forearm")))))
        hidden = cv2.dilate(hidden, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * grow + 1,) * 2))
        hidden &= (quad > 0) & (hard > 0)
        torso_texture = texture.copy()
        own = (labels == torso_id) & (hidden == 0)
        skin, hair = rivals if rivals is not None else (np.zeros_like(own), np.zeros_like(own))
        neck_skin = _neckline_skin(img, hidden > 0, labels, names, own, (skin, hair), grow)
        # the neckline's skin where it runs into the margin joins the clothing as the source: the
        # fill fades from it into the shirt, smooth, with no hard edge above clasped hands
        filled = fill_from(img, hidden, clothing_pixels(img, own, skin, hair) | neck_skin)
        torso_texture[hidden > 0] = filled[hidden > 0]
    return hidden, torso_texture


def _neckline_skin(img: np.ndarray, hidden: np.ndarray, labels: np.ndarray, names: list[str], own: np.ndarray,
                   rivals: tuple[np.ndarray, np.ndarray], grow: int) -> np.ndarray:
    """The torso's own skin (bool HxW) that runs on from the head's into the margin of ``hidden``
    (bool HxW; the arms grown by ``grow`` px), within 2 * grow px of it: the fill's source besides
    the clothing.

    Filled from the clothing alone, the margin above clasped hands, which the photo shows as the
    neckline's skin, turned a hard-edged shirt-coloured patch once the hands moved a little
    (presenter_desk). With this skin in the source the fill fades from it into the shirt, smooth.
    Only skin joined to the head's (not an arm's, which the torso's label takes where the arm leaves
    the torso) and running into the margin (not into the arms: the hands are skin too), so the
    hands' outline is not continued. Hair beside a forearm is left to the clothing fill: keeping its
    pixels or continuing it made MediaPipe lose hands in more frames (see the branch's report)."""
    none = np.zeros_like(hidden)
    if "head" not in names:
        return none
    _, skin_like, _ = colour_classes(img, own, *rivals)
    head = labels == names.index("head")
    arms = np.isin(labels, [i for i, n in enumerate(names) if n.endswith(("upper_arm", "forearm"))])
    reach = 2.0 * grow
    neckline = linked_to(skin_like & (own | head) & ~hidden, head)
    skin_in = continued_edge(neckline | (skin_like & hidden), hidden, hidden & ~arms, reach)
    if not skin_in.any():
        return none
    return own & neckline & (cv2.distanceTransform((~skin_in).astype(np.uint8), cv2.DIST_L2, 3) <= reach)


def _skin_and_hair(labels: np.ndarray, names: list[str], xy: np.ndarray, ok: np.ndarray, hard: np.ndarray,
                   hands: dict[str, np.ndarray] | None) -> tuple[np.ndarray, np.ndarray]:
    """Samples (bool HxW each) of the person's skin (the face round the nose, the hands MediaPipe
    found) and hair (the head's pixels beyond the face), whose colours the torso's fill avoids."""
    face = face_skin(xy, ok, COCO17.index, labels.shape)
    skin = face & (hard > 0)
    for region in (hands or {}).values():
        skin |= (region > 0) & (hard > 0)
    hair = np.zeros_like(skin)
    if "head" in names and skin.any() and face.any():
        ys, xs = np.nonzero(face)
        reach = 1.4 * max(xs.max() - xs.min(), ys.max() - ys.min(), 1)   # beyond the face: ~1.4 eye distances
        yy, xx = np.mgrid[:labels.shape[0], :labels.shape[1]]
        far = np.hypot(xx - xs.mean(), yy - ys.mean()) > reach
        hair = (labels == names.index("head")) & far
    return skin, hair


def build_layers(img: np.ndarray, mask: np.ndarray, xy: np.ndarray, ok: np.ndarray,
                  feather: int, hands: dict[str, np.ndarray] | None = None
                  ) -> tuple[list[Layer], dict, dict[str, float]]:
    """The layers of the reference, plus the bone segments and thickness (px) of every part.

    hands: {side: region} uint8 HxW masks of hands MediaPipe Hands found (engines.warp.hands): their
    pixels (except the head's) go to that side's forearm layer, however far they reach past the wrist."""
    h, w = mask.shape
    ix = COCO17.index
    hard = (mask >= 0.5).astype(np.uint8)
    inside = cv2.distanceTransform(hard, cv2.DIST_L2, 5)
    segs = _segments(xy, ok)
    shoulder_w = float(np.linalg.norm(xy[ix["left_shoulder"]] - xy[ix["right_shoulder"]]))
    torso_len = float(np.linalg.norm(segs["torso"][1] - segs["torso"][0]))
    body = max(torso_len, shoulder_w, 8.0)

    quad_pts = np.round(xy[[ix[n] for n in TORSO_POINTS]]).astype(np.float32).reshape(-1, 1, 2)
    radius = _part_radii(segs, inside, quad_pts, shoulder_w, torso_len, body)

    # label every person pixel with the nearest capsule (distance / radius)
    ys, xs = np.nonzero(hard)
    px, py = xs.astype(np.float32) + 0.0, ys.astype(np.float32)
    names = list(segs)
    legs = any(n.endswith("thigh") for n in names)
    dist = np.stack([_limb_dist(px, py, n, segs, radius) if n != "torso" else
                     _torso_dist(px, py, xy, hard.shape, 0.2 * max(shoulder_w, 0.2 * body), segs["torso"], legs)
                     for n in names])
    lab = np.argmin(dist, axis=0)
    labels = np.full((h, w), -1, np.int16)
    labels[ys, xs] = lab
    dropped = merge_fragments(hard, labels, dist.min(axis=0), ys, xs)
    quad = np.zeros((h, w), np.uint8)
    cv2.fillConvexPoly(quad, np.round(quad_pts.reshape(-1, 2)).astype(np.int32), 1)
    merge_islands(labels, len(segs), {names.index("torso"): quad > 0})
    if dropped.any():
        mask = np.where(dropped, 0.0, mask).astype(np.float32)
    held = _label_hands(img, mask, hard, labels, names, hands, xy, ok, radius)

    texture = _extend_colours(img, hard)
    soft = np.clip(mask, 0, 1).astype(np.float32)
    torso_id = names.index("torso")
    hidden, torso_texture = _torso_texture(img, texture, labels, names, radius, xy, hard,
                                           _skin_and_hair(labels, names, xy, ok, hard, hands))
    head_hidden, head_texture = _head_texture(img, texture, labels, names, xy, hard)
    # after the textures: a changed label moved the inpainting's crop, and so every colour it filled
    tops, seam = _give_torso_shoulder_tops(labels, names, hard, segs)
    if held is not None:
        labels[held[1]] = -1
    k = 2 * feather + 1
    kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (k, k))
    layers: list[Layer] = []
    for li, name in enumerate(names):
        own = labels == li
        if li == torso_id:   # and under the head's seam with the shoulders' top (collar.seam_ramp)
            own = own | (hidden > 0) | ((seam < 1.0) & (labels == names.index("head")))
        elif name == "head":
            own = own | (head_hidden > 0)
        region = own.astype(np.uint8)
        if not region.any():
            continue
        region = cv2.dilate(region, kernel)
        spec = PART_BY_NAME[name]
        keep_off = hidden | tops if name == "head" else hidden
        region |= _joint_disc(spec, xy, 1.1 * radius[name], labels, names, keep_off)
        a = cv2.GaussianBlur(region.astype(np.float32), (k, k), 0) * soft
        a = np.where(own, soft, a) * (seam if name == "head" else 1.0)  # own pixels as opaque as the mask
        ys_, xs_ = np.nonzero(a > 1.0 / 512)
        if len(ys_) == 0:
            continue
        x0, x1, y0, y1 = xs_.min(), xs_.max() + 1, ys_.min(), ys_.max() + 1
        pa = a[y0:y1, x0:x1, None]
        tex = torso_texture if li == torso_id else head_texture if name == "head" else texture
        patch = np.concatenate([tex[y0:y1, x0:x1].astype(np.float32) * pa, pa * 255.0], axis=2)
        patch = np.clip(patch + 0.5, 0, 255).astype(np.uint8)
        kps = _depth_keypoints(spec, ix)
        layers.append(Layer(name, np.ascontiguousarray(patch), (int(x0), int(y0)), spec.rank, kps))
    if held is not None:
        layers.append(held_layer(texture, soft, held, feather, PART_BY_NAME[f"{held[0]}_forearm"].rank + 1))
    return layers, segs, radius


def _give_torso_shoulder_tops(labels: np.ndarray, names: list[str], hard: np.ndarray,
                              segs: dict) -> tuple[np.ndarray, np.ndarray]:
    """Relabel the shoulders' top beside the neck from the head to the torso, in place
    (engines.warp.collar: a rigid head no longer takes the strap tops along); returns those pixels
    (uint8 HxW), which the head's collar disc leaves to the torso too, and the head's alpha factor
    along its seam with them (float32 HxW, collar.seam_ramp: 1 away from it)."""
    none = np.zeros(labels.shape, np.uint8), np.ones(labels.shape, np.float32)
    if "head" not in names or "torso" not in names:
        return none
    tops = shoulder_tops(labels, names.index("head"), hard, segs)
    # only pieces that touch the torso: an island of hair above the shoulder (webcam_signing) stayed
    # put as a ghost while the head moved
    n, comp = cv2.connectedComponents(tops.astype(np.uint8), connectivity=8)
    touch = cv2.dilate((labels == names.index("torso")).astype(np.uint8), np.ones((3, 3), np.uint8)) > 0
    tops = np.isin(comp, np.unique(comp[touch & (comp > 0)])) & tops
    if not tops.any():
        return none
    labels[tops] = names.index("torso")
    return tops.astype(np.uint8), seam_ramp(tops, SEAM * float(np.linalg.norm(np.subtract(*segs["head"]))))


def _label_hands(img, mask, hard, labels, names, hands, xy, ok, radius):
    """Label the hands' pixels (and a held ball's) as their forearm's, in place; returns the held
    ball (engines.warp.held.find_held_ball) or None."""
    head = names.index("head") if "head" in names else -2
    for side, region in (hands or {}).items():
        if f"{side}_forearm" in names:   # never the head: a hand behind it is guessed over the face
            labels[(region > 0) & (hard > 0) & (labels != head)] = names.index(f"{side}_forearm")
    held = find_held_ball(img, mask, xy, ok, radius)
    if held is not None:   # a hand on the ball that Hands found stays with its forearm, in front
        ball = held[1]
        for region in (hands or {}).values():
            ball = ball & (region == 0)
        held = (held[0], ball)
    if held is not None:   # the torso behind a held ball is filled as behind an arm
        labels[held[1]] = names.index(f"{held[0]}_forearm")
    return held


def merge_fragments(hard: np.ndarray, labels: np.ndarray, nearest: np.ndarray, ys: np.ndarray,
                    xs: np.ndarray, reach: float = 2.0) -> np.ndarray:
    """Pieces of the person mask cut off from the body (a hair tuft, a fingertip sliver, a blob of
    background the segmentation took for the person): a piece within ``reach`` capsule radii of a
    bone joins the part that most of its pixels are nearest to (it moves whole, never split
    between two parts); a piece further away is dropped (``labels`` set to -1 there). Edits
    ``hard`` and ``labels`` in place; returns the dropped pixels (bool HxW), which the caller takes
    out of the soft mask too. nearest: each person pixel's (ys, xs) normalized capsule distance."""
    n, comp, stats, _ = cv2.connectedComponentsWithStats(hard, connectivity=8)
    dropped = np.zeros(hard.shape, bool)
    if n <= 2:
        return dropped
    body = 1 + int(np.argmax(stats[1:, cv2.CC_STAT_AREA]))
    cid = comp[ys, xs]
    for c in range(1, n):
        if c == body:
            continue
        sel = cid == c
        py, px = ys[sel], xs[sel]
        if float(nearest[sel].min()) > reach:
            labels[py, px] = -1
            hard[py, px] = 0
            dropped[py, px] = True
        else:
            labels[py, px] = np.bincount(labels[py, px]).argmax()
    return dropped


def merge_islands(labels: np.ndarray, n_labels: int, home: dict[int, np.ndarray] | None = None) -> None:
    """Every part keeps one connected piece: a smaller island of a part's label (a sliver of an arm's
    edge that lay nearer the torso's outline, cut off from the torso by the background) joins the
    part that surrounds it most, so no part leaves pixels at its rest position when the other moves.
    home: {label: bool HxW} where that label's islands stay its own (the torso quadrilateral: a piece
    of chest cut off by forearms folded across it is still chest, not the upper arm beside it).
    Edits ``labels`` (HxW int, -1 = not person) in place."""
    ring = np.ones((3, 3), np.uint8)
    for lab in range(n_labels):
        own = (labels == lab).astype(np.uint8)
        n, comp, stats, _ = cv2.connectedComponentsWithStats(own, connectivity=8)
        if n <= 2:
            continue
        main = 1 + int(np.argmax(stats[1:, cv2.CC_STAT_AREA]))
        stay = (home or {}).get(lab)
        for c in range(1, n):
            if c == main:
                continue
            x, y, w, h = stats[c, :4]
            y0, y1, x0, x1 = max(y - 1, 0), y + h + 1, max(x - 1, 0), x + w + 1
            piece = (comp[y0:y1, x0:x1] == c).astype(np.uint8)
            if stay is not None and stay[y0:y1, x0:x1][piece > 0].mean() > 0.5:
                continue
            border = (cv2.dilate(piece, ring) > 0) & (piece == 0)
            around = labels[y0:y1, x0:x1][border]
            around = around[(around >= 0) & (around != lab)]
            if around.size:
                labels[y0:y1, x0:x1][piece > 0] = np.bincount(around).argmax()


def soft_joints(segs: dict[str, tuple[np.ndarray, np.ndarray]], radius: dict[str, float],
                 xy: np.ndarray) -> dict:
    """The soft joints of every layer (engines.warp.blend), from the parts the reference shows."""
    from engines.warp.blend import build_joints

    ix = COCO17.index
    parents, starts = {}, {}
    for part in PARTS:
        if part.name in segs and part.parent:
            parents[part.name] = part.parent
            starts[part.name] = xy[ix[part.start]] if part.kind == "limb" else neck(xy, ix)
    return build_joints(segs, radius, parents, starts)


def _head_texture(img: np.ndarray, texture: np.ndarray, labels: np.ndarray, names: list[str],
                  xy: np.ndarray, hard: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(pixels the head layer takes over from an arm, the head's texture).

    A hand on or behind the head in the photo goes to its forearm layer; when the arm moves away the
    head would keep a hole there with the background showing through. The head layer gets the arm's
    pixels that lie inside the convex hull of its own pixels above the neck (the head's outline, not
    beyond it), coloured by inpainting (OpenCV Telea) from the head around them (hair, skin); the
    torso under the arms is filled from its clothing alone instead (engines.warp.clothing).
    """
    h, w = labels.shape
    none = np.zeros((h, w), np.uint8), texture
    if "head" not in names:
        return none
    head_id = names.index("head")
    ys, xs = np.nonzero(labels == head_id)
    above = ys < neck(xy, COCO17.index)[1]
    if above.sum() < 3:
        return none
    hull = np.zeros((h, w), np.uint8)
    cv2.fillConvexPoly(hull, cv2.convexHull(np.stack([xs[above], ys[above]], axis=1).astype(np.int32)), 1)
    arm_ids = [i for i, n in enumerate(names) if n.endswith(("upper_arm", "forearm"))]
    hidden = (np.isin(labels, arm_ids) & (hull > 0) & (hard > 0)).astype(np.uint8)
    if not hidden.any():
        return none
    head_texture = texture.copy()
    filled = _inpaint_region(img, hidden, keep=(labels == head_id))
    head_texture[hidden > 0] = filled[hidden > 0]
    return hidden, head_texture


def _inpaint_region(img: np.ndarray, region: np.ndarray, keep: np.ndarray, work_px: int = 256) -> np.ndarray:
    """Colours for ``region`` pixels filled in from the ``keep`` pixels around them (OpenCV Telea,
    at <= work_px on the region's long side); pixels that are neither are treated as unknown too."""
    ys, xs = np.nonzero(region | keep)
    y0, y1, x0, x1 = ys.min(), ys.max() + 1, xs.min(), xs.max() + 1
    crop = img[y0:y1, x0:x1]
    unknown = ((region[y0:y1, x0:x1] > 0) | ~keep[y0:y1, x0:x1]).astype(np.uint8)
    f = min(1.0, work_px / max(crop.shape[:2]))
    size = (max(1, int(crop.shape[1] * f)), max(1, int(crop.shape[0] * f)))
    small = cv2.resize(crop, size, interpolation=cv2.INTER_AREA)
    small_m = (cv2.resize(unknown.astype(np.float32), size, interpolation=cv2.INTER_AREA) > 0).astype(np.uint8)
    filled = cv2.resize(cv2.inpaint(small, small_m, 7, cv2.INPAINT_TELEA), crop.shape[1::-1],
                        interpolation=cv2.INTER_LINEAR)
    out = img.copy()
    out[y0:y1, x0:x1] = filled
    return out


def _joint_disc(spec: PartSpec, xy: np.ndarray, r: float, labels: np.ndarray, names: list[str],
                hidden: np.ndarray) -> np.ndarray:
    """The disc of the photo round a part's proximal joint (uint8 0/1 HxW; all 0 for the torso),
    taken only from the part itself, its parent and the unlabelled edge: never from another limb
    lying there in the photo (hands clasped under the chin went into the head's neck disc and stayed
    at the chest when the forearms moved away), nor from torso pixels an arm hides (``hidden``)."""
    disc = np.zeros(labels.shape, np.uint8)
    joint = _proximal_joint(spec, xy, COCO17.index)
    if joint is None:
        return disc
    cv2.circle(disc, (int(round(joint[0])), int(round(joint[1]))), int(round(r)), 1, -1, lineType=cv2.LINE_AA)
    allowed = [names.index(n) for n in (spec.name, spec.parent) if n in names]
    foreign = (labels >= 0) & ~np.isin(labels, allowed)
    if spec.parent == "torso":
        foreign |= hidden > 0
    disc[foreign] = 0
    return disc


def _proximal_joint(spec: PartSpec, xy: np.ndarray, ix: dict[str, int]) -> np.ndarray | None:
    if spec.kind == "limb":
        return xy[ix[spec.start]]
    if spec.kind == "head":
        return neck(xy, ix)
    return None


def _depth_keypoints(spec: PartSpec, ix: dict[str, int]) -> tuple[int, ...]:
    if spec.kind == "limb":
        return (ix[spec.start], ix[spec.end])
    if spec.kind == "head":
        return tuple(ix[n] for n in FACE_POINTS)
    return tuple(ix[n] for n in TORSO_POINTS)


def _extend_colours(img: np.ndarray, hard: np.ndarray) -> np.ndarray:
    """The image with every non-person pixel given the colour of the nearest person pixel."""
    if not hard.any():
        return img
    _, lab = cv2.distanceTransformWithLabels((1 - hard).astype(np.uint8), cv2.DIST_L2, 5,
                                             labelType=cv2.DIST_LABEL_PIXEL)
    ys, xs = np.nonzero(hard == 1)
    # labels number the zero pixels (person pixels) in row-major scan order, starting at 1
    lut_y = np.concatenate([[0], ys])
    lut_x = np.concatenate([[0], xs])
    return img[lut_y[lab], lut_x[lab]]


def mask_from_pose(pose: Pose, h: int, w: int, min_score: float) -> np.ndarray:
    """A rough person mask of capsules around the bones (when segmentation finds nobody)."""
    m = np.zeros((h, w), np.uint8)
    ok = pose.present(min_score)
    xy = pose.xy
    ix = COCO17.index
    sw = float(np.linalg.norm(xy[ix["left_shoulder"]] - xy[ix["right_shoulder"]])) or 0.1 * h
    torso = np.array([xy[ix[n]] for n in TORSO_POINTS], np.int32)
    cv2.fillConvexPoly(m, torso, 255)
    for a, b in COCO17.bones:
        ia, ib = ix[a], ix[b]
        if ok[ia] and ok[ib]:
            cv2.line(m, tuple(int(v) for v in xy[ia]), tuple(int(v) for v in xy[ib]), 255,
                     max(2, int(0.25 * sw)))
    return m.astype(np.float32) / 255.0


# a photo cut at the chest: its torso layer goes on this many shoulder widths below the photo's
# bottom edge (``continue_below``), as far as a torso lifted off that edge needs (webcam_talking's
# tilted frames lift it by up to 0.2 widths; parts.keep_bottom_edge stretches the chest past this)
EDGE_REACH = 0.4
# the rows continued: the mean of the layer's last few rows in the photo (less of one row's noise)
EDGE_ROWS = 3


def continue_below(layer: Layer, height: int, rows: int) -> Layer:
    """The layer with ``rows`` more rows below the photo's last one (``height``): that row's colours
    and alpha (the mean of the last EDGE_ROWS) repeated straight down, the body going on below the
    frame as a webcam's does. A torso that the driver's shoulder tilt or a smaller body lifts off
    the photo's bottom edge then shows this beneath it instead of the background, and is not
    stretched to cover it (parts.keep_bottom_edge: ``Edge.reach``). The layer itself where it does
    not reach the photo's last row, or ``rows`` < 1."""
    x0, y0 = layer.origin
    last = height - y0          # rows of the patch inside the photo
    ph = layer.patch.shape[0]
    if rows < 1 or not 0 < last <= ph:
        return layer
    edge = layer.patch[max(last - EDGE_ROWS, 0):last].astype(np.float32).mean(axis=0)
    below = np.repeat(np.round(edge).astype(np.uint8)[None], rows, axis=0)
    patch = np.ascontiguousarray(np.concatenate([layer.patch[:last], below], axis=0))
    return Layer(layer.name, patch, layer.origin, layer.rank, layer.keypoints)
