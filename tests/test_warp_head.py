"""The warp renderer's head follows the target's face points: a head turned or rolled in the target
comes out with the target's face-point directions (the bones of the bone-direction error), on the
drawn figure with a coloured marker on each face point (no MediaPipe: the markers are found by colour)."""
from dataclasses import replace

import cv2
import numpy as np
import pytest

from engines.warp.parts import HEAD_TURN_LIMIT, apply, head_anchors, part_transforms
from engines.warp.renderer import WarpRenderer
from realtime.app.demo.figure import draw_figure
from realtime.layouts import COCO17
from realtime.pose import Pose

IX = COCO17.index
MARKERS = {"nose": (0, 0, 255), "left_eye": (0, 255, 0), "right_eye": (255, 0, 0),
           "left_ear": (0, 255, 255), "right_ear": (255, 0, 255)}
HEAD_BONES = (("left_eye", "right_eye"), ("nose", "left_eye"), ("nose", "right_eye"), ("left_eye", "left_ear"),
              ("right_eye", "right_ear"), ("left_ear", "left_shoulder"), ("right_ear", "right_shoulder"))


@pytest.fixture(scope="module")
def marked():
    """The figure with a pure-colour disc on each face point, and a renderer prepared on it."""
    fig = draw_figure()
    img = fig.image.copy()
    for name, colour in MARKERS.items():
        x, y = fig.pose.xy[IX[name]]
        cv2.circle(img, (int(round(x)), int(round(y))), 3, colour, -1)
    r = WarpRenderer(face=False, hands=False, background="white")
    r.prepare(img, fig.pose, fig.mask)
    return fig, r


def found_markers(out: np.ndarray) -> dict[str, np.ndarray]:
    """Centroid (px) of each marker colour in a rendered image."""
    got = {}
    for name, colour in MARKERS.items():
        d = np.abs(out.astype(np.int32) - np.array(colour)).sum(axis=2)
        ys, xs = np.nonzero(d < 120)
        assert len(xs) >= 3, f"marker {name} not found"
        w = (120 - d[ys, xs]).astype(np.float64)
        got[name] = np.array([np.average(xs, weights=w), np.average(ys, weights=w)])
    return got


def head_moved(pose: Pose, roll_deg: float, turn: float) -> Pose:
    """The head rolled by ``roll_deg`` about the neck and turned: the nose and eyes shifted sideways
    against the ears by ``turn`` x the eye distance (the nose the most, as a head turning shows)."""
    xy = pose.xy.astype(np.float64).copy()
    neck = (xy[IX["left_shoulder"]] + xy[IX["right_shoulder"]]) / 2
    eye_d = float(np.linalg.norm(xy[IX["left_eye"]] - xy[IX["right_eye"]]))
    for name, k in (("nose", 1.0), ("left_eye", 0.6), ("right_eye", 0.6)):
        xy[IX[name], 0] += k * turn * eye_d
    a = np.radians(roll_deg)
    rot = np.array([[np.cos(a), -np.sin(a)], [np.sin(a), np.cos(a)]])
    for name in MARKERS:
        xy[IX[name]] = neck + rot @ (xy[IX[name]] - neck)
    return replace(pose, xy=xy.astype(np.float32))


def bone_errors(target: Pose, got: dict[str, np.ndarray]) -> dict[tuple[str, str], float]:
    """Angle (degrees) between each head bone of the target and the same bone through the markers
    (the shoulders: the target's, which the torso puts there exactly)."""
    pts = {n: target.xy[IX[n]].astype(np.float64) for n in ("left_shoulder", "right_shoulder")}
    pts.update(got)
    out = {}
    for a, b in HEAD_BONES:
        vt = (target.xy[IX[b]] - target.xy[IX[a]]).astype(np.float64)
        vf = pts[b] - pts[a]
        cos = vt @ vf / (np.linalg.norm(vt) * np.linalg.norm(vf))
        out[(a, b)] = float(np.degrees(np.arccos(np.clip(cos, -1, 1))))
    return out


