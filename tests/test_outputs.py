"""The output layer, signals, noise filter, web guard and flag ranges (realtime/outputs.py,
signals.py, quiet.py, websafety.py, realtime/app/flags.py). The whole-CLI matrix is in
test_reliability_matrix.py."""
from __future__ import annotations

import argparse
import json
import os
import socket
import stat
import subprocess
import sys
import textwrap
import time
import urllib.error
import urllib.request
from pathlib import Path

import numpy as np
import pytest

from realtime import outputs, quiet
from realtime.outputs import OutputError, check_output, write_json
from realtime.websafety import WebGuard, check_bind, probe_port


def leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name.startswith("."))


@pytest.fixture
def tiny_fs(tmp_path):
    """A 1 MB tmpfs (root only); skips with the reason when mounting is not permitted here."""
    mnt = tmp_path / "full"
    mnt.mkdir()
    r = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", str(mnt)], capture_output=True, text=True)
    if r.returncode != 0:
        pytest.skip(f"cannot mount a tiny tmpfs here ({r.stderr.strip() or 'not permitted'})")
    yield mnt
    subprocess.run(["umount", "-l", str(mnt)], check=False)


def test_check_output_refuses_before_work(tmp_path):
    (tmp_path / "afile").write_text("x")
    (tmp_path / "adir.json").mkdir()
    with pytest.raises(OutputError, match="is a folder"):
        check_output(tmp_path / "adir.json")
    with pytest.raises(OutputError, match="is a file, not a folder"):
        check_output(tmp_path / "afile" / "out.json")
    with pytest.raises(OutputError, match="is a file; expected a folder"):
        check_output(tmp_path / "afile", folder=True)
    with pytest.raises(OutputError, match="stdout"):
        check_output("-")
    check_output("-", stdout_ok=True)
    check_output(tmp_path / "new" / "deeper" / "out.json")      # missing parents are made at write time
    assert not (tmp_path / "new").exists()                       # ... not by the check


def test_check_output_full_disk(tiny_fs):
    (tiny_fs / "fill").write_bytes(b"\0" * (1 << 20 - 1))
    with pytest.raises(OutputError, match="disk full"):
        check_output(tiny_fs / "out.json")


def test_write_is_atomic_and_cleans_up(tmp_path):
    dst = tmp_path / "out.json"
    write_json(dst, {"a": 1})
    with pytest.raises(RuntimeError):
        with outputs.atomic_path(dst) as tmp:
            tmp.write_text("half")
            raise RuntimeError("boom")
    assert json.loads(dst.read_text()) == {"a": 1} and leftovers(tmp_path) == []


def test_symlink_is_written_through(tmp_path):
    real = tmp_path / "real.json"
    real.write_text("{}")
    link = tmp_path / "link.json"
    link.symlink_to(real.name)
    write_json(link, {"b": 2})
    assert link.is_symlink() and json.loads(real.read_text()) == {"b": 2}
    dangling = tmp_path / "dangling.json"
    dangling.symlink_to("made.json")
    write_json(dangling, [1])
    assert dangling.is_symlink() and json.loads((tmp_path / "made.json").read_text()) == [1]


def test_device_node_is_written_in_place(tmp_path):
    node = tmp_path / "null"
    try:
        os.mknod(node, 0o666 | stat.S_IFCHR, os.makedev(1, 3))
    except (PermissionError, OSError) as e:
        pytest.skip(f"mknod not permitted here ({e})")
    write_json(node, {"c": 3})
    assert stat.S_ISCHR(node.stat().st_mode) and leftovers(tmp_path) == []


def test_dash_is_stdout(capfd):
    write_json("-", {"d": 4})
    assert json.loads(capfd.readouterr().out) == {"d": 4}


def test_disk_full_is_one_line_and_leaves_nothing(tiny_fs):
    with pytest.raises(OutputError, match="disk full") as e:
        outputs.write_bytes(tiny_fs / "big.bin", b"\0" * (2 << 20))
    assert "\n" not in str(e.value) and os.listdir(tiny_fs) == []


def test_mode_follows_umask(tmp_path):
    old = os.umask(0o027)
    try:
        write_json(tmp_path / "m.json", {})
    finally:
        os.umask(old)
    assert stat.S_IMODE((tmp_path / "m.json").stat().st_mode) == 0o640


def test_remove_temporaries(tmp_path):
    tmp = outputs.new_temporary(tmp_path / "x.mp4", ".mp4")
    assert tmp.exists()
    assert tmp in outputs.remove_temporaries() and not tmp.exists()


