"""Backgrounds of the warp renderer: the reference photo without its person, a picture, a blur or a
colour, made once at prepare time.

The person is removed without leaving a body-shaped ghost:
- the hole is the person mask (soft mask >= 0.2) with a thin margin, grown only where the pixels
  around it still carry the person (``halo_hole``: its colour bleeding into the background, or a
  contact shadow): no pixel of the person's colours is left to be smeared into the fill, and the
  true background beside the body is kept (a fixed 1.2 % margin replaced more of it than it saved:
  ghost L1 on pose_1 0.051 -> 0.045; a fixed thin one left a visible body outline);
- the hole is filled across, at <= ``work_px`` on the long side: each row (and each column) is
  interpolated linearly between the background at the hole's two edges, and the two fills are
  blended per pixel, the shorter gap weighing more, biased by how banded the surroundings are (a
  horizon, a floor line continue straight across);
  rows or columns the hole spans whole take a push-pull fill (a mask-weighted image pyramid). No
  hole pixel copies the colour of a nearby edge pixel along the body's outline, so no limb shape
  survives (OpenCV's Telea inpainting continues edge colours inwards and leaves pale copies of the
  limbs; OpenCV contrib's FSR and shift-map fills take 4-60 s here at 160-320 px);
- the fill meets the kept photo through a feathered edge.
Choices (WarpOptions.background): "inpaint" (above), "blur" (above, then the whole background
blurred strongly: a soft backdrop where no fill error can show), a picture file (scaled to cover
the frame, centred), "transparent", or a colour.
Images BGR uint8, masks float in [0, 1], HxW of the reference.
"""
from __future__ import annotations

import logging
from pathlib import Path

import cv2
import numpy as np

log = logging.getLogger(__name__)

NAMED_COLOURS: dict[str, tuple[int, int, int]] = {
    "black": (0, 0, 0), "white": (255, 255, 255), "green": (0, 177, 64), "grey": (128, 128, 128),
    "gray": (128, 128, 128), "blue": (255, 0, 0),
}
KEYWORDS = ("inpaint", "blur", "transparent")


def hole_mask(mask: np.ndarray, margin_frac: float = 0.012, min_margin: int = 4) -> np.ndarray:
    """The region to refill (uint8 0/1): the person's soft mask >= 0.2 grown by the margin."""
    h, w = mask.shape
    hole = (mask >= 0.2).astype(np.uint8)
    g = max(min_margin, int(round(margin_frac * max(h, w))))
    return cv2.dilate(hole, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * g + 1, 2 * g + 1)))