@pytest.mark.parametrize("roll, turn", [(0.0, 0.25), (15.0, 0.0), (-12.0, -0.25), (20.0, 0.2)])
def test_head_turned_or_rolled_comes_out_with_the_targets_face_directions(marked, roll, turn):
    fig, r = marked
    target = head_moved(fig.pose, roll, turn)
    errors = bone_errors(target, found_markers(r.render(target)))
    assert max(errors.values()) < 4.0, errors
    # the head's similarity alone (the renderer before its face points followed) misses the turn
    if turn:
        m = part_transforms(r._ref_xy, r._ref_ok, target.xy.astype(np.float64), np.ones(17, bool), IX)["head"]
        rigid = {n: apply(m, fig.pose.xy[IX[n]])[0] for n in MARKERS}
        assert max(bone_errors(target, rigid).values()) > max(5.0, 2 * max(errors.values()))


def test_face_points_move_at_most_what_a_photo_can_bear(marked):
    fig, r = marked
    target = head_moved(fig.pose, 0.0, 3.0)          # the nose three eye distances sideways
    ok = np.ones(17, bool)
    m = part_transforms(r._ref_xy, r._ref_ok, target.xy.astype(np.float64), ok, IX)["head"]
    names = tuple(MARKERS)
    span = r._face_span
    got = head_anchors(r._ref_xy, target.xy.astype(np.float64), ok, IX, names, m, span)
    base = apply(m, r._ref_xy[[IX[n] for n in names]])
    scale = float(np.sqrt(abs(np.linalg.det(m[:, :2]))))
    moved = np.hypot(*(got - base).T)
    assert moved.max() <= HEAD_TURN_LIMIT * span * scale + 1e-6
    assert moved.max() > 0.5 * HEAD_TURN_LIMIT * span * scale    # it does move, as far as allowed
    out = r.render(target)                                        # and renders without tearing
    assert out.shape == fig.image.shape and np.isfinite(out).all()


def test_still_head_is_drawn_rigid(marked):
    """A target head the similarity already fits (the rest pose, shifted) is the rigid layer."""
    fig, r = marked
    shifted = fig.pose.transformed(1.0, (12.0, -7.0))
    got = found_markers(r.render(shifted))
    for name in MARKERS:
        np.testing.assert_allclose(got[name], shifted.xy[IX[name]], atol=1.0)


def test_with_a_face_mesh_the_mesh_places_the_nose_and_eyes_and_the_ears_are_vertices():
    """Beside a Face Mesh (with an expression), the face inside the oval is where the mesh (the
    driver's expression and roll) puts it: the pose's nose and eyes do not pull it (they did, and the
    re-read head roll on webcam_talking went 0.3 -> 6.3 degrees off); the smooth field moves the ears
    (outside the oval: vertices) to the target's; the ring stays with the head."""
    from realtime.face import N_LANDMARKS, Expression
    import engines.warp.face as fmod
    from tests.test_presenter import synthetic_face

    face = synthetic_face(4)          # face width 200 px, centred at (320, 240)
    anchors = {"nose": np.array([320.0, 300.0]), "left_eye": np.array([375.0, 240.0]),
               "right_eye": np.array([265.0, 240.0]), "left_ear": np.array([440.0, 270.0]),
               "right_ear": np.array([200.0, 270.0])}
    rig = fmod.FaceRig(face, anchors)
    assert list(rig.inner) == [True, True, True, False, False]
    shift = np.array([12.0, 0.0])
    moved = np.array([anchors[n] + (shift if n in ("nose", "left_eye", "right_eye") else -0.5 * shift)
                      for n in rig.anchor_names])
    patch = np.dstack([np.full((480, 640, 3), 128, np.uint8), np.full((480, 640), 255, np.uint8)])
    seen = {}
    orig = fmod.warp_with_mesh
    fmod.warp_with_mesh = lambda patch, origin, rigid, src, dst, tri, size, **kw: seen.update(dst=dst)
    try:
        rig.draw(patch, (0, 0), np.array([[1.0, 0, 0], [0, 1.0, 0]]), Expression(np.zeros((N_LANDMARKS, 2))),
                 (640, 480), moved)
    finally:
        fmod.warp_with_mesh = orig
    dst, n = seen["dst"], N_LANDMARKS
    carried = rig.anchors[:3] + np.einsum("ak,akd->ad", rig.near_w, (dst[:n] - face.xy)[rig.near])
    np.testing.assert_allclose(carried, rig.anchors[:3], atol=1.5)           # the mesh's (not the 12 px)
    np.testing.assert_allclose(dst[n:n + 2], moved[3:], atol=1e-6)           # the ears: vertices
    np.testing.assert_allclose(dst[n + 2:], rig.ring, atol=1e-9)             # the ring: the head's


