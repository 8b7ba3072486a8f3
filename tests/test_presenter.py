"""Presenter framing: upper-body references and drivers, the face's expression transfer, face measures."""
from __future__ import annotations

from dataclasses import replace

import cv2
import numpy as np
import pytest

from calibration.retarget import retarget_pose
from engines.evaluation import FaceScores, bone_angles_deg, bone_direction_error
from engines.warp.face import FACE_OVAL, SIZE_LIMIT, FaceRig
from engines.warp.layers import EDGE_REACH
from engines.warp.parts import apply
from engines.warp.renderer import WarpRenderer
from realtime.app.demo.figure import draw_figure
from realtime.errors import InputError
from realtime.face import (CHEEKS, EYE_LINE, FRAME_POINTS, INNER_LIP_LOOP, INNER_LIPS, LIDS, N_LANDMARKS,
                           Expression, Face, expression, face_width, mirror_permutation, mirrored, mouth_opening)
from realtime.framing import size_ratio, virtual_hips
from realtime.layouts import COCO17
from realtime.pose import Pose

IX = COCO17.index
HIPS = [IX["left_hip"], IX["right_hip"]]
LEGS = [IX[n] for n in ("left_knee", "right_knee", "left_ankle", "right_ankle")]


@pytest.fixture(scope="module")
def figure():
    return draw_figure()


def chest_crop(figure):
    """The drawn figure cut just below the elbows: no hips, no legs (a webcam framing)."""
    p = figure.pose.to_layout(COCO17)
    cut = int(max(p.xy[IX["left_elbow"], 1], p.xy[IX["right_elbow"], 1]) + 25)
    img = np.ascontiguousarray(figure.image[:cut])
    mask = np.ascontiguousarray(figure.mask[:cut])
    score = p.score.copy()
    score[p.xy[:, 1] >= cut - 2] = 0.0
    return img, mask, replace(p, score=score, height=cut), cut


# -- framing ------------------------------------------------------------------------------------------
def test_virtual_hips_lie_below_the_shoulders_away_from_the_face():
    xy = np.zeros((17, 2))
    ok = np.zeros(17, bool)
    xy[IX["left_shoulder"]], xy[IX["right_shoulder"]], xy[IX["nose"]] = (300, 200), (200, 200), (250, 160)
    ok[[IX["left_shoulder"], IX["right_shoulder"], IX["nose"]]] = True
    left, right = virtual_hips(xy, ok, IX)
    assert left[1] > 300 and right[1] > 300              # well below the shoulders
    assert left[0] > right[0]                            # on the same sides as the shoulders
    assert abs((left[1] + right[1]) / 2 - 200 - 1.35 * 100) < 1e-6
    # upside down (a photo rotated by 180 degrees): the hips go away from the face, upwards
    xy[IX["nose"]] = (250, 240)
    left, right = virtual_hips(xy, ok, IX)
    assert left[1] < 200 and right[1] < 200


def test_size_ratio_uses_the_shoulders_and_face_without_hips(figure):
    p = figure.pose.to_layout(COCO17)
    big = p.transformed(scale=1.5)
    assert size_ratio(big, p) == pytest.approx(1.5, rel=1e-5)
    no_hips = p.with_scores(np.where(np.isin(np.arange(17), HIPS), 0.0, 1.0))
    assert size_ratio(big, no_hips) == pytest.approx(1.5, rel=1e-5)


# -- partial references -----------------------------------------------------------------------------------
def test_reference_cropped_at_the_chest_is_accepted_and_renders(figure):
    img, mask, pose, cut = chest_crop(figure)
    r = WarpRenderer(background="black", face=False)
    r.prepare(img, pose, mask)
    assert "torso" in r.part_names and not any(n.endswith(("thigh", "shin")) for n in r.part_names)
    rest = r.rest_pose.to_layout(COCO17)
    assert np.all(rest.xy[HIPS, 1] > cut - 30)           # the torso reaches the photo's edge
    out = r.render(r.rest_pose)
    assert out.shape == img.shape
    # at rest the photo comes back (shirt pixels down to the bottom edge)
    body = mask > 0.5
    err = np.abs(out.astype(np.float32) - img.astype(np.float32)).mean(axis=2)[body]
    assert np.median(err) < 6
    assert body[-3:].any() and (out[-3:][body[-3:]] > 0).any()


def test_reference_without_shoulders_is_refused_with_the_framing_needed(figure):
    p = figure.pose.to_layout(COCO17)
    no_shoulders = p.with_scores(np.where(np.isin(np.arange(17), [IX["left_shoulder"], IX["right_shoulder"]]),
                                          0.0, 1.0))
    with pytest.raises(InputError, match="head and both shoulders"):
        WarpRenderer(face=False).prepare(figure.image, no_shoulders, figure.mask)


def test_upper_body_driver_keeps_the_avatars_legs_and_torso(figure):
    avatar = figure.pose.to_layout(COCO17)
    driver = avatar.with_scores(np.where(np.isin(np.arange(17), HIPS + LEGS), 0.05, 1.0))
    # the driver leans closer (x1.3) and moves right: the avatar's torso keeps its proportions
    now = driver.transformed(scale=1.3, offset=(40, 0))
    target = retarget_pose(now, driver, avatar)
    r = WarpRenderer(background="black", face=False)
    r.prepare(figure.image, avatar, figure.mask)
    mats = r.transforms(target)
    lin = mats["torso"][:, :2]
    sv = np.linalg.svd(lin, compute_uv=False)
    assert sv[0] / sv[1] < 1.05                          # not stretched one way
    assert 1.2 < np.sqrt(abs(np.linalg.det(lin))) < 1.4  # scaled like the driver
    # legs: at rest (moved and scaled with the body, never turned, stretched or left behind)
    scale = np.sqrt(abs(np.linalg.det(lin)))
    for leg in ("left_thigh", "left_shin", "right_thigh", "right_shin"):
        np.testing.assert_allclose(mats[leg][:, :2], scale * np.eye(2), atol=1e-6)
    # a shoulder tilt leans the upper torso; the legs stay upright
    xy = now.xy.copy()
    xy[IX["left_shoulder"], 1] -= 30
    xy[IX["right_shoulder"], 1] += 30
    tilted = r.transforms(retarget_pose(replace(now, xy=xy), driver, avatar))
    for leg in ("left_thigh", "right_thigh"):
        m = tilted[leg][:, :2]
        assert abs(m[0, 1]) < 1e-6 and abs(m[1, 0]) < 1e-6


