"""The warp renderer's defects, each on a synthetic figure: no ghost of the old body, nothing left at
a moved limb's rest position, stray mask pieces dropped, a skirt that follows both thighs, an arm
pointing at the camera that keeps its direction, and the background choices."""
from __future__ import annotations

from dataclasses import replace

import cv2
import numpy as np
import pytest

from engines.evaluation import ghost_region
from engines.renderer import create_renderer
from engines.warp.background import make_background, remove_person
from engines.warp.foreshortening import LimbDirections
from realtime.app.demo.figure import draw_figure
from realtime.errors import InputError
from realtime.layouts import COCO17
from realtime.pose import Pose

IX = COCO17.index
RED = (40, 40, 200)


@pytest.fixture(scope="module")
def figure():
    return draw_figure()


def prepared(figure, image=None, mask=None, **options):
    r = create_renderer("warp", **{"background": "black", **options})
    r.prepare(figure.image if image is None else image, figure.pose, figure.mask if mask is None else mask)
    return r


def moved(pose: Pose, centre: str, names: tuple[str, ...], deg: float) -> Pose:
    xy = pose.xy.astype(np.float64).copy()
    c = xy[IX[centre]].copy()
    a = np.radians(deg)
    rot = np.array([[np.cos(a), -np.sin(a)], [np.sin(a), np.cos(a)]])
    for n in names:
        xy[IX[n]] = c + rot @ (xy[IX[n]] - c)
    return replace(pose, xy=xy.astype(np.float32))


def test_no_pixels_left_at_a_moved_limbs_rest_position(figure):
    r = prepared(figure)
    up = moved(figure.pose, "left_shoulder", ("left_elbow", "left_wrist"), -150)  # the arm raised overhead
    out = r.render(up)
    el, wr = figure.pose.xy[IX["left_elbow"]], figure.pose.xy[IX["left_wrist"]]
    hand = wr + 0.3 * (wr - el)
    for f in np.linspace(0.0, 1.0, 9):
        x, y = np.round(el + f * (hand - el)).astype(int)
        assert out[y - 3:y + 4, x - 3:x + 4].max() <= 12, f"arm pixels left at {x},{y}"
    for mode in ("seams", "rigid"):   # the elbow's rest place too, whatever the blend
        o = prepared(figure, blend=mode).render(up)
        x, y = np.round(el).astype(int)
        assert o[y - 3:y + 4, x - 3:x + 4].max() <= 12, mode


def test_detached_mask_pieces_are_dropped(figure):
    mask = figure.mask.copy()
    img = figure.image.copy()
    cv2.circle(mask, (50, 600), 10, 1.0, -1)           # a blob far from every bone
    cv2.circle(img, (50, 600), 10, (0, 255, 255), -1)
    r = prepared(figure, image=img, mask=mask)
    out = r.render(figure.pose)
    assert out[595:606, 45:56].max() <= 12               # not drawn as part of the person
    bg = remove_person(img, mask)
    assert np.abs(bg[595:606, 45:56].astype(int) - img[595:606, 30:41].astype(int)).mean() < 40


def skirt_figure(figure):
    """The figure in a red skirt from the hips to below the knees, filling the space between the legs."""
    k = {n: figure.pose.xy[IX[n]] for n in COCO17.names}
    top_l, top_r = k["left_hip"] + (28, -10), k["right_hip"] + (-28, -10)
    hem_l, hem_r = k["left_knee"] + (40, 30), k["right_knee"] + (-40, 30)
    poly = np.round(np.array([top_r, top_l, hem_l, hem_r])).astype(np.int32)
    img, mask = figure.image.copy(), figure.mask.copy()
    cv2.fillConvexPoly(img, poly, RED, lineType=cv2.LINE_AA)
    cv2.fillConvexPoly(mask, poly, 1.0)
    return img, mask


def test_skirt_follows_both_thighs(figure):
    img, mask = skirt_figure(figure)
    spread = moved(figure.pose, "left_hip", ("left_knee", "left_ankle"), -22)
    spread = moved(spread, "right_hip", ("right_knee", "right_ankle"), 22)
    lk, rk = spread.xy[IX["left_knee"]], spread.xy[IX["right_knee"]]
    hips = (spread.xy[IX["left_hip"]] + spread.xy[IX["right_hip"]]) / 2
    # points on the body's middle line between the crotch and the knees: skirt, not a gap
    probes = [np.round(hips + f * ((lk + rk) / 2 - hips)).astype(int) for f in (0.45, 0.6, 0.75)]

    def reddish(out):
        return [float(out[y - 2:y + 3, x - 2:x + 3, 2].mean()) - float(out[y - 2:y + 3, x - 2:x + 3, :2].mean())
                for x, y in probes]

    out = prepared(figure, image=img, mask=mask).render(spread)
    assert min(reddish(out)) > 80, reddish(out)
    rigid = prepared(figure, image=img, mask=mask, blend="rigid").render(spread)
    assert min(reddish(rigid)) < 40, "the rigid blend was expected to split the skirt"


def test_trousers_do_not_turn_into_a_skirt(figure):
    from engines.warp.skin import covers_between_thighs

    r = prepared(figure)
    assert not covers_between_thighs(figure.mask, *_segs_radius(r, figure))


