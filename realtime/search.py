"""Pose library search: the k poses of a library nearest to a query pose.

Each library pose becomes a fixed-length unit vector (``matching.pose_vector``) and goes into a
vantage-point tree, the metric index Move Mirror uses, over the Euclidean distance between unit
vectors. A query first takes the tree's nearest candidates (``rerank_factor * k`` of them), which
are then re-ranked by the full comparison (only keypoints present in both poses), so that keypoints
missing in the query or in a library pose cannot distort the final order.
"""
from __future__ import annotations

import heapq
from dataclasses import dataclass
from typing import Any, Sequence

import numpy as np

from realtime.matching import Comparison, compare, pose_vector
from realtime.pose import Pose


class VPTree:
    """Vantage-point tree over the rows of ``points`` with the Euclidean metric.

    Built iteratively (no recursion limit); ``query`` returns (distance, row index) pairs, nearest first.
    """

    def __init__(self, points: np.ndarray, leaf_size: int = 8, seed: int = 0) -> None:
        self.points = np.ascontiguousarray(points, dtype=np.float64)
        n = len(self.points)
        # node arrays: vantage row, radius, inner child, outer child (-1: none); leaves hold rows
        self.vantage: list[int] = []
        self.radius: list[float] = []
        self.inner: list[int] = []
        self.outer: list[int] = []
        self.leaf_rows: list[np.ndarray | None] = []
        rng = np.random.default_rng(seed)
        if n == 0:
            return
        self._root = self._new_node()
        stack = [(self._root, np.arange(n))]
        while stack:
            node, rows = stack.pop()
            if len(rows) <= leaf_size:
                self.leaf_rows[node] = rows
                continue
            v = rows[rng.integers(len(rows))]
            rest = rows[rows != v]
            d = np.linalg.norm(self.points[rest] - self.points[v], axis=1)
            mu = float(np.median(d))
            self.vantage[node], self.radius[node] = int(v), mu
            inside, outside = rest[d <= mu], rest[d > mu]
            if len(inside) == len(rest) or len(outside) == len(rest):  # all equidistant: stop here
                self.leaf_rows[node] = rows
                continue
            self.inner[node], self.outer[node] = self._new_node(), self._new_node()
            stack.append((self.inner[node], inside))
            stack.append((self.outer[node], outside))

    def _new_node(self) -> int:
        self.vantage.append(-1)
        self.radius.append(0.0)
        self.inner.append(-1)
        self.outer.append(-1)
        self.leaf_rows.append(None)
        return len(self.vantage) - 1

    def __len__(self) -> int:
        return len(self.points)

    def query(self, q: np.ndarray, k: int) -> list[tuple[float, int]]:
        if len(self.points) == 0 or k <= 0:
            return []
        q = np.asarray(q, np.float64)
        best: list[tuple[float, int]] = []  # max-heap via negated distances
        tau = np.inf

        def offer(d: float, row: int) -> float:
            if len(best) < k:
                heapq.heappush(best, (-d, row))
            elif d < -best[0][0]:
                heapq.heapreplace(best, (-d, row))
            return -best[0][0] if len(best) == k else np.inf

        stack = [self._root]
        while stack:
            node = stack.pop()
            rows = self.leaf_rows[node]
            if rows is not None:
                ds = np.linalg.norm(self.points[rows] - q, axis=1)
                for d, r in zip(ds, rows):
                    tau = offer(float(d), int(r))
                continue
            v, mu = self.vantage[node], self.radius[node]
            d = float(np.linalg.norm(self.points[v] - q))
            tau = offer(d, v)
            near, far = (self.inner[node], self.outer[node]) if d <= mu else (self.outer[node], self.inner[node])
            # visit the far side only if the ball of radius tau around q crosses the boundary
            if (d <= mu and d + tau > mu) or (d > mu and d - tau <= mu):
                stack.append(far)
            stack.append(near)
        return sorted((-nd, r) for nd, r in best)


@dataclass(frozen=True)
class Match:
    """One search hit: the library item, its pose and the comparison with the query."""

    rank: int
    item: Any
    pose: Pose
    comparison: Comparison


class PoseIndex:
    """An index of library poses (each with an item label: a file name or a frame number)."""

    def __init__(self, poses: Sequence[Pose], items: Sequence[Any], rerank_factor: int = 4) -> None:
        if len(poses) != len(items):
            raise ValueError("poses and items differ in length")
        self.poses = list(poses)
        self.items = list(items)
        self.rerank_factor = rerank_factor
        vectors = np.stack([pose_vector(p) for p in self.poses]) if self.poses else np.zeros((0, 34))
        self.tree = VPTree(vectors)

    def __len__(self) -> int:
        return len(self.poses)

    def search(self, query: Pose, k: int = 5, mirror: bool = False) -> list[Match]:
        """The k library poses most similar to ``query`` (highest cosine similarity first)."""
        cand = self.tree.query(pose_vector(query), max(k, k * self.rerank_factor))
        if mirror:
            cand += self.tree.query(pose_vector(query.flipped(width=0.0)), max(k, k * self.rerank_factor))
        rows = list(dict.fromkeys(r for _, r in cand))
        scored = [(compare(query, self.poses[r], mirror=mirror), r) for r in rows]
        scored.sort(key=lambda cr: (-cr[0].cosine_similarity, cr[1]))
        return [Match(i + 1, self.items[r], self.poses[r], c) for i, (c, r) in enumerate(scored[:k])]