def test_upper_body_driver_turning_keeps_the_torso_length(figure):
    avatar = figure.pose.to_layout(COCO17)
    driver = avatar.with_scores(np.where(np.isin(np.arange(17), HIPS + LEGS), 0.05, 1.0))
    xy = driver.xy.copy()
    c = (xy[IX["left_shoulder"]] + xy[IX["right_shoulder"]]) / 2
    for n in ("left_shoulder", "right_shoulder"):     # a turn: the shoulders look 40% narrower
        xy[IX[n], 0] = c[0] + 0.6 * (xy[IX[n], 0] - c[0])
    turned = replace(driver, xy=xy)
    r = WarpRenderer(background="black", face=False)
    r.prepare(figure.image, avatar, figure.mask)
    lin = r.transforms(turned)["torso"][:, :2]
    down = lin @ np.array([0.0, 1.0])
    assert np.linalg.norm(down) == pytest.approx(1.0, abs=0.1)   # the torso's length is kept



@pytest.mark.parametrize("tilt_deg,scale", [(15.0, 1.0), (-15.0, 1.0), (0.0, 0.85), (10.0, 0.9)])
def test_chest_cut_photo_keeps_its_torso_on_the_bottom_edge(figure, tilt_deg, scale):
    """A photo cut at the chest, the driver's shoulders tilted (and/or the driver smaller): the
    torso takes both shoulders exactly, its layer goes on below the photo's bottom edge (its last
    rows continued) and that continued bottom stays at or below the output's: no background beneath
    the chest, and the chest is not stretched to cover the lift (it was, 1.3-1.5x on webcam_talking's
    tilted frames: the shoulders' tops pulled up, MediaPipe read the shoulders 20-45 px high)."""
    img, mask, pose, cut = chest_crop(figure)
    r = WarpRenderer(background="black", face=False)
    r.prepare(img, pose, mask)
    rest = r.rest_pose.to_layout(COCO17)
    ls, rs = IX["left_shoulder"], IX["right_shoulder"]
    xy = rest.xy.astype(np.float64).copy()
    c = (xy[ls] + xy[rs]) / 2
    a = np.radians(tilt_deg)
    rot = scale * np.array([[np.cos(a), -np.sin(a)], [np.sin(a), np.cos(a)]])
    top = np.array([c[0], 0.0])                     # the driver leans back: smaller about the top
    for i in range(17):
        xy[i] = top + scale * (xy[i] - top)
    c1 = (xy[ls] + xy[rs]) / 2
    for i in (ls, rs):
        xy[i] = c1 + rot @ (rest.xy[i] - c)
    target = replace(rest, xy=xy.astype(np.float32))
    torso = r.transforms(target)["torso"]
    np.testing.assert_allclose(apply(torso, rest.xy[[ls, rs]]), xy[[ls, rs]], atol=0.5)
    width = float(np.linalg.norm(rest.xy[ls] - rest.xy[rs]))
    edge = r._edge                                  # where the torso layer meets the photo's last row
    assert edge is not None and edge.y == cut and edge.x0 < c[0] - 0.3 * width and edge.x1 > c[0] + 0.3 * width
    assert edge.reach == pytest.approx(EDGE_REACH * width, abs=1.0)
    ends = apply(torso, np.array([[edge.x0, cut + edge.reach], [edge.x1, cut + edge.reach]]))
    assert ends[:, 1].min() >= cut - 2.0
    # the photo's vertical drawn at the driver's scale (x1.08-1.23 before: stretched to the edge); a
    # lift past the continued rows (0.85: the edge 47 px up, 50 rows continued) stretches a little
    down = float(np.linalg.norm(torso[:, :2] @ np.array([0.0, 1.0])))
    assert scale * 0.97 <= down <= scale * 1.04
    # drawn: the shirt reaches the bottom rows below the neck (the photo's shirt spans +-0.35 widths there)
    out = r.render(target)
    mid = apply(torso, np.array([[c[0], cut]]))[0, 0]
    assert (out[-2:, int(mid - 0.35 * width):int(mid + 0.35 * width)].max(axis=2) > 0).all()


def hips_crop(figure):
    """The drawn figure cut a fifth of its torso below the hips: hips shown just above the bottom edge,
    no legs (a webcam framing at the waist, as webcam_signing.mp4's first frame)."""
    p = figure.pose.to_layout(COCO17)
    hip_y = float(p.xy[HIPS, 1].max())
    cut = int(hip_y + 0.2 * (hip_y - float(p.xy[[IX["left_shoulder"], IX["right_shoulder"]], 1].mean())))
    score = p.score.copy()
    score[p.xy[:, 1] >= cut - 2] = 0.0
    return (np.ascontiguousarray(figure.image[:cut]), np.ascontiguousarray(figure.mask[:cut]),
            replace(p, score=score, height=cut), cut)


