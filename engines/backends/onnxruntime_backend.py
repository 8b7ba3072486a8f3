"""The ONNX Runtime backend: an exported PATN model on the CPU (or CUDA when its provider is present).

Request fields used: onnx_path, or checkpoint (exported once into the model cache,
engines/backends/model_cache.py, under a name that carries the checkpoint's hash and the precision);
device ("auto": CUDA provider when onnxruntime-gpu sees a GPU, else CPU; "cpu"; "cuda");
precision ("fp32", or "fp16": an fp16 export). ``extra``: ``threads`` (intra-op threads, default
all cores), ``optimized_model_path`` (where ORT may save its optimised graph).
Feeds and outputs are float32 NumPy arrays (NCHW) named as in engines.learned.export.
"""
from __future__ import annotations

import logging
from pathlib import Path

import numpy as np

from engines.backends.model_cache import cached_onnx
from engines.backends.registry import BackendRequest, BackendUnavailable
from engines.learned.export import INPUT_NAMES, OUTPUT_NAMES

log = logging.getLogger(__name__)


class OnnxRuntimeBackend:
    name = "onnxruntime"
    input_names = list(INPUT_NAMES)
    output_names = list(OUTPUT_NAMES)

    def __init__(self, request: BackendRequest) -> None:
        try:
            import onnxruntime as ort
        except ImportError:
            raise BackendUnavailable("onnxruntime is not installed: pip install onnxruntime "
                                     "(or onnxruntime-gpu for the CUDA provider)") from None
        if request.precision not in ("fp32", "fp16"):
            raise BackendUnavailable(f"onnxruntime backend: precision {request.precision!r}; expected fp32 or fp16")
        path = request.onnx_path
        if path is None:
            if request.checkpoint is None:
                raise BackendUnavailable("the onnxruntime backend needs --onnx MODEL.onnx or --checkpoint PATH")
            try:
                path = cached_onnx(request.checkpoint, request.precision, request.cache_dir)
            except ImportError as e:
                raise BackendUnavailable(f"exporting the checkpoint to ONNX needs torch and onnx ({e}): "
                                         "pip install 'repose[train]', or pass an exported --onnx file") from None
        path = Path(path)
        if not path.is_file():
            raise BackendUnavailable(f"{path}: no such ONNX model; make one with `repose export --checkpoint CKPT -o {path}`")
        available = ort.get_available_providers()
        want_cuda = request.device in ("auto", "cuda") and "CUDAExecutionProvider" in available
        if request.device == "cuda" and not want_cuda:
            raise BackendUnavailable("onnxruntime backend: device cuda asked for, but this onnxruntime has no "
                                     f"CUDA provider (has {', '.join(available)}); pip install onnxruntime-gpu")
        providers = (["CUDAExecutionProvider"] if want_cuda else []) + ["CPUExecutionProvider"]
        so = ort.SessionOptions()
        so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        extra = dict(request.extra or {})
        if "threads" in extra:
            so.intra_op_num_threads = int(extra["threads"])
        if "optimized_model_path" in extra:
            so.optimized_model_filepath = str(extra["optimized_model_path"])
        try:
            self.session = ort.InferenceSession(str(path), so, providers=providers)
        except Exception as e:  # onnxruntime raises its own Fail/InvalidGraph types
            raise BackendUnavailable(f"{path}: onnxruntime cannot load it ({str(e).splitlines()[0]}); "
                                     "re-export with `repose export`") from None
        names = [i.name for i in self.session.get_inputs()]
        if sorted(names) != sorted(self.input_names):
            raise BackendUnavailable(f"{path}: inputs {names}, expected {self.input_names} (a repose export)")
        self.path = path
        self.providers = self.session.get_providers()
        self._in_types = {i.name: (np.float16 if "float16" in i.type else np.float32) for i in self.session.get_inputs()}
        log.info("onnxruntime: %s on %s", path.name, self.providers[0])

    def infer(self, feeds: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        """Run the model on float32 NCHW feeds; returns {"image": float32 (N,3,H,W)}."""
        missing = [n for n in self.input_names if n not in feeds]
        if missing:
            raise ValueError(f"onnxruntime backend: feeds lack {missing}; expected {self.input_names}")
        inputs = {n: np.ascontiguousarray(feeds[n], dtype=self._in_types[n]) for n in self.input_names}
        out = self.session.run(self.output_names, inputs)
        return {name: np.asarray(v, dtype=np.float32) for name, v in zip(self.output_names, out)}

    def close(self) -> None:
        self.session = None


def create(request: BackendRequest) -> OnnxRuntimeBackend:
    """Registry factory (engines.backends.registry.BACKENDS["onnxruntime"])."""
    return OnnxRuntimeBackend(request)