def _segs_radius(r, figure):
    from engines.warp.layers import build_layers

    _, segs, radius = build_layers(figure.image, figure.mask, figure.pose.xy.astype(np.float64),
                                   np.ones(17, bool), 3)
    return segs, radius


def forearm_at_camera(pose: Pose, flipped: bool) -> Pose:
    """The left forearm pointing at the camera: 2-D length 10 % of rest, the wrist much nearer (z);
    with ``flipped`` its short 2-D direction points back up the arm (estimator noise)."""
    xy = pose.xy.copy()
    z = np.zeros(17, np.float32) if pose.z is None else pose.z.copy()
    el, wr = xy[IX["left_elbow"]], xy[IX["left_wrist"]]
    v = 0.1 * (wr - el)
    xy[IX["left_wrist"]] = el - v if flipped else el + v
    z[IX["left_wrist"]] = z[IX["left_elbow"]] - 90.0
    return replace(pose, xy=xy, z=z)


def test_arm_pointing_at_camera_keeps_its_direction(figure):
    ref = figure.pose
    dirs = LimbDirections(ref.xy.astype(np.float64), np.ones(17, bool), IX)
    ok = np.ones(17, bool)
    dirs(ref.xy, ok, ref.z)                                  # a confident frame: the arm hangs down
    short = forearm_at_camera(ref, flipped=True)
    xy = dirs(short.xy, ok, short.z)
    el = xy[IX["left_elbow"]]
    v_rest = ref.xy[IX["left_wrist"]] - ref.xy[IX["left_elbow"]]
    v_now = xy[IX["left_wrist"]] - el
    cos = float(v_now @ v_rest) / (np.linalg.norm(v_now) * np.linalg.norm(v_rest))
    assert cos > 0.99                                        # pointing where it pointed, not flipped
    assert np.linalg.norm(v_now) == pytest.approx(0.1 * np.linalg.norm(v_rest), rel=1e-3)  # and short

    # through the renderer: after a confident frame the flipped short forearm is drawn unflipped
    r = prepared(figure)
    r.render(ref)
    out = r.render(short)
    want = prepared(figure).render(forearm_at_camera(ref, flipped=False))
    naive = prepared(figure).render(short)                   # no memory: drawn as measured
    assert np.abs(out.astype(int) - want.astype(int)).mean() < np.abs(naive.astype(int) - want.astype(int)).mean()
    assert np.abs(out.astype(int) - want.astype(int)).max() <= 2


def test_a_limb_that_stays_turned_round_is_followed(figure):
    ref = figure.pose
    dirs = LimbDirections(ref.xy.astype(np.float64), np.ones(17, bool), IX)
    ok = np.ones(17, bool)
    dirs(ref.xy, ok, ref.z)
    short = forearm_at_camera(ref, flipped=True)
    outs = [dirs(short.xy, ok, short.z) for _ in range(8)]
    np.testing.assert_allclose(outs[-1], short.xy, atol=1e-4)


def test_a_limb_swung_through_the_camera_axis_is_followed(figure):
    """A forearm already short (a third of its rest length, pointing up) that swings over the
    camera's line to point down between two frames is drawn pointing down at once, not held up."""
    ref = figure.pose
    dirs = LimbDirections(ref.xy.astype(np.float64), np.ones(17, bool), IX)
    ok = np.ones(17, bool)
    el = ref.xy[IX["left_elbow"]].astype(np.float64)
    rest = ref.xy[IX["left_wrist"]] - el
    for f in (-0.7, -0.32, 0.15):                       # up, nearly at the camera, then down
        xy = ref.xy.astype(np.float64).copy()
        xy[IX["left_wrist"]] = el + f * rest
        got = dirs(xy, ok)
    v = got[IX["left_wrist"]] - got[IX["left_elbow"]]
    assert float(v @ rest) / (np.linalg.norm(v) * np.linalg.norm(rest)) > 0.999


FOLDED = {"right_elbow": (165, 300), "right_wrist": (250, 235), "left_elbow": (315, 300), "left_wrist": (232, 250)}


def test_forearms_folded_across_the_chest_unfold_cleanly():
    """Forearms folded across the chest in the reference, hands under the chin: brought down, they
    take their hands along (nothing of them is left on the chest, in the head's neck disc or the
    upper arms'), and the chest they hid shows shirt."""
    from realtime.app.demo.figure import reference_pose

    fig = draw_figure(FOLDED)
    r = create_renderer("warp", background="black", face=False, hands=False)
    r.prepare(fig.image, reference_pose(FOLDED), fig.mask)
    out = r.render(reference_pose())

    def skin(img, x0, y0, x1, y1):
        p = img[y0:y1, x0:x1].astype(int)
        return float(((p[..., 2] > 170) & (p[..., 1] > 140)).mean())

    for box in ((215, 200, 265, 245), (200, 215, 280, 265), (190, 220, 230, 250)):
        assert skin(fig.image, *box) > 0.4                  # the hands were there
        assert skin(out, *box) < 0.06, box                  # (a crossed-arm render left 0.2-0.46)
    shirt = out[215:260, 200:280].reshape(-1, 3).astype(int)
    assert np.median(shirt[:, 0]) > 100 and np.median(shirt[:, 2]) < 90   # blue shirt, not background


