"""The bad-input matrix: every subcommand against a corpus of bad inputs, outputs, flag values and
signals. Each case asserts the exit code, exactly one line on stderr (none for the cases that must
succeed), no traceback, and nothing left behind (no new or hidden files anywhere in the work folder).

Kinds: argparse mistakes (unknown flag, missing argument, bad choice, non-number), every numeric
flag below/above its range and NaN/inf, empty/text/truncated images and videos, wrong/deep/huge
JSON, missing files, folders where files belong, unicode and space paths, outputs that are folders,
under a file, on a full file system (a 64 KB tmpfs), a full device node, symlinks and device nodes
written through (made inside the temporary folder, never the real /dev), stdout as `-`, a
truncated video with --strict, busy ports and remote binds, and SIGINT/SIGTERM/SIGHUP in the
middle of render, pose, demo, evaluate, train and export (subprocesses).

Most cases run the CLI in-process (``main(argv)``, fd-level capture); signals run as subprocesses.
"""
from __future__ import annotations

import argparse
import json
import math
import os
import shutil
import signal
import socket
import stat
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


@dataclass(frozen=True)
class Case:
    argv: tuple[str, ...]
    code: int = 2
    lines: int = 1                 # stderr lines expected (0 for runs that must succeed quietly)
    needs: tuple[str, ...] = ()    # corpus features: "mknod", "tmpfs", "port"
    check: str = ""                # extra check after the run (see _extra)
    kind: str = ""


