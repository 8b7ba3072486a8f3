"""The reference's wrists checked against its hands before the warp renderer cuts its parts.

MediaPipe Pose can draw both wrists to one hand when the other arm is hard to see:
`basketball_dribble`'s first frame has the far arm's right wrist on the ball, beside the near arm's
left hand, while the real right hand hangs at the hip. Cut from such a pose, that hand and the held
ball go to the wrong forearm and travel with the wrong target wrist for the whole clip. Checked once
at prepare time, with MediaPipe Hands (image mode) on crops around the pose's wrists:

- each hand found is claimed by the side whose pose wrist lies nearest it, within ``MAX_WRIST_OFF``
  hand sizes (realtime.hands' rule for the driver's hands); one hand a side;
- a side that claims no hand is doubtful when its wrist lies within ``NEAR`` hand sizes of the other
  side's hand (both wrists drawn to one hand), or when a hand nobody claims lies within its
  forearm's reach of its elbow (the wrist on no hand, its hand beside it);
- a doubtful side takes the unclaimed hand within reach of its elbow that most crops agree on: its
  wrist and the pose's hand points (index, pinky, thumb) move onto that hand. A wrist on the other
  side's hand with no hand of its own found, and a lower score than the other wrist's, is marked
  not shown: no forearm is cut from it, and the hand and a held ball go to the other forearm
  (engines.warp.held takes the nearer wrist shown). Its elbow goes too when the pose doubts it
  (score under ``ELBOW_SURE``): an arm drawn onto the other hand is mostly the far arm, hidden
  behind the body (basketball_dribble's right elbow, 0.5, lay on the ball's rim, and the upper arm
  cut to it carried a piece of the left glove that read as a wrist in every output). Otherwise the
  wrist stays (hands clasped or touching: the other hand may hide this one from Hands, and the pose
  is as sure of both);
- everything else is left alone: a fist or a small hand that Hands misses is common, not an error.
Each correction is logged at INFO. Pixels of the reference photo, images BGR uint8.
"""
from __future__ import annotations

import logging
from dataclasses import replace
from typing import Sequence

import numpy as np

from realtime.hands import SIDES, WRIST, Hand, hands_in_box
from realtime.pose import Pose

log = logging.getLogger(__name__)

MAX_WRIST_OFF = 1.5     # hand sizes between a pose wrist and the hand it claims
NEAR = 2.0              # hand sizes within which a handless wrist sits on the other side's hand
REACH = (0.3, 1.4)      # elbow to hand wrist, in upper-arm lengths
SAME = 0.6              # hand sizes between the wrists of two readings of one hand
ELBOW_SURE = 0.8        # a hidden wrist's elbow scored under this is hidden too (module doc)
APART = 1.0             # hand sizes from every claimed hand's wrist for a hand to be another one
#: the pose's hand points and the hand landmark each moves to (MCP of index and pinky, thumb's MCP)
HAND_POINTS = (("wrist", WRIST), ("index", 5), ("pinky", 17), ("thumb", 2))


def _point(pose: Pose, name: str) -> np.ndarray | None:
    i = pose.layout.index.get(name)
    if i is None or pose.score[i] <= 0.0:
        return None
    return pose.xy[i].astype(np.float64)


def _upper_arm(pose: Pose, side: str) -> float:
    s, e = _point(pose, f"{side}_shoulder"), _point(pose, f"{side}_elbow")
    return float(np.linalg.norm(e - s)) if s is not None and e is not None else 0.0


def claim_hands(pose: Pose, hands: Sequence[Hand]) -> dict[str, Hand]:
    """{side: Hand}: each hand to the side whose pose wrist lies nearest it, within MAX_WRIST_OFF
    hand sizes; of two hands wanting one side, the nearer keeps it."""
    offers = []
    for k, hand in enumerate(hands):
        for side in SIDES:
            w = _point(pose, f"{side}_wrist")
            if w is None:
                continue
            off = float(np.linalg.norm(hand.xy[WRIST] - w)) / max(hand.size, 1e-6)
            if off <= MAX_WRIST_OFF:
                offers.append((off, side, k))
    out: dict[str, Hand] = {}
    taken: set[int] = set()
    for off, side, k in sorted(offers):
        if side not in out and k not in taken:
            out[side] = replace(hands[k], side=side)
            taken.add(k)
    return out


def on_hand(pose: Pose, side: str, hand: Hand) -> bool:
    """Whether that side's pose wrist lies within NEAR hand sizes of the hand's wrist, or one of its
    hand points (wrist, index, pinky, thumb) on the hand (within half a hand size of a landmark)."""
    size = max(hand.size, 1e-6)
    w = _point(pose, f"{side}_wrist")
    if w is not None and np.linalg.norm(hand.xy[WRIST] - w) <= NEAR * size:
        return True
    pts = [p for p in (_point(pose, f"{side}_{n}") for n, _ in HAND_POINTS) if p is not None]
    return any(np.linalg.norm(hand.xy - p, axis=1).min() <= 0.5 * size for p in pts)


def _within_reach(pose: Pose, side: str, hand: Hand) -> bool:
    e, arm = _point(pose, f"{side}_elbow"), _upper_arm(pose, side)
    if e is None or arm <= 0.0:
        return False
    d = float(np.linalg.norm(hand.xy[WRIST] - e)) / arm
    return REACH[0] <= d <= REACH[1]


