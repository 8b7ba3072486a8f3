"""The shoulders' top beside the neck: cut out of the head layer at prepare time.

The part labelling (engines.warp.layers) gives the head's capsule the pixels above the shoulders'
line out to the shoulders (the torso's distance there grows three times as fast: the deltoids go
with the upper arms). So the head layer carried the shoulders' top and a tank top's strap tops,
and a head that moves rigidly (a roll under engines.warp.skin's NECK_ROLL: the neck is not
skinned) took them along: a grey crack opened at the strap top and MediaPipe read the shoulder
low (webcam_talking: +9.5 px at 720 px on upright frames, up to +26 px on frames 120-136).

Here the head's pixels that the neck's skin gives wholly to the torso (torso weight 1, below the
sloped line of engines.warp.skin: NECK_BASE, NECK_SLOPE) and that lie beside the neck, further
from its axis than NECK_MARGIN times the neck's half width measured on the person mask, go to the
torso layer; the neck and the collar disc round it stay with the head.

Coordinates: reference pixels (x right, y down); masks HxW.
"""
from __future__ import annotations

import cv2
import numpy as np

# the cut lies this many neck half-widths out from the neck's axis (the neck widens into the
# trapezius just above the shoulders' line: the measured width is the narrowest)
NECK_MARGIN = 1.2
# where the neck's width is measured: fractions of the neck-to-face distance above the shoulders'
# midpoint (under the chin, above the shoulders' top)
NECK_ROWS = (0.3, 0.6)


def _axis(segs: dict) -> tuple[np.ndarray, np.ndarray, np.ndarray, float] | None:
    """(neck point, unit vector up the head's bone, unit vector across it, the bone's length)."""
    if "head" not in segs or "torso" not in segs:
        return None
    a, b = (np.asarray(v, np.float64) for v in segs["head"])
    length = float(np.linalg.norm(b - a))
    if length < 1e-6:
        return None
    u = (b - a) / length
    return np.asarray(segs["torso"][0], np.float64), u, np.array([-u[1], u[0]]), length


def neck_half_widths(hard: np.ndarray, segs: dict) -> tuple[float, float] | None:
    """(half width of the neck on the negative side of its axis, on the positive side), px: the
    narrowest run of the person mask from the axis outwards over NECK_ROWS; None where the axis is
    not on the person there (no neck to measure)."""
    ax = _axis(segs)
    if ax is None:
        return None
    nk, u, n, length = ax
    h, w = hard.shape
    steps = np.arange(int(length) + 1, dtype=np.float64)
    widths: list[list[float]] = [[], []]
    for f in np.linspace(*NECK_ROWS, 7):
        p = nk + f * length * u
        for k, sign in enumerate((-1.0, 1.0)):
            pts = p[None] + sign * steps[:, None] * n[None]
            x = np.round(pts[:, 0]).astype(np.int64)
            y = np.round(pts[:, 1]).astype(np.int64)
            inside = (x >= 0) & (x < w) & (y >= 0) & (y < h)
            on = np.zeros(len(steps), bool)
            on[inside] = hard[y[inside], x[inside]] > 0
            if not on[0]:
                break
            off = np.flatnonzero(~on)
            widths[k].append(float(off[0]) if len(off) else float(steps[-1]))
    if not widths[0] or not widths[1]:
        return None
    return min(widths[0]), min(widths[1])


def shoulder_tops(labels: np.ndarray, head_id: int, hard: np.ndarray, segs: dict) -> np.ndarray:
    """The head-labelled pixels of the shoulders' top beside the neck (bool HxW; module doc)."""
    from engines.warp.skin import NECK_BASE, NECK_SLOPE

    out = np.zeros(labels.shape, bool)
    ax = _axis(segs)
    half = neck_half_widths(hard, segs)
    if ax is None or half is None:
        return out
    nk, u, n, length = ax
    ys, xs = np.nonzero(labels == head_id)
    qx, qy = xs - nk[0], ys - nk[1]
    up = (qx * u[0] + qy * u[1]) / length
    across = qx * n[0] + qy * n[1]
    below = up - NECK_SLOPE * np.abs(across) / length <= NECK_BASE
    # the wider side's width on both: a neck is as wide on either side of its axis, and a side read
    # narrow is the axis off the neck's middle (a head turned) or a gap in long hair (webcam_signing:
    # 49 and 31 px; the narrow side gave the torso the hair on that shoulder)
    beside = np.abs(across) > NECK_MARGIN * max(half)
    sel = below & beside
    out[ys[sel], xs[sel]] = True
    return out


# the head layer fades out over this much of the neck-to-face distance towards the shoulders' top
# it gave up (the torso layer goes on under it there): a head moved rigidly a few px off the torso
# showed a hard vertical seam in the skin at the cut (webcam_talking frame 120)
SEAM = 0.08


def seam_ramp(tops: np.ndarray, width: float) -> np.ndarray:
    """The head layer's alpha factor (float32 HxW): 0 on ``tops``, rising smoothly to 1 at ``width``
    px from them."""
    d = cv2.distanceTransform((tops == 0).astype(np.uint8), cv2.DIST_L2, 5)
    t = np.clip(d / max(width, 1.0), 0.0, 1.0)
    return (t * t * (3.0 - 2.0 * t)).astype(np.float32)
