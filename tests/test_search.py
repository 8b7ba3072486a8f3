import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from realtime.layouts import COCO17
from realtime.pose import Pose
from realtime.matching import compare
from realtime.search import PoseIndex


@settings(max_examples=30, deadline=None)
@given(st.integers(1, 200), st.integers(1, 8), st.integers(0, 10_000))
def test_search_returns_the_best_cosine_among_all(n, k, seed):
    """With re-ranking wide enough, the index gives the same top k as comparing with every pose."""
    rng = np.random.default_rng(seed)
    base = rng.uniform(0, 300, (17, 2))
    lib = [Pose(xy=base + rng.normal(0, 30, (17, 2)), score=np.ones(17), layout=COCO17) for _ in range(n)]
    query = Pose(xy=base + rng.normal(0, 30, (17, 2)), score=np.ones(17), layout=COCO17)
    got = PoseIndex(lib, list(range(n)), rerank_factor=n).search(query, k)
    want = sorted((compare(query, p).cosine_similarity for p in lib), reverse=True)[:k]
    np.testing.assert_allclose([h.comparison.cosine_similarity for h in got], want, atol=1e-12)


def _figure(rng, arm_angle):
    base = np.array([(50, 0), (52, -2), (48, -2), (55, 0), (45, 0), (60, 20), (40, 20), (60, 40), (40, 40),
                     (60, 60), (40, 60), (58, 60), (42, 60), (58, 80), (42, 80), (58, 100), (42, 100)], float)
    t = np.radians(arm_angle)
    base[9] = base[7] + 20 * np.array([np.sin(t), -np.cos(t)])
    return Pose(xy=base * rng.uniform(0.5, 3) + rng.uniform(0, 500, 2), score=np.ones(17), layout=COCO17)


def test_index_finds_the_closest_pose_and_ranks_by_cosine():
    rng = np.random.default_rng(0)
    angles = np.linspace(0, 180, 200)
    lib = [_figure(rng, a) for a in angles]
    index = PoseIndex(lib, [{"frame": i} for i in range(len(lib))])
    hits = index.search(_figure(rng, 91.0), k=5)
    assert [h.rank for h in hits] == [1, 2, 3, 4, 5]
    assert abs(angles[hits[0].item["frame"]] - 91.0) < 1.0
    cos = [h.comparison.cosine_similarity for h in hits]
    assert cos == sorted(cos, reverse=True)


def test_mirror_search_finds_mirrored_pose():
    rng = np.random.default_rng(1)
    lib = [_figure(rng, a) for a in (0, 45, 90, 135)]
    query = lib[2].flipped(width=1000)
    hits = PoseIndex(lib, list(range(4))).search(query, k=1, mirror=True)
    assert hits[0].item == 2 and hits[0].comparison.mirrored
