"""A ball held in the reference photo's hands (basketball_dribble's first frame): its own layer.

Cut into the forearm layer, a held ball turns and shears with the forearm and stays glued to it.
Found here as a circle (OpenCV's Hough transform, on the photo around each wrist) at least 1.5
forearm radii across, within one ball radius plus two forearm radii of the wrist, and almost all
inside the person mask (a ball that the segmentation left out is background already); the hands on
it stay with their forearms (the forearm capsules here, and the hands MediaPipe Hands found:
engines.warp.layers): the ball's layer has no pixels of them. It becomes a
layer of its own that follows its hand (the nearer wrist) without turning or shearing: its centre
moves as the forearm carries it, its picture stays upright. The torso behind it is filled as the
torso behind an arm (engines.warp.layers), so the ball moving away uncovers shirt, not a ball.

Reference pixels, images BGR uint8, masks float in [0, 1].
"""
from __future__ import annotations

import cv2
import numpy as np

from engines.warp.parts import PART_BY_NAME, apply
from realtime.layouts import COCO17

HELD = ("left_held", "right_held")
MIN_INSIDE = 0.9


def find_held_ball(img: np.ndarray, mask: np.ndarray, xy: np.ndarray, ok: np.ndarray,
                   radius: dict[str, float]) -> tuple[str, np.ndarray] | None:
    """(side of the holding hand, the ball's pixels: bool HxW inside the person mask) or None."""
    ix = COCO17.index
    h, w = mask.shape
    best = None
    for side in ("left", "right"):
        wrist, fr = xy[ix[f"{side}_wrist"]], radius.get(f"{side}_forearm")
        if not ok[ix[f"{side}_wrist"]] or fr is None:
            continue
        reach = int(7 * fr)
        x0, y0 = int(max(0, wrist[0] - reach)), int(max(0, wrist[1] - reach))
        x1, y1 = int(min(w, wrist[0] + reach)), int(min(h, wrist[1] + reach))
        if x1 - x0 < 8 or y1 - y0 < 8:
            continue
        grey = cv2.medianBlur(cv2.cvtColor(img[y0:y1, x0:x1], cv2.COLOR_BGR2GRAY), 5)
        found = cv2.HoughCircles(grey, cv2.HOUGH_GRADIENT_ALT, 1.5, fr, param1=300, param2=0.8,
                                 minRadius=int(1.5 * fr), maxRadius=int(5 * fr))
        for cx, cy, r in ([] if found is None else found[0]):
            c = np.array([cx + x0, cy + y0])
            gap = float(np.linalg.norm(c - wrist))
            if gap > r + 2 * fr:
                continue
            disc = np.zeros((h, w), np.uint8)
            cv2.circle(disc, (int(round(c[0])), int(round(c[1]))), int(round(r)), 1, -1)
            inside = disc > 0
            if float((mask[inside] >= 0.5).mean()) < MIN_INSIDE:
                continue
            # the ball's dark rim too (the circle sits on its edge's gradient): grown a little
            cv2.circle(disc, (int(round(c[0])), int(round(c[1]))), int(round(r + max(2.0, 0.08 * r))), 1, -1)
            inside = disc > 0
            if best is None or gap < best[0]:
                best = (gap, side, inside & (mask >= 0.5))
    if best is None:
        return None
    return best[1], best[2] & ~_hands(xy, ok, radius, mask.shape)


def _hands(xy: np.ndarray, ok: np.ndarray, radius: dict[str, float], shape: tuple[int, int]) -> np.ndarray:
    """The forearms and hands (capsules along each forearm's bone, extended as its layer is): a
    hand on the ball stays with its arm (bool HxW)."""
    ix = COCO17.index
    out = np.zeros(shape, np.uint8)
    for side in ("left", "right"):
        e, w_ = ix[f"{side}_elbow"], ix[f"{side}_wrist"]
        r = radius.get(f"{side}_forearm")
        if r is None or not (ok[e] and ok[w_]):
            continue
        tip = xy[w_] + PART_BY_NAME[f"{side}_forearm"].extend * (xy[w_] - xy[e])
        cv2.line(out, tuple(int(round(v)) for v in xy[e]), tuple(int(round(v)) for v in tip), 1,
                 thickness=max(1, int(round(1.6 * r))))
    return out > 0


def held_layer(texture: np.ndarray, soft: np.ndarray, held: tuple[str, np.ndarray], feather: int, rank: int):
    """The ball's premultiplied layer (an engines.warp.layers.Layer named ``<side>_held``), its
    depth that of its forearm, drawn just in front of it."""
    from engines.warp.layers import Layer

    side, ball = held
    ix = COCO17.index
    k = 2 * feather + 1
    # its outline feathered across the edge (half in, half out), as opaque as the person mask
    a = np.minimum(soft, np.clip(2.0 * cv2.GaussianBlur(ball.astype(np.float32), (k, k), 0), 0.0, 1.0))
    ys, xs = np.nonzero(a > 1.0 / 512)
    x0, x1, y0, y1 = xs.min(), xs.max() + 1, ys.min(), ys.max() + 1
    pa = a[y0:y1, x0:x1, None]
    patch = np.concatenate([texture[y0:y1, x0:x1].astype(np.float32) * pa, pa * 255.0], axis=2)
    patch = np.clip(patch + 0.5, 0, 255).astype(np.uint8)
    kps = (ix[f"{side}_elbow"], ix[f"{side}_wrist"])
    return Layer(f"{side}_held", np.ascontiguousarray(patch), (int(x0), int(y0)), rank, kps)


def held_transforms(mats: dict[str, np.ndarray], layers: list) -> dict[str, np.ndarray]:
    """A translation for every held layer: its centre carried by its forearm's transform."""
    out = {}
    for layer in layers:
        if layer.name not in HELD:
            continue
        fm = mats.get(layer.name.replace("held", "forearm"))
        ph, pw = layer.patch.shape[:2]
        c = np.array([[layer.origin[0] + pw / 2.0, layer.origin[1] + ph / 2.0]])
        moved = apply(fm, c)[0] if fm is not None else c[0]
        out[layer.name] = np.array([[1.0, 0.0, moved[0] - c[0, 0]], [0.0, 1.0, moved[1] - c[0, 1]]])
    return out
