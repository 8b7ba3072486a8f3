"""The torso's clothing in the reference photo, and the fill of the chest that arms hide there.

Arms lying over the torso in the photo hide part of it; the torso layer gets those pixels, coloured
from the torso around them (engines.warp.layers), so that an arm moving away uncovers shirt. The
torso's pixels beside them are not all shirt: the neckline's skin, hair falling over a shoulder.
Filled from those too (OpenCV Telea continues each edge colour inwards), the fill was a streaky
skin-coloured blob where clasped hands had been, and MediaPipe found a wrist in it once the hands
had moved away (presenter_desk: the right wrist read in the chest while its target lay below the
frame). Here the fill takes only the torso's clothing colours:

- clothing: a torso pixel whose colour is commoner among the torso's pixels than among the skin's
  (the face round the nose, the hands MediaPipe found) and the hair's (the head's pixels away from
  the face); colour densities are coarse Lab histograms. A torso mostly of skin (a bare chest) keeps
  all its pixels as the source, as before;
- the fill interpolates across rows and columns between the clothing at the region's edges, over
  a push-pull fill (engines.warp.background.fill_hole): smooth, it leaves no shape a detector reads.
All prepare-time work. Images BGR uint8; masks uint8 0/1 or bool, HxW of the reference.
"""
from __future__ import annotations

import cv2
import numpy as np

from engines.warp.background import fill_hole

BINS = (8, 32, 32)   # Lab histogram bins: lightness, a, b (skin and a white shirt differ by ~10 in a, b)
MIN_CLOTHING = 0.15  # below this share of the torso's own pixels, the torso is taken as bare skin


