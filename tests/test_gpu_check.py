"""The GPU check (scripts/gpu_check.sh): engines import without mediapipe, a missing module fails the
check, the no-CUDA run says so and exits 0, and the GPU sections' bookkeeping (rows, speed-ups, goal,
JSON, plot) is right when the CUDA work is replaced by fakes."""
from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[1]
SCRIPTS = ROOT / "scripts"

# Runs in a fresh interpreter: refuse mediapipe, import every engines module (and so the parts of the
# realtime core they use), and report what failed and whether any of it pulled in the app layer.
IMPORT_ALL = r"""
import importlib, importlib.abc, json, sys
from pathlib import Path

class NoMediapipe(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] == "mediapipe":
            raise ImportError("mediapipe is blocked for this test")
        return None

sys.meta_path.insert(0, NoMediapipe())
# module names from the files: listing them imports nothing (pkgutil.walk_packages imports packages)
names = sorted(".".join(p.with_suffix("").parts).removesuffix(".__init__")
               for p in Path("engines").rglob("*.py") if p.name != "__main__.py")
failed = {}
for n in names:
    try:
        importlib.import_module(n)
    except Exception as e:
        failed[n] = f"{type(e).__name__}: {e}"
print(json.dumps({"imported": names, "failed": failed,
                  "app": sorted(m for m in sys.modules if m.startswith("realtime.app")),
                  "mediapipe": "mediapipe" in sys.modules}))
"""


def _load(name: str):
    spec = importlib.util.spec_from_file_location(name, SCRIPTS / f"{name}.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def _run_check(*args: str, timeout: float = 120) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(SCRIPTS / "gpu_check.py"), *args], cwd=ROOT, capture_output=True,
                          text=True, timeout=timeout, env={**os.environ, "PYTHONPATH": str(ROOT)})