def test_photo_cut_at_the_waist_keeps_its_torso_length_and_its_bottom_rows(figure):
    """A photo showing its hips just above its bottom edge: the estimator's hips there move with how
    much of the body below shows (webcam_signing: read 25 px lower with the body still), so the torso
    follows the shoulders at the photo's length, not the target's hips; a body that rises lifts the
    torso off the edge, and what shows beneath is more of its clothing, not the background."""
    img, mask, pose, cut = hips_crop(figure)
    r = WarpRenderer(background="black", face=False)
    r.prepare(img, pose, mask)
    rest = r.rest_pose.to_layout(COCO17)
    assert np.all(rest.score[HIPS] > 0.5) and np.all(rest.xy[HIPS, 1] < cut)   # its own hips, not virtual
    drift = rest.xy.copy()
    drift[HIPS, 1] += 20                              # the hips read lower, the shoulders where they were
    lin = r.transforms(replace(rest, xy=drift))["torso"][:, :2]
    np.testing.assert_allclose(lin, np.eye(2), atol=0.02)
    risen = replace(rest, xy=rest.xy - np.array([0.0, 15.0], np.float32))
    torso = r.transforms(risen)["torso"]
    assert apply(torso, np.array([[0.0, cut]]))[0, 1] == pytest.approx(cut - 15, abs=0.5)
    out = r.render(risen)
    mid = int(rest.xy[HIPS, 0].mean())
    assert (out[-10:, mid - 15:mid + 15].max(axis=2) > 0).all()   # the shirt, not the black background


# -- face: synthetic mesh ----------------------------------------------------------------------------------
def synthetic_face(seed: int = 0) -> Face:
    """478 landmarks with the face frame's points, the face oval and the inner lips where a face has
    them (unit = face width 200 px); the others are random inside the oval, per seed (one index sits
    in the lips of one seed's face and the cheek of another's)."""
    rng = np.random.default_rng(seed)
    n = np.zeros((N_LANDMARKS, 2))
    fixed = {33: (-0.35, 0.0), 263: (0.35, 0.0), 133: (-0.12, 0.0), 362: (0.12, 0.0), 168: (0.0, -0.02),
             6: (0.0, 0.08), CHEEKS[0]: (-0.5, 0.15), CHEEKS[1]: (0.5, 0.15), 13: (0.0, 0.5), 14: (0.0, 0.52)}
    for (a, b), x in zip(LIDS, (-0.23, 0.23)):
        fixed[a], fixed[b] = (x, -0.04), (x, 0.04)
    ang = np.linspace(0, 2 * np.pi, len(FACE_OVAL), endpoint=False)
    for i, a in zip(FACE_OVAL, ang):
        fixed.setdefault(i, (0.55 * np.cos(a), 0.1 + 0.75 * np.sin(a)))
    loop = [i for i in INNER_LIP_LOOP if i not in fixed]
    for i, a in zip(loop, np.linspace(0.1, 2 * np.pi - 0.1, len(loop))):
        fixed[i] = (0.15 * np.cos(a + np.pi), 0.51 + 0.012 * np.sin(a + np.pi))
    free = [i for i in range(N_LANDMARKS) if i not in fixed]
    pts = rng.uniform(-1, 1, (len(free) * 3, 2)) * (0.45, 0.65) + (0, 0.1)
    pts = pts[((pts[:, 0] / 0.45) ** 2 + ((pts[:, 1] - 0.1) / 0.65) ** 2) < 1][:len(free)]
    for i, p in zip(free, pts):
        n[i] = p
    for i, p in fixed.items():
        n[i] = p
    xy = (n * 200 + (320, 240)).astype(np.float32)
    return Face(xy, np.zeros(N_LANDMARKS, np.float32), 640, 480)


def open_mouth(face: Face, by: float) -> Face:
    """The face with its jaw (every landmark below the mouth line: lower lip, chin) lowered by
    ``by`` face widths."""
    xy = face.xy.copy()
    line = (face.xy[13, 1] + face.xy[14, 1]) / 2
    xy[xy[:, 1] > line, 1] += by * face_width(face.xy)
    return replace(face, xy=xy)


def test_expression_moves_the_avatars_mouth_by_the_drivers_opening():
    neutral = synthetic_face(0)
    driver = open_mouth(neutral, 0.12)
    expr = expression(driver, neutral)
    # another person, photographed larger and turned by 10 degrees
    avatar = synthetic_face(1)
    a = np.radians(10)
    rot = np.array([[np.cos(a), -np.sin(a)], [np.sin(a), np.cos(a)]])
    avatar = replace(avatar, xy=((avatar.xy - 320) @ rot.T * 1.5 + 400).astype(np.float32), width=900, height=900)
    rig = FaceRig(avatar)
    moved = rig.points(expr)[:N_LANDMARKS]
    before = mouth_opening(avatar)
    after = float(np.linalg.norm(moved[INNER_LIPS[0]] - moved[INNER_LIPS[1]])) / face_width(moved)
    assert after - before == pytest.approx(0.12, abs=0.005)
    # the eyes did not move
    np.testing.assert_allclose(moved[list(EYE_LINE)], avatar.xy[list(EYE_LINE)], atol=0.5)


def test_face_warp_puts_the_lip_texture_where_the_mesh_says():
    avatar = synthetic_face(2)
    img = np.full((480, 640, 3), 128, np.uint8)
    lip = avatar.xy[14]
    cv2.circle(img, (int(lip[0]), int(lip[1]) + 6), 4, (0, 0, 255), -1)     # a red mark on the lower lip
    is_red = lambda a: (a[..., 2] > 200) & (a[..., 1] < 80)                  # noqa: E731
    rig = FaceRig(avatar)
    patch = np.dstack([img, np.full((480, 640), 255, np.uint8)])
    # the driver: the avatar's own landmarks filmed smaller and elsewhere. synthetic_face's free
    # landmarks are random per seed, so another seed's face would move the ones around the mark
    # (an index in the lips here, in the cheek there) by unrelated displacements and fold the mesh
    # over it: a real Face Mesh keeps each index on the same anatomy in every face.
    neutral = replace(avatar, xy=((avatar.xy - (320, 240)) * 0.8 + (300, 260)).astype(np.float32))
    expr = expression(open_mouth(neutral, 0.1), neutral)
    head = np.array([[1.0, 0, 0], [0, 1.0, 0]])
    out, x0, y0, x1, y1 = rig.draw(patch, (0, 0), head, expr, (640, 480))
    red = np.argwhere(is_red(out))
    drop = 0.1 * face_width(avatar.xy)
    assert red[:, 0].mean() + y0 == pytest.approx(lip[1] + 6 + drop, abs=1)
    assert red[:, 1].mean() + x0 == pytest.approx(lip[0], abs=1)
    # the whole mark moved with the lower lip, just below the mouth cavity: neither darkened (the
    # cavity's soft edge may touch its top row) nor smeared
    ys, xs = np.nonzero(is_red(img))
    moved = out[ys + int(round(drop)) - y0, xs - x0, :3].astype(int)
    assert np.mean(np.abs(moved - img[ys, xs]).max(axis=1) <= 8) >= 0.95
    # far from the face, the head layer is untouched (no seam)
    assert np.array_equal(out[5, 5], patch[y0 + 5, x0 + 5])