def colour_bins(img: np.ndarray) -> np.ndarray:
    """Each pixel's Lab histogram bin index (HxW int)."""
    lab = cv2.cvtColor(img, cv2.COLOR_BGR2LAB).astype(np.int64)
    l, a, b = (lab[..., k] * BINS[k] // 256 for k in range(3))
    return (l * BINS[1] + a) * BINS[2] + b


def colour_density(bins: np.ndarray, sel: np.ndarray) -> np.ndarray:
    """The normalised, lightly smoothed histogram (flat, BINS) of the selected pixels' colours."""
    hist = np.bincount(bins[sel], minlength=int(np.prod(BINS))).astype(np.float64).reshape(BINS)
    for axis in range(3):     # a [1, 2, 1] kernel along each axis: neighbouring shades count too
        pad = np.pad(hist, [(1, 1) if k == axis else (0, 0) for k in range(3)], mode="edge")
        lo = np.take(pad, range(0, BINS[axis]), axis=axis)
        hi = np.take(pad, range(2, BINS[axis] + 2), axis=axis)
        hist = (lo + 2.0 * hist + hi) / 4.0
    total = hist.sum()
    return (hist / total if total > 0 else hist).ravel()


def face_skin(xy: np.ndarray, ok: np.ndarray, ix: dict[str, int], shape: tuple[int, int]) -> np.ndarray:
    """A disc of the face's skin round the nose, half the eye distance wide (bool HxW; all False
    without a nose and both eyes)."""
    disc = np.zeros(shape, np.uint8)
    if ok[ix["nose"]] and ok[ix["left_eye"]] and ok[ix["right_eye"]]:
        r = 0.5 * float(np.linalg.norm(xy[ix["left_eye"]] - xy[ix["right_eye"]]))
        if r >= 1.0:
            cv2.circle(disc, tuple(int(round(v)) for v in xy[ix["nose"]]), int(round(r)), 1, -1)
    return disc > 0


def colour_classes(img: np.ndarray, torso: np.ndarray, skin: np.ndarray, hair: np.ndarray
                   ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(clothing-, skin-, hair-coloured) pixels, bool HxW each over the whole image: each pixel goes
    to the one of the torso's, the skin's and the hair's samples (bool HxW each) whose colour density
    is highest at its colour (ties to clothing; all clothing where there are no rival samples)."""
    none = np.zeros(torso.shape, bool)
    if not torso.any() or not (skin.any() or hair.any()):
        return np.ones(torso.shape, bool), none, none.copy()
    bins = colour_bins(img)
    dens = [colour_density(bins, sel)[bins] if sel.any() else np.zeros(torso.shape)
            for sel in (torso, skin, hair)]
    best = np.argmax(np.stack(dens), axis=0)
    return best == 0, best == 1, best == 2


def clothing_pixels(img: np.ndarray, torso: np.ndarray, skin: np.ndarray, hair: np.ndarray) -> np.ndarray:
    """The torso pixels (bool HxW) whose colour is commoner among the torso's than among the skin's
    and the hair's samples (each bool HxW); all of ``torso`` when too few are (a bare chest) or
    there are no samples of skin or hair."""
    cloth = torso & colour_classes(img, torso, skin, hair)[0]
    return cloth if cloth.sum() >= MIN_CLOTHING * torso.sum() else torso.copy()


def linked_to(mask: np.ndarray, seed: np.ndarray) -> np.ndarray:
    """The pixels of ``mask`` 4-connected within it to a ``seed`` pixel (bool HxW each)."""
    n, comp = cv2.connectedComponents(mask.astype(np.uint8), connectivity=4)
    hit = np.unique(comp[mask & seed])
    return np.isin(comp, hit[hit > 0]) & mask


def continued_edge(kind: np.ndarray, region: np.ndarray, candidates: np.ndarray, reach: float) -> np.ndarray:
    """The ``candidates`` pixels (of ``region``) of one colour ``kind`` (bool HxW each) that
    continue that colour from outside ``region``: connected through it to its pixels outside, and
    within ``reach`` px of them. The neckline's skin above clasped hands, hair by a forearm: the
    photo's own pixels there, kept, not repainted with clothing."""
    anchors = kind & ~region
    if not anchors.any() or not (candidates & kind).any():
        return np.zeros(kind.shape, bool)
    near = cv2.distanceTransform((~anchors).astype(np.uint8), cv2.DIST_L2, 3) <= reach
    return candidates & linked_to(kind & (anchors | (candidates & near)), anchors)


def fill_from(img: np.ndarray, region: np.ndarray, source: np.ndarray, work_px: int = 256,
              blur_frac: float = 0.02) -> np.ndarray:
    """The image with ``region`` (uint8 0/1 or bool) coloured from the ``source`` pixels alone,
    interpolated across (engines.warp.background.fill_hole) at <= work_px on the long side of
    their bounding box, softened by a blur of ``blur_frac`` of that size; other pixels unchanged.
    BGR uint8."""
    region = region > 0
    if not region.any() or not source.any():
        return img.copy()
    ys, xs = np.nonzero(region | source)
    y0, y1, x0, x1 = ys.min(), ys.max() + 1, xs.min(), xs.max() + 1
    crop = img[y0:y1, x0:x1]
    unknown = ~source[y0:y1, x0:x1] | region[y0:y1, x0:x1]
    f = min(1.0, work_px / max(crop.shape[:2]))
    size = (max(1, int(round(crop.shape[1] * f))), max(1, int(round(crop.shape[0] * f))))
    small = cv2.resize(crop, size, interpolation=cv2.INTER_AREA)
    # a small pixel is known only when all of it is source: no skin or hair colour bleeds in
    small_unknown = (cv2.resize(unknown.astype(np.float32), size, interpolation=cv2.INTER_AREA) > 0.01)
    if small_unknown.all():
        return img.copy()
    filled = fill_hole(small, small_unknown.astype(np.uint8))
    # the row and column fills streak where the edges' colours vary (a jacket's folds): a soft blur
    # over the filled pixels alone (their colours are all the source's) keeps the fill shapeless
    blur = max(1.0, blur_frac * max(size))
    filled = np.where(small_unknown[..., None], cv2.GaussianBlur(filled, (0, 0), blur), filled)
    big = cv2.resize(filled, crop.shape[1::-1], interpolation=cv2.INTER_LINEAR)
    out = img.copy()
    sub = region[y0:y1, x0:x1]
    out[y0:y1, x0:x1][sub] = np.clip(big[sub] + 0.5, 0, 255).astype(np.uint8)
    return out
