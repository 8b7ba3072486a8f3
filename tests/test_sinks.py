import socket
import threading
import time
import urllib.request

import cv2
import numpy as np
import pytest

from realtime.errors import InputError
from realtime.sinks import Controls, SinkOptions, create_sink, parse_sink_spec
from tests.pipeline_fakes import count_frames, fake_vcam, read_parts  # noqa: F401 - fake_vcam is a fixture

W, H = 64, 48


def frame(i: int) -> np.ndarray:
    f = np.zeros((H, W, 3), np.uint8)
    f[:, :, 1] = (i * 10) % 256
    return f


def test_spec_parsing():
    assert parse_sink_spec("file:a/b.mp4") == ("file", "a/b.mp4")
    assert parse_sink_spec("mjpeg:127.0.0.1:8080") == ("mjpeg", "127.0.0.1:8080")
    with pytest.raises(InputError, match="expected virtualcam, window"):
        parse_sink_spec("teams")
    with pytest.raises(InputError, match="file:PATH"):
        parse_sink_spec("file")


def test_virtualcam_sends_every_frame_in_the_chosen_format(fake_vcam):
    sink = create_sink("virtualcam", W, H, 200.0, SinkOptions(vcam_backend="fake", vcam_format="i420"))
    for i in range(7):
        sink.send(frame(i))
    sink.close()
    cam = fake_vcam.instances[-1]
    assert cam.count == 7 and cam.sizes == {W * H * 3 // 2} and cam.closed
    assert (cam.width, cam.height) == (W, H)
    assert sink.name == "virtualcam:/dev/fake-video0"


def test_virtualcam_rejects_wrong_frame_sizes(fake_vcam):
    sink = create_sink("virtualcam", W, H, 200.0, SinkOptions(vcam_backend="fake"))
    with pytest.raises(ValueError, match="expected 64x48"):
        sink.send(np.zeros((10, 10, 3), np.uint8))
    sink.close()


def test_no_virtual_camera_says_how_to_get_one(monkeypatch):
    import pyvirtualcam

    class Broken:
        def __init__(self, **kw):
            raise RuntimeError("device /dev/video0 does not exist")

    monkeypatch.setattr(pyvirtualcam.camera, "BACKENDS", {"v4l2loopback": Broken})
    with pytest.raises(InputError) as e:
        create_sink("virtualcam", W, H, 30.0)
    msg = str(e.value)
    assert "\n" not in msg and "v4l2loopback" in msg and "mjpeg:8080" in msg and "file:out.mp4" in msg
    with pytest.raises(InputError, match="backend 'nope'"):
        create_sink("virtualcam", W, H, 30.0, SinkOptions(vcam_backend="nope"))


def test_mjpeg_serves_several_viewers_and_a_stalled_one_does_not_block():
    sink = create_sink("mjpeg:0", W, H, 30.0)
    try:
        base = f"http://127.0.0.1:{sink.port}"
        with urllib.request.urlopen(base + "/", timeout=5) as r:
            assert b"/stream.mjpg" in r.read()
        # a viewer that connects and never reads anything
        stalled = socket.create_connection(("127.0.0.1", sink.port))
        stalled.sendall(b"GET /stream.mjpg HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n")
        stop = threading.Event()

        def produce():
            i = 0
            while not stop.is_set():
                sink.send(frame(i))
                i += 1
                time.sleep(0.005)

        prod = threading.Thread(target=produce)
        prod.start()
        results: dict[int, list] = {}
        viewers = [threading.Thread(target=lambda k=k: results.__setitem__(k, read_parts(base + "/stream.mjpg", 5)))
                   for k in range(2)]
        for v in viewers:
            v.start()
        for v in viewers:
            v.join(30)
        with urllib.request.urlopen(base + "/frame.jpg", timeout=5) as r:
            single = cv2.imdecode(np.frombuffer(r.read(), np.uint8), cv2.IMREAD_COLOR)
        stop.set()
        prod.join(5)
        assert not prod.is_alive()
        assert sorted(results) == [0, 1]
        for frames in results.values():
            assert len(frames) == 5 and all(f.shape == (H, W, 3) for f in frames)
        assert single.shape == (H, W, 3)
        stalled.close()
    finally:
        sink.close()


def test_mjpeg_port_in_use_is_an_input_error():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        with pytest.raises(InputError, match="pick another port"):
            create_sink(f"mjpeg:{s.getsockname()[1]}", W, H, 30.0)
    with pytest.raises(InputError, match="mjpeg:PORT"):
        create_sink("mjpeg:http", W, H, 30.0)


def test_mp4_is_h264_with_every_frame_and_atomic(tmp_path):
    import imageio_ffmpeg
    import subprocess

    path = tmp_path / "out.mp4"
    sink = create_sink(f"file:{path}", 65, 47, 25.0)   # odd sizes are padded for yuv420p
    for i in range(12):
        sink.send(np.full((47, 65, 3), i * 20, np.uint8))
    assert not path.exists()          # only a temporary file until close
    sink.close()
    assert count_frames(path) == 12
    info = subprocess.run([imageio_ffmpeg.get_ffmpeg_exe(), "-hide_banner", "-i", str(path)],
                          capture_output=True, text=True).stderr
    assert "h264" in info
    assert [p.name for p in tmp_path.iterdir()] == ["out.mp4"]


def test_mp4_of_a_failed_run_is_kept_as_incomplete(tmp_path):
    sink = create_sink(f"file:{tmp_path / 'out.mp4'}", W, H, 25.0)
    sink.send(frame(0))
    sink.close(ok=False)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.incomplete.mp4"]
    with pytest.raises(InputError, match=".mp4"):
        create_sink(f"file:{tmp_path / 'out.avi'}", W, H, 25.0)


def test_frames_dir(tmp_path):
    sink = create_sink(f"frames:{tmp_path / 'f'}", W, H, 25.0)
    for i in range(3):
        sink.send(frame(i))
    sink.close()
    names = sorted(p.name for p in (tmp_path / "f").iterdir())
    assert names == ["frame_000000.png", "frame_000001.png", "frame_000002.png"]
    assert cv2.imread(str(tmp_path / "f" / names[2]))[0, 0, 1] == 20


def test_window_hotkeys_without_a_display(tmp_path, monkeypatch):
    from realtime.sinks.window import WindowSink

    monkeypatch.delenv("DISPLAY", raising=False)
    monkeypatch.delenv("WAYLAND_DISPLAY", raising=False)
    with pytest.raises(InputError, match="needs a display"):
        create_sink("window", W, H, 30.0)
    c = Controls()
    w = WindowSink("", W, H, 30.0, SinkOptions(snapshot_dir=str(tmp_path)), c, check_display=False)
    w.last = frame(3)
    assert w.handle_key(ord("m")) == "mirror" and c.mirror
    assert w.handle_key(ord("o")) == "overlay" and not c.overlay
    assert w.handle_key(ord("s")) == "snapshot"
    assert len(list(tmp_path.glob("snapshot_*.png"))) == 1
    assert w.handle_key(ord("c")) == "recalibrate" and c.recalibrate.is_set()
    assert w.handle_key(-1) is None and not c.quit.is_set()
    assert w.handle_key(ord("q")) == "quit" and c.quit.is_set()


def test_mjpeg_send_never_waits_for_a_viewer_whose_socket_is_full():
    big_w, big_h = 640, 480
    sink = create_sink("mjpeg:0", big_w, big_h, 30.0)
    try:
        stalled = socket.create_connection(("127.0.0.1", sink.port))
        stalled.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        stalled.sendall(b"GET /stream.mjpg HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n")
        deadline = time.monotonic() + 10
        while sink.viewers < 1 and time.monotonic() < deadline:
            time.sleep(0.01)
        assert sink.viewers == 1
        rng = np.random.default_rng(0)
        noise = [rng.integers(0, 256, (big_h, big_w, 3), dtype=np.uint8) for _ in range(4)]  # ~0.5 MB JPEGs

        def produce():
            for i in range(300):           # ~150 MB of JPEG if every frame had to reach the viewer
                sink.send(noise[i % 4])
                time.sleep(0.001)

        prod = threading.Thread(target=produce)
        prod.start()
        prod.join(30)
        assert not prod.is_alive(), "send() blocked on a stalled viewer"
        assert sink.hub.sent < 300        # the stalled viewer got only what its socket took
        stalled.close()
    finally:
        sink.close()