def _cases() -> list[Case]:
    out: list[Case] = []

    def add(kind: str, *argv: str, **kw) -> None:
        out.append(Case(tuple(argv), kind=kind, **kw))

    # -- argparse mistakes: one line with a --help hint ---------------------------------------------
    base = {
        "pose": ["{good_img}"], "compare": ["{good_json}", "{good_json}"],
        "search": ["--library", "{good_json}", "{good_json}"], "train": ["--data", "{tiny_mp4}", "--out", "run"],
        "export": ["--checkpoint", "ck", "-o", "m.onnx"], "live": ["--reference", "{good_img}"],
        "render": ["--reference", "{good_img}", "--pose", "{good_json}", "-o", "o.png"], "demo": [],
        "evaluate": ["--driver", "{tiny_mp4}"], "calibrate": ["--source", "{tiny_mp4}", "-o", "p.json"],
        "editor": [], "build-engine": ["--onnx", "m.onnx"],
        "coach": ["{tiny_mp4}", "--benchmark", "{tiny_mp4}"],
    }
    for cmd, args in base.items():
        add("argparse: unknown flag", cmd, *args, "--no-such-flag")
        add("argparse: stray value", cmd, *args, "--verbose-typo=1")
    for cmd in ("pose", "compare", "search", "train", "export", "live", "render", "evaluate", "calibrate",
                "build-engine", "coach"):
        add("argparse: missing required", cmd)
    add("argparse: bad choice", "pose", "{good_img}", "--layout", "bogus")
    add("argparse: bad choice", "pose", "{good_img}", "--format", "yaml")
    add("argparse: bad choice", "train", "--data", "x", "--out", "r", "--config", "huge")
    add("argparse: bad choice", "live", "--reference", "{good_img}", "--vcam-format", "rgba")
    add("argparse: bad choice", "render", "--reference", "r.jpg", "--pose", "p.json", "-o", "o.png", "--backend", "cuda9")
    add("argparse: unknown command", "frobnicate")
    add("argparse: both of exclusive", "render", "--reference", "r.jpg", "--pose", "p.json", "--driver", "d.mp4", "-o", "o.mp4")

    # -- every numeric flag: below, above, NaN, not a number -----------------------------------------
    from realtime.app.cli import build_parser
    from realtime.app.flags import range_of

    parser = build_parser()
    sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    for cmd, p in sub.choices.items():
        for a in p._actions:
            r = range_of(cmd, a.dest) if a.option_strings else None
            if r is None:
                continue
            flag = max(a.option_strings, key=len)
            lo, hi, _ = r
            if a.dest == "output_size":
                values = [f"{int(hi) * 10}x{int(hi) * 10}", "0x480", "abc"]
            else:
                is_int = a.type is int or getattr(a.type, "__name__", "") == "parse" and isinstance(a.default, int)
                below = str(int(lo) - 1) if is_int or float(lo).is_integer() else str(lo - 1)
                above = str(int(hi * 10 + 1)) if math.isfinite(hi) else None
                values = [v for v in (below, above, "nan", "abc") if v is not None]
            for v in values:
                add(f"range: {v if v in ('nan', 'abc') else ('below' if v.startswith(('-', '0')) else 'above')}",
                    cmd, *base[cmd], f"{flag}={v}")

    # -- bad inputs ---------------------------------------------------------------------------------
    bad_images = ["{empty_img}", "{text_img}", "{trunc_img}", "{missing_img}", "{dir_img}", "{uni_text_img}",
                  "{tiny_img}"]
    bad_videos = ["{empty_mp4}", "{text_mp4}", "{moovless_mp4}", "{missing_mp4}", "{dir_mp4}", "{uni_text_mp4}"]
    bad_json = ["{empty_json}", "{text_json}", "{wrong_json}", "{list_json}", "{deep_json}", "{bignum_json}",
                "{nan_json}", "{missing_json}", "{dir_json}", "{uni_wrong_json}", "{noext}"]
    for f in bad_images[:-1] + bad_videos[:3] + ["{noext}", "{good_json}"]:   # (no person: exit 0, a warning)
        add("input: pose", "pose", f, "-o", "out.json")
    for f in bad_json + bad_images[:4]:
        add("input: compare", "compare", f, "{good_json}")
    for f in bad_json[:6] + ["{missing_dir}", "{empty_dir}"]:
        add("input: search library", "search", "--library", f, "{good_json}")
    for f in bad_images + bad_videos[:3]:
        add("input: render reference", "render", "--reference", f, "--pose", "{good_json}", "-o", "o.png")
    for f in bad_json:
        add("input: render pose", "render", "--reference", "{good_img}", "--pose", f, "-o", "o.mp4")
    for f in bad_videos + ["{text_img}"]:
        add("input: render driver", "render", "--reference", "{good_img}", "--driver", f, "-o", "o.mp4")
    add("input: render needs mp4 for video", "render", "--reference", "{good_img}", "--driver", "{tiny_mp4}", "-o", "o.png")
    for f in bad_images[:5]:
        add("input: live reference", "live", "--reference", f, "--output", "null")
        add("input: demo reference", "demo", "--reference", f, "-o", "d.mp4")
    add("input: live sink spec", "live", "--reference", "{good_img}", "--output", "bogus:1")
    add("input: live sink spec", "live", "--reference", "{good_img}", "--output", "mjpeg:http")
    add("input: demo motions", "demo", "--motions", "moonwalk", "-o", "d.mp4")
    for f in bad_videos + ["{text_img}"]:
        add("input: evaluate driver", "evaluate", "--driver", f, "--self")
        add("input: calibrate source", "calibrate", "--source", f, "-o", "p.json")
    for f in bad_videos[:4] + ["{text_img}", "{empty_dir}"]:
        add("input: train data", "train", "--data", f, "--out", "run", "--config", "tiny")
    for f in ["{text_json}", "{missing_json}", "{dir_json}", "{text_img}", "{empty_dir}", "{ck_badjson}",
              "{ck_huge}", "{ck_corrupt}"]:
        add("input: export checkpoint", "export", "--checkpoint", f, "-o", "m.onnx")
    for f in ["{text_img}", "{onnx_bomb}"]:
        add("input: render onnx", "render", "--reference", "{good_img}", "--pose", "{good_json}", "-o", "o.png",
            "--renderer", "learned", "--onnx", f)
    add("input: resume corrupt", "train", "--data", "{tiny_mp4}", "--out", "{run_corrupt}", "--config", "tiny",
        "--resume", "--max-steps", "1")
    add("input: editor checkpoint", "editor", "--renderer", "learned", "--checkpoint", "{missing_json}")
    add("input: build-engine onnx", "build-engine", "--onnx", "{missing_json}")
    for f in bad_videos + bad_json[:4] + ["{text_img}"]:
        add("input: coach video", "coach", f, "--benchmark", "{good_json}")
        add("input: coach benchmark", "coach", "{good_json}", "--benchmark", f)
    add("input: truncated video --strict", "--strict", "pose", "{trunc_mp4}", "-o", "o.json")

    # -- bad outputs (refused before any work) ------------------------------------------------------
    outs = {
        "pose -o": ["pose", "{good_img}", "-o"], "pose --draw": ["pose", "{good_img}", "--draw"],
        "compare -o": ["compare", "{good_json}", "{good_json}", "-o"],
        "compare --draw": ["compare", "{good_json}", "{good_json}", "--draw"],
        "render -o": ["render", "--reference", "{good_img}", "--pose", "{good_json}", "-o"],
        "render --targets-out": ["render", "--reference", "{good_img}", "--pose", "{good_json}", "-o", "o.png",
                                 "--targets-out"],
        "demo -o": ["demo", "-o"], "calibrate -o": ["calibrate", "--source", "{tiny_mp4}", "-o"],
        "export -o": ["export", "--checkpoint", "ck", "-o"],
        "live --stats-json": ["live", "--reference", "{good_img}", "--output", "null", "--stats-json"],
        "build-engine --timing-cache": ["build-engine", "--onnx", "m.onnx", "--timing-cache"],
        "coach -o": ["coach", "{good_json}", "--benchmark", "{good_json}", "-o"],
        "coach --plot": ["coach", "{good_json}", "--benchmark", "{good_json}", "--plot"],
        "coach --html": ["coach", "{good_json}", "--benchmark", "{good_json}", "--html"],
        "coach --video": ["coach", "{good_json}", "--benchmark", "{good_json}", "--video"],
    }
    for what, argv in outs.items():
        add(f"output: folder ({what})", *argv, "{dir_json}")
        add(f"output: under a file ({what})", *argv, "{text_json}/out.json")
        add(f"output: full file system ({what})", *argv, "{full}/out.json", needs=("tmpfs",))
        add(f"output: empty path ({what})", *argv, "")
    for what, argv in {"train --out": ["train", "--data", "{tiny_mp4}", "--out"],
                       "train --cache": ["train", "--data", "{tiny_mp4}", "--out", "run", "--cache"],
                       "live --snapshot-dir": ["live", "--reference", "{good_img}", "--output", "null",
                                               "--snapshot-dir"],
                       "build-engine --cache-dir": ["build-engine", "--onnx", "m.onnx", "--cache-dir"]}.items():
        add(f"output: a file for a folder ({what})", *argv, "{text_json}")
        add(f"output: full file system ({what})", *argv, "{full}/d", needs=("tmpfs",))
    for spec in ("file:{dir_mp4}", "file:{text_json}/o.mp4", "frames:{text_json}", "file:{full}/o.mp4"):
        add("output: live sink", "live", "--reference", "{good_img}", "--output", spec,
            needs=("tmpfs",) if "full" in spec else ())
    add("output: live coach stem", "live", "--reference", "{good_img}", "--output", "null", "--benchmark",
        "{good_json}", "--coach-out", "{text_json}/sim")
    add("output: wrong suffix", "pose", "{good_img}", "--draw", "o.gif")
    add("output: wrong suffix", "render", "--reference", "{good_img}", "--pose", "{good_json}", "-o", "o.avi")
    add("output: stdout refused", "export", "--checkpoint", "ck", "-o", "-")
    add("output: full device node", "compare", "{good_json}", "{good_json}", "-o", "{full_node}", needs=("mknod",))
    # written through, quietly: a symlink, a device node, stdout
    add("through: symlink", "compare", "{good_json}", "{good_json}", "-o", "{link_json}", code=0, lines=0,
        check="symlink")
    add("through: dangling symlink", "compare", "{good_json}", "{good_json}", "-o", "{dangling}", code=0, lines=0,
        check="dangling")
    add("through: device node", "compare", "{good_json}", "{good_json}", "-o", "{null_node}", code=0, lines=0,
        needs=("mknod",), check="node")
    add("through: stdout", "compare", "{good_json}", "{good_json}", "-o", "-", code=0, lines=0)

    # -- web surfaces -------------------------------------------------------------------------------
    add("web: busy port", "editor", "--port", "{busy_port}", needs=("port",))
    add("web: remote bind", "editor", "--host", "0.0.0.0", "--port", "0")
    add("web: remote bind", "editor", "--host", "192.168.1.5", "--port", "0")
    add("web: remote mjpeg", "live", "--reference", "{good_img}", "--output", "mjpeg:0", "--mjpeg-host", "0.0.0.0")
    add("web: remote mjpeg", "live", "--reference", "{good_img}", "--output", "mjpeg:10.1.2.3:0")
    return out


