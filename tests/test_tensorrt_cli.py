"""`repose build-engine` errors and the promise that importing the packages needs no GPU extras."""
from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
from pathlib import Path

import pytest

from engines.backends.registry import BACKENDS, AUTO_ORDER, BackendRequest, BackendUnavailable, create_backend
from onnx_models import write_renderer_like_onnx
from realtime.app.cli import main

ROOT = Path(__file__).resolve().parents[1]
HAS_TENSORRT = importlib.util.find_spec("tensorrt") is not None


def test_imports_pull_in_no_tensorrt_pycuda_or_torch():
    code = ("import sys, realtime, engines, realtime.app.cli, engines.backends.registry, engines.backends.engine_cache, "
            "engines.backends.cuda_buffers, engines.backends.tensorrt_build, engines.backends.tensorrt_backend, "
            "realtime.app.commands.build_engine_cmd\n"
            "import json; print(json.dumps(sorted(m for m in ('tensorrt', 'pycuda', 'torch') if m in sys.modules)))")
    res = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert res.returncode == 0, res.stderr
    assert json.loads(res.stdout.strip().splitlines()[-1]) == []


def test_building_the_cli_pulls_in_no_gpu_packages():
    code = ("import sys, json, realtime.app.cli\nrealtime.app.cli.build_parser()\n"
            "print(json.dumps(sorted(m for m in ('tensorrt', 'pycuda', 'torch') if m in sys.modules)))")
    res = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert res.returncode == 0, res.stderr
    assert json.loads(res.stdout.strip().splitlines()[-1]) == []


def test_tensorrt_is_registered_and_first_in_auto():
    assert BACKENDS["tensorrt"] == "engines.backends.tensorrt_backend:create_tensorrt_backend"
    assert AUTO_ORDER[0] == "tensorrt"


def test_help(capsys):
    with pytest.raises(SystemExit) as e:
        main(["build-engine", "--help"])
    assert e.value.code == 0
    out = capsys.readouterr().out
    for opt in ("--onnx", "--cache-dir", "--workspace-mb", "--timing-cache"):
        assert opt in out


def test_missing_onnx_exits_2_naming_the_file(tmp_path, capsys):
    assert main(["build-engine", "--onnx", str(tmp_path / "nope.onnx")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "nope.onnx" in err and "repose export" in err and "Traceback" not in err


def test_unreadable_onnx_exits_2(tmp_path, capsys):
    bad = tmp_path / "bad.onnx"
    bad.write_bytes(b"\x00garbage")
    assert main(["build-engine", "--onnx", str(bad)]) == 2
    assert "not a readable ONNX model" in capsys.readouterr().err


@pytest.mark.skipif(HAS_TENSORRT, reason="TensorRT is installed here: the missing-TensorRT message cannot occur")
def test_missing_tensorrt_exits_2_saying_what_to_install(tmp_path, capsys):
    model = write_renderer_like_onnx(tmp_path / "m.onnx")
    assert main(["build-engine", "--onnx", str(model), "--cache-dir", str(tmp_path / "c")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("repose build-engine: error: TensorRT is not available here")
    assert 'pip install -e ".[gpu]"' in err and "https://pypi.nvidia.com" in err and "Traceback" not in err
    assert not (tmp_path / "c").exists()  # nothing half-made


@pytest.mark.skipif(HAS_TENSORRT, reason="TensorRT is installed here")
def test_missing_tensorrt_through_the_backend_interface(tmp_path):
    with pytest.raises(BackendUnavailable, match=r"pip install"):
        create_backend("tensorrt", BackendRequest(onnx_path=tmp_path / "m.onnx"))


def test_bad_workspace_is_an_input_error(tmp_path, capsys):
    model = write_renderer_like_onnx(tmp_path / "m.onnx")
    assert main(["build-engine", "--onnx", str(model), "--workspace-mb", "0"]) == 2
    assert "--workspace-mb" in capsys.readouterr().err


def test_subprocess_exit_code_is_2_without_traceback(tmp_path):
    res = subprocess.run([sys.executable, "-m", "realtime", "build-engine", "--onnx", str(tmp_path / "x.onnx")],
                         cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert res.returncode == 2 and "Traceback" not in res.stderr and "x.onnx" in res.stderr
