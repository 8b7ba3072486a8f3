"""The driver's hands: MediaPipe Hands (21 landmarks a hand) on a crop around each wrist the pose shows.

Hands run only where they matter: a wrist in view (pose score) whose hand is large enough (the hand
span the pose gives: wrist to index/pinky, or 0.45 of the forearm, at least ``min_hand_px``), on a
square crop around it, one tracker per side (video mode). A crop may show the other hand (hands
crossed or touching): a hand whose wrist lies further than ``MAX_WRIST_OFF`` hand sizes from the
pose's wrist is not that side's, and of two readings of one hand (wrists closer than half a hand)
only the one nearer its pose wrist is kept. ``every`` runs them on every n-th call only (the live
loop's budget), or a caller says which calls run them (``due``: the live pipeline runs Hands on the
frames it estimates the pose on); in between, the last hands are carried along by their pose wrist
(moved by the wrist's displacement since they were found: the fingers hold their shape, the hand
follows the arm).

Coordinates: `Hand.xy` (21, 2) float32 in pixels of the frame, `Hand.z` (21,) relative depth in the
same scale; `side` is the person's side ("left"/"right", from the nearest pose wrist), in the frame
as given (a mirrored driver: see `Hand.flipped`).

Finger bend (the README's evaluation uses it): the mean over index, middle, ring and pinky of the
angle at the PIP joint between the MCP->PIP and PIP->DIP segments, in degrees (0 = straight).
"""
from __future__ import annotations

import time
from dataclasses import dataclass, replace

import numpy as np

from realtime.pose import MIN_SCORE, Pose

N_HAND = 21
WRIST, MIDDLE_MCP = 0, 9
#: (MCP, PIP, DIP, TIP) of index, middle, ring, pinky
FINGERS = ((5, 6, 7, 8), (9, 10, 11, 12), (13, 14, 15, 16), (17, 18, 19, 20))
THUMB = (1, 2, 3, 4)
SIDES = ("left", "right")
MAX_WRIST_OFF = 1.5


@dataclass(frozen=True, eq=False)
class Hand:
    """One hand: xy (21, 2) px, z (21,) px, side "left"/"right" (the person's), frame width/height."""

    xy: np.ndarray
    z: np.ndarray
    side: str
    width: int
    height: int

    def flipped(self) -> "Hand":
        """The mirror image: x -> width - x, and the other side."""
        xy = self.xy.copy()
        xy[:, 0] = self.width - xy[:, 0]
        return replace(self, xy=xy, side=SIDES[1 - SIDES.index(self.side)])

    @property
    def size(self) -> float:
        """Wrist to middle-finger MCP, px (3-D)."""
        d = self.xy[MIDDLE_MCP] - self.xy[WRIST]
        dz = float(self.z[MIDDLE_MCP] - self.z[WRIST])
        return float(np.sqrt(d @ d + dz * dz))


def pip_angles(xy: np.ndarray) -> np.ndarray:
    """(4,) bend at the PIP joints of index, middle, ring, pinky, degrees (0 = straight)."""
    out = []
    for mcp, pip, dip, _ in FINGERS:
        a, b = xy[pip] - xy[mcp], xy[dip] - xy[pip]
        na, nb = np.linalg.norm(a), np.linalg.norm(b)
        if na < 1e-6 or nb < 1e-6:
            out.append(0.0)
            continue
        out.append(float(np.degrees(np.arccos(np.clip(a @ b / (na * nb), -1, 1)))))
    return np.array(out)


def finger_bend(hand: Hand) -> float:
    """Mean PIP bend of the four fingers, degrees (the module doc)."""
    return float(np.mean(pip_angles(hand.xy)))


def hand_span(pose: Pose, side: str, min_score: float = MIN_SCORE) -> tuple[np.ndarray, float] | None:
    """(wrist px, expected hand size px) of one side, or None when the wrist is not in view."""
    ix = pose.layout.index
    ok = pose.present(min_score)
    w = ix.get(f"{side}_wrist")
    if w is None or not ok[w]:
        return None
    wrist = pose.xy[w].astype(np.float64)
    tips = [ix[n] for n in (f"{side}_index", f"{side}_pinky") if n in ix and pose.score[ix[n]] > 0.2]
    size = max([float(np.linalg.norm(pose.xy[t] - wrist)) for t in tips] or [0.0])
    e = ix.get(f"{side}_elbow")
    if e is not None and ok[e]:
        size = max(size, 0.45 * float(np.linalg.norm(wrist - pose.xy[e])))
    return wrist, size


def own_hands(found: dict[str, Hand], pose: Pose) -> dict[str, Hand]:
    """The hands that are their side's (module doc): near the pose's wrist, one reading per hand."""
    off = {}
    for side, hand in found.items():
        span = hand_span(pose, side, 0.0)
        off[side] = (float(np.linalg.norm(hand.xy[WRIST] - span[0])) / max(hand.size, 1e-6)
                     if span is not None else 0.0)
    out = {s: h for s, h in found.items() if off[s] <= MAX_WRIST_OFF}
    if len(out) == 2:
        a, b = out["left"], out["right"]
        if np.linalg.norm(a.xy[WRIST] - b.xy[WRIST]) < 0.25 * (a.size + b.size):
            del out[max(out, key=off.get)]
    return out