def _unclaimed(hands: Sequence[Hand], claimed: dict[str, Hand]) -> list[Hand]:
    return [h for h in hands if all(np.linalg.norm(h.xy[WRIST] - c.xy[WRIST]) > APART * max(c.size, h.size)
                                    for c in claimed.values())]


def agreed_hand(hands: Sequence[Hand]) -> Hand | None:
    """The hand most readings agree on (wrists within SAME hand sizes of each other), or None."""
    best, votes = None, 0
    for h in hands:
        n = sum(np.linalg.norm(h.xy[WRIST] - o.xy[WRIST]) <= SAME * max(h.size, o.size) for o in hands)
        if n > votes:
            best, votes = h, n
    return best


def _moved(pose: Pose, side: str, hand: Hand, min_score: float) -> Pose:
    xy, score = pose.xy.copy(), pose.score.copy()
    for name, k in HAND_POINTS:
        i = pose.layout.index.get(f"{side}_{name}")
        if i is not None:
            xy[i] = hand.xy[k]
            score[i] = max(float(score[i]), min_score)
    return replace(pose, xy=xy, score=score)


def _hidden(pose: Pose, side: str, elbow: bool) -> Pose:
    score = pose.score.copy()
    for name in [n for n, _ in HAND_POINTS] + (["elbow"] if elbow else []):
        i = pose.layout.index.get(f"{side}_{name}")
        if i is not None:
            score[i] = 0.0
    return replace(pose, score=score)


def _score(pose: Pose, name: str) -> float:
    i = pose.layout.index.get(name)
    return float(pose.score[i]) if i is not None else 0.0


def correct_wrists(pose: Pose, hands: Sequence[Hand],
                   min_score: float = 0.5) -> tuple[Pose, dict[str, Hand], list[str]]:
    """(pose with its wrists checked, {side: Hand} the hands of the corrected pose, one line per
    correction) (module doc). hands: the hands found on the photo (any side label, readings of one
    hand may repeat); min_score: the score a moved wrist gets at least."""
    claimed = claim_hands(pose, hands)
    notes: list[str] = []
    for side in SIDES:
        other = SIDES[1 - SIDES.index(side)]
        w = _point(pose, f"{side}_wrist")
        if side in claimed or w is None:
            continue
        on_other = other in claimed and on_hand(pose, side, claimed[other])
        free = [h for h in _unclaimed(hands, claimed) if _within_reach(pose, side, h)]
        if not on_other and not free:
            continue
        hand = agreed_hand(free)
        if hand is not None:
            claimed[side] = replace(hand, side=side)
            pose = _moved(pose, side, hand, min_score)
            notes.append(f"the reference's {side} wrist ({w[0]:.0f}, {w[1]:.0f}) lay on "
                         f"{'the ' + other + ' hand' if on_other else 'no hand'}: moved to the hand at "
                         f"({hand.xy[WRIST][0]:.0f}, {hand.xy[WRIST][1]:.0f})")
        elif on_other and _score(pose, f"{side}_wrist") < _score(pose, f"{other}_wrist"):
            elbow = _score(pose, f"{side}_elbow") < ELBOW_SURE
            pose = _hidden(pose, side, elbow)
            notes.append(f"the reference's {side} wrist ({w[0]:.0f}, {w[1]:.0f}) lay on the {other} hand, "
                         "which the pose is surer of, and no hand of its own was found: marked not shown"
                         + (f", with its elbow (score under {ELBOW_SURE})" if elbow else ""))
    return pose, claimed, notes


def _crop(img: np.ndarray, centre: np.ndarray, half: float) -> tuple[int, int, int, int] | None:
    h, w = img.shape[:2]
    x0, y0 = int(max(0, centre[0] - half)), int(max(0, centre[1] - half))
    x1, y1 = int(min(w, centre[0] + half)), int(min(h, centre[1] + half))
    return (x0, y0, x1, y1) if x1 - x0 >= 16 and y1 - y0 >= 16 else None


def check_wrists(img: np.ndarray, pose: Pose, found: dict[str, Hand] | None,
                 min_score: float = 0.5) -> tuple[Pose, dict[str, Hand] | None]:
    """The reference pose with its wrists checked against the hands in the photo (module doc), and
    the hands its forearms hold: ``found`` unchanged when nothing was corrected."""
    import mediapipe as mp

    from realtime.hands import hand_span

    with mp.solutions.hands.Hands(static_image_mode=True, max_num_hands=2, model_complexity=1,
                                  min_detection_confidence=0.5) as solution:
        hands = list((found or {}).values())
        for side in SIDES:   # a wider crop than the driver's: a hand the pose's wrist misses is still in it
            span = hand_span(pose, side)
            box = _crop(img, span[0], 2.5 * span[1] + 8) if span is not None and span[1] >= 8.0 else None
            if box is not None:
                hands += hands_in_box(solution, img, box)

        fixed, claimed, notes = correct_wrists(pose, hands, min_score)
    for line in notes:
        log.info(line)
    return (fixed, claimed) if notes else (pose, found)
