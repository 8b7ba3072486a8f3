import numpy as np
import pytest

from realtime.layouts import COCO17, LAYOUTS, MEDIAPIPE33, OPENPOSE18, conversion_plan, get_layout
from realtime.pose import Pose


@pytest.mark.parametrize("layout", list(LAYOUTS.values()), ids=list(LAYOUTS))
def test_layout_is_consistent(layout):
    assert len(set(layout.names)) == len(layout.names)
    perm = layout.flip_indices
    assert sorted(perm) == list(range(len(layout)))
    assert np.array_equal(perm[perm], np.arange(len(layout)))  # an involution
    side = lambda n: "left" if "left" in n else "right" if "right" in n else None
    for a, b in layout.swap_pairs:
        assert {side(a), side(b)} == {"left", "right"}
        assert a.replace("left", "right") == b or a.replace("right", "left") == b
    # every sided keypoint has its twin in the swap pairs
    swapped = {n for pair in layout.swap_pairs for n in pair}
    assert {n for n in layout.names if side(n)} == swapped


def test_sizes():
    assert (len(MEDIAPIPE33), len(COCO17), len(OPENPOSE18)) == (33, 17, 18)
    assert OPENPOSE18.names[:2] == ("nose", "neck")
    with pytest.raises(ValueError, match="expected one of"):
        get_layout("body25")


def _random_pose(layout, rng):
    return Pose(xy=rng.uniform(0, 500, (len(layout), 2)), score=rng.uniform(0, 1, len(layout)),
                layout=layout, z=rng.normal(size=len(layout)), width=500, height=500)


def test_mediapipe_to_coco_and_openpose_keep_scores():
    rng = np.random.default_rng(0)
    mp = _random_pose(MEDIAPIPE33, rng)
    coco = mp.to_layout(COCO17)
    for name in COCO17.names:
        i, j = MEDIAPIPE33.index[name], COCO17.index[name]
        assert np.allclose(coco.xy[j], mp.xy[i]) and coco.score[j] == mp.score[i] and coco.z[j] == mp.z[i]
    op = mp.to_layout(OPENPOSE18)
    neck = OPENPOSE18.index["neck"]
    ls, rs = MEDIAPIPE33.index["left_shoulder"], MEDIAPIPE33.index["right_shoulder"]
    assert np.allclose(op.xy[neck], (mp.xy[ls] + mp.xy[rs]) / 2)
    assert op.score[neck] == pytest.approx(min(mp.score[ls], mp.score[rs]))
    # openpose18 -> coco17 -> openpose18 is lossless
    back = op.to_layout(COCO17).to_layout(OPENPOSE18)
    assert np.allclose(back.xy, op.xy) and np.allclose(back.score, op.score)


def test_conversion_to_a_richer_layout_is_refused():
    with pytest.raises(ValueError, match="cannot convert coco17 to mediapipe33"):
        conversion_plan(COCO17, MEDIAPIPE33)


def test_flip_swaps_sides_and_mirrors_x():
    rng = np.random.default_rng(1)
    p = _random_pose(COCO17, rng)
    f = p.flipped()
    li, ri = COCO17.index["left_wrist"], COCO17.index["right_wrist"]
    assert f.xy[li, 0] == pytest.approx(500 - p.xy[ri, 0])
    assert f.score[li] == p.score[ri]
    assert np.allclose(f.flipped().xy, p.xy)


def test_pose_validates_shapes():
    with pytest.raises(ValueError, match="needs 17 keypoints"):
        Pose(xy=np.zeros((5, 2)), score=np.zeros(5), layout=COCO17)
