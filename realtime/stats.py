"""Pipeline measurements: per-stage durations, capture-to-output latency, frame rates.

All times are ``time.perf_counter()`` seconds; reported durations are milliseconds. Each series
keeps its last ``window`` samples (a ring buffer, so a long run uses bounded memory) plus a total
count. Generic helper: imports nothing from the project.
"""
from __future__ import annotations

import collections
import threading
import time
from typing import Any

import numpy as np

PERCENTILES = (50, 95, 99)


class RateMeter:
    """Events per second over a sliding window of the last ``window_s`` seconds."""

    def __init__(self, window_s: float = 2.0) -> None:
        self.window_s = window_s
        self._times: collections.deque[float] = collections.deque()
        self.count = 0
        self.first: float | None = None
        self.last: float | None = None
        self._lock = threading.Lock()

    def tick(self, t: float | None = None) -> None:
        t = time.perf_counter() if t is None else t
        with self._lock:
            self._times.append(t)
            self.count += 1
            self.first = t if self.first is None else self.first
            self.last = t
            while self._times and self._times[0] < t - self.window_s:
                self._times.popleft()

    def rate(self) -> float:
        """Current rate (events/s) over the window; 0 before two events."""
        with self._lock:
            if len(self._times) < 2:
                return 0.0
            span = self._times[-1] - self._times[0]
            return (len(self._times) - 1) / span if span > 0 else 0.0

    def mean_rate(self) -> float:
        """Rate over the whole run: (count - 1) / (last - first)."""
        with self._lock:
            if self.count < 2 or self.last is None or self.first is None or self.last <= self.first:
                return 0.0
            return (self.count - 1) / (self.last - self.first)


class Series:
    """Bounded samples of one duration (seconds in, milliseconds out)."""

    def __init__(self, window: int = 20000) -> None:
        self._buf = np.zeros(window, np.float64)
        self._n = 0
        self._lock = threading.Lock()

    def add(self, seconds: float) -> None:
        with self._lock:
            self._buf[self._n % len(self._buf)] = seconds
            self._n += 1

    @property
    def count(self) -> int:
        return self._n

    def values_ms(self) -> np.ndarray:
        with self._lock:
            return self._buf[: min(self._n, len(self._buf))] * 1000.0

    def last_ms(self) -> float | None:
        with self._lock:
            return None if self._n == 0 else float(self._buf[(self._n - 1) % len(self._buf)] * 1000.0)

    def summary(self) -> dict[str, float | int | None]:
        v = self.values_ms()
        if v.size == 0:
            return {"count": 0, "mean_ms": None, **{f"p{p}_ms": None for p in PERCENTILES}}
        pct = np.percentile(v, PERCENTILES)
        return {"count": self._n, "mean_ms": round(float(v.mean()), 3),
                **{f"p{p}_ms": round(float(x), 3) for p, x in zip(PERCENTILES, pct)}}


class PipelineStats:
    """Everything the HUD, the logs and ``--stats-json`` report about a run."""

    def __init__(self, window: int = 20000) -> None:
        self._window = window
        self.stages: dict[str, Series] = {}
        self.latency = Series(window)          # capture -> handed to the sinks
        self.sink_latency: dict[str, Series] = {}  # capture -> written by each sink
        self.fps_in = RateMeter()
        self.fps_out = RateMeter()
        self.frames_in = 0
        self.frames_processed = 0
        self.frames_out = 0
        self.no_person = 0
        self.started = time.perf_counter()
        self._lock = threading.Lock()

    def stage(self, name: str) -> Series:
        with self._lock:
            s = self.stages.get(name)
            if s is None:
                s = self.stages[name] = Series(self._window)
            return s

    def add_stage(self, name: str, seconds: float) -> None:
        self.stage(name).add(seconds)

    def add_sink_latency(self, name: str, seconds: float) -> None:
        with self._lock:
            s = self.sink_latency.get(name)
            if s is None:
                s = self.sink_latency[name] = Series(self._window)
        s.add(seconds)

    def stage_ms(self) -> dict[str, float]:
        """Latest duration of every stage (ms), for the HUD."""
        return {k: v for k, v in ((k, s.last_ms()) for k, s in list(self.stages.items())) if v is not None}

    def to_dict(self, dropped: int | None = None) -> dict[str, Any]:
        """A JSON-ready summary of the run."""
        duration = time.perf_counter() - self.started
        return {
            "duration_s": round(duration, 3),
            "frames_in": self.frames_in,
            "frames_processed": self.frames_processed,
            "frames_out": self.frames_out,
            "dropped": self.frames_in - self.frames_out if dropped is None else dropped,
            "no_person_frames": self.no_person,
            "fps_in": round(self.fps_in.mean_rate(), 3),
            "fps_out": round(self.fps_out.mean_rate(), 3),
            "latency_capture_to_output": self.latency.summary(),
            "latency_capture_to_sink": {k: s.summary() for k, s in self.sink_latency.items()},
            "stages": {k: s.summary() for k, s in self.stages.items()},
        }
