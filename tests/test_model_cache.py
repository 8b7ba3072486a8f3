"""One model cache (ONNX exports and TensorRT engines under one root, content-hash keys) and
backend errors that let ``--backend auto`` fall through, TensorRT faked (it cannot be installed here)."""
from __future__ import annotations

import logging
import os
import sys
from pathlib import Path

import pytest

from engines.backends import model_cache
from engines.backends.engine_cache import default_cache_dir
from engines.backends.registry import BackendRequest, BackendUnavailable, create_backend
from tests.onnx_models import write_renderer_like_onnx
from tests.test_tensorrt_logic import TRT10


@pytest.fixture
def clean_env(monkeypatch, tmp_path):
    for name in ("REPOSE_CACHE_DIR", "REPOSE_CACHE", "XDG_CACHE_HOME"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.setattr(model_cache, "_warned", set())
    return tmp_path


def test_cache_root_lookup_order(clean_env, monkeypatch, caplog):
    tmp = clean_env
    assert model_cache.cache_root() == tmp / "home" / ".cache" / "repose"
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp / "xdg"))
    assert model_cache.cache_root() == tmp / "xdg" / "repose"
    with caplog.at_level(logging.WARNING, logger="engines.backends.model_cache"):
        monkeypatch.setenv("REPOSE_CACHE", str(tmp / "old"))
        assert model_cache.cache_root() == tmp / "old"          # the deprecated alias still works ...
        assert model_cache.cache_root() == tmp / "old"
    warnings = [r for r in caplog.records if "deprecated" in r.getMessage()]
    assert len(warnings) == 1 and "REPOSE_CACHE_DIR" in warnings[0].getMessage()   # ... and says so once
    monkeypatch.setenv("REPOSE_CACHE_DIR", str(tmp / "new"))
    assert model_cache.cache_root() == tmp / "new"
    assert model_cache.cache_root(tmp / "flag") == tmp / "flag"  # --cache-dir wins
    assert model_cache.onnx_dir() == tmp / "new" / "onnx"
    assert model_cache.engine_dir() == tmp / "new" / "engines" == default_cache_dir()


def test_onnxruntime_and_tensorrt_share_one_content_keyed_export(tmp_path):
    pytest.importorskip("torch", reason="exporting a checkpoint needs torch")
    pytest.importorskip("onnxruntime", reason="the ONNX Runtime backend needs onnxruntime")
    from engines.backends.tensorrt_backend import _onnx_for
    from tests.patn_helpers import save_tiny_checkpoint

    ckpt = save_tiny_checkpoint(tmp_path / "ckpt")
    cache = tmp_path / "cache"
    ort = create_backend("onnxruntime", BackendRequest(checkpoint=ckpt, device="cpu", cache_dir=cache))
    exported = ort.path
    ort.close()
    assert exported.parent == cache / "onnx" and exported.is_file()
    assert _onnx_for(BackendRequest(checkpoint=ckpt, cache_dir=cache)) == exported   # the same file for TensorRT
    mtime = exported.stat().st_mtime_ns
    os.utime(ckpt, None)                                    # a touch changes no content: reused
    assert model_cache.cached_onnx(ckpt, "fp32", cache) == exported and exported.stat().st_mtime_ns == mtime
    other = save_tiny_checkpoint(tmp_path / "retrained", seed=1)   # same name, other weights: a new export
    assert other.name == ckpt.name
    assert model_cache.onnx_export_path(other, "fp32", cache) != exported
    assert model_cache.onnx_export_path(ckpt, "fp16", cache) != exported


@pytest.fixture
def fake_tensorrt(monkeypatch):
    """A tensorrt module of the TensorRT 10 API shape on a machine with one GPU (no real engine)."""
    from engines.backends import tensorrt_backend
    from engines.backends.engine_cache import GpuInfo

    monkeypatch.setitem(sys.modules, "tensorrt", TRT10)
    monkeypatch.setattr(tensorrt_backend, "current_gpu", lambda index=0: GpuInfo("Fake GPU", (9, 0)))
    return tensorrt_backend


def test_tensorrt_refusals_are_backend_unavailable(fake_tensorrt):
    create = fake_tensorrt.create_tensorrt_backend
    for request, words in ((BackendRequest(onnx_path=Path("m.onnx"), precision="bf16"), "fp32 and fp16"),
                           (BackendRequest(onnx_path=Path("m.onnx"), device="cpu"), "NVIDIA GPUs only"),
                           (BackendRequest(), "--onnx MODEL.onnx")):
        with pytest.raises(BackendUnavailable, match=words):
            create(request)


def test_auto_falls_through_tensorrt_on_bf16_with_the_reason_logged(fake_tensorrt, tmp_path, caplog):
    pytest.importorskip("torch", reason="the torch backend needs torch")
    from tests.patn_helpers import save_tiny_checkpoint

    ckpt = save_tiny_checkpoint(tmp_path)
    with caplog.at_level(logging.INFO, logger="engines.backends.registry"):
        backend = create_backend("auto", BackendRequest(checkpoint=ckpt, precision="bf16", cache_dir=tmp_path))
    assert backend.name == "torch"
    backend.close()
    text = caplog.text
    assert "backend tensorrt cannot run here" in text and "'bf16'" in text
    assert "backend onnxruntime cannot run here" in text


def test_auto_falls_through_a_failing_tensorrt_build(fake_tensorrt, tmp_path, monkeypatch, caplog):
    pytest.importorskip("onnxruntime", reason="the ONNX Runtime backend needs onnxruntime")

    def broken_build(*a, **k):
        raise RuntimeError("builder ran out of memory")

    monkeypatch.setattr(fake_tensorrt.TensorRTEngine, "build", broken_build)
    model = write_renderer_like_onnx(tmp_path / "m.onnx")
    with caplog.at_level(logging.INFO, logger="engines.backends.registry"):
        backend = create_backend("auto", BackendRequest(onnx_path=model, cache_dir=tmp_path))
    assert backend.name == "onnxruntime"
    backend.close()
    warned = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warned) == 1 and "tensorrt failed (RuntimeError: builder ran out of memory)" in warned[0].getMessage()


def test_auto_lists_every_reason_when_nothing_runs(fake_tensorrt, monkeypatch):
    from engines.backends import registry

    def unavailable(request):
        raise BackendUnavailable("not here")

    for name in ("onnxruntime", "torch"):
        monkeypatch.setitem(registry.BACKENDS, name, f"{__name__}:_unavailable")
    monkeypatch.setitem(globals(), "_unavailable", unavailable)
    with pytest.raises(BackendUnavailable) as e:
        create_backend("auto", BackendRequest(onnx_path=Path("m.onnx"), precision="bf16"))
    msg = str(e.value)
    assert "tensorrt: " in msg and "onnxruntime: not here" in msg and "torch: not here" in msg