CASES = _cases()


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    """Bad (and a few good) files in one folder; keys are the {names} the cases use."""
    import cv2
    import numpy as np

    from realtime.app.demo.figure import draw_figure, reference_pose
    from realtime.poseio import pose_to_dict

    d = tmp_path_factory.mktemp("corpus")
    c: dict[str, str] = {}

    def put(name: str, data: bytes | str, key: str | None = None) -> None:
        p = d / name
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_bytes(data if isinstance(data, bytes) else data.encode())
        c[key or p.stem.replace(" ", "_").replace(".", "_")] = str(p)

    fig = draw_figure()
    ok, png = cv2.imencode(".png", fig.image)
    put("good.png", png.tobytes(), "good_img")
    put("good.json", json.dumps(pose_to_dict(reference_pose())), "good_json")
    put("empty.jpg", b"", "empty_img")
    put("text.jpg", "hello, not an image", "text_img")
    put("trunc.jpg", png.tobytes()[:200], "trunc_img")
    put("tiny.png", cv2.imencode(".png", np.zeros((1, 1, 3), np.uint8))[1].tobytes(), "tiny_img")
    put("ünï cödé/with space.jpg", "text", "uni_text_img")
    put("ünï cödé/with space.mp4", "text", "uni_text_mp4")
    put("ünï cödé/wrong é.json", '{"people": 3}', "uni_wrong_json")
    put("empty.mp4", b"", "empty_mp4")
    put("text.mp4", "hello, not a video", "text_mp4")
    put("empty.json", b"", "empty_json")
    put("text.json", "{not json", "text_json")
    put("wrong.json", '{"a": 1}', "wrong_json")
    put("list.json", "[]", "list_json")
    put("deep.json", "[" * 100_000 + "]" * 100_000, "deep_json")
    put("bignum.json", '{"layout": "coco17", "width": 1' + "0" * 400 + ', "height": 10, "keypoints": []}',
        "bignum_json")
    put("nan.json", '{"layout": "coco17", "width": NaN, "height": 10, "keypoints": []}', "nan_json")
    put("noext", "data", "noext")
    for key, name in {"missing_img": "missing.jpg", "missing_mp4": "missing.mp4", "missing_json": "missing.json",
                      "missing_dir": "missing_dir"}.items():
        c[key] = str(d / name)
    for key, name in {"dir_img": "adir.jpg", "dir_mp4": "adir.mp4", "dir_json": "adir.json", "empty_dir": "empty"}.items():
        (d / name).mkdir()
        c[key] = str(d / name)
    # videos: a small H.264 clip with its index first (faststart), one cut in half, one without an index
    import imageio_ffmpeg

    ff = imageio_ffmpeg.get_ffmpeg_exe()
    tiny = d / "tiny.mp4"
    subprocess.run([ff, "-v", "error", "-f", "lavfi", "-i", "testsrc=size=96x64:rate=10", "-frames:v", "60",
                    "-c:v", "libx264", "-pix_fmt", "yuv420p", "-movflags", "+faststart", str(tiny)], check=True)
    c["tiny_mp4"] = str(tiny)
    data = tiny.read_bytes()
    put("trunc.mp4", data[: len(data) // 2], "trunc_mp4")
    plain = d / "plain.mp4"
    subprocess.run([ff, "-v", "error", "-f", "lavfi", "-i", "testsrc=size=96x64:rate=10", "-frames:v", "60",
                    "-c:v", "libx264", "-pix_fmt", "yuv420p", str(plain)], check=True)
    put("moovless.mp4", plain.read_bytes()[:2000], "moovless_mp4")
    # checkpoints and ONNX files
    put("ck_badjson.safetensors", b"\0" * 64, "ck_badjson")
    put("ck_badjson.json", "{broken", "ck_badjson_cfg")
    put("ck_huge.safetensors", b"\0" * 64, "ck_huge")
    put("ck_huge.json", json.dumps({"format": "repose-patn", "version": 1, "generator": {"height": 40000,
                                                                                       "width": 40000}}), "x1")
    put("ck_corrupt.safetensors", b"garbage" * 10, "ck_corrupt")
    put("ck_corrupt.json", json.dumps({"format": "repose-patn", "version": 1, "generator": {}}), "x2")
    import onnx
    from onnx import TensorProto, helper

    graph = helper.make_graph([helper.make_node("Identity", ["x"], ["y"])], "g",
                              [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1])])
    model = helper.make_model(graph)
    model.metadata_props.add(key="repose_generator", value=repr({"height": 40000, "width": 40000, "ngf": 4096}))
    onnx.save(model, str(d / "bomb.onnx"))
    c["onnx_bomb"] = str(d / "bomb.onnx")
    run = d / "run_corrupt"
    run.mkdir()
    (run / "last.safetensors").write_bytes(b"x")
    (run / "last.json").write_text(json.dumps({"format": "repose-patn", "version": 1, "generator": {},
                                               "training": {}}))
    (run / "last.train.safetensors").write_bytes(b"corrupt")
    c["run_corrupt"] = str(run)
    # write-through targets
    (d / "real.json").write_text("{}")
    (d / "link.json").symlink_to("real.json")
    c["link_json"] = str(d / "link.json")
    (d / "dangling.json").symlink_to("dangling_target.json")
    c["dangling"] = str(d / "dangling.json")
    c["features"] = ""
    feats = set()
    try:
        os.mknod(d / "fullnode", 0o666 | stat.S_IFCHR, os.makedev(1, 7))     # like /dev/full
        os.mknod(d / "nullnode", 0o666 | stat.S_IFCHR, os.makedev(1, 3))     # like /dev/null
        c["full_node"], c["null_node"] = str(d / "fullnode"), str(d / "nullnode")
        feats.add("mknod")
    except OSError as e:
        c["why_mknod"] = f"mknod not permitted here ({e})"
    full = d / "full"
    full.mkdir()
    r = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", str(full)], capture_output=True, text=True)
    if r.returncode == 0:
        (full / "filler").write_bytes(b"\0" * 60_000)
        feats.add("tmpfs")
        c["full"] = str(full)
    else:
        c["why_tmpfs"] = f"cannot mount a tiny tmpfs here ({r.stderr.strip() or 'not permitted'})"
    busy = socket.socket()
    busy.bind(("127.0.0.1", 0))
    busy.listen()
    c["busy_port"] = str(busy.getsockname()[1])
    feats.add("port")
    c["_features"] = ",".join(sorted(feats))
    yield c
    busy.close()
    if "tmpfs" in feats:
        subprocess.run(["umount", "-l", str(full)], check=False)