def test_a_shortened_forearm_keeps_its_hands_length(figure):
    """A forearm at 0.4 of its rest length (pointing at the camera) is drawn short, but its hand
    keeps its length, turned with the forearm and starting at the target wrist."""
    from engines.warp.foreshortening import extremity_transform
    from engines.warp.parts import apply, limb_transform

    ref = figure.pose.xy.astype(np.float64)
    el, wr = ref[IX["left_elbow"]], ref[IX["left_wrist"]]
    v = wr - el
    wr_t = el + 0.4 * v
    own = limb_transform(el, wr, el, wr_t)
    hand = extremity_transform("left_forearm", own, ref, IX)
    np.testing.assert_allclose(apply(hand, wr)[0], wr_t, atol=1e-9)            # starts at the wrist
    np.testing.assert_allclose(apply(hand, wr + v)[0] - wr_t, v, atol=1e-9)    # at its own length
    assert extremity_transform("left_forearm", limb_transform(el, wr, el, el + 0.95 * v), ref, IX) is None
    # a limb scaled evenly (a leg at rest under placed hips) is not shortened: drawn whole
    even = np.hstack([0.5 * np.eye(2), np.zeros((2, 1))])
    assert extremity_transform("left_forearm", even, ref, IX) is None
    # a forearm foreshortened in the photo, drawn 1.6 times as long: its hand keeps its length too
    long = limb_transform(el, wr, el, el + 1.6 * v)
    hand = extremity_transform("left_forearm", long, ref, IX)
    np.testing.assert_allclose(apply(hand, wr)[0], el + 1.6 * v, atol=1e-9)
    np.testing.assert_allclose(apply(hand, wr + v)[0] - (el + 1.6 * v), v, atol=1e-9)
    assert extremity_transform("left_forearm", limb_transform(el, wr, el, el + 1.05 * v), ref, IX) is None

    xy = figure.pose.xy.copy()
    xy[IX["left_wrist"]] = wr_t
    out = prepared(figure, face=False, hands=False).render(replace(figure.pose, xy=xy))
    x, y = np.round(wr_t + 0.27 * v).astype(int)          # mid-hand; a squashed hand ends before it
    p = out[y - 1:y + 2, x - 1:x + 2].reshape(-1, 3).astype(int).mean(0)
    assert p[2] > 150 and p[1] > 120, p                   # skin, not the black background


def test_a_hand_takes_only_part_of_a_short_forearms_turn(figure):
    """A forearm laid towards the camera (on a desk) is short in 2-D, and its 2-D turn says little
    of the hand's: turned 30 degrees at HAND_TURN_FROM of its length or less, the hand keeps the
    photo's orientation; half-way to HAND_KEEP, half the turn; near HAND_KEEP nearly all of it (the
    whole layer, drawn from there on, turns with the forearm: no jump). Turned with the whole
    forearm, presenter_desk's clasped hands were drawn 30 degrees down on the desk, and MediaPipe
    read the left wrist 17 px (at 256) short of where the real hand put it."""
    from engines.warp.foreshortening import HAND_KEEP, HAND_TURN_FROM, extremity_transform
    from engines.warp.parts import apply, limb_transform

    ref = figure.pose.xy.astype(np.float64)
    el, wr = ref[IX["left_elbow"]], ref[IX["left_wrist"]]
    v = wr - el
    a = np.radians(30)
    turned = np.array([[np.cos(a), -np.sin(a)], [np.sin(a), np.cos(a)]]) @ v

    def hand_angle(share: float) -> float:
        wr_t = el + share * turned
        hand = extremity_transform("left_forearm", limb_transform(el, wr, el, wr_t), ref, IX)
        np.testing.assert_allclose(apply(hand, wr)[0], wr_t, atol=1e-9)          # starts at the wrist
        d = apply(hand, wr + v)[0] - wr_t
        np.testing.assert_allclose(np.hypot(*d), np.hypot(*v), rtol=1e-9)         # at its own length
        return float(np.degrees(np.arctan2(v[0] * d[1] - v[1] * d[0], v @ d)))

    assert abs(hand_angle(HAND_TURN_FROM - 0.05)) < 1e-6
    assert hand_angle((HAND_TURN_FROM + HAND_KEEP) / 2) == pytest.approx(15.0, abs=1e-6)
    assert hand_angle(HAND_KEEP - 0.005) == pytest.approx(30.0, abs=0.5)
    assert hand_angle(1.6) == pytest.approx(30.0, abs=1e-6)    # drawn long: the whole turn, as before


