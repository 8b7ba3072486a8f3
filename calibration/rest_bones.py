"""Rest lengths of the limb bones where a photo (or the driver's neutral pose) does not give them.

The retargeter takes each bone's length from the avatar's photo and its change from the driver's
neutral pose. A limb bone the photo does not show gives no length: an arm hidden behind the body, or
one the avatar's wrist check (engines.warp.wrists) marked not shown because MediaPipe drew it onto
the other hand (basketball_dribble's first frame: the right elbow and wrist lie on the ball, scored
0, at a forearm of 67 px against the left's 133). Its positions there are a guess, and a target
built from them put the right wrist 170-260 px from the driver's.

Such a bone is measured, in both poses alike (so that their ratio still compares one bone), on the
other side of the body (left for right: the same person's arm or leg); where that side is not shown
either, the avatar's length is the driver's neutral bone in avatar pixels (``k``, the two bodies'
size ratio: body proportions from the driver). Only shown / not shown decides: a limb shorter than
its other side may be a real foreshortening, and a longer other side may be the wrong one (a wrist
drawn onto the far hand), so lengths are not judged against each other.
"""
from __future__ import annotations

import numpy as np

from realtime.layouts import LAYOUTS

# every layout's left/right twins (realtime.layouts: the pairs a horizontal flip swaps)
_TWINS = {a: b for lay in LAYOUTS.values() for x, y in lay.swap_pairs for a, b in ((x, y), (y, x))}


def other_side(name: str) -> str | None:
    """The same keypoint on the other side of the body (None for a keypoint with no side)."""
    return _TWINS.get(name)


def given_length(pos: dict, has: dict, name: str, parent: str) -> float | None:
    """The bone's length (px) where the pose shows both its ends, else None."""
    if not (has.get(name) and has.get(parent)):
        return None
    n = float(np.linalg.norm(pos[name] - pos[parent]))
    return n if n > 1e-6 else None


def rest_lengths(name: str, parent: str, avatar: tuple[dict, dict], neutral: tuple[dict, dict],
                 k: float) -> tuple[float | None, float | None]:
    """(avatar length, neutral length) of the bone ``name`` (from ``parent``) at rest, each None where
    neither pose shows this bone or its other side's; ``avatar`` and ``neutral``: (positions,
    presence) of the two poses' nodes. Where the avatar shows this bone, it is used, with the
    neutral's (the other side's where the neutral does not show this one). Where it does not, the
    other side's bone of both poses; else the neutral's bone times ``k`` (avatar px per driver px)."""
    mirror, mparent = other_side(name), other_side(parent) or parent
    a_own, n_own = given_length(*avatar, name, parent), given_length(*neutral, name, parent)
    a_side = given_length(*avatar, mirror, mparent) if mirror else None
    n_side = given_length(*neutral, mirror, mparent) if mirror else None
    if a_own is not None:
        return a_own, n_own if n_own is not None else n_side
    if a_side is not None:
        return a_side, n_side if n_side is not None else n_own
    n = n_own if n_own is not None else n_side
    return (n * k if n is not None else None), n
