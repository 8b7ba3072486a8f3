"""The head layer's mesh never draws a triangle turned over, and its ring leaves room round a
three-quarter face's far side (engines.warp.face: ``unfolded``, ``_oval_ring``), on synthetic
meshes (no MediaPipe)."""
import cv2
import numpy as np

import engines.warp.face as face_mod
from engines.warp.face import FaceRig, _oval_ring, _signed_areas, unfolded

ANCHORS = {"nose": (200.0, 220.0), "left_eye": (225.0, 195.0), "right_eye": (175.0, 195.0),
           "left_ear": (250.0, 205.0), "right_ear": (140.0, 205.0)}


def _turned_over(src, dst, tri):
    return int((np.sign(_signed_areas(src, tri)) != np.sign(_signed_areas(dst, tri))).sum())


def test_a_head_turn_that_folds_the_mesh_draws_it_unfolded(monkeypatch):
    """The far ear pulled across the eye (a turn past what the photo shows): the mesh's
    destinations passed to the warp turn no triangle over; those far from the ear keep their move."""
    rig = FaceRig(None, ANCHORS)
    got = {}

    def capture(patch, origin, rigid, src, dst, tri, *a, **kw):
        got.update(src=src, dst=dst, tri=tri)
        return None

    monkeypatch.setattr(face_mod, "warp_with_mesh", capture)
    head = np.array([[1.0, 0.0, 5.0], [0.0, 1.0, -3.0]])
    target = np.array([ANCHORS[n] for n in rig.anchor_names]) + (5.0, -3.0)
    target[rig.anchor_names.index("left_ear")] += (-60.0, 4.0)
    patch = np.zeros((400, 400, 4), np.uint8)
    rig.draw(patch, (0, 0), head, None, (640, 480), anchors=target)
    assert _turned_over(got["src"], got["dst"], got["tri"]) == 0
    # the right ear, far from the fold, still goes where the target has it
    k = int(np.argmin(np.hypot(*(got["src"] - ANCHORS["right_ear"]).T)))
    assert np.allclose(got["dst"][k], target[rig.anchor_names.index("right_ear")], atol=1.0)


def test_unfolded_leaves_free_triangles_and_unfolded_meshes_alone():
    src = np.array([[0.0, 0.0], [10.0, 0.0], [0.0, 10.0], [10.0, 10.0]])
    tri = np.array([[0, 1, 2], [1, 3, 2]])
    dst = src + 1.0
    assert np.array_equal(unfolded(src, dst, src, tri), dst)
    folded = dst.copy()
    folded[3] = (-5.0, -5.0)          # past the diagonal: the second triangle turns over
    assert _turned_over(src, folded, tri) == 1
    assert _turned_over(src, unfolded(src, folded, src, tri), tri) == 0
    free = np.array([False, False, False, True])
    assert np.array_equal(unfolded(src, folded, src, tri, free), folded)


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
