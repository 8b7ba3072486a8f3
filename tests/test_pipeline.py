"""The live pipeline end to end: real clips, a fake virtual camera, mp4/MJPEG outputs, faults."""
import threading
import time

import numpy as np
import pytest

from realtime.inputs import open_source
from realtime.pipeline import Pipeline, PipelineOptions, SourceLost, StageError, frame_to_reference, letterbox
from realtime.sinks import SinkOptions
from realtime.sources import ArraySource, CaptureOptions, SourceOptions
from tests.pipeline_fakes import (FlakySource, ReplayEstimator, count_frames, fake_vcam, gray_frames,  # noqa: F401
                                  read_parts, skeleton_renderer, squat_poses)


class RecordingSink:
    paced = False

    def __init__(self, name="rec", fail_at=None):
        self.name, self.fail_at = name, fail_at
        self.frames, self.images, self.closed_ok = 0, [], None

    def send(self, img):
        if self.fail_at is not None and self.frames >= self.fail_at:
            raise OSError("disk full")
        self.frames += 1
        self.images.append(img)

    def close(self, ok=True):
        assert self.closed_ok is None, "closed twice"
        self.closed_ok = ok


class SpyRenderer:
    """Wraps a renderer, keeps the targets it was asked to draw; can fail at call N."""

    def __init__(self, inner, fail_at=None):
        self.inner, self.fail_at, self.targets, self.closed = inner, fail_at, [], False
        self.name = "spy"

    @property
    def rest_pose(self):
        return self.inner.rest_pose

    def render(self, target):
        if self.fail_at is not None and len(self.targets) >= self.fail_at:
            raise ValueError("renderer exploded")
        self.targets.append(target)
        return self.inner.render(target)

    def close(self):
        self.closed = True


@pytest.mark.parametrize("clip, n", [("pose_1.mp4", 40), ("basketball_dribble.mp4", 15)])
def test_real_clip_into_fake_virtual_camera_every_frame_shape_and_count(media_dir, fake_vcam, clip, n):
    """Real MediaPipe on real footage, lossless, into a pyvirtualcam backend registered for the test."""
    src = open_source(str(media_dir / clip), SourceOptions(realtime=False))
    r = skeleton_renderer(320, 240)
    p = Pipeline(src, r, ["virtualcam"], PipelineOptions(realtime=False, max_frames=n, fps=240.0),
                 sink_options=SinkOptions(vcam_backend="fake", vcam_format="rgb"))
    stats = p.run()
    cam = fake_vcam.instances[-1]
    assert cam.count == n and cam.sizes == {320 * 240 * 3} and cam.closed
    assert stats["frames_in"] == stats["frames_out"] == n and stats["dropped"] == 0
    assert stats["no_person_frames"] < n // 4          # a person is in view in both clips
    assert stats["stages"]["estimate"]["count"] == n
    last = cam.last.reshape(240, 320, 3)
    assert (last != 40).any()                         # something was drawn over the background


def test_several_outputs_at_once_mp4_and_mjpeg(media_dir, tmp_path):
    """Squats clip (720x1280) letterboxed to 320x240 into an mp4 and an MJPEG stream read live."""
    out = tmp_path / "live.mp4"
    src = open_source(str(media_dir / "pose_squats.mp4"), SourceOptions(realtime=False))
    read, gate = src.read, threading.Event()

    def gated_read():  # hold the clip back until the viewer is connected
        assert gate.wait(30), "the MJPEG viewer never connected"
        return read()

    src.read = gated_read
    p = Pipeline(src, skeleton_renderer(200, 300), [f"file:{out}", "mjpeg:0"],
                 PipelineOptions(realtime=False, output_size=(320, 240)),
                 estimator_factory=lambda: ReplayEstimator(squat_poses()))
    mjpeg = p.sinks[1]
    got = {}
    with p:
        reader = threading.Thread(target=lambda: got.setdefault(
            "parts", read_parts(f"http://127.0.0.1:{mjpeg.port}/stream.mjpg", 3)))
        reader.start()
        deadline = time.monotonic() + 30
        while mjpeg.viewers < 1 and time.monotonic() < deadline:
            time.sleep(0.01)
        gate.set()
        reader.join(30)
        assert p.wait(60)
    p.raise_error()
    assert count_frames(out) == 65
    assert [f.shape for f in got["parts"]] == [(240, 320, 3)] * 3