def render_marked(marks: dict, bottom: int | None, roll_deg: float, radius: int = 3):
    """The figure (cut at ``bottom``, or whole) with coloured ``marks`` {name: ((x, y), bgr)}, its head
    rolled ``roll_deg``: (output BGRA, part transforms, {name: where each mark is drawn})."""
    fig = draw_figure()
    bottom = bottom or fig.image.shape[0]
    img = fig.image[:bottom].copy()
    for (x, y), colour in marks.values():
        cv2.circle(img, (x, y), radius, colour, -1)
    pose = replace(fig.pose, height=bottom)
    r = WarpRenderer(face=False, hands=False, background="transparent", alpha=True)
    r.prepare(img, pose, fig.mask[:bottom])
    target = head_moved(pose, roll_deg, 0.0)
    out = r.render(target)
    got = {}
    for name, (_, colour) in marks.items():
        d = np.abs(out[..., :3].astype(np.int32) - np.array(colour)).sum(axis=2)
        ys, xs = np.nonzero((d < 120) & (out[..., 3] > 200))
        assert len(xs) >= 3, f"mark {name} not found"
        got[name] = np.array([xs.mean(), ys.mean()])
    return out, r.transforms(target), got


def test_a_rolled_head_leaves_the_collar_with_the_torso_and_the_neck_whole():
    """The head layer's neck is skinned to the torso (engines.warp.skin._neck_skin): on the figure cut
    at the chest (a webcam's framing) with the head rolled 25 degrees, a mark on the collar below the
    neck stays where the torso puts it (the head layer's neck disc dragged it round with the head,
    and MediaPipe read the shoulders high), a mark on the chin goes with the head, and the neck
    between them has no hole."""
    marks = {"collar": ((240, 206), (0, 255, 0)), "chin": ((240, 147), (0, 0, 255))}
    # cut at the chest: hips and legs out of the picture
    out, mats, got = render_marked(marks, 300, 25.0)
    want = {"collar": apply(mats["torso"], np.array(marks["collar"][0], np.float64))[0],
            "chin": apply(mats["head"], np.array(marks["chin"][0], np.float64))[0]}
    assert np.linalg.norm(got["collar"] - want["collar"]) < 2.0, (got, want)
    assert np.linalg.norm(got["chin"] - want["chin"]) < 2.0, (got, want)
    # no hole: opaque along the neck, from the collar mark to the chin mark, and 8 px to either side;
    # the neck bends over its length (skin.NECK_TOP), so its axis is followed from the torso's place
    # of each point between the marks to the head's
    c0, c1 = (np.array(marks[n][0], np.float64) for n in ("collar", "chin"))
    fs = np.linspace(0.0, 1.0, 41)
    axis = np.array([(1 - f) * apply(mats["torso"], c0 + f * (c1 - c0))[0] + f * apply(mats["head"], c0 + f * (c1 - c0))[0]
                     for f in fs])
    for k in range(len(fs) - 1):
        d = axis[k + 1] - axis[k]
        across = np.array([-d[1], d[0]]) / np.linalg.norm(d)
        for off in (-8.0, 0.0, 8.0):
            x, y = axis[k] + off * across
            assert out[int(round(y)), int(round(x)), 3] > 240, (off, fs[k], x, y)


@pytest.mark.parametrize("roll,face_points", [(5.0, True), (70.0, True), (70.0, False)])
def test_a_slightly_or_wildly_rolled_head_is_drawn_rigid_with_its_collar(roll, face_points):
    """Under skin.NECK_ROLL's 10 degrees the head layer's neck is not skinned: the whole layer moves
    with the head, as without the neck skin (a 3-5 degree roll sheared the hair and hood beside the
    neck into spikes next to a hand held at the chin, and MediaPipe misread the hands there); nor
    past NECK_ROLL_MAX's 60 (a head that far off the torso is a bent-over body drawn from an upright
    photo: the sheared neck made basketball_dribble's shoulders read turned, bone 19.5 -> 27.3)."""
    fig = draw_figure()
    bottom = 300
    img = fig.image[:bottom].copy()
    pose = replace(fig.pose, height=bottom)
    r = WarpRenderer(face=False, hands=False, background="transparent", alpha=True)
    r.prepare(img, pose, fig.mask[:bottom])
    assert "head" in r._skins
    if not face_points:   # as a photo without two face points: no head rig, the neck skinned the same way
        r._head = None
    target = head_moved(pose, roll, 0.0)
    got = r.render(target)
    r._skins.pop("head")
    want = r.render(target)
    assert np.array_equal(got, want)


