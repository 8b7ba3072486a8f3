"""TensorRT on a real GPU: build, cache reuse, rebuild on mismatch, parser errors, and parity
with ONNX Runtime (assert_allclose). Skipped, with the reason, where TensorRT or a GPU is absent.
"""
from __future__ import annotations

import json
import shutil

import numpy as np
import pytest

pytestmark = [pytest.mark.tensorrt, pytest.mark.gpu, pytest.mark.slow]

trt = pytest.importorskip("tensorrt", reason="TensorRT is not installed (pip install -e \".[gpu]\" "
                                             "--extra-index-url https://pypi.nvidia.com)")

from engines.backends.engine_cache import EngineCache, probe_gpu  # noqa: E402
from engines.backends.cuda_buffers import pycuda_usable, torch_cuda_usable  # noqa: E402
from engines.backends.tensorrt_backend import EngineMismatch, TensorRTEngine  # noqa: E402
from engines.backends.tensorrt_build import BuildOptions, build_engine  # noqa: E402
from onnx_models import renderer_feeds, write_renderer_like_onnx, write_unparsable_onnx  # noqa: E402
from realtime.errors import InputError  # noqa: E402

GPU = probe_gpu()
if GPU is None:
    pytest.skip("no NVIDIA GPU visible (nvidia-smi / torch / pycuda found none)", allow_module_level=True)

H, W = 64, 48


def _ort(model, feeds):
    ort = pytest.importorskip("onnxruntime", reason="parity needs onnxruntime (train extra)")
    sess = ort.InferenceSession(str(model), providers=["CPUExecutionProvider"])
    dtype = np.float16 if sess.get_inputs()[0].type == "tensor(float16)" else np.float32
    return sess.run(None, {k: v.astype(dtype) for k, v in feeds.items()})[0].astype(np.float32)


@pytest.fixture
def model(tmp_path):
    return write_renderer_like_onnx(tmp_path / "renderer.onnx", H, W)


def test_build_reuse_and_timing_cache(model, tmp_path):
    opts = BuildOptions(cache_dir=tmp_path / "cache", precision="fp32", progress=False)
    first = build_engine(model, opts)
    assert not first.reused and first.path.is_file()
    k = first.key
    assert (k.gpu_name, k.compute_capability, k.trt_version) == (GPU.name, GPU.compute_capability, trt.__version__)
    assert first.path.name == k.file_name()
    assert list((tmp_path / "cache").glob("timing--*.cache")), "timing cache not saved"
    second = build_engine(model, opts)
    assert second.reused and second.path == first.path


@pytest.mark.parametrize("buffers", ["pycuda", "torch"])
def test_parity_with_onnxruntime_fp32(model, tmp_path, buffers):
    if not {"pycuda": pycuda_usable, "torch": torch_cuda_usable}[buffers]():
        pytest.skip(f"{buffers} with CUDA is not available for buffers")
    eng = TensorRTEngine.build(model, BuildOptions(cache_dir=tmp_path / "c", precision="fp32", progress=False),
                               buffers=buffers)
    try:
        assert eng.input_names == ["cond_image", "cond_pose", "target_pose"] and eng.output_names == ["image"]
        for seed in (1, 2):  # buffers are reused between frames
            feeds = renderer_feeds(H, W, seed=seed)
            got = eng.infer(feeds)["image"]
            assert got.shape == (1, 3, H, W) and got.dtype == np.float32
            np.testing.assert_allclose(got, _ort(model, feeds), rtol=1e-3, atol=2e-3)
        with pytest.raises(InputError, match="expected shape"):
            eng.infer(renderer_feeds(H + 1, W))
    finally:
        eng.close()


@pytest.mark.parametrize("float32_io", [False, True], ids=["fp16-io", "export-style-fp32-io"])
def test_parity_fp16(tmp_path, float32_io):
    fp16_model = write_renderer_like_onnx(tmp_path / "renderer16.onnx", H, W, fp16=True, float32_io=float32_io)
    eng = TensorRTEngine.build(fp16_model, BuildOptions(cache_dir=tmp_path / "c", progress=False))
    try:
        assert eng.path.name.split("--")[2] == "fp16"
        feeds = renderer_feeds(H, W)
        np.testing.assert_allclose(eng.infer(feeds)["image"], _ort(fp16_model, feeds), rtol=0, atol=2e-2)
    finally:
        eng.close()