def test_opening_wider_than_the_photo_draws_a_dark_mouth():
    avatar = synthetic_face(3)
    img = np.full((480, 640, 3), 200, np.uint8)
    rig = FaceRig(avatar)
    patch = np.dstack([img, np.full((480, 640), 255, np.uint8)])
    head = np.array([[1.0, 0, 0], [0, 1.0, 0]])
    closed = rig.draw(patch, (0, 0), head, Expression(np.zeros((N_LANDMARKS, 2))), (640, 480))[0]
    expr = expression(open_mouth(synthetic_face(0), 0.15), synthetic_face(0))
    opened, x0, y0, *_ = rig.draw(patch, (0, 0), head, expr, (640, 480))
    inside = rig.points(expr)[[13, 14]].mean(axis=0).astype(int)
    assert opened[inside[1] - y0, inside[0] - x0, :3].mean() < 80
    assert closed[..., :3].min() >= 190                          # at rest: the photo, no cavity


def test_mirrored_expression_equals_the_expression_of_the_mirrored_faces():
    neutral = synthetic_face(4)
    driver = open_mouth(neutral, 0.05)
    xy = driver.xy.copy()
    xy[LIDS[0][0], 1] += 8                                  # one eye closes a little
    driver = replace(driver, xy=xy)
    a = mirrored(expression(driver, neutral))
    b = expression(driver.flipped(), neutral.flipped())
    np.testing.assert_allclose(a.delta, b.delta, atol=1e-9)
    perm = mirror_permutation()
    assert np.array_equal(perm[perm], np.arange(N_LANDMARKS))
    assert set(perm[list(FRAME_POINTS)]) == set(FRAME_POINTS)


# -- measures ------------------------------------------------------------------------------------------------
def test_bone_direction_error(figure):
    p = figure.pose.to_layout(COCO17)
    assert bone_direction_error([p, p], [p, p]) == pytest.approx(0.0, abs=0.01)
    xy = p.xy.copy()
    e, w = IX["left_elbow"], IX["left_wrist"]
    v = xy[w] - xy[e]
    xy[w] = xy[e] + np.array([-v[1], v[0]])                 # forearm turned by 90 degrees
    bent = replace(p, xy=xy)
    ang = bone_angles_deg(p, bent)
    assert ang.max() == pytest.approx(90.0, abs=1e-3) and np.sum(ang > 1) == 1
    assert np.isnan(bone_direction_error([p], [None]))


def test_face_scores_follow_the_mouth():
    base = synthetic_face(5)
    scores = FaceScores()
    for k in range(10):
        f = open_mouth(base, 0.01 * k)
        scores.add(f, open_mouth(base, 0.006 * k))
    scores.add(base, None)
    s = scores.summary()
    assert s["mouth_corr"] == pytest.approx(1.0, abs=1e-6)
    assert s["mouth_range_ratio"] == pytest.approx(0.6, abs=0.01)
    assert s["face_not_found"] == pytest.approx(1 / 11)
    assert s["head_roll_err_deg"] == pytest.approx(0.0, abs=1e-6)


def test_profile_keeps_the_neutral_face(tmp_path):
    from calibration.profile import CalibrationProfile

    face = synthetic_face(6)
    pose = draw_figure().pose
    prof = CalibrationProfile(pose, {"nose": 1.0}, 100.0, {"still_px": 1.0}, neutral_face=face)
    path = tmp_path / "p.json"
    prof.save(path)
    back = CalibrationProfile.load(path)
    np.testing.assert_allclose(back.neutral_face.xy, face.xy, atol=0.01)
    d = prof.to_dict()
    d["neutral_face"] = None                                     # the face is optional
    assert CalibrationProfile.from_dict(d).neutral_face is None
    d["version"] = 1                                             # version 1: the neutral was never checked
    with pytest.raises(InputError, match="version 1 is not supported"):
        CalibrationProfile.from_dict(d)


# -- hands -------------------------------------------------------------------------------------------------
def synthetic_hand(bend_deg: float = 0.0, side: str = "left", at=(200.0, 300.0), scale: float = 1.0):
    """A hand pointing up (wrist at ``at``): four fingers of three segments, PIP and DIP bent by
    ``bend_deg`` towards the palm, and a thumb; px."""
    from realtime.hands import FINGERS, THUMB, Hand

    xy = np.zeros((21, 2))
    xy[0] = (0, 0)
    for k, (mcp, pip, dip, tip) in enumerate(FINGERS):
        base = np.array([-30 + 20 * k, -80.0])
        xy[mcp] = base
        d = np.array([0.0, -1.0])
        p = base
        for j, idx in enumerate((pip, dip, tip)):
            if j > 0:
                a = np.radians(bend_deg)
                d = np.array([[np.cos(a), -np.sin(a)], [np.sin(a), np.cos(a)]]) @ d
            p = p + 25 * d
            xy[idx] = p
    for j, idx in enumerate(THUMB):
        xy[idx] = (-40 - 15 * j, -20 - 15 * j)
    xy = xy * scale + np.asarray(at)
    return Hand(xy.astype(np.float32), np.zeros(21, np.float32), side, 640, 480)