def test_a_shin_hanging_under_a_lifted_knee_keeps_its_length_and_its_foot(figure):
    """A knee lifted at the camera: the shin at 0.4 of its rest length in 2-D (the lower leg hanging
    back). It is drawn at no less than parts.SHIN_MIN_SCALE of its length, and the foot below it at
    its own length, upright as in the photo: squashed with the shin, the leg ended at the real
    shin's middle and the estimator read the knee raised to the side (pose_1, 28 frames)."""
    from engines.warp.foreshortening import extremity_transform
    from engines.warp.parts import SHIN_MIN_SCALE, apply, part_transforms

    ref = figure.pose.xy.astype(np.float64)
    kn, an = ref[IX["left_knee"]], ref[IX["left_ankle"]]
    v = an - kn
    xy = ref.copy()
    xy[IX["left_ankle"]] = kn + 0.4 * v
    ok = np.ones(len(ref), bool)
    mats = part_transforms(ref, ok, xy, ok, IX)
    np.testing.assert_allclose(apply(mats["left_shin"], an)[0], kn + SHIN_MIN_SCALE * v, atol=1e-9)
    np.testing.assert_allclose(apply(mats["left_thigh"], kn)[0], kn, atol=1e-9)     # the thigh as before
    foot = extremity_transform("left_shin", mats["left_shin"], ref, IX)
    np.testing.assert_allclose(apply(foot, an)[0], kn + SHIN_MIN_SCALE * v, atol=1e-9)   # at the ankle
    np.testing.assert_allclose(apply(foot, an + (14, 30))[0] - apply(foot, an)[0], (14, 30), atol=1e-9)
    # the short shin turned 30 degrees: the foot keeps the photo's orientation (it hangs, it is not
    # turned diagonal by the knee's offset)
    a = np.radians(30)
    rot = np.array([[np.cos(a), -np.sin(a)], [np.sin(a), np.cos(a)]])
    xy[IX["left_ankle"]] = kn + 0.4 * rot @ v
    turned = part_transforms(ref, ok, xy, ok, IX)["left_shin"]
    foot = extremity_transform("left_shin", turned, ref, IX)
    np.testing.assert_allclose(foot[:, :2], np.eye(2), atol=1e-9)
    np.testing.assert_allclose(apply(foot, an)[0], kn + SHIN_MIN_SCALE * rot @ v, atol=1e-9)
    xy[IX["left_ankle"]] = kn + 0.4 * v

    out = prepared(figure, background="white", face=False, hands=False).render(
        replace(figure.pose, xy=xy.astype(np.float32)))
    ankle = kn + SHIN_MIN_SCALE * v
    for point in (ankle + (12, 24), kn + 0.55 * v):   # the shoe's toe; the shin below the 0.4 point
        x, y = np.round(point).astype(int)           # (a squashed leg ends above both: white there)
        p = out[y - 1:y + 2, x - 1:x + 2].reshape(-1, 3).astype(int).mean(0)
        assert p.max() < 110, (point, p)             # shoe or trousers, not the white background