def test_stage_that_raises_stops_the_pipeline_and_names_the_stage(tmp_path):
    out = tmp_path / "o.mp4"
    renderer = SpyRenderer(skeleton_renderer(), fail_at=5)
    p = Pipeline(ArraySource(gray_frames(50)), renderer, [f"file:{out}"], PipelineOptions(realtime=False),
                 estimator_factory=lambda: ReplayEstimator(squat_poses()))
    with pytest.raises(StageError, match="stage 'render' failed: ValueError: renderer exploded") as e:
        p.run()
    assert e.value.stage == "render" and isinstance(e.value.__cause__, ValueError)
    assert renderer.closed
    assert not out.exists() and (tmp_path / "o.incomplete.mp4").exists()   # never passed off as complete
    assert not any(t.is_alive() for t in threading.enumerate() if t.name in ("pose", "render", "capture"))


@pytest.mark.parametrize("where, stage", [("estimator", "estimate"), ("sink", "sink:rec")])
def test_other_stages_are_named_too(where, stage):
    est = ReplayEstimator(squat_poses(), fail_at=3 if where == "estimator" else None)
    sink = RecordingSink(fail_at=3 if where == "sink" else None)
    p = Pipeline(ArraySource(gray_frames(30)), skeleton_renderer(), [sink], PipelineOptions(realtime=False),
                 estimator_factory=lambda: est)
    with pytest.raises(StageError) as e:
        p.run()
    assert e.value.stage == stage and sink.closed_ok is False
    assert est.closed


def test_source_that_dies_mid_run_is_retried_then_the_run_ends_with_a_message():
    src = FlakySource(good=10, reopen_ok=0)
    sink = RecordingSink()
    p = Pipeline(src, skeleton_renderer(), [sink],
                 PipelineOptions(realtime=False, capture=CaptureOptions(backoff_s=0.01, max_retries=3)),
                 estimator_factory=lambda: ReplayEstimator(squat_poses()))
    with pytest.raises(SourceLost, match="gave up after 3 reconnection attempts"):
        p.run()
    # a camera is taken live even offline, so some of its 10 frames may be dropped; what was
    # produced is delivered and the output closed as complete
    assert 1 <= sink.frames <= p.stats.frames_out <= 10 and sink.closed_ok is True
    assert src.reopens == 3 and src.closed


def test_no_person_holds_the_last_pose_then_shows_the_reference_at_rest():
    poses = squat_poses()
    seq = poses[:5] + [None] * 40          # at 30 fps: 5 frames seen, then nobody for 1.3 s
    renderer = SpyRenderer(skeleton_renderer())
    p = Pipeline(ArraySource(gray_frames(45), fps=30.0), renderer, [RecordingSink()],
                 PipelineOptions(realtime=False, hold_s=0.5, smoothing=None, overlay=False),
                 estimator_factory=lambda: ReplayEstimator(seq))
    stats = p.run()
    targets = renderer.targets[1:]         # the first is the warm-up render of the rest pose
    assert len(targets) == 45 and stats["no_person_frames"] == 40
    held = [t for t in targets[5:] if t is targets[4]]
    at_rest = [t for t in targets[5:] if t is renderer.rest_pose]
    assert len(held) == 15                 # frames 5..19 are within 0.5 s of frame 4
    assert len(at_rest) == 25 and targets[-1] is renderer.rest_pose


def test_realtime_mode_drops_stale_frames_instead_of_queueing():
    class SlowEstimator(ReplayEstimator):
        def estimate(self, image, t=None):
            time.sleep(0.03)
            return super().estimate(image, t)

    sink = RecordingSink()
    # the estimator on every frame (no stride): the frames mailbox is then the only place that drops
    p = Pipeline(ArraySource(gray_frames(60), fps=200.0, realtime=True), skeleton_renderer(), [sink],
                 PipelineOptions(realtime=True, pose_every=1), estimator_factory=lambda: SlowEstimator(squat_poses()))
    stats = p.run()
    assert stats["frames_in"] == 60
    assert stats["dropped"] > 20 and stats["frames_out"] == sink.frames < 40
    # every frame is either overwritten in the frames mailbox or taken by the pose stage; a loaded
    # machine may also overwrite a pose before the render stage takes it (counted in "dropped" too)
    assert p._frames.dropped + stats["frames_processed"] == 60
    assert stats["dropped"] == p._frames.dropped + p._poses.dropped