def test_finger_bend_reads_the_pip_angle():
    from realtime.hands import finger_bend

    assert finger_bend(synthetic_hand(0)) == pytest.approx(0.0, abs=1e-3)
    assert finger_bend(synthetic_hand(60)) == pytest.approx(60.0, abs=1e-3)


def test_mirrored_hands_swap_sides_and_flip():
    from realtime.hands import HandTracker

    left = synthetic_hand(30, "left")
    tracker = HandTracker.__new__(HandTracker)           # no MediaPipe: a fake estimator
    tracker.estimator = type("E", (), {"detect": lambda self, img, pose: {"left": left}, "ms": 0.0})()
    tracker.mirror = True
    tracker.last_hands = {}
    got = tracker(np.zeros((480, 640, 3), np.uint8), None)
    assert list(got) == ["right"]
    np.testing.assert_allclose(got["right"].xy[:, 0], 640 - left.xy[:, 0])
    assert got["right"].flipped().side == "left"
    assert list(tracker(np.zeros((480, 640, 3), np.uint8), None, mirror=False)) == ["left"]


def _drawn_hand(hand, shape=(480, 640)):
    """A forearm layer (premultiplied BGRA, origin 0, 0) showing ``hand``: grey skin capsules along
    its segments and palm, a green mark on the little fingertip, transparent elsewhere."""
    from engines.warp.hands import BONES, PALM

    img = np.zeros((*shape, 4), np.uint8)
    r = max(2, int(0.1 * hand.size))
    cv2.fillConvexPoly(img, np.round(cv2.convexHull(hand.xy[list(PALM)])).astype(np.int32), (120, 140, 170, 255))
    for a, b in BONES:
        cv2.line(img, tuple(int(v) for v in hand.xy[a]), tuple(int(v) for v in hand.xy[b]), (120, 140, 170, 255), 2 * r)
    tip = hand.xy[20]
    cv2.circle(img, (int(tip[0]), int(tip[1])), r, (0, 255, 0, 255), -1)
    return img


def test_hands_between_runs_follow_the_pose_wrist_and_keep_their_shape():
    from types import SimpleNamespace

    from realtime.hands import HandEstimator
    from realtime.layouts import MEDIAPIPE33

    def pose_with_left_wrist(wx, wy):
        ix = MEDIAPIPE33.index
        xy = np.zeros((len(MEDIAPIPE33.names), 2), np.float32)
        score = np.zeros(len(MEDIAPIPE33.names), np.float32)
        for name, (x, y) in {"left_wrist": (wx, wy), "left_elbow": (wx, wy + 120),
                             "left_index": (wx, wy - 50), "left_pinky": (wx + 15, wy - 45)}.items():
            xy[ix[name]], score[ix[name]] = (x, y), 1.0
        return Pose(xy=xy, score=score, layout=MEDIAPIPE33, width=640, height=480)

    drawn = synthetic_hand(40, "left")
    found = []

    class FakeHands:   # MediaPipe Hands on the crop: the synthetic hand, in crop-normalized coordinates
        def process(self, rgb):
            found.append(rgb.shape)
            h, w = rgb.shape[:2]
            x0, y0 = crop[0]
            lm = [SimpleNamespace(x=(x - x0) / w, y=(y - y0) / h, z=0.0) for x, y in drawn.xy]
            return SimpleNamespace(multi_hand_landmarks=[SimpleNamespace(landmark=lm)])

    est = HandEstimator.__new__(HandEstimator)             # no MediaPipe: fake trackers
    est._hands = {"left": FakeHands(), "right": FakeHands()}
    est.min_hand_px, est.every, est._n, est._last, est._wrists, est.ms = 20.0, 2, 0, {}, {}, 0.0
    img = np.zeros((480, 640, 3), np.uint8)
    first = pose_with_left_wrist(*drawn.xy[0])
    size = 1.6 * 0.45 * 120 + 8
    crop = [(int(max(0, drawn.xy[0][0] - size)), int(max(0, drawn.xy[0][1] - size)))]
    got = est.detect(img, first)
    np.testing.assert_allclose(got["left"].xy, drawn.xy, atol=0.6)
    moved = est.detect(img, pose_with_left_wrist(drawn.xy[0][0] + 30, drawn.xy[0][1] - 12))   # a skipped frame
    assert len(found) == 1                                                 # MediaPipe did not run
    np.testing.assert_allclose(moved["left"].xy, got["left"].xy + (30, -12), atol=1e-4)
    est.detect(img, first, due=False)                                      # the caller's cadence wins
    assert len(found) == 1
    est.detect(img, first, due=True)
    assert len(found) == 2
    assert est.detect(img, None) == {}


def test_hand_rig_bends_the_avatars_fingers_like_the_drivers():
    from engines.warp.hands import HandRig
    from realtime.hands import finger_bend

    avatar = synthetic_hand(0, at=(300, 350), scale=1.5)
    rig = HandRig(avatar)
    forearm = np.array([[1.0, 0, 10], [0, 1.0, -5]])          # the forearm moved by (10, -5)
    driver = synthetic_hand(70, at=(100, 200), scale=0.8)
    pts = rig.points(driver, forearm)
    moved = replace(avatar, xy=pts[:21].astype(np.float32))
    assert finger_bend(moved) == pytest.approx(70.0, abs=0.5)
    np.testing.assert_allclose(pts[0], avatar.xy[0] + (10, -5), atol=1e-4)   # at the carried wrist
    np.testing.assert_allclose(pts[[5, 9, 13, 17]], avatar.xy[[5, 9, 13, 17]] + (10, -5), atol=1e-3)  # knuckles stay
    # the little fingertip's pixels end where the bent finger puts it
    out, x0, y0, *_ = rig.draw(_drawn_hand(avatar), (0, 0), forearm, driver, (640, 480))
    green = np.argwhere((out[..., 1] > 200) & (out[..., 0] < 100))
    assert len(green)
    np.testing.assert_allclose(green.mean(axis=0)[::-1] + (x0, y0), pts[20], atol=3)