def _snapshot(folder: Path) -> set[str]:
    return {str(p.relative_to(folder)) for p in folder.rglob("*")}


def _run_cli(argv: list[str], capfd) -> tuple[int, str, str]:
    from realtime.app.cli import main

    capfd.readouterr()
    try:
        code = main(argv)
    except SystemExit as e:
        code = e.code if isinstance(e.code, int) else 2
    out, err = capfd.readouterr()
    return code, out, err


@pytest.mark.parametrize("case", CASES, ids=[f"{i:03d}-{c.kind}-{' '.join(c.argv)[:60]}" for i, c in enumerate(CASES)])
def test_matrix(case: Case, corpus, tmp_path, monkeypatch, capfd):
    feats = set(corpus["_features"].split(","))
    for need in case.needs:
        if need not in feats:
            pytest.skip(corpus.get(f"why_{need}", f"{need} unavailable"))
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.chdir(work)
    corpus_dir = Path(corpus["good_img"]).parent
    before, before_corpus = _snapshot(work), _snapshot(corpus_dir)
    argv = [a.format(**corpus) for a in case.argv]
    code, out, err = _run_cli(argv, capfd)
    lines = err.splitlines()
    assert "Traceback" not in err, err
    assert code == case.code, f"exit {code}, stderr: {err}"
    assert len(lines) == case.lines, f"{len(lines)} stderr lines: {err}"
    if case.code == 2 and lines:
        assert "error" in lines[0]
    after = _snapshot(work)
    assert after == before, f"left behind: {sorted(after - before)}"
    left = _snapshot(corpus_dir) - before_corpus
    if case.check == "dangling":
        assert left == {"dangling_target.json"} and Path(corpus["dangling"]).is_symlink()
        Path(corpus["dangling"]).resolve().unlink()
    else:
        assert left == set(), f"left behind in the corpus: {sorted(left)}"
    if case.check == "symlink":
        assert Path(corpus["link_json"]).is_symlink() and "similarity" in Path(corpus["link_json"]).read_text()
    if case.check == "node":
        assert stat.S_ISCHR(Path(corpus["null_node"]).stat().st_mode)


