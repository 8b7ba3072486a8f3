"""Hypothesis strategies for poses."""
from __future__ import annotations

import numpy as np
from hypothesis import strategies as st

from realtime.layouts import COCO17
from realtime.pose import Pose

coord = st.floats(min_value=0.0, max_value=2000.0, allow_nan=False, width=32)
score = st.floats(min_value=0.0, max_value=1.0, allow_nan=False, width=32)


@st.composite
def poses(draw, layout=COCO17, min_present: int = 3) -> Pose:
    """Random poses with at least ``min_present`` keypoints spread over a non-degenerate box."""
    k = len(layout)
    xy = np.array(draw(st.lists(st.tuples(coord, coord), min_size=k, max_size=k)), np.float32)
    sc = np.array(draw(st.lists(score, min_size=k, max_size=k)), np.float32)
    present = draw(st.lists(st.integers(0, k - 1), min_size=min_present, max_size=k, unique=True))
    sc[present] = np.maximum(sc[present], 0.6)
    # make sure the present points span a real box (not all on one spot)
    spread = xy[present].max(axis=0) - xy[present].min(axis=0)
    if spread.max() < 5.0:
        xy[present[0]] += 50.0
    return Pose(xy=xy, score=sc, layout=layout)