def test_a_stretched_forearm_does_not_blow_up_its_hand():
    """A forearm raised at the camera in the photo and drawn 1.6 times as long (self-reenactment from
    webcam_signing's frame 268): the hand keeps the body's scale (1 here), not the forearm's stretch
    (sqrt 1.6 = 1.26 before: MediaPipe then found half the hands no more)."""
    from engines.warp.hands import HandRig
    from engines.warp.parts import limb_transform

    avatar = synthetic_hand(0, at=(300, 350), scale=1.5)
    rig = HandRig(avatar)
    driver = synthetic_hand(0, at=(100, 200), scale=1.5)
    el, wr = avatar.xy[0] + (0.0, 60.0), avatar.xy[0].astype(np.float64)
    forearm = limb_transform(el, wr, el, el + 1.6 * (wr - el))
    size = lambda pts: float(np.linalg.norm(pts[9] - pts[0]))  # noqa: E731  (wrist to middle knuckle)
    assert size(rig.points(driver, forearm, scale=1.0)) == pytest.approx(size(avatar.xy), rel=1e-3)
    assert size(rig.points(driver, forearm)) == pytest.approx(np.sqrt(1.6) * size(avatar.xy), rel=1e-3)


def test_the_hand_the_driver_shows_is_drawn_over_the_hidden_one():
    """Palms pressed together: the driver's camera shows one hand; that forearm is drawn over the
    other (which the depth order had put in front), and nothing moves when both or neither show."""
    from engines.warp.layers import Layer
    from engines.warp.renderer import seen_hand_in_front

    def layers(*names):
        return [Layer(n, np.zeros((1, 1, 4), np.uint8), (0, 0), 0, ()) for n in names]

    order = layers("torso", "left_forearm", "head", "right_forearm", "right_upper_arm")
    names = lambda ls: [l.name for l in ls]  # noqa: E731
    assert names(seen_hand_in_front(order, {"left_forearm": None})) == [
        "torso", "head", "right_forearm", "left_forearm", "right_upper_arm"]
    assert names(seen_hand_in_front(order, {"right_forearm": None})) == names(order)
    assert names(seen_hand_in_front(order, {"left_forearm": None, "right_forearm": None})) == names(order)
    assert names(seen_hand_in_front(order, {})) == names(order)


def test_a_hidden_hand_beside_the_seen_one_takes_its_mirror_image():
    """Palms pressed together: the driver's camera shows the left hand only and the right wrist is
    beside it: the right hand is the left one's mirror image; wrists apart, nothing is added."""
    from engines.warp.renderer import mirrored_hidden_hand
    from realtime.app.demo.figure import reference_pose

    pose = reference_pose().to_layout(COCO17)
    ok = pose.present(0.5)
    left = synthetic_hand(40, side="left", at=(300, 200))
    assert mirrored_hidden_hand({"left": left}, pose, ok, ("left", "right")) == {"left": left}   # apart
    xy = pose.xy.copy()
    xy[COCO17.index["right_wrist"]] = xy[COCO17.index["left_wrist"]] + (5.0, 0.0)
    got = mirrored_hidden_hand({"left": left}, replace(pose, xy=xy), ok, ("left", "right"))
    assert set(got) == {"left", "right"} and got["right"].side == "right"
    np.testing.assert_allclose(got["right"].xy[:, 1], left.xy[:, 1])
    np.testing.assert_allclose(got["right"].xy[:, 0], left.width - left.xy[:, 0])
    assert mirrored_hidden_hand({"left": left}, replace(pose, xy=xy), ok, ("left",)) == {"left": left}  # no rig


def test_a_drawn_hand_folds_its_fingers_when_the_driver_bends():
    """On pixels: a drawn open hand driven by a bent driver hand covers less above its knuckles."""
    from engines.warp.hands import HandRig

    avatar = synthetic_hand(0, at=(320, 400), scale=1.5)
    rig = HandRig(avatar)
    straight = rig.draw(_drawn_hand(avatar), (0, 0), np.eye(2, 3), synthetic_hand(0, at=(100, 200)), (640, 480))
    bent = rig.draw(_drawn_hand(avatar), (0, 0), np.eye(2, 3), synthetic_hand(80, at=(100, 200)), (640, 480))
    # the bent fingers cover less of the box above the knuckles than the straight ones
    def above_knuckles(got):
        out, x0, y0, *_ = got
        ys = np.nonzero(out[..., 3] > 128)[0] + y0
        return int((ys < avatar.xy[9, 1] - 40).sum())

    assert above_knuckles(bent) < 0.7 * above_knuckles(straight)


def test_head_turns_with_the_drivers_eye_line_roll():
    rig = FaceRig(synthetic_face(7))
    head = np.array([[1.2, 0.0, 5.0], [0.0, 1.2, -3.0]])
    m = rig.rolled(head, Expression(np.zeros((N_LANDMARKS, 2)), roll_deg=12.0))
    assert np.degrees(np.arctan2(m[1, 0], m[0, 0])) == pytest.approx(12.0)
    assert np.sqrt(np.linalg.det(m[:, :2])) == pytest.approx(1.2)
    c = rig.origin
    np.testing.assert_allclose(m[:, :2] @ c + m[:, 2], head[:, :2] @ c + head[:, 2], atol=1e-9)
    # a roll far from what the pose says (a bad face reading) leaves the head as it was
    assert np.array_equal(rig.rolled(head, Expression(np.zeros((N_LANDMARKS, 2)), roll_deg=80.0)), head)