def push_pull(img: np.ndarray, known: np.ndarray) -> np.ndarray:
    """Fill the pixels where ``known`` is 0 by push-pull interpolation. img float32 HxWxC, known
    float32 HxW weights in [0, 1]; returns float32 HxWxC."""
    w = known.astype(np.float32)[..., None]
    levels = [(img * w, w)]
    while min(levels[-1][1].shape[:2]) > 2:
        c, k = levels[-1]
        size = (max(1, c.shape[1] // 2), max(1, c.shape[0] // 2))
        c2 = cv2.resize(c, size, interpolation=cv2.INTER_AREA)
        k2 = cv2.resize(k, size, interpolation=cv2.INTER_AREA)
        levels.append((c2.reshape(size[1], size[0], -1), k2.reshape(size[1], size[0], 1)))
    c, k = levels[-1]
    tot = k.sum()
    out = np.broadcast_to(c.sum(axis=(0, 1)) / max(float(tot), 1e-6), c.shape).astype(np.float32) \
        if tot > 0 else np.zeros_like(c)
    for c, k in reversed(levels[:-1]):
        up = cv2.resize(out, (c.shape[1], c.shape[0]), interpolation=cv2.INTER_LINEAR).reshape(c.shape)
        kk = np.clip(k * 4.0, 0.0, 1.0)   # a pixel with a quarter of known support trusts itself
        own = c / np.maximum(k, 1e-6)
        out = kk * own + (1.0 - kk) * up
    return out


def _line_fill(img: np.ndarray, known: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Each row's unknown pixels interpolated linearly between the known pixels left and right of
    them (constant beyond the last one). Returns (fill, span): span = the length (px) of the gap
    each pixel was interpolated across (inf on rows without a known pixel, 0 on known pixels)."""
    h, w = known.shape
    out = img.copy()
    span = np.zeros((h, w), np.float32)
    xs = np.arange(w, dtype=np.float32)
    for y in range(h):
        k = known[y] > 0
        if k.all():
            continue
        if not k.any():
            span[y] = np.inf
            continue
        kx = xs[k]
        ux = xs[~k]
        for c in range(img.shape[2]):
            out[y, ~k, c] = np.interp(ux, kx, img[y, k, c])
        right = np.searchsorted(kx, ux)
        left_x = np.where(right > 0, kx[np.maximum(right - 1, 0)], -np.inf)
        right_x = np.where(right < len(kx), kx[np.minimum(right, len(kx) - 1)], np.inf)
        gap = right_x - left_x
        # beyond the last known pixel the fill is a constant copy: as uncertain as a gap twice as long
        one_sided = ~np.isfinite(gap)
        gap[one_sided] = 2.0 * np.minimum(ux[one_sided] - np.where(np.isfinite(left_x[one_sided]), left_x[one_sided], -w),
                                          np.where(np.isfinite(right_x[one_sided]), right_x[one_sided], 2 * w) - ux[one_sided])
        span[y, ~k] = gap
    return out, span


def structure_weight(img: np.ndarray, hole: np.ndarray) -> float:
    """How much the background around the hole is made of horizontal bands (0..1): the share of the
    vertical gradient energy in a ring around the hole (a horizon, a floor line, a table edge)."""
    g = cv2.cvtColor(img, cv2.COLOR_BGR2GRAY).astype(np.float32) if img.ndim == 3 else img
    gx = cv2.Sobel(g, cv2.CV_32F, 1, 0, ksize=3)
    gy = cv2.Sobel(g, cv2.CV_32F, 0, 1, ksize=3)
    r = max(3, int(0.05 * max(hole.shape)))
    ring = (cv2.dilate(hole, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * r + 1,) * 2)) > 0) & (hole == 0)
    if not ring.any():
        return 0.5
    ex, ey = float((gx[ring] ** 2).mean()), float((gy[ring] ** 2).mean())
    return ey / (ex + ey) if ex + ey > 1e-9 else 0.5


def fill_hole(img: np.ndarray, hole: np.ndarray) -> np.ndarray:
    """float32 BGR image with the ``hole`` (uint8 0/1) filled: row-wise and column-wise linear
    interpolation between the hole's edges, blended per pixel by the inverse square of each
    direction's gap and by how banded the surroundings are (``structure_weight``; a horizon
    continues across the hole instead of bending round it), over a push-pull fill (rows or columns
    that the hole spans whole). Edge colours are taken from a
    slightly smoothed copy of the known pixels so one noisy pixel does not streak."""
    known = (hole == 0).astype(np.float32)
    f = img.astype(np.float32)
    k3 = known[..., None]
    smooth = cv2.GaussianBlur(f * k3, (0, 0), 1.5) / np.maximum(cv2.GaussianBlur(known, (0, 0), 1.5)[..., None], 1e-3)
    base = np.where(k3 > 0, smooth, 0)
    pp = push_pull(base, known)
    rows, row_span = _line_fill(base, known)
    cols_t, col_span_t = _line_fill(np.ascontiguousarray(base.transpose(1, 0, 2)), np.ascontiguousarray(known.T))
    cols, col_span = cols_t.transpose(1, 0, 2), col_span_t.T
    rows = np.where(np.isfinite(row_span)[..., None], rows, pp)
    cols = np.where(np.isfinite(col_span)[..., None], cols, pp)
    # per pixel: the direction with the shorter gap is the better guess (a tall person is filled
    # across, not from ceiling to floor), biased by how banded the surroundings are
    a = structure_weight(img, hole)
    inv_r = 1.0 / np.maximum(np.where(np.isfinite(row_span), row_span, 1e6), 1.0) ** 2
    inv_c = 1.0 / np.maximum(np.where(np.isfinite(col_span), col_span, 1e6), 1.0) ** 2
    wr = a * inv_r / (a * inv_r + (1 - a) * inv_c + 1e-12)
    fill = wr[..., None] * rows + (1 - wr[..., None]) * cols
    # the line fills are exact at the hole's edges but can disagree across it: a light blur along
    # the hole keeps their seams out of sight
    fill = cv2.GaussianBlur(fill, (0, 0), 1.0)
    return np.where(k3 > 0, f, fill)


def halo_hole(img: np.ndarray, mask: np.ndarray, tau: float = 0.25, darker: float = 0.1,
              reach_frac: float = 0.012) -> np.ndarray:
    """The region to refill (uint8 0/1), fitted to this photo: the person's soft mask >= 0.2 with a
    thin margin (0.3 % of the long side, >= 2 px), grown only through the pixels of the wide margin
    (``hole_mask``) that still carry the person: its colour bleeding into the background (the halo:
    the pixel lies more than ``tau`` of the way from the background towards the person's nearby
    colour) or a shadow (more than ``darker`` darker than the background), up to ``reach_frac`` of
    the long side from the mask. The background there is
    estimated by filling the wide hole, the person's colours by extending its core outwards
    (push-pull). A fixed wide margin replaced more true background (a textured floor, a table edge)
    than it saved; a fixed thin one left a body-shaped outline (measured against clean plates of the
    shared clips)."""
    wide = hole_mask(mask, reach_frac)
    hole = hole_mask(mask, 0.003, 2)
    f = img.astype(np.float32)
    bg = fill_hole(img, wide)
    core = cv2.erode((mask >= 0.5).astype(np.uint8), np.ones((3, 3), np.uint8)).astype(np.float32)
    person = push_pull(f * core[..., None], core)
    d = person - bg
    towards = ((f - bg) * d).sum(-1) / np.maximum((d * d).sum(-1), 100.0)
    lum = np.array([0.114, 0.587, 0.299], np.float32)
    dark = (bg @ lum - f @ lum) / np.maximum(bg @ lum, 1.0)
    cand = (((towards > tau) | (dark > darker)) & (wide > 0)).astype(np.uint8)
    k = np.ones((3, 3), np.uint8)
    for _ in range(2 * max(mask.shape)):      # geodesic growth: only candidates touching the hole
        grown = hole | (cv2.dilate(hole, k) & cand)
        if np.array_equal(grown, hole):
            break
        hole = grown
    hole = cv2.morphologyEx(hole, cv2.MORPH_CLOSE, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (5, 5)))
    return hole | _loose_pieces(mask, wide)


def _loose_pieces(mask: np.ndarray, wide: np.ndarray) -> np.ndarray:
    """The wide margin around the mask's pieces apart from the body (a hair tuft, a wisp): their
    faint strands fall below the mask's threshold and would streak across the fill (uint8 0/1)."""
    n, comp, stats, _ = cv2.connectedComponentsWithStats((mask >= 0.2).astype(np.uint8), connectivity=8)
    if n <= 2:
        return np.zeros(mask.shape, np.uint8)
    body = 1 + int(np.argmax(stats[1:, cv2.CC_STAT_AREA]))
    loose = ((comp > 0) & (comp != body)).astype(np.uint8)
    g = max(1, int(round(0.012 * max(mask.shape))))
    return cv2.dilate(loose, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * g + 1,) * 2)) & wide