# -- signals: subprocesses, one line, 130/143/129, nothing left ----------------------------------------
# (what, signal, argv, a file name pattern that shows the command is in its work; None: wait 12 s)
SIGNAL_CASES = [
    ("render", "SIGTERM", ["render", "--reference", "{good_img}", "--driver", "{long_mp4}", "-o", "o.mp4"], ".o.mp4.*"),
    ("render", "SIGINT", ["render", "--reference", "{good_img}", "--driver", "{long_mp4}", "-o", "o.mp4"], ".o.mp4.*"),
    ("pose --draw", "SIGTERM", ["pose", "{long_mp4}", "-o", "p.json", "--draw", "p.mp4"], ".p.mp4.*"),
    ("demo", "SIGTERM", ["demo", "-o", "d.mp4", "--no-score"], ".d.mp4.*"),
    ("demo", "SIGHUP", ["demo", "-o", "d.mp4", "--no-score"], ".d.mp4.*"),
    ("evaluate", "SIGTERM", ["evaluate", "--driver", "{person_mp4}", "--self"], None),
    ("train", "SIGINT", ["train", "--data", "{person_mp4}", "--out", "run", "--config", "tiny", "--cache", "cache"],
     "*.jpg"),
]


@pytest.fixture(scope="module")
def long_mp4(corpus):
    import imageio_ffmpeg

    p = Path(corpus["good_img"]).parent / "long.mp4"
    if not p.exists():
        subprocess.run([imageio_ffmpeg.get_ffmpeg_exe(), "-v", "error", "-f", "lavfi", "-i",
                        "testsrc=size=320x240:rate=30", "-frames:v", "3000", "-c:v", "libx264", "-preset",
                        "ultrafast", "-pix_fmt", "yuv420p", str(p)], check=True)
    return str(p)