def test_expression_size_is_the_3d_face_width_over_the_neutrals_whichever_way_the_head_turns():
    neutral = synthetic_face(3)
    c = neutral.xy.mean(axis=0)
    nearer = replace(neutral, xy=((neutral.xy - c) * 1.25 + c).astype(np.float32))
    assert expression(nearer, neutral).size == pytest.approx(1.25, rel=1e-4)
    # turned: the cheeks closer across in 2-D, apart in depth; the 3-D width stays
    turned = neutral.xy.copy()
    turned[:, 0] = c[0] + (turned[:, 0] - c[0]) * 0.6
    z = ((neutral.xy[:, 0] - c[0]) * 0.8).astype(np.float32)
    got = expression(replace(neutral, xy=turned, z=z), neutral)
    assert got.size == pytest.approx(1.0, rel=1e-3)


def test_head_stays_near_the_size_of_the_drivers_face_about_the_face_centre():
    rig = FaceRig(synthetic_face(7))
    head = np.array([[1.2, 0.0, 5.0], [0.0, 1.2, -3.0]])
    c = rig.origin
    # the pose's scale where it is within SIZE_LIMIT of the face's size change, else that far from it
    for size, want in ((1.2, 1.2), (1.2 * SIZE_LIMIT, 1.2), (0.8, 0.8 * SIZE_LIMIT), (1.6, 1.6 / SIZE_LIMIT)):
        m = rig.sized(head, Expression(np.zeros((N_LANDMARKS, 2)), size=size))
        assert np.sqrt(np.linalg.det(m[:, :2])) == pytest.approx(want)
        assert np.degrees(np.arctan2(m[1, 0], m[0, 0])) == pytest.approx(0.0)
        np.testing.assert_allclose(m[:, :2] @ c + m[:, 2], head[:, :2] @ c + head[:, 2], atol=1e-9)
    # no size measured: the pose's head as it is
    assert np.array_equal(rig.sized(head, Expression(np.zeros((N_LANDMARKS, 2)))), head)


# -- live pipeline -------------------------------------------------------------------------------------------
def test_pipeline_runs_the_face_and_hands_stages_and_hands_their_output_to_the_renderer():
    from realtime.pipeline import Pipeline, PipelineOptions
    from realtime.sources import ArraySource
    from tests.pipeline_fakes import RecordingRenderer, ReplayEstimator, gray_frames, squat_poses

    seen = []
    renderer = RecordingRenderer(lambda target, expression, hands: seen.append((expression, hands)))

    class Tracker:
        def __init__(self, value):
            self.value, self.calls, self.closed = value, [], False

        def __call__(self, image, pose, t, mirror):
            self.calls.append(mirror)
            return self.value

        def close(self):
            self.closed = True

    expr = Expression(np.zeros((N_LANDMARKS, 2)))
    face, hands = Tracker(expr), Tracker({"left": "a hand"})
    p = Pipeline(ArraySource(gray_frames(5)), renderer, ["null"], PipelineOptions(realtime=False, mirror=True),
                 estimator_factory=lambda: ReplayEstimator(squat_poses()), face=face, hands=hands)
    stats = p.run()
    # the cues of a frame run beside its pose, cropped by the pose before it: none for the first frame
    assert face.calls == [True] * 4 and hands.calls == [True] * 4 and face.closed and hands.closed
    assert [e for e, _ in seen[1:]] == [None] + [expr] * 4        # seen[0]: the warm-up render, no expression
    assert all(h == {"left": "a hand"} for _, h in seen[2:])
    assert stats["stages"]["face"]["count"] == 4 and stats["stages"]["hands"]["count"] == 4


def _frame_order_run(realtime: bool, face_s: float, n: int, nobody: tuple[int, ...] = (), pose_every: int = 1):
    """A pipeline whose pose, face and hands stages tag each frame with its index (the top-left pixel of
    gray_frames); returns (the (target frame, expression frame, hands frame) of every render, stats,
    face calls, the threads' names seen by the face tracker). pose_every > 1: the poses between
    estimates are predicted and carry their frame's media time, so every pose is tagged by that
    (frame index = media time x 200 fps) instead."""
    import threading
    import time

    from realtime.pipeline import Pipeline, PipelineOptions
    from realtime.sources import ArraySource
    from tests.pipeline_fakes import RecordingRenderer, ReplayEstimator, gray_frames, squat_poses

    seen, estimated = [], set()

    def record(target, expression, hands):
        t = target.timestamp_s
        t = t if pose_every == 1 or t is None else round(t * 200)
        seen.append((t, expression and expression[0], hands and hands[0]))

    class Tagged(ReplayEstimator):   # the pose carries its frame's index as its timestamp
        def estimate(self, image, t=None):
            pose = super().estimate(image, t)
            i = int(image[0, 0, 0])
            estimated.add(i)
            return None if i in nobody else replace(pose, timestamp_s=i if pose_every == 1 else t)

    class Tracker:
        def __init__(self, sleep_s):
            self.sleep_s, self.calls, self.threads, self.crops, self.due = sleep_s, 0, set(), [], []

        def __call__(self, image, pose, t, mirror, **kw):
            self.calls += 1
            self.due.append((int(image[0, 0, 0]), kw.get("due")))
            self.threads.add(threading.current_thread().name)
            time.sleep(self.sleep_s)
            self.crops.append((int(image[0, 0, 0]), pose.timestamp_s))
            return (int(image[0, 0, 0]),)

        def close(self):
            pass

    face, hands = Tracker(face_s), Tracker(0.0)
    source = ArraySource(gray_frames(n), fps=200.0, realtime=True) if realtime else ArraySource(gray_frames(n))
    p = Pipeline(source, RecordingRenderer(record), ["null"], PipelineOptions(realtime=realtime, smoothing=None, pose_every=pose_every),
                 estimator_factory=lambda: Tagged(squat_poses()), retarget=lambda pose: pose, face=face, hands=hands)
    stats = p.run()
    stats["estimated frames"], stats["hands due"] = estimated, hands.due
    return seen, stats, face