def remove_person(img: np.ndarray, mask: np.ndarray, work_px: int = 480) -> np.ndarray:
    """The photo with the person removed (see the module doc). img BGR uint8, mask float HxW."""
    h, w = img.shape[:2]
    if not (mask >= 0.2).any():
        return img.copy()
    f = min(1.0, work_px / max(h, w))
    size = (max(1, int(round(w * f))), max(1, int(round(h * f))))
    small = cv2.resize(img, size, interpolation=cv2.INTER_AREA)
    small_mask = cv2.resize(np.asarray(mask, np.float32), size, interpolation=cv2.INTER_AREA)
    small_hole = halo_hole(small, small_mask)
    if small_hole.all():
        return np.full_like(img, 128)
    filled = fill_hole(small, small_hole)
    big = cv2.resize(filled, (w, h), interpolation=cv2.INTER_LINEAR)
    hole = cv2.resize(small_hole.astype(np.float32), (w, h), interpolation=cv2.INTER_LINEAR) > 0.01
    hole |= hole_mask(mask, 0.0, 1) > 0
    # the hole gets the whole fill; the seam is feathered outwards only, so no person pixel survives
    soft = np.maximum(cv2.GaussianBlur(hole.astype(np.float32), (0, 0), max(1.0, 0.5 / f)), hole)[..., None]
    out = img.astype(np.float32) * (1.0 - soft) + big * soft
    return np.clip(out + 0.5, 0, 255).astype(np.uint8)


def picture_background(path: str | Path, w: int, h: int) -> np.ndarray:
    """A picture file scaled to cover w x h (centre crop), BGR uint8."""
    from realtime.media import read_image

    pic = read_image(path)
    ph, pw = pic.shape[:2]
    s = max(w / pw, h / ph)
    size = (max(w, int(np.ceil(pw * s))), max(h, int(np.ceil(ph * s))))
    pic = cv2.resize(pic, size, interpolation=cv2.INTER_AREA if s < 1 else cv2.INTER_LINEAR)
    x0, y0 = (size[0] - w) // 2, (size[1] - h) // 2
    return np.ascontiguousarray(pic[y0:y0 + h, x0:x0 + w])


def is_picture(bg: object) -> bool:
    """Whether a background option names a picture file (anything with an image suffix)."""
    return isinstance(bg, str) and Path(bg).suffix.lower() in (".jpg", ".jpeg", ".png", ".bmp", ".webp", ".tif", ".tiff")


def make_background(img: np.ndarray, mask: np.ndarray, bg) -> np.ndarray:
    """The background for option ``bg`` (see WarpOptions.background), BGR uint8 HxW of the reference."""
    h, w = img.shape[:2]
    if bg == "transparent":
        return np.zeros((h, w, 3), np.uint8)
    if isinstance(bg, tuple) or bg in NAMED_COLOURS:
        colour = bg if isinstance(bg, tuple) else NAMED_COLOURS[bg]
        return np.broadcast_to(np.array(colour, np.uint8), (h, w, 3)).copy()
    if is_picture(bg):
        return picture_background(bg, w, h)
    clean = remove_person(img, mask)
    if bg == "blur":
        sigma = 0.02 * max(h, w)
        return cv2.GaussianBlur(clean, (0, 0), sigma)
    return clean
