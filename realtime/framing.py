"""Framing of a pose: full body or upper body (a webcam at a desk sees the head and shoulders, the
hips below the frame), and a body size that both framings can measure.

Pure NumPy on `Pose` objects; any layout that names the COCO-17 keypoints. Pixels of the pose's
own image (x right, y down).

- ``size_ratio(a, b)``: how much larger body ``a`` appears than body ``b``: the median ratio of the four
  torso sides when both show their hips, else of shoulder width, eye and ear distances and the
  nose-to-neck length, over the lengths both show (a turn that foreshortens one length alone does
  not rescale the body). Head-and-shoulders drivers are scaled by it when they
  lean closer or step back.
- ``virtual_hips(xy, ...)``: where the hips of a photo cut at the chest would be: below the
  shoulder midpoint, perpendicular to the shoulder line, away from the face, at a typical adult's
  spine length (1.35 shoulder widths, at least 2.4 nose-to-neck lengths).
"""
from __future__ import annotations

import numpy as np

from realtime.pose import MIN_SCORE, Pose

SHOULDERS = ("left_shoulder", "right_shoulder")
HIPS = ("left_hip", "right_hip")
TORSO_SIDES = (("left_shoulder", "right_shoulder"), ("left_hip", "right_hip"),
               ("left_shoulder", "left_hip"), ("right_shoulder", "right_hip"))
#: lengths that a head-and-shoulders view shows (name pairs; "neck" is the shoulder midpoint)
UPPER_LENGTHS = (("left_shoulder", "right_shoulder"), ("left_eye", "right_eye"),
                 ("left_ear", "right_ear"), ("nose", "neck"))
SPINE_PER_SHOULDER = 1.35
SPINE_PER_NOSE_NECK = 2.4


def _point(pose: Pose, ok: np.ndarray, name: str) -> np.ndarray | None:
    ix = pose.layout.index
    if name == "neck" and "neck" not in ix:
        a, b = (_point(pose, ok, s) for s in SHOULDERS)
        return None if a is None or b is None else (a + b) / 2.0
    i = ix.get(name)
    if i is None or not ok[i]:
        return None
    return pose.xy[i].astype(np.float64)


def has_hips(pose: Pose, min_score: float = MIN_SCORE) -> bool:
    """Whether both hips are present."""
    ok = pose.present(min_score)
    return all(_point(pose, ok, n) is not None for n in HIPS)


def _lengths(pose: Pose, ok: np.ndarray, pairs) -> dict[tuple[str, str], float]:
    out = {}
    for a, b in pairs:
        pa, pb = _point(pose, ok, a), _point(pose, ok, b)
        if pa is not None and pb is not None:
            out[(a, b)] = float(np.linalg.norm(pa - pb))
    return out


def size_ratio(a: Pose, b: Pose, min_score: float = MIN_SCORE) -> float:
    """Apparent size of body ``a`` over body ``b`` (NaN when they share no measurable length).

    Median ratio of the torso sides when both poses show both hips; else of the head-and-shoulders
    lengths."""
    oa, ob = a.present(min_score), b.present(min_score)
    pairs = TORSO_SIDES if has_hips(a, min_score) and has_hips(b, min_score) else UPPER_LENGTHS
    la, lb = _lengths(a, oa, pairs), _lengths(b, ob, pairs)
    ratios = [la[k] / lb[k] for k in la if k in lb and lb[k] > 1e-6]
    if not ratios:
        return float("nan")
    # the median: one length foreshortened by a turn (the shoulders) does not rescale the body
    return float(np.median(ratios))


def virtual_hips(xy: np.ndarray, ok: np.ndarray, index: dict[str, int]) -> tuple[np.ndarray, np.ndarray] | None:
    """(left_hip, right_hip) px of a body whose hips are out of view, from its shoulders (and nose):
    see the module doc. None without both shoulders."""
    ls, rs = index["left_shoulder"], index["right_shoulder"]
    if not (ok[ls] and ok[rs]):
        return None
    l, r = xy[ls].astype(np.float64), xy[rs].astype(np.float64)
    across = l - r
    width = float(np.linalg.norm(across))
    if width < 1e-6:
        return None
    neck = (l + r) / 2.0
    down = np.array([-across[1], across[0]]) / width
    nose = index.get("nose")
    spine = SPINE_PER_SHOULDER * width
    if nose is not None and ok[nose]:
        up = xy[nose] - neck
        if float(down @ up) > 0:
            down = -down
        spine = max(spine, SPINE_PER_NOSE_NECK * float(np.linalg.norm(up)))
    elif down[1] < 0:
        down = -down
    mid = neck + spine * down
    # hips a little narrower than the shoulders, on the same sides
    return mid + 0.35 * across, mid - 0.35 * across