def test_live_runs_estimate_every_other_frame_and_predict_the_frames_between():
    est = ReplayEstimator(squat_poses())
    p = Pipeline(ArraySource(gray_frames(20), fps=30.0, realtime=True), skeleton_renderer(), [RecordingSink()],
                 PipelineOptions(realtime=True, pose_every=2), estimator_factory=lambda: est)
    stats = p.run()
    n = stats["frames_processed"]
    assert n > 2 and est.calls == (n + 1) // 2      # frames 0, 2, 4, ... of those that reached the pose stage
    assert stats["stages"]["predict"]["count"] == n - est.calls
    offline = ReplayEstimator(squat_poses())
    stats = Pipeline(ArraySource(gray_frames(20), fps=30.0), skeleton_renderer(), [RecordingSink()],
                     PipelineOptions(realtime=False, pose_every=2), estimator_factory=lambda: offline).run()
    assert offline.calls == 20 and "predict" not in stats["stages"]   # offline: every frame estimated
    with pytest.raises(ValueError):
        PipelineOptions(pose_every=0)


def test_duration_limit_and_request_stop_join_every_thread():
    p = Pipeline(ArraySource(gray_frames(5), fps=100.0, realtime=True, loop=True), skeleton_renderer(),
                 [RecordingSink()], PipelineOptions(duration_s=0.5),
                 estimator_factory=lambda: ReplayEstimator(squat_poses()))
    p.start()
    assert p.wait(20)
    p.stop()
    assert not any(t.is_alive() for t in p._threads) and not p.capture.is_alive()
    q = Pipeline(ArraySource(gray_frames(5), fps=100.0, realtime=True, loop=True), skeleton_renderer(),
                 [RecordingSink()], estimator_factory=lambda: ReplayEstimator(squat_poses()))
    with q:
        q.request_stop()
        assert q.wait(5)
    assert not any(t.is_alive() for t in q._threads)


def test_mirror_and_coach_reading_reach_the_output():
    pytest.importorskip("realtime.matching")
    from realtime.coaching.live import Benchmark, Coach

    poses = squat_poses()
    coach = Coach(Benchmark([poses[59]], 1.0, "deep squat"), show_reps=True)
    sink = RecordingSink()
    p = Pipeline(ArraySource(gray_frames(65), fps=5.0), skeleton_renderer(), [sink],
                 PipelineOptions(realtime=False, mirror=True), coach=coach,
                 estimator_factory=lambda: ReplayEstimator(poses))
    stats = p.run()
    assert stats["coach"]["samples"] == 65 and stats["coach"]["reps"] == 3
    assert stats["stages"]["match"]["count"] == 65


def test_letterbox_and_frame_to_reference():
    img = np.full((100, 50, 3), 255, np.uint8)
    out = letterbox(img, 200, 100)
    assert out.shape == (100, 200, 3) and out[:, :75].max() == 0 and out[:, 75:125].min() == 255
    pose = squat_poses()[0]
    moved = frame_to_reference(360, 640)(pose)          # 720x1280 -> half size
    np.testing.assert_allclose(moved.xy, pose.xy * 0.5, atol=1e-4)
    assert (moved.width, moved.height) == (360, 640)


def test_gui_sinks_are_driven_from_the_thread_that_waits():
    class MainSink(RecordingSink):
        main_thread = True

        def __init__(self):
            super().__init__("gui")
            self.threads, self.idles = set(), 0

        def send(self, img):
            self.threads.add(threading.current_thread().name)
            super().send(img)

        def idle(self):
            self.idles += 1

    gui, other = MainSink(), RecordingSink("other")
    p = Pipeline(ArraySource(gray_frames(20), fps=30.0), skeleton_renderer(), [gui, other],
                 PipelineOptions(realtime=False), estimator_factory=lambda: ReplayEstimator(squat_poses()))
    p.run()
    assert gui.frames == other.frames == 20
    assert gui.threads == {threading.current_thread().name}
    assert gui.closed_ok is True


