"""Small real ONNX models with the learned renderer's tensor names, built with onnx.helper.

cond_image (N,3,H,W), cond_pose (N,18,H,W), target_pose (N,18,H,W) -> image (N,3,H,W):
concat -> 3x3 conv (39->8) -> ReLU -> 3x3 conv (8->3) -> tanh, fixed random weights.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np


def write_renderer_like_onnx(path: Path, height: int = 32, width: int = 24, fp16: bool = False,
                             dynamic_batch: bool = False, seed: int = 0, float32_io: bool = False) -> Path:
    """fp16: FP16 weights and compute. float32_io (with fp16): float32 inputs and output around the
    FP16 graph through Cast nodes, the way `repose export --fp16` writes it."""
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    rng = np.random.default_rng(seed)
    np_t = np.float16 if fp16 else np.float32
    elem = TensorProto.FLOAT16 if fp16 and not float32_io else TensorProto.FLOAT
    cast_io = fp16 and float32_io
    n = "N" if dynamic_batch else 1
    inputs = [helper.make_tensor_value_info(name, elem, [n, c, height, width])
              for name, c in (("cond_image", 3), ("cond_pose", 18), ("target_pose", 18))]
    output = helper.make_tensor_value_info("image", elem, [n, 3, height, width])
    inits = [numpy_helper.from_array((rng.standard_normal((8, 39, 3, 3)) * 0.1).astype(np_t), "w1"),
             numpy_helper.from_array((rng.standard_normal(8) * 0.1).astype(np_t), "b1"),
             numpy_helper.from_array((rng.standard_normal((3, 8, 3, 3)) * 0.1).astype(np_t), "w2"),
             numpy_helper.from_array((rng.standard_normal(3) * 0.1).astype(np_t), "b2")]
    names = ["cond_image", "cond_pose", "target_pose"]
    nodes = []
    if cast_io:
        nodes += [helper.make_node("Cast", [n], [n + "_h"], to=TensorProto.FLOAT16) for n in names]
        names = [n + "_h" for n in names]
    nodes += [helper.make_node("Concat", names, ["x"], axis=1),
              helper.make_node("Conv", ["x", "w1", "b1"], ["h"], pads=[1, 1, 1, 1]),
              helper.make_node("Relu", ["h"], ["r"]),
              helper.make_node("Conv", ["r", "w2", "b2"], ["y"], pads=[1, 1, 1, 1]),
              helper.make_node("Tanh", ["y"], ["image_h" if cast_io else "image"])]
    if cast_io:
        nodes.append(helper.make_node("Cast", ["image_h"], ["image"], to=TensorProto.FLOAT))
    graph = helper.make_graph(nodes, "renderer_like", inputs, [output], inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    onnx.checker.check_model(model)
    onnx.save(model, str(path))
    return path


def write_unparsable_onnx(path: Path) -> Path:
    """A valid ONNX file whose node is an operator no parser knows (custom domain)."""
    import onnx
    from onnx import TensorProto, helper

    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 3, 8, 8])
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 3, 8, 8])
    node = helper.make_node("NoSuchOp", ["x"], ["y"], domain="repose.test", name="mystery")
    graph = helper.make_graph([node], "unparsable", [x], [y])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17),
                                                    helper.make_opsetid("repose.test", 1)])
    model.ir_version = 8
    onnx.save(model, str(path))
    return path


def renderer_feeds(height: int = 32, width: int = 24, batch: int = 1, seed: int = 1) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    return {"cond_image": rng.uniform(-1, 1, (batch, 3, height, width)).astype(np.float32),
            "cond_pose": rng.uniform(0, 1, (batch, 18, height, width)).astype(np.float32),
            "target_pose": rng.uniform(0, 1, (batch, 18, height, width)).astype(np.float32)}
