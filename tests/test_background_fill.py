"""The background fill on a synthetic scene: a figure with a colour halo and a contact shadow, in
front of a textured (striped, floor-plank-like) background. The person's halo and shadow go with it,
the true texture beside the body stays, and nothing body-shaped is left behind."""
from __future__ import annotations

import cv2
import numpy as np
import pytest

from engines.warp.background import halo_hole, hole_mask, remove_person
from realtime.app.demo.figure import HEIGHT, KEYPOINTS, WIDTH, draw_figure


@pytest.fixture(scope="module")
def scene():
    """(image, person mask, clean background, halo ring, shadow region) of the figure on stripes."""
    fig = draw_figure()
    ys, xs = np.mgrid[0:HEIGHT, 0:WIDTH].astype(np.float32)
    stripes = 0.5 + 0.5 * np.sin((xs + 0.4 * ys) * 2 * np.pi / 14.0)     # planks, slanted
    clean = (np.array([150, 175, 200], np.float32) + 45 * stripes[..., None]).astype(np.float32)
    person = (fig.mask > 0.5).astype(np.uint8)
    # the halo: the figure's colours bled 3 px into the background (a matting edge)
    near = cv2.dilate(person, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (7, 7))) > 0
    halo = near & (person == 0)
    bleed = cv2.dilate(fig.image, np.ones((7, 7), np.uint8)).astype(np.float32) * 0 + \
        cv2.blur(np.where(person[..., None] > 0, fig.image, 0).astype(np.float32), (9, 9)) / \
        np.maximum(cv2.blur(person.astype(np.float32), (9, 9)), 1e-3)[..., None]
    img = clean.copy()
    img[halo] = 0.45 * bleed[halo] + 0.55 * clean[halo]
    # a contact shadow under each shoe: 40 % darker than the floor, up to 6 px beyond the shoe
    shoes = person.copy()
    shoes[: int(KEYPOINTS["left_ankle"][1])] = 0
    shadow = (cv2.dilate(shoes, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (13, 13))) > 0) & (person == 0)
    img[shadow] *= 0.6
    img = np.where(person[..., None] > 0, fig.image.astype(np.float32), img)
    return np.clip(img + 0.5, 0, 255).astype(np.uint8), fig.mask, clean, halo, shadow


def _err(a: np.ndarray, b: np.ndarray, where: np.ndarray) -> float:
    return float(np.abs(a[where].astype(np.float32) - b[where].astype(np.float32)).mean() / 255.0)


def test_halo_and_shadow_are_taken_with_the_person(scene):
    img, mask, clean, halo, shadow = scene
    hole = halo_hole(img, mask) > 0
    assert hole[mask > 0.5].all()
    assert hole[halo].mean() > 0.9, "the halo ring is left in the photo: a body-shaped outline"
    assert hole[shadow].mean() > 0.9, "the contact shadow is left in the photo"


def test_true_texture_beside_the_body_is_kept(scene):
    """Beyond the halo the stripes are the photo's own pixels, not a smooth fill (the old fixed
    1.2 % margin replaced them)."""
    img, mask, clean, halo, shadow = scene
    person = (mask > 0.5).astype(np.uint8)
    ring = (cv2.dilate(person, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (21, 21))) > 0) & \
        ~(cv2.dilate(person, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (11, 11))) > 0) & ~shadow
    assert hole_mask(mask)[ring].mean() > 0.3          # the old margin covered much of this ring
    bg = remove_person(img, mask)
    assert _err(bg, clean, ring) < 0.02, _err(bg, clean, ring)


def test_no_body_shaped_ghost_on_texture(scene):
    img, mask, clean, halo, shadow = scene
    bg = remove_person(img, mask)
    person = mask > 0.5
    # the smooth fill misses the stripes by ~0.1; the halo and the shadow missed them by far more
    assert _err(bg, clean, halo) < 0.6 * _err(img, clean, halo), "the halo survives as an outline"
    assert _err(bg, clean, shadow) < 0.4 * _err(img, clean, shadow), "the shadow survives"
    # inside the body: no figure colours (shirt blue, trousers dark) survive in the fill
    assert _err(bg, clean, person) < 0.12
    fill = bg[person].astype(np.float32)
    assert fill.mean(axis=0).min() > 140, "dark body colours smeared into the fill"