def test_url_source_reads_our_own_mjpeg_stream():
    """A stream URL opened by OpenCV (ffmpeg): the MJPEG output of one sink is the source of another run."""
    from realtime.sinks import create_sink

    server = create_sink("mjpeg:0", 160, 120, 30.0)
    stop = threading.Event()

    def publish():
        i = 0
        while not stop.is_set():
            f = np.full((120, 160, 3), 60, np.uint8)
            f[:, : (i % 160)] = 200
            server.send(f)
            i += 1
            time.sleep(0.02)

    t = threading.Thread(target=publish)
    t.start()
    try:
        src = open_source(f"http://127.0.0.1:{server.port}/stream.mjpg")
        assert src.live
        frames = [src.read() for _ in range(5)]
        src.close()
    finally:
        stop.set()
        t.join(5)
        server.close()
    assert [f.image.shape for f in frames] == [(120, 160, 3)] * 5
    assert [f.index for f in frames] == list(range(5))


def test_odd_reference_sizes_give_even_output_for_cameras_and_h264(fake_vcam):
    p = Pipeline(ArraySource(gray_frames(6)), skeleton_renderer(321, 241), ["virtualcam"],
                 PipelineOptions(realtime=False, fps=500.0), sink_options=SinkOptions(vcam_backend="fake"),
                 estimator_factory=lambda: ReplayEstimator(squat_poses()))
    assert (p.width, p.height) == (320, 240)
    p.run()
    cam = fake_vcam.instances[-1]
    assert cam.count == 6 and cam.sizes == {320 * 240 * 3}


def test_live_recording_keeps_real_time_when_frames_are_dropped(tmp_path):
    class SlowEstimator(ReplayEstimator):
        def estimate(self, image, t=None):
            time.sleep(0.07)
            return super().estimate(image, t)

    out = tmp_path / "live.mp4"
    p = Pipeline(ArraySource(gray_frames(45), fps=30.0, realtime=True), skeleton_renderer(), [f"file:{out}"],
                 PipelineOptions(realtime=True), estimator_factory=lambda: SlowEstimator(squat_poses()))
    stats = p.run()
    assert stats["frames_out"] < 35                     # the estimator could not keep up: drops
    # the video lasts as long as the capture did (within a few frames), not frames_out / 30
    span = p.stats.fps_in.last - p.stats.fps_in.first
    n = count_frames(out)
    assert abs(n - (round(span * 30) + 1)) <= 3 and n > stats["frames_out"] + 5, (n, span, stats["frames_out"])


def test_a_source_that_raises_something_unexpected_is_a_capture_stage_error():
    class Broken(ArraySource):
        def read(self):
            raise KeyError("decoder state")

    p = Pipeline(Broken(gray_frames(3)), skeleton_renderer(), [RecordingSink()], PipelineOptions(realtime=False),
                 estimator_factory=lambda: ReplayEstimator(squat_poses()))
    with pytest.raises(StageError, match="stage 'capture' failed: KeyError") as e:
        p.run()
    assert e.value.stage == "capture"


def test_retarget_hook_is_applied_and_can_be_swapped_while_running():
    seen = []

    def shift(pose):
        seen.append(pose)
        return pose.transformed(1.0, (5.0, 0.0))

    renderer = SpyRenderer(skeleton_renderer())
    gate = threading.Event()

    class Gated(ArraySource):
        def read(self):
            if self._index == 10:
                assert gate.wait(10)
            return super().read()

    p = Pipeline(Gated(gray_frames(20)), renderer, [RecordingSink()], PipelineOptions(realtime=False, smoothing=None),
                 estimator_factory=lambda: ReplayEstimator(squat_poses()), retarget=shift)
    with p:
        deadline = time.monotonic() + 10
        while len(renderer.targets) < 11 and time.monotonic() < deadline:
            time.sleep(0.01)
        p.set_retarget(lambda pose: pose)
        gate.set()
        assert p.wait(20)
    p.raise_error()
    assert len(seen) == 10 and len(renderer.targets) == 21
    driver = ReplayEstimator(squat_poses()).estimate(gray_frames(1)[0])
    np.testing.assert_allclose(renderer.targets[1].xy, driver.xy + [5.0, 0.0], atol=1e-4)
    np.testing.assert_allclose(renderer.targets[-1].xy, ReplayEstimator(squat_poses()[19:]).estimate(
        gray_frames(1)[0]).xy, atol=1e-4)
