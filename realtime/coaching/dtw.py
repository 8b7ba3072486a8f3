"""Dynamic time warping on a precomputed cost matrix, with a band, vectorized over anti-diagonals.

Cells (i, j) of an anti-diagonal i + j = k depend only on the two diagonals before it, so each
diagonal is one NumPy step: O(N + M) Python iterations for N x M cells. Steps are (1, 1), (1, 0)
and (0, 1), each adding the cost of the cell it enters (the "symmetric1" pattern); the path runs
from (0, 0) to (N - 1, M - 1).

The band is a Sakoe-Chiba band around the straight line from corner to corner, so two sequences of
different lengths (a rep done at half speed) keep a band of the same relative width:
|j - i (M - 1) / (N - 1)| <= max(band * M, 1 + M / N).

Why not a library: dtw-python is GPL-3 and needs NumPy 2 (MediaPipe 0.10.21 needs NumPy < 2);
dtaidistance computes its own Euclidean distances between series values, where the coach needs
its own per-pair score (present joints only) as the cost.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Alignment:
    """path: (P, 2) int pairs (i, j), monotone from (0, 0) to (N-1, M-1); cost: summed cost along it."""

    path: np.ndarray
    cost: float

    @property
    def mean_cost(self) -> float:
        return self.cost / max(1, len(self.path))


def band_mask(n: int, m: int, band: float | None) -> np.ndarray:
    """(n, m) bool: cells inside the relative Sakoe-Chiba band (all True for ``band=None``)."""
    if band is None or n < 2 or m < 2:
        return np.ones((n, m), bool)
    centre = np.arange(n)[:, None] * (m - 1) / (n - 1)
    radius = max(band * m, 1.0 + m / n)
    return np.abs(np.arange(m)[None, :] - centre) <= radius


def dtw(cost: np.ndarray, band: float | None = None) -> Alignment:
    """The warping path of least summed cost through an (N, M) cost matrix (finite, >= 0)."""
    c = np.asarray(cost, np.float64)
    if c.ndim != 2 or 0 in c.shape:
        raise ValueError(f"dtw needs a non-empty 2-D cost matrix, got shape {c.shape}")
    n, m = c.shape
    c = np.where(band_mask(n, m, band), c, np.inf)
    acc = np.full((n + 1, m + 1), np.inf)
    acc[0, 0] = 0.0
    for k in range(2, n + m + 1):                  # anti-diagonal i + j = k in 1-based cells
        i = np.arange(max(1, k - m), min(n, k - 1) + 1)
        j = k - i
        best = np.minimum(np.minimum(acc[i - 1, j - 1], acc[i - 1, j]), acc[i, j - 1])
        acc[i, j] = c[i - 1, j - 1] + best
    if not np.isfinite(acc[n, m]):
        raise ValueError("no warping path inside the band")
    return Alignment(_backtrack(acc), float(acc[n, m]))


def _backtrack(acc: np.ndarray) -> np.ndarray:
    i, j = acc.shape[0] - 1, acc.shape[1] - 1
    path = [(i - 1, j - 1)]
    while (i, j) != (1, 1):
        steps = ((i - 1, j - 1), (i - 1, j), (i, j - 1))
        i, j = min(steps, key=lambda s: acc[s])
        path.append((i - 1, j - 1))
    return np.array(path[::-1], dtype=np.int64)


def frame_map(path: np.ndarray, n: int) -> np.ndarray:
    """(n,) the j each i is aligned with along ``path`` (the middle one where i maps to several)."""
    rows = np.arange(n)
    lo = np.searchsorted(path[:, 0], rows, "left")
    hi = np.searchsorted(path[:, 0], rows, "right")
    return path[np.minimum((lo + hi - 1) // 2, len(path) - 1), 1]
