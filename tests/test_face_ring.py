"""The head layer's mesh leaves room round a three-quarter face's far side (engines.warp.face
``_oval_ring``), on a synthetic oval (no MediaPipe)."""
import cv2
import numpy as np
import pytest

from engines.warp.face import _oval_ring


def test_ring_round_a_three_quarter_face_holds_its_far_side():
    """An oval whose far side (x > 0) lies at half the near side's radius, as a face turned to
    three-quarters has it on the cheek's outline: a point beyond that side, 1.4x as far from the
    oval's centre (the far lens of a pair of glasses), lies inside the ring (1.3x: outside)."""
    ang = np.linspace(0, 2 * np.pi, 36, endpoint=False)
    r = np.where(np.cos(ang) > 0, 0.5, 1.0) * 100.0
    oval = np.stack([r * np.cos(ang), r * np.sin(ang)], 1)
    ring = _oval_ring(oval).astype(np.float32)
    c = oval.mean(axis=0)
    lens = (float(c[0] + 1.4 * (oval[:, 0].max() - c[0])), float(c[1]))
    assert cv2.pointPolygonTest(ring, lens, False) > 0


def test_ring_of_a_round_face_is_its_oval_scaled():
    ang = np.linspace(0, 2 * np.pi, 36, endpoint=False)
    oval = 80.0 * np.stack([np.cos(ang), np.sin(ang)], 1) + (200.0, 150.0)
    ring = _oval_ring(oval)
    assert np.allclose(np.hypot(*(ring - (200.0, 150.0)).T), 1.3 * 80.0, rtol=0.01)


def test_ring_of_a_frontal_face_taller_than_wide_is_its_oval_scaled():
    """Left-right symmetric (a frontal face), 0.7 as wide as tall: nothing is widened."""
    ang = np.linspace(0, 2 * np.pi, 36, endpoint=False)
    oval = np.stack([70.0 * np.cos(ang), 100.0 * np.sin(ang)], 1) + (200.0, 150.0)
    ring = _oval_ring(oval)
    assert np.abs(ring[:, 0] - 200.0).max() == pytest.approx(1.3 * 70.0, rel=0.02)
