"""What the TensorRT build reads from the real exporter's files (issue 6's `engines.learned.export`):
FP32 and FP16 exports are told apart, the dynamic batch axis gets a profile, and the TensorRT 11
path (strongly typed, no FP16 flag) accepts the FP16 export. Runs on CPU; needs torch and onnx.
"""
from __future__ import annotations

from types import SimpleNamespace

import pytest

# torch's TorchScript exporter warns about itself and about constant folding; not our concern here
pytestmark = [pytest.mark.filterwarnings("ignore::DeprecationWarning"), pytest.mark.filterwarnings("ignore::UserWarning")]

torch = pytest.importorskip("torch", reason="exporting needs torch (train extra)")
export = pytest.importorskip("engines.learned.export", reason="engines.learned.export (issue 6) is not in this checkout")
patn = pytest.importorskip("engines.learned.patn", reason="engines.learned.patn (issue 6) is not in this checkout")

from engines.backends.registry import BackendRequest  # noqa: E402
from engines.backends.engine_cache import read_onnx  # noqa: E402
from engines.backends.tensorrt_backend import _onnx_for  # noqa: E402
from engines.backends.tensorrt_build import detect_features, plan_precision, profile_shapes  # noqa: E402
from realtime.errors import InputError  # noqa: E402

# attribute shape of the TensorRT 11 module (BuilderFlag without FP16), for the precision plan only
TRT11 = SimpleNamespace(
    __version__="11.0.0", BuilderFlag=SimpleNamespace(TF32=7),
    NetworkDefinitionCreationFlag=SimpleNamespace(STRONGLY_TYPED=1),
    ICudaEngine=SimpleNamespace(num_io_tensors=0, get_tensor_name=None),
    IExecutionContext=SimpleNamespace(execute_async_v3=None, set_tensor_address=None),
    IBuilderConfig=SimpleNamespace(set_memory_pool_limit=None, create_timing_cache=None, set_timing_cache=None),
    MemoryPoolType=SimpleNamespace(WORKSPACE=0))


@pytest.fixture(scope="module")
def tiny_model():
    torch.manual_seed(0)
    return patn.PATNGenerator(patn.CONFIGS["tiny"]).eval()


@pytest.fixture(scope="module")
def exports(tiny_model, tmp_path_factory):
    d = tmp_path_factory.mktemp("export")
    return {"fp32": read_onnx(export.export_onnx(tiny_model, d / "m32.onnx")),
            "fp16": read_onnx(export.export_onnx(tiny_model, d / "m16.onnx", fp16=True))}


def test_fp32_and_fp16_exports_are_told_apart(exports):
    assert exports["fp32"].precision == "fp32"
    assert exports["fp16"].precision == "fp16"
    # the FP16 export keeps float32 inputs: the weights are what says FP16
    assert {t.dtype for t in exports["fp16"].inputs} == {"FLOAT"}
    assert exports["fp16"].weights.get("FLOAT16", 0) > exports["fp16"].weights.get("FLOAT", 0)


def test_exported_inputs_get_a_batch_profile(exports, tiny_model):
    cfg = tiny_model.cfg
    inputs = {t.name: t.shape for t in exports["fp32"].inputs}
    assert set(inputs) == {"cond_image", "cond_pose", "target_pose"}
    shapes = profile_shapes("cond_pose", inputs["cond_pose"], max_batch=2)
    assert shapes == ((1, 18, cfg.height, cfg.width), (1, 18, cfg.height, cfg.width), (2, 18, cfg.height, cfg.width))


def test_tensorrt_11_path_accepts_the_fp16_export_and_refuses_fp16_from_fp32(exports):
    features = detect_features(TRT11)
    assert features.always_strongly_typed
    plan = plan_precision("fp16", exports["fp16"].precision, features)
    assert plan.precision == "fp16" and not plan.fp16_flag and plan.strongly_typed
    with pytest.raises(InputError, match="repose export --fp16"):
        plan_precision("fp16", exports["fp32"].precision, features)


def test_backend_exports_a_checkpoint_for_tensorrt(tiny_model, tmp_path):
    checkpoint = pytest.importorskip("engines.learned.checkpoint")
    ckpt = checkpoint.save_generator(tiny_model, tmp_path / "ckpt")
    onnx16 = _onnx_for(BackendRequest(checkpoint=ckpt, cache_dir=tmp_path / "cache", precision="fp16"))
    assert onnx16.parent == tmp_path / "cache" / "onnx" and read_onnx(onnx16).precision == "fp16"
    mtime = onnx16.stat().st_mtime_ns
    assert _onnx_for(BackendRequest(checkpoint=ckpt, cache_dir=tmp_path / "cache", precision="fp16")) == onnx16
    assert onnx16.stat().st_mtime_ns == mtime  # reused, not re-exported
    with pytest.raises(InputError, match="--onnx"):
        _onnx_for(BackendRequest())
