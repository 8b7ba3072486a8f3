import socket
import threading
import time

import numpy as np
import pytest

from realtime.errors import InputError
from realtime.inputs import open_source
from realtime.mailbox import Mailbox, MailboxClosed
from realtime.sources import (ArraySource, CaptureOptions, CaptureThread, CvCaptureSource, Frame,
                              ImageSequenceSource, SourceError, SourceOptions, VideoFileSource)
from tests.pipeline_fakes import FlakySource  # noqa: F401


def drain(box: Mailbox, timeout: float = 30.0) -> list[Frame]:
    out, end = [], time.monotonic() + timeout
    while time.monotonic() < end:
        try:
            f = box.get(timeout=0.1)
        except MailboxClosed:
            return out
        if f is not None:
            out.append(f)
    raise AssertionError("capture did not finish")


def test_video_file_unpaced_gives_every_frame(media_dir):
    src = open_source(str(media_dir / "pose_1.mp4"), SourceOptions(realtime=False))
    assert isinstance(src, VideoFileSource) and src.fps == pytest.approx(30, abs=0.5)
    frames = []
    while (f := src.read()) is not None:
        frames.append(f)
    src.close()
    assert len(frames) == src.info.frame_count == 120
    assert frames[0].image.shape == (576, 576, 3) and frames[0].image.dtype == np.uint8
    assert [f.index for f in frames] == list(range(120))
    assert frames[30].media_s == pytest.approx(1.0)


def test_video_file_paced_at_its_fps_never_runs_early(media_dir):
    src = open_source(str(media_dir / "pose_1.mp4"))
    stamps = [src.read().captured_s for _ in range(16)]
    src.close()
    # pacing sleeps until start + i/fps: frames are never released ahead of time
    assert stamps[-1] - stamps[0] >= 15 / 30 - 0.005


def test_video_loop_restarts(media_dir):
    src = open_source(str(media_dir / "pose_squats.mp4"), SourceOptions(realtime=False, loop=True))
    n = sum(1 for _ in range(70) if src.read() is not None)
    src.close()
    assert n == 70  # 65 frames, then the first five again


def test_folder_and_single_image(tmp_path, media_dir):
    import cv2

    for i in range(3):
        cv2.imwrite(str(tmp_path / f"f{i}.png"), np.full((20, 30, 3), i * 50, np.uint8))
    (tmp_path / "notes.txt").write_text("not an image")
    src = open_source(str(tmp_path), SourceOptions(realtime=False))
    assert isinstance(src, ImageSequenceSource)
    vals = []
    while (f := src.read()) is not None:
        vals.append(int(f.image[0, 0, 0]))
    assert vals == [0, 50, 100]
    one = open_source(str(media_dir / "pose.jpg"), SourceOptions(realtime=False, loop=True))
    assert all(one.read().image.shape == (667, 1000, 3) for _ in range(3))


@pytest.mark.parametrize("spec, words", [
    ("webcam:x", "webcam:N"),
    ("/no/such/file.mp4", "not found"),
])
def test_bad_specs_explain_what_is_expected(spec, words):
    with pytest.raises(InputError, match=words):
        open_source(spec)


def test_camera_that_cannot_be_opened_fails_clearly(capfd):
    with pytest.raises(InputError, match="cannot open camera 97"):
        CvCaptureSource(97)
    assert "WARN" not in capfd.readouterr().err   # OpenCV's own probing noise is silenced


def test_capture_reconnects_after_a_drop():
    src = FlakySource(good=5, reopen_ok=1, total=8)
    box: Mailbox[Frame] = Mailbox()
    cap = CaptureThread(src, box, threading.Event(), CaptureOptions(backoff_s=0.01), lossless=True)
    cap.start()
    frames = drain(box)
    cap.join(5)
    assert [f.index for f in frames] == list(range(8))
    assert cap.reconnects == 1 and cap.error is None


def test_capture_gives_up_with_backoff_and_a_message():
    src = FlakySource(good=3, reopen_ok=0)
    box: Mailbox[Frame] = Mailbox()
    cap = CaptureThread(src, box, threading.Event(), CaptureOptions(backoff_s=0.01, max_backoff_s=0.04,
                                                                     max_retries=4), lossless=True)
    t0 = time.perf_counter()
    cap.start()
    frames = drain(box)
    cap.join(5)
    assert len(frames) == 3 and src.reopens == 4
    assert isinstance(cap.error, SourceError) and "gave up after 4" in str(cap.error)
    # the waits double up to the cap: 0.01 + 0.02 + 0.04 + 0.04 s at least
    assert time.perf_counter() - t0 >= 0.11
    assert [cap._backoff(i) for i in range(1, 6)] == [0.01, 0.02, 0.04, 0.04, 0.04]


def test_capture_stops_when_asked_and_keeps_only_the_latest():
    stop = threading.Event()
    box: Mailbox[Frame] = Mailbox()
    cap = CaptureThread(ArraySource([np.zeros((2, 2, 3), np.uint8)] * 3, fps=200, realtime=True, loop=True),
                        box, stop)
    cap.start()
    deadline = time.monotonic() + 10
    while cap.frames < 10 and time.monotonic() < deadline:
        time.sleep(0.02)
    stop.set()
    cap.join(5)
    assert not cap.is_alive()
    assert cap.frames >= 10 and box.dropped >= cap.frames - 2   # nobody read: all but the latest dropped


def test_opencv_stream_that_ends_is_reopened(media_dir):
    """A stream opened through cv2.VideoCapture (here a file, so it 'drops' at its end) is reopened."""
    src = CvCaptureSource(str(media_dir / "pose_1.mp4"))
    box: Mailbox[Frame] = Mailbox()
    cap = CaptureThread(src, box, threading.Event(), CaptureOptions(backoff_s=0.01), lossless=True,
                        max_frames=130)
    cap.start()
    frames = drain(box)
    cap.join(5)
    src.close()
    assert len(frames) == 130 and cap.reconnects == 1 and cap.error is None
    assert frames[125].image.shape == (576, 576, 3)


def test_unreachable_stream_url_fails_clearly():
    with socket.socket() as s:       # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    with pytest.raises(InputError, match="cannot open stream"):
        open_source(f"http://127.0.0.1:{port}/stream.mjpg", SourceOptions(stream_timeout_s=2.0))