def test_the_shoulders_top_beside_the_neck_stays_with_the_torso_under_a_rigid_head():
    """The head's capsule took the shoulders' top beside the neck (a tank top's strap tops): under a
    slight roll (rigid head, skin.NECK_ROLL) they moved with the head, a crack opened at the strap
    and MediaPipe read the shoulder low (webcam_talking frames 120-136). engines.warp.collar gives
    them to the torso layer: on the figure cut at the chest, marks on both shoulders' top stay where
    the torso puts them, a mark on the chin still goes with the head."""
    from engines.warp.layers import build_layers

    fig = draw_figure()
    bottom = 300
    img = fig.image[:bottom].copy()
    marks = {"right_top": ((205, 173), (0, 255, 0)), "left_top": ((275, 175), (255, 0, 0)),
             "chin": ((240, 147), (0, 0, 255))}
    for (x, y), colour in marks.values():
        cv2.circle(img, (x, y), 3, colour, -1)
    layers, _, _ = build_layers(img, fig.mask[:bottom], fig.pose.xy.astype(np.float64), np.ones(17, bool), 3)
    head = next(layer for layer in layers if layer.name == "head")
    for name in ("right_top", "left_top"):
        x, y = marks[name][0]
        assert head.patch[y - head.origin[1], x - head.origin[0], 3] < 128, name
    pose = replace(fig.pose, height=bottom)
    r = WarpRenderer(face=False, hands=False, background="transparent", alpha=True)
    r.prepare(img, pose, fig.mask[:bottom])
    target = head_moved(pose, 6.0, 0.0)
    out = r.render(target)
    mats = r.transforms(target)
    for name, ((x, y), colour) in marks.items():
        d = np.abs(out[..., :3].astype(np.int32) - np.array(colour)).sum(axis=2)
        ys, xs = np.nonzero((d < 120) & (out[..., 3] > 200))
        assert len(xs) >= 3, f"mark {name} not found"
        want = apply(mats["head" if name == "chin" else "torso"], np.array([x, y], np.float64))[0]
        assert np.linalg.norm(np.array([xs.mean(), ys.mean()]) - want) < 1.5, (name, xs.mean(), ys.mean(), want)


@pytest.mark.parametrize("cut", [True, False])
def test_a_rolled_head_bends_the_neck_along_its_length_not_only_at_its_base(cut):
    """A head rolled 30 degrees off the torso (skin.NECK_ROLL's band) bends the neck up to the jaw,
    as a neck flexes over its whole length: a mark on the neck a third of the way from the
    shoulders' line to the chin is drawn well off where the rigid head puts it, towards the torso's
    (with the neck following the head from 0.3 of the neck-to-face distance on, that mark moved
    with the head: the neck's lower third sheared, and on webcam_talking's right tilts MediaPipe
    read the face 25 px to the side and the leaning-in shoulder 22 px inward, AKD@256 5.9 on those
    frames); the chin still goes with the head. A full-length photo keeps the shorter bend
    (skin.NECK_TOP: a head far off its torso there is mostly a bent-over body)."""
    marks = {"neck": ((240, 171), (0, 255, 0)), "chin": ((240, 147), (0, 0, 255))}
    _, mats, got = render_marked(marks, 300 if cut else None, 30.0, radius=2)
    at = {part: apply(mats[part], np.array(marks["neck"][0], np.float64))[0] for part in ("head", "torso")}
    span = float(np.linalg.norm(at["torso"] - at["head"]))          # ~10 px apart under the roll
    towards = float((got["neck"] - at["head"]) @ (at["torso"] - at["head"])) / span
    assert (towards > 0.3 * span) == cut, (got["neck"], at)
    chin = apply(mats["head"], np.array(marks["chin"][0], np.float64))[0]
    assert np.linalg.norm(got["chin"] - chin) < 2.0, (got["chin"], chin)