def lifted_knee_figure() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(image, mask, COCO-17 xy) of a figure whose right thigh points at the camera (short and wide
    in the picture) over a thin shin whose keypoints run along its inner side (as MediaPipe put
    them on pose_1's first frame): the trousers reach 13 px out from the shin's bone, 4 px in."""
    pts = {"left_shoulder": (120, 60), "right_shoulder": (80, 60), "left_hip": (115, 130), "right_hip": (85, 130),
           "left_elbow": (150, 60), "left_wrist": (180, 60), "right_elbow": (50, 60), "right_wrist": (20, 60),
           "left_knee": (117, 190), "left_ankle": (117, 250), "right_knee": (85, 152), "right_ankle": (80, 222),
           "nose": (100, 35), "left_eye": (105, 30), "right_eye": (95, 30), "left_ear": (110, 32), "right_ear": (90, 32)}
    mask = np.zeros((300, 200), np.uint8)
    cv2.fillConvexPoly(mask, np.array([pts[n] for n in ("left_shoulder", "right_shoulder", "right_hip", "left_hip")],
                                      np.int32), 1)
    cv2.circle(mask, (100, 32), 16, 1, -1)
    for a, b, width in (("left_shoulder", "left_wrist", 12), ("right_shoulder", "right_wrist", 12),
                        ("left_hip", "left_knee", 22), ("left_knee", "left_ankle", 16)):
        cv2.line(mask, pts[a], pts[b], 1, width)
    cv2.ellipse(mask, (82, 142), (19, 17), 0, 0, 360, 1, -1)
    (kx, ky), (ax, ay) = pts["right_knee"], pts["right_ankle"]
    cv2.fillConvexPoly(mask, np.array([(kx - 14, ky), (kx + 4, ky), (ax + 4, ay), (ax - 13, ay)], np.int32), 1)
    img = np.where(mask[..., None] > 0, np.uint8(60), np.uint8(230)).repeat(3, axis=2)
    xy = np.array([pts[n] for n in COCO17.names], np.float64)
    return img, mask.astype(np.float32), xy


def test_a_thick_thigh_does_not_take_the_shin_below_the_knee(monkeypatch):
    """Past the knee the thigh's capsule is no thicker than the shin's: the trousers beside a thin
    shin's top are the shin's, not cut into a short thigh that is wide in the photo (a knee lifted
    at the camera). In the thigh's layer they were squashed up beside the hip with it, a jagged
    flap that MediaPipe read as a knee raised to the side (pose_1, frames 52-59: 70-90 degrees)."""
    import engines.warp.layers as layers_mod

    img, mask, xy = lifted_knee_figure()
    knee, ankle = xy[IX["right_knee"]], xy[IX["right_ankle"]]
    probes = [tuple(np.round(knee + f * (ankle - knee) + (-11, 0)).astype(int)) for f in (0.15, 0.3)]
    layers, _, radius = layers_mod.build_layers(img, mask, xy, np.ones(17, bool), 3)
    assert radius["right_thigh"] > 2 * radius["right_shin"]          # the case: a thick thigh, a thin shin
    for x, y in probes:
        assert _owner(layers, x, y) == ["right_shin"], (x, y, _owner(layers, x, y))
    monkeypatch.setattr(layers_mod, "CHILD", {})                      # the thigh's own thickness past the knee
    layers, _, _ = layers_mod.build_layers(img, mask, xy, np.ones(17, bool), 3)
    assert "right_thigh" in _owner(layers, *probes[0])


def _owner(layers, x: int, y: int) -> list[str]:
    """The layers that hold pixel (x, y) opaquely."""
    out = []
    for layer in layers:
        lx, ly = x - layer.origin[0], y - layer.origin[1]
        if 0 <= ly < layer.patch.shape[0] and 0 <= lx < layer.patch.shape[1] and layer.patch[ly, lx, 3] > 200:
            out.append(layer.name)
    return out


def test_without_thighs_the_clothing_below_the_hips_stays_torso(figure):
    """A photo that shows no legs (a webcam view: a hoodie's hem below the hips): the pixels below
    the hip line belong to the torso, not to the forearm hanging beside them."""
    from engines.warp.layers import build_layers

    ok = np.ones(17, bool)
    for n in ("left_knee", "right_knee", "left_ankle", "right_ankle"):
        ok[IX[n]] = False
    layers, _, _ = build_layers(figure.image, figure.mask, figure.pose.xy.astype(np.float64), ok, 3)
    for x, y in ((262, 420), (218, 470), (282, 520)):
        assert _owner(layers, x, y) == ["torso"], (x, y, _owner(layers, x, y))


def test_an_arm_cut_at_the_photos_edge_keeps_its_forearm(figure):
    """The estimator is unsure (0.3-0.5) of a wrist the photo shows at its edge: the forearm is still
    a part (it follows when the driver raises that arm); below 0.3, or outside the photo, it is not."""
    def parts(score: float, y: float | None = None) -> list[str]:
        pose = figure.pose
        sc, xy = pose.score.copy(), pose.xy.copy()
        sc[IX["right_wrist"]] = score
        if y is not None:
            xy[IX["right_wrist"], 1] = y
        return _prepared_parts(figure, replace(pose, score=sc, xy=xy))

    assert "right_forearm" in parts(0.42)
    assert "right_forearm" not in parts(0.2)
    assert "right_forearm" not in parts(0.42, y=700.0)      # below the photo (640 high)


def _prepared_parts(figure, pose: Pose) -> list[str]:
    r = create_renderer("warp", background="black", face=False, hands=False)
    r.prepare(figure.image, pose, figure.mask)
    return r.part_names


def test_background_leaves_no_ghost_of_the_body(figure):
    """Where the figure stood, the filled background is close to the wall/floor behind it and holds
    no figure-coloured shape: compare with the figure drawn on nothing (its own background)."""
    from realtime.app.demo.figure import _background

    clean = np.clip(_background(), 0, 255).astype(np.uint8)
    bg = make_background(figure.image, figure.mask, "inpaint")
    region = ghost_region(figure.mask, np.zeros_like(figure.mask), dilate_px=5)
    err = np.abs(bg[region].astype(np.float32) - clean[region].astype(np.float32)).mean() / 255.0
    assert err < 0.04, err


def test_picture_and_blur_backgrounds(figure, tmp_path):
    pic = np.zeros((100, 300, 3), np.uint8)
    pic[:, :150] = (255, 0, 0)
    pic[:, 150:] = (0, 0, 255)
    path = tmp_path / "plate.png"
    cv2.imwrite(str(path), pic)
    out = prepared(figure, background=str(path)).render(figure.pose)
    assert out.shape == figure.image.shape
    assert out[5, 5].tolist() == [255, 0, 0] and out[5, -6].tolist() == [0, 0, 255]  # scaled to cover
    blur = prepared(figure, background="blur").render(figure.pose)
    assert blur.shape == figure.image.shape
    with pytest.raises(InputError, match="no such file"):
        create_renderer("warp", background=str(tmp_path / "missing.jpg"))


def ball_figure(figure):
    """The figure holding an orange ball (radius 40 px, dark seams) beside its left hand."""
    wr, el = figure.pose.xy[IX["left_wrist"]], figure.pose.xy[IX["left_elbow"]]
    centre = wr + 38 * (wr - el) / np.linalg.norm(wr - el) + (25, 0)
    img, mask = figure.image.copy(), figure.mask.copy()
    c = tuple(int(round(v)) for v in centre)
    cv2.circle(img, c, 40, (30, 110, 215), -1, lineType=cv2.LINE_AA)
    cv2.circle(img, c, 40, (20, 30, 60), 2, lineType=cv2.LINE_AA)
    cv2.line(img, (c[0] - 40, c[1]), (c[0] + 40, c[1]), (20, 30, 60), 2)
    cv2.circle(mask, c, 41, 1.0, -1)
    return img, mask, np.array(c, np.float64)


def test_a_hand_found_on_the_held_ball_stays_with_its_forearm(figure):
    """The fingers over a held ball that MediaPipe Hands found are the forearm's, not the ball's:
    cut into the ball's upright layer they vanished into it, and the output showed no hand
    (basketball_dribble: the left wrist unread in 12 frames)."""
    from engines.warp.layers import build_layers

    img, mask, c = ball_figure(figure)
    hand = np.zeros(mask.shape, np.uint8)
    cv2.circle(hand, (int(c[0]) - 15, int(c[1]) - 20), 12, 1, -1)   # fingers on the ball's near top
    xy = figure.pose.xy.astype(np.float64)
    ok = np.ones(len(xy), bool)

    def alpha(layers, name, x, y):
        layer = next(l for l in layers if l.name == name)
        ox, oy = layer.origin
        inside = 0 <= y - oy < layer.patch.shape[0] and 0 <= x - ox < layer.patch.shape[1]
        return int(layer.patch[y - oy, x - ox, 3]) if inside else 0

    px, py = int(c[0]) - 15, int(c[1]) - 20
    without, _, _ = build_layers(img, mask, xy, ok, 3)
    assert alpha(without, "left_held", px, py) > 200   # no hand found: the ball's
    layers, _, _ = build_layers(img, mask, xy, ok, 3, {"left": hand})
    assert alpha(layers, "left_held", px, py) == 0
    assert alpha(layers, "left_forearm", px, py) > 200
    assert alpha(layers, "left_held", int(c[0]) + 20, int(c[1]) + 20) > 200   # the rest is the ball's


def orange(out):
    b, g, r = (out[..., i].astype(int) for i in range(3))
    return (r > 170) & (r - b > 120) & (g > 70) & (g < 150)


def test_held_ball_is_its_own_upright_layer(figure):
    """A ball in the hand is not cut into the forearm: it follows the hand round and upright, and
    nothing of it stays at its rest place (basketball_dribble's first frame)."""
    img, mask, c = ball_figure(figure)
    r = prepared(figure, image=img, mask=mask)
    assert "left_held" in r.part_names
    assert orange(r.render(figure.pose)).sum() > 0.8 * np.pi * 38 ** 2
    out = r.render(moved(figure.pose, "left_elbow", ("left_wrist",), -100))   # forearm swung up
    ys, xs = np.nonzero(orange(out))
    assert len(ys) > 0.8 * np.pi * 38 ** 2, "the ball lost pixels"
    w, h = xs.max() - xs.min(), ys.max() - ys.min()
    assert 0.85 < w / h < 1.18, f"the ball is sheared with the forearm: {w}x{h}"
    centre = np.array([xs.mean(), ys.mean()])
    assert np.linalg.norm(centre - c) > 60, "the ball stayed at its rest place"
    assert not orange(out)[int(c[1]) - 5:int(c[1]) + 6, int(c[0]) - 5:int(c[0]) + 6].any()


def test_torso_turned_edge_on_is_not_pressed_into_a_strip(figure):
    """A target whose shoulders and hips come to 0.3 of their width (a body turned edge-on, bent
    over): the shirt keeps at least 45 % of its width across the chest (the exact 3.3:1 affine left
    30 %, a strip, with the background between the arms and the back: basketball_dribble)."""
    r = prepared(figure)
    xy = figure.pose.xy.astype(np.float64).copy()
    for a, b in (("left_shoulder", "right_shoulder"), ("left_hip", "right_hip")):
        c = (xy[IX[a]] + xy[IX[b]]) / 2
        for n in (a, b):
            xy[IX[n]] = c + (xy[IX[n]] - c) * np.array([0.3, 1.0])
    y = int((xy[IX["left_shoulder"], 1] + xy[IX["left_hip"], 1]) / 2)

    def shirt_width(img: np.ndarray) -> int:
        b, r_ = img[y, :, 0].astype(int), img[y, :, 2].astype(int)
        return int(((b > r_ + 40) & (b > 60)).sum())

    rest = shirt_width(r.render(figure.pose))
    turned = shirt_width(r.render(replace(figure.pose, xy=xy.astype(np.float32))))
    assert rest > 80 and turned >= 0.45 * rest, (rest, turned)


def _with_hand_points(pose: Pose, hand: np.ndarray | None, score: float = 0.9) -> Pose:
    """``pose`` (COCO-17) in MediaPipe's 33 points, the left index and pinky at 0.35 of ``hand``
    (wrist -> hand vector) from the wrist, either side of it; the other new points missing."""
    from realtime.layouts import MEDIAPIPE33

    mx = MEDIAPIPE33.index
    xy = np.zeros((len(MEDIAPIPE33.names), 2), np.float64)
    sc = np.zeros(len(MEDIAPIPE33.names), np.float32)
    for name, i in IX.items():
        xy[mx[name]], sc[mx[name]] = pose.xy[i], pose.score[i]
    if hand is not None:
        w, across = xy[mx["left_wrist"]], 0.1 * np.array([-hand[1], hand[0]])
        xy[mx["left_index"]], xy[mx["left_pinky"]] = w + 0.35 * hand + across, w + 0.35 * hand - across
        sc[mx["left_index"]] = sc[mx["left_pinky"]] = score
    return replace(pose, xy=xy.astype(np.float32), score=sc, layout=MEDIAPIPE33, z=None)


def test_a_hand_under_a_short_forearm_turns_as_the_drivers_hand_does(figure):
    """Where the driver shows its hand (MediaPipe's index and pinky), the hand under a forearm drawn
    short turns by that hand's own 2-D turn, not by a share of the forearm's: a forearm at half its
    length turned 60 degrees with a straight wrist (the hand turned 60 degrees too) drew the hand
    hanging as in the photo under the length ramp (pose_1, squats: a straight wrist under a forearm
    pointing at the camera), and one whose hand stays as in the photo keeps it there."""
    from engines.warp import foreshortening

    ref = figure.pose.xy.astype(np.float64)
    el, wr = ref[IX["left_elbow"]], ref[IX["left_wrist"]]
    v = wr - el
    a = np.radians(60)
    turned = np.array([[np.cos(a), -np.sin(a)], [np.sin(a), np.cos(a)]]) @ v
    wr_t = el + 0.5 * turned
    xy = figure.pose.xy.copy()
    xy[IX["left_wrist"]] = wr_t
    rest = _with_hand_points(figure.pose, v)
    r = create_renderer("warp", background="black", face=False, hands=False)
    r.prepare(figure.image, rest, figure.mask)

    def skin(out, at):
        x, y = np.round(at).astype(int)
        p = out[y - 1:y + 2, x - 1:x + 2].reshape(-1, 3).astype(int).mean(0)
        return p[2] > 150 and p[1] > 120

    straight = r.render(_with_hand_points(replace(figure.pose, xy=xy), turned))
    assert skin(straight, wr_t + 0.3 * turned) and not skin(straight, wr_t + 0.3 * v)
    kept = r.render(_with_hand_points(replace(figure.pose, xy=xy), v))
    assert skin(kept, wr_t + 0.3 * v) and not skin(kept, wr_t + 0.3 * turned)
    # no hand points, or unsure ones, or a hand edge-on (short in 2-D): the length ramp decides
    got = foreshortening.hand_turns(rest, _with_hand_points(replace(figure.pose, xy=xy), turned))
    assert got["left_forearm"] == pytest.approx(a, abs=1e-4)
    assert foreshortening.hand_turns(rest, replace(figure.pose, xy=xy)) == {}
    unsure = _with_hand_points(replace(figure.pose, xy=xy), turned, score=0.3)
    assert foreshortening.hand_turns(rest, unsure) == {}
    assert foreshortening.hand_turns(rest, _with_hand_points(replace(figure.pose, xy=xy), 0.3 * turned)) == {}


def test_a_hand_holding_a_ball_turns_with_its_forearm(figure, monkeypatch):
    """The held ball is carried by its forearm's transform (engines.warp.held), so the hand holding
    it is not turned its own way (basketball_dribble: 1.2 degrees more bone error, hand and ball
    apart); a hand without a ball is."""
    import engines.warp.renderer as renderer_mod

    img, mask, _ = ball_figure(figure)
    ref = figure.pose.xy.astype(np.float64)
    v = ref[IX["left_wrist"]] - ref[IX["left_elbow"]]
    xy = figure.pose.xy.copy()
    xy[IX["left_wrist"]] = ref[IX["left_elbow"]] + 0.5 * v            # drawn short: the hand piece cut
    target = _with_hand_points(replace(figure.pose, xy=xy), np.array([-v[1], v[0]]))
    real = renderer_mod.extremity_transform
    got = {}

    def spy(name, own, ref_xy, index, hand_turn=None):
        got[name] = hand_turn
        return real(name, own, ref_xy, index, hand_turn)

    monkeypatch.setattr(renderer_mod, "extremity_transform", spy)
    for image, m, holding in ((img, mask, True), (figure.image, figure.mask, False)):
        r = create_renderer("warp", background="black", face=False, hands=False)
        r.prepare(image, _with_hand_points(figure.pose, v), m)
        got.clear()
        r.render(target)
        assert "left_forearm" in got
        assert (got["left_forearm"] is None) == holding, holding


def test_a_thigh_pointing_at_the_camera_keeps_its_knee_band_whole(figure):
    """A deep squat: the thigh at 0.4 of its rest length in 2-D, turned 60 degrees. Its rigid map
    squashed the knee's end into a thin strip tilted with the 2-D bone (the band above pose_squats'
    knees, which MediaPipe then read as the knee, 24 px high); the knee piece keeps its own length
    and the photo's orientation (foreshortening.knee_transform): a band painted across the thigh
    above the knee stays about as large, and lies as in the photo."""
    from engines.warp.foreshortening import KNEE_TURN_FROM, knee_transform
    from engines.warp.parts import apply, part_transforms

    ref = figure.pose.xy.astype(np.float64)
    hip, kn, an = ref[IX["left_hip"]], ref[IX["left_knee"]], ref[IX["left_ankle"]]
    v = kn - hip
    h, w = figure.mask.shape
    qx, qy = np.meshgrid(np.arange(w, dtype=np.float64), np.arange(h, dtype=np.float64))
    t = ((qx - hip[0]) * v[0] + (qy - hip[1]) * v[1]) / float(v @ v)
    side = np.abs((qx - hip[0]) * v[1] - (qy - hip[1]) * v[0]) / np.hypot(*v)
    band = (figure.mask > 0.5) & (t > 0.76) & (t < 0.84) & (side < 12)
    image = figure.image.copy()
    image[band] = RED
    a = np.radians(-60)   # the knee out to the side, clear of the torso drawn over the thigh's top
    rot = np.array([[np.cos(a), -np.sin(a)], [np.sin(a), np.cos(a)]])
    xy = ref.copy()
    xy[IX["left_knee"]] = hip + 0.9 * KNEE_TURN_FROM * rot @ v
    xy[IX["left_ankle"]] = xy[IX["left_knee"]] + (an - kn)
    ok = np.ones(len(ref), bool)
    m = knee_transform("left_thigh", part_transforms(ref, ok, xy, ok, IX)["left_thigh"], ref, IX)
    np.testing.assert_allclose(apply(m, kn)[0], xy[IX["left_knee"]], atol=1e-9)    # at the knee
    np.testing.assert_allclose(m[:, :2], np.eye(2), atol=1e-9)                     # own size, unturned
    out = prepared(figure, image=image, background="white", face=False, hands=False).render(
        replace(figure.pose, xy=xy.astype(np.float32)))
    b, g, r = (out[..., i].astype(int) for i in range(3))
    red = (r > 150) & (g < 90) & (b < 90)
    assert red.sum() > 0.7 * band.sum(), (red.sum(), band.sum())        # squashed: about 0.4 of it
    assert abs(_lie(red) - _lie(band)) < 8, (_lie(red), _lie(band))       # as in the photo, not 60 degrees off


def _lie(region: np.ndarray) -> float:
    """The angle (degrees, 0-180) of a region's long axis."""
    ys, xs = np.nonzero(region)
    evals, evecs = np.linalg.eigh(np.cov(np.vstack([xs, ys]).astype(np.float64)))
    major = evecs[:, np.argmax(evals)]
    return float(np.degrees(np.arctan2(major[1], major[0]))) % 180.0


def _hand_along(wrist: np.ndarray, v: np.ndarray) -> "Hand":
    """A straight open hand (realtime.hands.Hand) at ``wrist``, its fingers along ``v`` (the
    forearm's elbow -> wrist), within the figure's hand capsule (0.32 of the forearm long)."""
    from realtime.hands import FINGERS, THUMB, WRIST, Hand

    u = v / np.hypot(*v)
    n = np.array([-u[1], u[0]])
    xy = np.zeros((21, 2))
    xy[WRIST] = wrist
    for k, finger in enumerate(FINGERS):
        for j, idx in enumerate(finger):
            xy[idx] = wrist + (0.16 + 0.045 * j) * np.hypot(*v) * u + (-6.0 + 4.0 * k) * n
    for j, idx in enumerate(THUMB):
        xy[idx] = wrist + (0.04 + 0.03 * j) * np.hypot(*v) * u + (8.0 + 2.0 * j) * n
    return Hand(xy.astype(np.float32), np.zeros(21, np.float32), "left", 480, 640)


def test_a_rigged_hand_under_a_short_forearm_keeps_its_wrist_at_its_length(figure):
    """A forearm drawn at 0.4 of its length (pointing at the camera) whose fingers follow the
    driver's: the finger rig moved the whole layer by the forearm's map, so a watch strap just above
    the wrist was squashed with the forearm into a thin line and the photo's fingers spread along
    the driver's (pose_squats: the left wrist read 20-43 px off, the forearm 15-33 degrees). Drawn
    short, the forearm keeps its wrist end at its own length (foreshortening.extremity_transform),
    the rig moving the fingers from there."""
    from engines.warp.hands import HandRig

    ref = figure.pose.xy.astype(np.float64)
    el, wr = ref[IX["left_elbow"]], ref[IX["left_wrist"]]
    v = wr - el
    img = figure.image.copy()
    n = 20.0 * np.array([-v[1], v[0]]) / np.hypot(*v)
    strap = np.round([el + 0.9 * v - n, el + 0.9 * v + n, el + 0.98 * v + n, el + 0.98 * v - n]).astype(np.int32)
    cv2.fillConvexPoly(img, strap, (40, 220, 40))      # green across the forearm, 0.08 of it long
    r = create_renderer("warp", background="black", face=False, hands=False)
    r.prepare(img, figure.pose, figure.mask)
    rig = HandRig(_hand_along(wr, v))
    drawn = []
    real_draw = rig.draw
    rig.draw = lambda *a, **kw: drawn.append(1) or real_draw(*a, **kw)
    r._hands = {"left": rig}

    def strap_px(share: float) -> int:
        xy = figure.pose.xy.copy()
        xy[IX["left_wrist"]] = el + share * v
        out = r.render(replace(figure.pose, xy=xy), hands={"left": _hand_along(el + share * v, v)})
        pts = np.round([el + share * v + f * v for f in np.linspace(-0.3, 0.1, 200)]).astype(int)
        px = {tuple(p) for p in pts if out[p[1], p[0], 1] > 180 and out[p[1], p[0], 2] < 90}
        return len(px)

    assert strap_px(1.0) >= 6 and drawn, "at its length the strap is whole and the fingers follow"
    drawn.clear()
    got = strap_px(0.4)
    assert got >= 6, f"the strap squashed to {got} px along the forearm (0.08 of it: 7.6 px at rest)"
    assert drawn, "the fingers still follow the driver's"