@pytest.mark.parametrize("what,sig,argv,marker", SIGNAL_CASES, ids=[f"{w}-{s}" for w, s, *_ in SIGNAL_CASES])
def test_signal_matrix(what, sig, argv, marker, corpus, long_mp4, tmp_path, request):
    """A signal in the middle of the work: one line, 128+signum, no temporary output left."""
    from fnmatch import fnmatch

    person = ""
    if any("{person_mp4}" in a for a in argv):
        person = str(request.getfixturevalue("media_dir") / "pose_1.mp4")
    work = tmp_path / "work"
    work.mkdir()
    argv = [a.format(**corpus, long_mp4=long_mp4, person_mp4=person) for a in argv]
    env = {**os.environ, "PYTHONPATH": str(ROOT), "PYTHONFAULTHANDLER": "1"}
    p = subprocess.Popen([sys.executable, "-m", "realtime", *argv], cwd=work, env=env,
                         stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    t0 = time.monotonic()
    # wait until the command is in its work: its temporary output (or cache) exists, else a fixed time
    while time.monotonic() < t0 + 90 and p.poll() is None:
        if marker is None and time.monotonic() > t0 + 12:
            break
        if marker is not None and any(fnmatch(q.name, marker) for q in work.rglob("*")):
            break
        time.sleep(0.2)
    assert p.poll() is None, f"finished before the signal: {p.stderr.read()}"
    time.sleep(0.5)
    p.send_signal(getattr(signal, sig))
    try:
        _, err = p.communicate(timeout=60)
    except subprocess.TimeoutExpired:
        p.send_signal(signal.SIGABRT)     # faulthandler prints every thread's stack
        _, err = p.communicate(timeout=30)
        pytest.fail(f"no exit 60 s after {sig}:\n{err[-6000:]}")
    lines = err.splitlines()
    assert "Traceback" not in err, err
    assert p.returncode == 128 + getattr(signal, sig), err
    assert len(lines) == 1 and "interrupted" in lines[0], err
    assert sorted(q.name for q in work.rglob("*")) == [], "left behind"


def test_live_keeps_its_behaviour_on_sigterm(corpus, long_mp4, tmp_path):
    """live: SIGTERM stops the run, the recording is finalized, exit 0 (its documented behaviour)."""
    work = tmp_path / "work"
    work.mkdir()
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    p = subprocess.Popen([sys.executable, "-m", "realtime", "live", "--reference", corpus["good_img"], "--source",
                          long_mp4, "--output", "file:o.mp4"], cwd=work, env=env,
                         stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline and not any(q.name.startswith(".o.") for q in work.iterdir()):
        time.sleep(0.2)
    time.sleep(2.0)
    p.send_signal(signal.SIGTERM)
    _, err = p.communicate(timeout=60)
    assert p.returncode == 0, err
    assert "Traceback" not in err
    assert [q.name for q in work.iterdir()] == ["o.mp4"]
    mode = stat.S_IMODE((work / "o.mp4").stat().st_mode)
    mask = os.umask(0)
    os.umask(mask)
    assert mode == 0o666 & ~mask


def test_matrix_size():
    assert len(CASES) + len(SIGNAL_CASES) >= 200