def hands_in_box(solution, image_bgr: np.ndarray, box: tuple[int, int, int, int],
                 side: str = "left") -> list[Hand]:
    """The hands a MediaPipe Hands ``solution`` finds on the crop ``box`` (x0, y0, x1, y1) of a BGR
    frame, in frame pixels, labelled ``side``, in the solution's order."""
    import cv2

    x0, y0, x1, y1 = box
    h, w = image_bgr.shape[:2]
    res = solution.process(cv2.cvtColor(image_bgr[y0:y1, x0:x1], cv2.COLOR_BGR2RGB))
    out = []
    cw, ch = x1 - x0, y1 - y0
    for marks in res.multi_hand_landmarks or []:
        arr = np.array([(p.x, p.y, p.z) for p in marks.landmark], np.float32)
        xy = arr[:, :2] * np.array([cw, ch], np.float32) + np.array([x0, y0], np.float32)
        out.append(Hand(xy, arr[:, 2] * np.float32(cw), side, w, h))
    return out


class HandEstimator:
    """MediaPipe Hands on wrist crops, one tracker per side (see the module doc). ``ms``: last call."""

    def __init__(self, mode: str = "video", min_hand_px: float = 20.0, every: int = 1,
                 model_complexity: int = 0) -> None:
        import mediapipe as mp

        if mode not in ("video", "image"):
            raise ValueError(f"hands mode must be 'video' or 'image', got {mode!r}")
        self._hands = {s: mp.solutions.hands.Hands(static_image_mode=mode == "image", max_num_hands=1,
                                                   model_complexity=model_complexity,
                                                   min_detection_confidence=0.5, min_tracking_confidence=0.5)
                       for s in SIDES}
        self.min_hand_px = min_hand_px
        self.every = max(1, int(every))
        self._n = 0
        self._last: dict[str, Hand] = {}
        self._wrists: dict[str, np.ndarray] = {}   # the pose's wrist when each held hand was found
        self.ms = 0.0

    def detect(self, image_bgr: np.ndarray, pose: Pose | None, due: bool | None = None) -> dict[str, Hand]:
        """{side: Hand} of the hands found near the pose's wrists (BGR uint8 frame). due: run Hands
        on this call (True) or carry the last hands (False); None: every ``every``-th call."""
        self._n += 1
        if pose is None:
            self._last = {}
            return {}
        if not ((self._n - 1) % self.every == 0 if due is None else due):
            return self._carried(pose)
        t0 = time.perf_counter()
        h, w = image_bgr.shape[:2]
        out: dict[str, Hand] = {}
        for side in SIDES:
            span = hand_span(pose, side)
            if span is None or span[1] < self.min_hand_px:
                continue
            (cx, cy), size = span
            half = 1.6 * size + 8
            x0, y0 = int(max(0, cx - half)), int(max(0, cy - half))
            x1, y1 = int(min(w, cx + half)), int(min(h, cy + half))
            if x1 - x0 < 16 or y1 - y0 < 16:
                continue
            found = hands_in_box(self._hands[side], image_bgr, (x0, y0, x1, y1), side)
            if not found:
                continue
            out[side] = found[0]
            self._wrists[side] = np.array([cx, cy], np.float32)
        out = own_hands(out, pose)
        self._last = out
        self.ms = (time.perf_counter() - t0) * 1000.0
        return out

    def _carried(self, pose: Pose) -> dict[str, Hand]:
        """The last hands moved by their pose wrist's displacement since they were found (a hand
        whose wrist left the view is dropped)."""
        out = {}
        for side, hand in self._last.items():
            span = hand_span(pose, side)
            if span is None:
                continue
            shift = (span[0] - self._wrists[side]).astype(np.float32)
            out[side] = replace(hand, xy=hand.xy + shift)
        return out

    def close(self) -> None:
        for h in self._hands.values():
            h.close()

    def __enter__(self) -> "HandEstimator":
        return self

    def __exit__(self, *exc) -> None:
        self.close()


class HandTracker:
    """Driver frames -> {side: Hand} in the driver's (possibly mirrored) orientation, one instance
    per run. ``every``: run MediaPipe Hands on every n-th frame only (the hands held in between)."""

    def __init__(self, mirror: bool = False, every: int = 1, mode: str = "video") -> None:
        self.estimator = HandEstimator(mode, every=every)
        self.mirror = mirror
        self.last_hands: dict[str, Hand] = {}

    @property
    def ms(self) -> float:
        return self.estimator.ms

    def __call__(self, image_bgr: np.ndarray, pose: Pose | None, t: float | None = None,
                 mirror: bool | None = None, due: bool | None = None) -> dict[str, Hand]:
        """{side: Hand} in this frame (due: see HandEstimator.detect)."""
        hands = self.estimator.detect(image_bgr, pose) if due is None else self.estimator.detect(image_bgr, pose, due)
        self.last_hands = hands
        if self.mirror if mirror is None else mirror:
            return {SIDES[1 - SIDES.index(s)]: h.flipped() for s, h in hands.items()}
        return hands

    def close(self) -> None:
        self.estimator.close()