def test_engines_import_without_mediapipe_or_the_app_layer():
    """Also run in a numpy 2.x venv without mediapipe (README, GPU check) where it passes too."""
    res = subprocess.run([sys.executable, "-c", IMPORT_ALL], cwd=ROOT, capture_output=True, text=True, timeout=300,
                         env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert res.returncode == 0, res.stderr
    got = json.loads(res.stdout.strip().splitlines()[-1])
    assert "engines.learned.renderer" in got["imported"] and "engines.backends.torch_backend" in got["imported"]
    assert got["failed"] == {}
    assert got["app"] == [] and got["mediapipe"] is False


def test_the_check_imports_what_it_needs_without_mediapipe(tmp_path):
    res = _run_check("--imports-only", "--out", str(tmp_path))
    assert res.returncode == 0, res.stderr
    data = json.loads((tmp_path / "gpu_check.json").read_text())
    assert data["status"] == "imports only"
    assert all(v == "ok" or not v.startswith("cannot") for v in data["imports"]["required"].values())
    assert isinstance(data["cuda"], bool)
    assert "CUDA present: " in res.stderr


def test_a_missing_module_fails_the_check(tmp_path):
    res = _run_check("--imports-only", "--block", "onnx", "--out", str(tmp_path))
    assert res.returncode == 1
    assert "cannot import onnx" in res.stderr
    data = json.loads((tmp_path / "gpu_check.json").read_text())
    assert data["status"] == "failed: cannot import onnx"


@pytest.mark.slow
def test_gpu_check_sh_without_cuda_says_so_and_exits_0(tmp_path):
    torch = pytest.importorskip("torch")
    if torch.cuda.is_available():
        pytest.skip("a CUDA GPU is present: the check would measure for minutes (run it by hand, see README)")
    env = {**os.environ, "OUT": str(tmp_path), "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"}
    t0 = time.monotonic()
    res = subprocess.run(["bash", str(SCRIPTS / "gpu_check.sh")], cwd=tmp_path, capture_output=True, text=True,
                         timeout=240, env=env)
    assert res.returncode == 0, res.stdout[-3000:] + res.stderr[-3000:]
    log = (tmp_path / "gpu_check.log").read_text()
    assert "CUDA present: no: no CUDA device" in log
    data = json.loads((tmp_path / "gpu_check.json").read_text())
    assert data["status"] == "no CUDA device" and data["cuda"] is False and data["failures"] == []
    for section in ("generator", "renderer", "training"):
        assert data[section] and all(r.get("ms/frame") or r.get("ms/step") for r in data[section]), section
    assert data["renderer"][0]["reference"] == "1280x720"
    assert "tensorrt" in data["tensorrt"] and data["finished"]
    print(f"no-CUDA check took {time.monotonic() - t0:.0f} s")  # under a minute on an idle machine


def _fake_variant(delay_s: float):
    def build(*args, **kwargs):
        out = np.zeros((1, 3, 8, 8), np.float32)

        def step():
            time.sleep(delay_s)
            return out
        return step
    return build


def test_gpu_sections_bookkeeping_with_fake_cuda(monkeypatch, tmp_path):
    torch = pytest.importorskip("torch")
    monkeypatch.syspath_prepend(str(SCRIPTS))
    check = _load("gpu_check")
    import bench_gpu

    real_make = bench_gpu.make_model
    monkeypatch.setattr(bench_gpu, "make_model", lambda config, h, w: real_make("tiny", 64, 44))
    monkeypatch.setattr(torch.nn.Module, "cuda", lambda self, *a, **k: self)
    monkeypatch.setattr(torch.cuda, "synchronize", lambda *a, **k: None)
    monkeypatch.setattr(torch.cuda, "empty_cache", lambda: None)
    monkeypatch.setattr(bench_gpu, "eager_fp32", _fake_variant(0.02))
    monkeypatch.setattr(bench_gpu, "eager_fp16", _fake_variant(0.008))
    monkeypatch.setattr(bench_gpu, "graphed_fp16", _fake_variant(0.002))

    def broken(*args, **kwargs):
        raise RuntimeError("no such GPU")
    monkeypatch.setattr(bench_gpu, "torch_backend_fp16", broken)
    report = check.Report(tmp_path, budget_s=300)
    report.data["environment"] = {"gpu": "Fake GPU", "torch": torch.__version__,
                                  "onnxruntime_providers": ["CPUExecutionProvider"]}
    args = check.parse_args(["--out", str(tmp_path), "--iters", "3", "--warmup", "1"])
    check.generator_torch(report, args, tmp_path)
    check.generator_onnxruntime(report, args, tmp_path)
    check.goal(report)
    check.finish(report, tmp_path)

    rows = report.data["generator"]
    assert [(r["config"], r["size"]) for r in rows[::6]] == [("small", "128x88"), ("small", "256x176"),
                                                            ("paper", "128x88"), ("paper", "256x176")]
    assert len(rows) == 4 * 6  # 4 torch variants and 2 onnxruntime ones per config and size, in ORDER
    by = {(r["config"], r["size"], r["variant"]): r for r in rows}
    for config in check.GEN_CONFIGS:
        for size in ("128x88", "256x176"):
            assert by[(config, size, check.BASELINE)]["speedup"] is None
            assert by[(config, size, check.GRAPHED)]["speedup"] > 2.5
            assert by[(config, size, check.GRAPHED)]["max |diff|"] == 0.0
            assert by[(config, size, "onnxruntime CUDA fp32")]["note"].startswith("skipped: this onnxruntime has no CUDA")
            assert by[(config, size, "torch backend fp16 + channels_last + CUDA graphs (Backend.infer)")]["note"] == \
                "failed: RuntimeError: no such GPU"
    assert len(report.data["failures"]) == 4
    assert [g["size"] for g in report.data["goal"]["rows"]] == ["128x88", "256x176"]
    assert report.data["goal"]["gpu"] == "Fake GPU"
    saved = json.loads((tmp_path / "gpu_check.json").read_text())
    assert saved["generator"] == json.loads(json.dumps(rows)) and saved["finished"]
    if importlib.util.find_spec("matplotlib") is not None:
        assert (tmp_path / "gpu_check.png").stat().st_size > 10_000

    late = check.Report(tmp_path / "late", budget_s=0)  # out of time: every row says so, nothing runs
    (tmp_path / "late").mkdir()
    late.data["environment"] = report.data["environment"]
    check.generator_torch(late, args, tmp_path)
    assert len(late.data["generator"]) == 16
    assert all(r["note"].startswith("skipped: time budget") for r in late.data["generator"])


@pytest.mark.slow
def test_compile_child_failure_is_reported_not_raised(monkeypatch, tmp_path):
    torch = pytest.importorskip("torch")
    if torch.cuda.is_available():
        pytest.skip("a CUDA GPU is present: the child would compile for real")
    monkeypatch.syspath_prepend(str(SCRIPTS))
    check = _load("gpu_check")
    report = check.Report(tmp_path, budget_s=300)
    args = check.parse_args(["--out", str(tmp_path), "--compile-timeout", "120"])
    check.generator_compile(report, args)
    notes = {r["note"] for r in report.data["generator"]}
    assert len(report.data["generator"]) == 4
    assert notes == {"skipped: the child exited with 1"}, notes
