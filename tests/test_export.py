"""ONNX export (opset 17, one file, onnx.checker) and parity with torch through both backends."""
from __future__ import annotations

import numpy as np
import pytest

from engines.backends.registry import BackendRequest, BackendUnavailable, create_backend
from realtime.errors import InputError
from tests.patn_helpers import random_feeds, save_tiny_checkpoint, tiny_model

torch = pytest.importorskip("torch", reason="export needs torch (pip install '.[train]')")
onnx = pytest.importorskip("onnx", reason="export needs onnx (pip install '.[train]')")
ort = pytest.importorskip("onnxruntime", reason="parity needs onnxruntime (pip install '.[train]')")

# fp32 ONNX Runtime vs torch: same math, different kernels and summation order.
FP32_ATOL = 1e-4
# fp16 inside the graph: ~3 decimal digits per op through a few dozen layers, outputs in [-1, 1].
FP16_ATOL = 3e-2


@pytest.fixture(scope="module")
def ckpt(tmp_path_factory):
    return save_tiny_checkpoint(tmp_path_factory.mktemp("ckpt"))


@pytest.fixture(scope="module")
def exported(ckpt, tmp_path_factory):
    from engines.learned.export import export_onnx

    return export_onnx(ckpt, tmp_path_factory.mktemp("onnx") / "tiny.onnx")


def _torch_out(feeds):
    model = tiny_model()
    with torch.no_grad():
        return model(*(torch.from_numpy(feeds[k]) for k in ("cond_image", "cond_pose", "target_pose"))).numpy()


def test_export_is_one_checked_opset17_file(exported):
    proto = onnx.load(str(exported))
    onnx.checker.check_model(proto, full_check=True)
    assert proto.opset_import[0].version == 17
    assert [i.name for i in proto.graph.input] == ["cond_image", "cond_pose", "target_pose"]
    assert [o.name for o in proto.graph.output] == ["image"]
    assert not [p for p in exported.parent.iterdir() if p != exported]   # no external-data side files
    from engines.learned.export import onnx_config

    assert onnx_config(exported) == tiny_model().cfg


@pytest.mark.parametrize("batch", [1, 3])
def test_onnxruntime_matches_torch(exported, batch):
    feeds = random_feeds(tiny_model().cfg, batch=batch, seed=batch)
    sess = ort.InferenceSession(str(exported), providers=["CPUExecutionProvider"])
    out = sess.run(["image"], feeds)[0]
    np.testing.assert_allclose(out, _torch_out(feeds), atol=FP32_ATOL, rtol=0)


def test_fp16_export_has_half_weights_and_float_io(ckpt, tmp_path):
    from engines.learned.export import export_onnx

    path = export_onnx(ckpt, tmp_path / "tiny16.onnx", fp16=True)
    proto = onnx.load(str(path))
    onnx.checker.check_model(proto)
    conv_weights = {n.input[1] for n in proto.graph.node if n.op_type == "Conv"}
    types = {i.name: i.data_type for i in proto.graph.initializer if i.name in conv_weights}
    assert types and set(types.values()) == {onnx.TensorProto.FLOAT16}
    assert proto.graph.input[0].type.tensor_type.elem_type == onnx.TensorProto.FLOAT
    feeds = random_feeds(tiny_model().cfg, batch=2)
    out = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"]).run(["image"], feeds)[0]
    assert out.dtype == np.float32
    np.testing.assert_allclose(out, _torch_out(feeds), atol=FP16_ATOL, rtol=0)


def test_backends_share_one_interface_and_agree(ckpt, exported, tmp_path):
    feeds = random_feeds(tiny_model().cfg, batch=1, seed=7)
    want = _torch_out(feeds)
    backends = {
        "torch": create_backend("torch", BackendRequest(checkpoint=ckpt, device="cpu")),
        "onnxruntime": create_backend("onnxruntime", BackendRequest(onnx_path=exported, device="cpu")),
        "onnxruntime-from-checkpoint": create_backend("onnxruntime", BackendRequest(checkpoint=ckpt, device="cpu",
                                                                                  cache_dir=tmp_path)),
    }
    for name, b in backends.items():
        assert b.input_names == ["cond_image", "cond_pose", "target_pose"] and b.output_names == ["image"]
        out = b.infer(feeds)
        assert set(out) == {"image"} and out["image"].dtype == np.float32
        np.testing.assert_allclose(out["image"], want, atol=FP32_ATOL, rtol=0, err_msg=name)
        b.close()
    assert len(list((tmp_path / "onnx").glob("*-fp32.onnx"))) == 1   # exported once into the model cache


def test_torch_bf16_on_cpu_is_close(ckpt):
    feeds = random_feeds(tiny_model().cfg, seed=3)
    b = create_backend("torch", BackendRequest(checkpoint=ckpt, device="cpu", precision="bf16",
                                               extra={"channels_last": True}))
    out = b.infer(feeds)["image"]
    assert out.dtype == np.float32
    np.testing.assert_allclose(out, _torch_out(feeds), atol=5e-2, rtol=0)   # bf16 keeps ~2-3 digits


def test_backend_errors(ckpt):
    with pytest.raises(BackendUnavailable, match="fp16 needs a CUDA GPU"):
        create_backend("torch", BackendRequest(checkpoint=ckpt, device="cpu", precision="fp16"))
    with pytest.raises(BackendUnavailable, match="needs a checkpoint"):
        create_backend("torch", BackendRequest())
    with pytest.raises(BackendUnavailable, match="no such ONNX model"):
        create_backend("onnxruntime", BackendRequest(onnx_path=ckpt.with_suffix(".onnx")))
    if "CUDAExecutionProvider" not in ort.get_available_providers():
        with pytest.raises(BackendUnavailable, match="onnxruntime-gpu"):
            create_backend("onnxruntime", BackendRequest(checkpoint=ckpt, device="cuda"))
    with pytest.raises(InputError, match="unknown backend"):
        create_backend("nope", BackendRequest(checkpoint=ckpt))
    b = create_backend("auto", BackendRequest(checkpoint=ckpt, device="cpu"))
    with pytest.raises(ValueError, match="lack"):
        b.infer({"cond_image": np.zeros((1, 3, 64, 44), np.float32)})


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs an NVIDIA GPU with a CUDA build of torch")
@pytest.mark.parametrize("extra", [{}, {"channels_last": True}, {"channels_last": True, "cuda_graphs": True}])
def test_torch_cuda_fp16_paths(ckpt, extra):
    feeds = random_feeds(tiny_model().cfg, seed=4)
    b = create_backend("torch", BackendRequest(checkpoint=ckpt, device="cuda", precision="fp16", extra=extra))
    for _ in range(2):   # the second call replays the CUDA graph
        out = b.infer(feeds)["image"]
    np.testing.assert_allclose(out, _torch_out(feeds), atol=FP16_ATOL, rtol=0)


def test_export_command(ckpt, tmp_path, capsys):
    from realtime.app.cli import main

    out = tmp_path / "m.onnx"
    assert main(["export", "--checkpoint", str(ckpt), "-o", str(out)]) == 0
    line = capsys.readouterr().out
    assert out.is_file() and "max |onnxruntime - torch|" in line
    assert float(line.rsplit("= ", 1)[1].split()[0]) < FP32_ATOL
    assert main(["export", "--checkpoint", str(tmp_path / "missing"), "-o", str(out)]) == 2
    assert "no such file" in capsys.readouterr().err
    assert main(["export", "--checkpoint", str(ckpt), "-o", str(tmp_path / "m.txt")]) == 2