def test_h264_writer_through_symlink_and_abort(tmp_path):
    from realtime.videoio import H264Writer

    frame = np.zeros((48, 64, 3), np.uint8)
    (tmp_path / "target.mp4").write_bytes(b"")
    (tmp_path / "link.mp4").symlink_to("target.mp4")
    with H264Writer(tmp_path / "link.mp4", 10, (64, 48), preset="veryfast", realtime=True) as w:
        w.write(frame)
    assert (tmp_path / "link.mp4").is_symlink() and (tmp_path / "target.mp4").stat().st_size > 0
    w = H264Writer(tmp_path / "gone.mp4", 10, (64, 48))
    w.write(frame)
    w.abort()
    assert not (tmp_path / "gone.mp4").exists() and leftovers(tmp_path) == []


def test_h264_writer_abort_after_a_frame_cut_short_is_silent(tmp_path, capfd):
    """A signal can cut a frame's write to ffmpeg short; the aborted file is deleted, and ffmpeg says
    nothing about the half packet on the user's terminal (it printed "Error submitting packet")."""
    from realtime.videoio import H264Writer

    w = H264Writer(tmp_path / "cut.mp4", 10, (64, 48))
    w.write(np.zeros((48, 64, 3), np.uint8))
    proc = w._gen.gi_frame.f_locals["p"]          # what a cut-short write leaves in ffmpeg's pipe
    proc.stdin.write(b"\0" * 1000)
    proc.stdin.flush()
    w.abort()
    assert capfd.readouterr().err == ""
    assert not (tmp_path / "cut.mp4").exists() and leftovers(tmp_path) == []


def test_stderr_filter_drops_noise_keeps_the_rest(capfd):
    quiet.configure(False)
    with quiet.StderrFilter():
        os.write(2, b"INFO: Created TensorFlow Lite XNNPACK delegate for CPU.\n")
        os.write(2, b"W0000 00:00:1796088312.064107   19187 inference_feedback_manager.cc:114] Feedback\n")
        os.write(2, b"[mov,mp4,m4a,3gp,3g2,mj2 @ 0x55f16d101bc0] moov atom not found\n")
        os.write(2, b"repose pose: a line of ours\n")
    assert capfd.readouterr().err == "repose pose: a line of ours\n"


@pytest.mark.parametrize("sig,code", [("SIGINT", 130), ("SIGTERM", 143), ("SIGHUP", 129)])
def test_signals_unwind_remove_temporaries_and_exit_in_one_line(tmp_path, sig, code):
    script = textwrap.dedent(f"""
        import sys, time
        sys.argv = ["repose"]
        from realtime import outputs
        from realtime.signals import handle_signals, exit_code_of
        try:
            with handle_signals(), outputs.atomic_path({str(tmp_path / 'out.mp4')!r}) as tmp:
                tmp.write_bytes(b"partial")
                print("ready", flush=True)
                for _ in range(300):   # short sleeps: a signal landing between the print and the
                    time.sleep(0.1)    # sleep's system call runs its handler at the next bytecode
        except KeyboardInterrupt as e:
            print("interrupted", file=sys.stderr)
            sys.exit(exit_code_of(e))
    """)
    p = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                         text=True, cwd=Path(__file__).resolve().parent.parent)
    assert p.stdout.readline().strip() == "ready"
    p.send_signal(getattr(__import__("signal"), sig))
    _, err = p.communicate(timeout=20)
    assert p.returncode == code and err == "interrupted\n" and os.listdir(tmp_path) == []


def test_a_dropped_interrupt_is_delivered_again():
    """A signal whose exception Python had to drop (raised in a __del__ or a logging lock release)
    is sent again, so the run still stops."""
    import signal
    import types

    from realtime.signals import Interrupted, handle_signals

    with pytest.raises(Interrupted) as e:
        with handle_signals():
            sys.unraisablehook(types.SimpleNamespace(exc_type=Interrupted, exc_value=Interrupted(signal.SIGTERM),
                                                     exc_traceback=None, err_msg=None, object=None))
            for _ in range(1000):   # the re-sent signal is handled between these bytecodes
                time.sleep(0.001)
    assert e.value.signum == signal.SIGTERM


