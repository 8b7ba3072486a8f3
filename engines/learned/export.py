"""ONNX export of a PATN generator: one file, opset 17, checked by onnx.checker.

Tensor names are fixed (the ONNX Runtime and TensorRT backends rely on them):
inputs ``cond_image`` (N,3,H,W) RGB in [-1, 1], ``cond_pose`` (N,18,H,W), ``target_pose`` (N,18,H,W);
output ``image`` (N,3,H,W) RGB in [-1, 1]. The batch axis N is dynamic; H, W are the config's.
``fp16=True`` stores weights and computes in float16 inside the graph (what TensorRT 11 needs,
having no FP16 builder flag) while inputs and outputs stay float32, so callers feed the same arrays.
Uses torch's TorchScript exporter (``dynamo=False``), which writes one self-contained file.
"""
from __future__ import annotations

import logging
import warnings
from pathlib import Path

from realtime.errors import InputError
from realtime.fileio import atomic_path

log = logging.getLogger(__name__)

INPUT_NAMES = ("cond_image", "cond_pose", "target_pose")
OUTPUT_NAMES = ("image",)
OPSET = 17


def _half_wrapper(model):
    import torch
    from torch import nn

    class Half(nn.Module):
        """float32 in -> float16 generator -> float32 out."""

        def __init__(self, inner: nn.Module) -> None:
            super().__init__()
            self.inner = inner.half()

        def forward(self, a: torch.Tensor, b: torch.Tensor, c: torch.Tensor) -> torch.Tensor:
            return self.inner(a.half(), b.half(), c.half()).float()

    return Half(model)


def dummy_inputs(cfg, batch: int = 1):
    """Random inputs of the right shapes (float32), in INPUT_NAMES order."""
    import torch

    g = torch.Generator().manual_seed(0)
    h, w = cfg.height, cfg.width
    return (torch.rand(batch, 3, h, w, generator=g) * 2 - 1,
            torch.rand(batch, cfg.pose_channels, h, w, generator=g),
            torch.rand(batch, cfg.pose_channels, h, w, generator=g))


def export_onnx(model_or_checkpoint, out_path: str | Path, fp16: bool = False) -> Path:
    """Export a PATNGenerator (or the checkpoint at a path) to ``out_path``; returns the path.

    The file is written atomically and checked with onnx.checker before it is put in place.
    """
    import copy

    import onnx
    import torch

    from engines.learned.checkpoint import load_generator

    if isinstance(model_or_checkpoint, (str, Path)):
        model, cfg = load_generator(model_or_checkpoint)
    else:
        model = copy.deepcopy(getattr(model_or_checkpoint, "module", model_or_checkpoint)).cpu()
        cfg = model.cfg
    model = model.float().eval()
    out = Path(out_path)
    if out.suffix != ".onnx":
        raise InputError(f"{out}: the export target should end in .onnx")
    net = _half_wrapper(model) if fp16 else model
    inputs = dummy_inputs(cfg)
    with atomic_path(out) as tmp, torch.no_grad(), warnings.catch_warnings():
        # dynamo=False is deliberate (one self-contained file); its deprecation notice and the
        # harmless "constant folding not applied" notes would only bury real messages
        warnings.filterwarnings("ignore", message=".*legacy TorchScript-based ONNX export.*")
        warnings.filterwarnings("ignore", message=".*feature will be removed.*", category=DeprecationWarning)
        warnings.filterwarnings("ignore", message="Constant folding - Only steps=1", category=UserWarning)
        torch.onnx.export(
            net, inputs, str(tmp), dynamo=False, opset_version=OPSET,
            input_names=list(INPUT_NAMES), output_names=list(OUTPUT_NAMES),
            dynamic_axes={n: {0: "batch"} for n in INPUT_NAMES + OUTPUT_NAMES},
            do_constant_folding=True,
        )
        proto = onnx.load(str(tmp))
        onnx.checker.check_model(proto, full_check=True)
        proto.metadata_props.add(key="repose_generator", value=str(cfg.to_dict()))
        proto.metadata_props.add(key="repose_precision", value="fp16" if fp16 else "fp32")
        onnx.save(proto, str(tmp))
    log.info("exported %s (%s, %dx%d)", out, "fp16" if fp16 else "fp32", cfg.height, cfg.width)
    return out


def onnx_config(path: str | Path):
    """The GeneratorConfig stored in an exported model's metadata, or None for foreign models."""
    import ast

    import onnx

    from engines.learned.config import GeneratorConfig
    from realtime.errors import InputError

    try:
        proto = onnx.load(str(path), load_external_data=False)
    except Exception as e:  # noqa: BLE001 - protobuf's DecodeError and friends
        raise InputError(f"{path}: not a readable ONNX model ({e.__class__.__name__}); expected a file "
                         "written by `repose export`") from None
    for p in proto.metadata_props:
        if p.key == "repose_generator":
            if len(p.value) > 4096:   # untrusted: bounded before parsing
                raise InputError(f"{path}: generator metadata of {len(p.value)} characters is not a repose export")
            try:
                return GeneratorConfig.from_dict(ast.literal_eval(p.value))
            except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError) as e:
                raise InputError(f"{path}: bad generator metadata ({str(e)[:120]}); re-export the model "
                                 "with `repose export`") from None
    return None


def parity(checkpoint: str | Path, onnx_path: str | Path, batch: int = 2) -> float:
    """Largest absolute difference between ONNX Runtime (CPU) and torch fp32 on random inputs."""
    import numpy as np
    import onnxruntime as ort
    import torch

    from engines.learned.checkpoint import load_generator

    model, cfg = load_generator(checkpoint)
    inputs = dummy_inputs(cfg, batch)
    with torch.no_grad():
        ref = model(*inputs).numpy()
    sess = ort.InferenceSession(str(onnx_path), providers=["CPUExecutionProvider"])
    out = sess.run(None, {n: x.numpy() for n, x in zip(INPUT_NAMES, inputs)})[0]
    return float(np.abs(out.astype(np.float32) - ref).max())
