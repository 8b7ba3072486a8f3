"""Test helpers for the live pipeline: real footage location, real recorded poses replayed as an
estimator, a recording pyvirtualcam backend. Not a test module (no test_ prefix)."""
from __future__ import annotations

import json
import threading
import time
import urllib.request
from pathlib import Path

import cv2
import numpy as np
import pytest

from realtime.layouts import MEDIAPIPE33
from realtime.pose import Pose
from realtime.sources import Frame, SourceError
from tests.conftest import MEDIA_DIR

MEDIA = MEDIA_DIR


def squat_poses() -> list[Pose]:
    """The 65 BlazePose poses of pose_squats.mp4 (720x1280) recorded in pose_squats.full.json."""
    path = MEDIA / "pose_squats.full.json"
    if not path.exists():
        pytest.skip(f"{path} not found (shared test footage sits beside the checkout)")
    frames = json.loads(path.read_text())
    return [Pose(xy=np.asarray(f)[:, :2], score=np.ones(33), layout=MEDIAPIPE33, width=720, height=1280,
                 z=np.asarray(f)[:, 2]) for f in frames]


class ReplayEstimator:
    """Plays recorded poses back as if estimated (cycling); ``None`` entries mean nobody in view.

    Counts calls; ``fail_at`` makes call number N raise (a stage that fails).
    """

    def __init__(self, poses: list[Pose | None], fail_at: int | None = None) -> None:
        self.poses, self.fail_at = poses, fail_at
        self.calls = 0
        self.closed = False

    def estimate(self, image_bgr: np.ndarray, timestamp_s: float | None = None) -> Pose | None:
        i = self.calls
        self.calls += 1
        if self.fail_at is not None and i >= self.fail_at:
            raise RuntimeError(f"estimator broke at call {i}")
        p = self.poses[i % len(self.poses)]
        if p is None:
            return None
        h, w = image_bgr.shape[:2]
        s = min(w / p.width, h / p.height)
        return p.transformed(s, (0.0, 0.0), width=w, height=h)

    def close(self) -> None:
        self.closed = True


class FakeVirtualCam:
    """A pyvirtualcam backend that records what it gets (registered as "fake" by the tests)."""

    instances: list["FakeVirtualCam"] = []
    lock = threading.Lock()

    def __init__(self, *, width: int, height: int, fps: float, fourcc: int, device: str | None, **kw) -> None:
        self.width, self.height, self.fps, self.fourcc = width, height, fps, fourcc
        self._device = device or "/dev/fake-video0"
        self.count = 0
        self.sizes: set[int] = set()
        self.last: np.ndarray | None = None
        self.closed = False
        with FakeVirtualCam.lock:
            FakeVirtualCam.instances.append(self)

    def send(self, frame: np.ndarray) -> None:
        assert not self.closed, "send after close"
        assert frame.dtype == np.uint8 and frame.ndim == 1 and frame.flags.c_contiguous
        self.sizes.add(frame.size)
        self.count += 1
        self.last = frame.copy()

    def close(self) -> None:
        assert not self.closed, "close called twice"
        self.closed = True

    def device(self) -> str:
        return self._device

    def native_fourcc(self):
        return None


@pytest.fixture
def fake_vcam():
    pyvirtualcam = pytest.importorskip("pyvirtualcam")
    FakeVirtualCam.instances.clear()
    pyvirtualcam.register_backend("fake", FakeVirtualCam)
    yield FakeVirtualCam
    pyvirtualcam.camera.BACKENDS.pop("fake", None)


def skeleton_renderer(width: int = 320, height: int = 240, pose: Pose | None = None):
    """A prepared skeleton renderer on a black reference of the given size (no MediaPipe needed)."""
    from engines.skeleton import SkeletonRenderer

    rest = pose if pose is not None else squat_poses()[0]
    s = min(width / rest.width, height / rest.height)
    rest = rest.transformed(s, (0.0, 0.0), width=width, height=height)
    r = SkeletonRenderer()
    r.prepare(np.full((height, width, 3), 40, np.uint8), reference_pose=rest)
    return r


class RecordingRenderer:
    """A skeleton renderer (``skeleton_renderer``) with the warp renderer's
    ``render(target, expression, hands)``: ``record(target, expression, hands)`` sees every call."""

    name = "fake"

    def __init__(self, record) -> None:
        self._inner = skeleton_renderer()
        self.rest_pose = self._inner.rest_pose
        self._record = record

    def render(self, target, expression=None, hands=None):
        self._record(target, expression, hands)
        return self._inner.render(target)

    def close(self) -> None:
        self._inner.close()


def gray_frames(n: int, width: int = 320, height: int = 240) -> list[np.ndarray]:
    """n distinct frames (the index is in the top-left pixel value)."""
    out = []
    for i in range(n):
        f = np.full((height, width, 3), 90, np.uint8)
        f[0, 0] = i % 256
        out.append(f)
    return out


def count_frames(path) -> int:
    cap = cv2.VideoCapture(str(path))
    n = 0
    while cap.read()[0]:
        n += 1
    cap.release()
    return n


def read_parts(url: str, n: int, timeout: float = 20.0) -> list[np.ndarray]:
    """Read n JPEG parts of an MJPEG stream with a real HTTP client."""
    out = []
    with urllib.request.urlopen(url, timeout=timeout) as r:
        assert r.headers.get_content_type() == "multipart/x-mixed-replace"
        while len(out) < n:
            line = r.readline()
            assert line, f"stream ended after {len(out)} of {n} frames"
            if not line.startswith(b"--"):
                continue
            headers = {}
            while (h := r.readline().strip()):
                k, _, v = h.decode().partition(":")
                headers[k.lower()] = v.strip()
            assert headers["content-type"] == "image/jpeg"
            data = r.read(int(headers["content-length"]))
            out.append(cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR))
    return out


class FlakySource:
    """A live source that fails after ``good`` frames; reopen works ``reopen_ok`` times."""

    live = True
    name = "flaky"
    fps = 100.0

    def __init__(self, good: int, reopen_ok: int, total: int = 10**9) -> None:
        self.good, self.reopen_ok, self.total = good, reopen_ok, total
        self.i = self.since_open = self.reopens = 0
        self.closed = False

    def read(self):
        if self.since_open >= self.good:
            raise SourceError("unplugged")
        if self.i >= self.total:
            return None
        self.i += 1
        self.since_open += 1
        return Frame(self.i - 1, np.zeros((4, 4, 3), np.uint8), time.perf_counter(), self.i / self.fps)

    def reopen(self):
        self.reopens += 1
        if self.reopens > self.reopen_ok:
            raise SourceError("still unplugged")
        self.since_open = 0

    def close(self):
        self.closed = True