def test_face_and_hands_run_on_their_own_thread_and_keep_every_frame_in_order_offline():
    seen, stats, face = _frame_order_run(realtime=False, face_s=0.0, n=12)
    assert face.threads == {"cues"}
    # frame 0 has no earlier pose to crop by: no face; every later frame is cropped by the pose
    # before it (the face runs beside the frame's own pose) and gets its own face and hands
    assert face.crops == [(i, i - 1) for i in range(1, 12)]
    assert seen[1] == (0, None, None) and [s[0] for s in seen[2:]] == list(range(1, 12))
    assert all(t == e == h for t, e, h in seen[2:])
    assert stats["dropped"] == 0


def test_frames_without_a_person_get_no_face_and_the_next_ones_crop_by_the_last_pose_seen():
    seen, _, face = _frame_order_run(realtime=False, face_s=0.0, n=6, nobody=(2, 3))
    assert face.crops == [(1, 0), (2, 1), (3, 1), (4, 1), (5, 4)]
    targets = [s[0] for s in seen[1:]]                    # frames 2 and 3 hold frame 1's target
    assert targets == [0, 1, 1, 1, 4, 5]
    assert [s[1] for s in seen[1:]] == [None, 1, None, None, 4, 5]


def test_a_slow_face_stage_drops_stale_frames_and_never_pairs_a_pose_with_another_frames_face():
    seen, stats, face = _frame_order_run(realtime=True, face_s=0.03, n=60)
    seen = [s for s in seen[1:] if s[1] is not None]
    frames = [s[0] for s in seen]
    assert frames == sorted(set(frames))                          # in order, none twice
    assert all(t == e == h for t, e, h in seen)
    assert stats["frames_in"] == 60 and face.calls < 45 and stats["dropped"] > 15


def test_predicted_poses_are_paired_with_their_own_frames_face_and_hands_run_beside_the_estimates():
    seen, stats, face = _frame_order_run(realtime=True, face_s=0.0, n=40, pose_every=2)
    seen = [s for s in seen[1:] if s[1] is not None]
    assert len(seen) > 10 and stats["stages"]["predict"]["count"] > 5
    assert all(t == e == h for t, e, h in seen)
    # Hands is told to run on exactly the frames whose pose is estimated (two heavy stages side by side)
    due = stats["hands due"]
    assert len(due) > 10 and {d for _, d in due} == {True, False}
    assert all(d == (i in stats["estimated frames"]) for i, d in due)
    assert all(d is None for _, d in face.due)          # the face runs on every frame, no cadence


def _pose_with_wrists(left, right, w=640, h=480):
    """A MediaPipe-33 pose with only the wrists and elbows present (px)."""
    from realtime.layouts import MEDIAPIPE33

    ix = MEDIAPIPE33.index
    xy = np.zeros((len(MEDIAPIPE33.names), 2), np.float32)
    score = np.zeros(len(MEDIAPIPE33.names), np.float32)
    for side, p in (("left", left), ("right", right)):
        xy[ix[f"{side}_wrist"]] = p
        xy[ix[f"{side}_elbow"]] = (p[0], p[1] + 100)
        score[[ix[f"{side}_wrist"], ix[f"{side}_elbow"]]] = 1.0
    return Pose(xy=xy, score=score, layout=MEDIAPIPE33, width=w, height=h)


def test_a_hand_is_its_sides_only_near_its_wrist_and_read_once():
    from realtime.hands import own_hands

    left = synthetic_hand(0, "left", at=(400, 300), scale=0.5)
    right = synthetic_hand(0, "right", at=(200, 300), scale=0.5)
    pose = _pose_with_wrists((402, 302), (198, 301))
    assert set(own_hands({"left": left, "right": right}, pose)) == {"left", "right"}
    # the right wrist's crop found the left hand (hands crossed): a hand far from its wrist is not its side's
    stray = replace(left, side="right")
    assert set(own_hands({"left": left, "right": stray}, pose)) == {"left"}
    # two readings of one hand between two close wrists: the one nearer its own wrist stays
    near = _pose_with_wrists((400, 300), (430, 310))
    twin = replace(left, side="right")
    assert set(own_hands({"left": left, "right": twin}, near)) == {"left"}


def test_a_hand_over_the_head_leaves_no_hole_in_it():
    """The arm's pixels inside the head's outline go to the head layer too, coloured like the head."""
    from engines.warp.layers import _head_texture
    from realtime.layouts import COCO17

    h, w = 240, 240
    names = ["torso", "head", "left_forearm"]
    labels = np.full((h, w), -1, np.int16)
    cv2.circle(labels, (120, 80), 50, 1, -1)                  # the head
    labels[60:100, 130:165] = 2                                  # a hand over its right side
    labels[100:200, 175:200] = 2                                 # its forearm, beside the neck
    labels[150:, 60:180] = 0
    img = np.zeros((h, w, 3), np.uint8)
    img[labels == 1] = (60, 90, 140)
    img[labels == 2] = (200, 200, 255)
    xy = np.zeros((17, 2))
    xy[COCO17.index["left_shoulder"]] = (170, 160)
    xy[COCO17.index["right_shoulder"]] = (70, 160)
    hidden, tex = _head_texture(img, img.copy(), labels, names, xy, (labels >= 0).astype(np.uint8))
    assert hidden[60:100, 130:165].all()
    assert not hidden[100:, 175:].any()                          # the arm outside the head's outline stays the arm's
    assert not hidden[150:, :].any()                             # nothing below the neck
    np.testing.assert_allclose(tex[hidden > 0].mean(axis=0), (60, 90, 140), atol=25)