def test_web_guard():
    g = WebGuard("127.0.0.1")
    assert g.token is None
    assert g.check("GET", "", {"Host": "127.0.0.1:8765"}) is None
    assert g.check("GET", "", {"Host": "evil.example"})[0] == 400            # DNS rebinding
    assert g.check("GET", "", {})[0] == 400
    post = {"Host": "localhost:8765"}
    assert g.check("POST", "", post)[0] == 403                               # no Origin, no Referer
    assert g.check("POST", "", {**post, "Origin": "http://evil.example"})[0] == 403
    assert g.check("POST", "", {**post, "Origin": "null"})[0] == 403
    assert g.check("POST", "", {**post, "Origin": "http://localhost:8765"}) is None
    assert g.check("POST", "", {**post, "Referer": "http://localhost:8765/page"}) is None
    assert g.check("POST", "", {**post, "Referer": "http://localhost:9999/"})[0] == 403
    with pytest.raises(Exception, match="--allow-remote"):
        WebGuard("0.0.0.0")
    r = WebGuard("0.0.0.0", allow_remote=True)
    assert r.token and len(r.token) >= 20
    assert r.check("GET", "", {"Host": "pc.lan:8080"})[0] == 403
    assert r.check("GET", f"token={r.token}", {"Host": "pc.lan:8080"}) is None
    assert r.check("GET", "", {"Host": "pc.lan:8080", "X-Repose-Token": r.token}) is None
    assert r.check("GET", "", {"Host": "pc.lan:8080"}, {"repose_token": r.token}) is None
    assert "token=" in r.url(8080, "/stream.mjpg") and r.cookie_header(f"token={r.token}")
    s = WebGuard("192.168.1.5", allow_remote=True)
    assert s.check("GET", f"token={s.token}", {"Host": "evil.example"})[0] == 400


def test_bind_and_busy_port():
    check_bind("::1", False)
    with pytest.raises(Exception, match="--allow-remote"):
        check_bind("10.0.0.1", False)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        with pytest.raises(Exception, match="already in use") as e:
            probe_port("127.0.0.1", s.getsockname()[1])
    assert "\n" not in str(e.value)


def _get(url: str, headers: dict | None = None) -> int:
    try:
        with urllib.request.urlopen(urllib.request.Request(url, headers=headers or {}), timeout=5) as r:
            r.read(10)
            return r.status
    except urllib.error.HTTPError as e:
        return e.code


def test_mjpeg_host_and_token():
    from realtime.errors import InputError
    from realtime.sinks import SinkOptions, create_sink

    sink = create_sink("mjpeg:0", 64, 48, 30.0)
    try:
        base = f"http://127.0.0.1:{sink.port}"
        assert _get(base + "/") == 200
        assert _get(base + "/", {"Host": "evil.example"}) == 400
        assert _get(base + "/stream.mjpg", {"Host": "attacker.test:80"}) == 400
    finally:
        sink.close()
    with pytest.raises(InputError, match="--allow-remote"):
        create_sink("mjpeg:0.0.0.0:0", 64, 48, 30.0)
    sink = create_sink("mjpeg:0.0.0.0:0", 64, 48, 30.0, SinkOptions(allow_remote=True))
    try:
        base = f"http://127.0.0.1:{sink.port}"
        assert _get(base + "/", {"Host": "pc.lan"}) == 403
        assert _get(base + f"/?token={sink.guard.token}", {"Host": "pc.lan"}) == 200
        assert _get(base + "/", {"Host": "pc.lan", "Cookie": f"repose_token={sink.guard.token}"}) == 200
    finally:
        sink.close()


def _numeric(action: argparse.Action) -> bool:
    if action.type in (int, float):
        return True
    name = getattr(action.type, "__name__", "")
    return name in ("parse", "_size") or (isinstance(action.default, (int, float)) and
                                         not isinstance(action.default, bool) and action.nargs != 0)


def test_every_numeric_flag_has_a_range():
    from realtime.app.cli import build_parser
    from realtime.app.flags import range_of

    parser = build_parser()
    sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    missing = [f"{cmd} {max(a.option_strings, key=len)}" for cmd, p in sub.choices.items() for a in p._actions
               if a.option_strings and _numeric(a) and range_of(cmd, a.dest) is None]
    assert missing == []


def test_range_message_is_one_line_with_the_range():
    from realtime.app.flags import check_number
    from realtime.errors import InputError

    for bad in (-5, float("nan"), float("inf")):
        with pytest.raises(InputError, match=r"expected 0 <= smooth-beta <= 1000000") as e:
            check_number("--smooth-beta", bad, 0, 1_000_000)
        assert "\n" not in str(e.value)
    check_number("--fps", 30.0, 0, 240, False)
    with pytest.raises(InputError, match="0 < fps"):
        check_number("--fps", 0.0, 0, 240, False)


def test_deferred_signals_wait_for_the_block_to_end():
    """A signal inside ``signals.deferred()`` (one frame into ffmpeg) is raised when the block ends."""
    import signal as sig

    from realtime import signals

    import threading

    reached, stop = [], threading.Event()
    other = threading.Thread(target=stop.wait, daemon=True)   # the kernel may hand the signal to it
    other.start()
    try:
        with pytest.raises(signals.Interrupted) as e, signals.handle_signals():
            with signals.deferred():
                os.kill(os.getpid(), sig.SIGTERM)
                reached.extend(range(10000))     # bytecodes run: an undelayed handler would raise here
                reached.append("end")
            reached.append("after")               # pragma: no cover - the signal is raised before this
    finally:
        stop.set()
    assert reached[-1:] == ["end"] and e.value.signum == sig.SIGTERM