def test_dynamic_batch(tmp_path):
    model = write_renderer_like_onnx(tmp_path / "dyn.onnx", H, W, dynamic_batch=True)
    eng = TensorRTEngine.build(model, BuildOptions(cache_dir=tmp_path / "c", precision="fp32", max_batch=3,
                                                   progress=False))
    try:
        for batch in (1, 3, 2):
            feeds = renderer_feeds(H, W, batch=batch)
            np.testing.assert_allclose(eng.infer(feeds)["image"], _ort(model, feeds), rtol=1e-3, atol=2e-3)
    finally:
        eng.close()


def test_engine_from_another_gpu_is_rebuilt(model, tmp_path):
    cache_dir = tmp_path / "c"
    built = build_engine(model, BuildOptions(cache_dir=cache_dir, precision="fp32", progress=False))
    cache = EngineCache(cache_dir)
    meta = json.loads(cache.meta_path(built.path).read_text())
    meta["key"]["gpu_name"], meta["key"]["compute_capability"] = "Imaginary GPU 9000", [1, 0]
    foreign = cache_dir / "foreign.engine"
    shutil.copy(built.path, foreign)
    cache.meta_path(foreign).write_text(json.dumps(meta))
    with pytest.raises(EngineMismatch, match="Imaginary GPU 9000"):
        TensorRTEngine.load(foreign)
    eng = TensorRTEngine.open(foreign, model, BuildOptions(cache_dir=cache_dir, precision="fp32", progress=False))
    try:
        assert eng.path == built.path
    finally:
        eng.close()


def test_corrupt_cached_engine_is_rebuilt(model, tmp_path):
    opts = BuildOptions(cache_dir=tmp_path / "c", precision="fp32", progress=False)
    built = build_engine(model, opts)
    built.path.write_bytes(b"not an engine" * 100)
    eng = TensorRTEngine.build(model, opts)
    try:
        feeds = renderer_feeds(H, W)
        np.testing.assert_allclose(eng.infer(feeds)["image"], _ort(model, feeds), rtol=1e-3, atol=2e-3)
    finally:
        eng.close()


def test_parser_errors_are_listed(tmp_path):
    bad = write_unparsable_onnx(tmp_path / "bad.onnx")
    with pytest.raises(InputError, match=r"could not parse .*bad\.onnx \(\d+ error\(s\)\):\n  .*NoSuchOp"):
        build_engine(bad, BuildOptions(cache_dir=tmp_path / "c", progress=False))
    assert not list((tmp_path / "c").glob("*.engine"))


def test_patn_generator_parity(tmp_path):
    """The learned renderer itself (issue 6's PATN, tiny config): TensorRT FP32 vs ONNX Runtime."""
    patn = pytest.importorskip("engines.learned.patn", reason="engines.learned.patn (issue 6) is not in this checkout")
    torch = pytest.importorskip("torch")
    import dataclasses

    torch.manual_seed(0)
    cfg = dataclasses.replace(patn.CONFIGS["tiny"], height=64, width=44)
    model = patn.PATNGenerator(cfg).eval()
    feeds = renderer_feeds(64, 44)
    names = ("cond_image", "cond_pose", "target_pose")
    onnx_path = tmp_path / "patn.onnx"
    torch.onnx.export(model, tuple(torch.from_numpy(feeds[k]) for k in names), str(onnx_path),
                      input_names=list(names), output_names=["image"], opset_version=17, dynamo=False)
    eng = TensorRTEngine.build(onnx_path, BuildOptions(cache_dir=tmp_path / "c", precision="fp32", progress=False))
    try:
        np.testing.assert_allclose(eng.infer(feeds)["image"], _ort(onnx_path, feeds), rtol=1e-3, atol=5e-3)
    finally:
        eng.close()
