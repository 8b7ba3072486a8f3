"""The TensorRT inference backend: an Engine object with build / load / allocate_buffers / infer.

Load: deserialize a cached engine (engines/backends/engine_cache.py names it by model, ONNX hash,
precision, GPU, compute capability and TensorRT version). An engine made for another GPU or
TensorRT, or one that TensorRT refuses to deserialize, is rebuilt from the ONNX model with a
message, never a crash.

Buffers are allocated once, at the profile's largest shape: device memory, pinned host memory
and one CUDA stream, through pycuda, or through torch CUDA tensors when pycuda is absent but
PyTorch with CUDA is present (engines/backends/cuda_buffers.py). Per frame: copy the feeds into pinned
memory, copy in (async), ``set_tensor_address``, ``execute_async_v3``, copy out (async), one
stream sync.

Tensors are NCHW as named in the ONNX model (for the learned renderer: inputs ``cond_image``
(N,3,H,W), ``cond_pose`` and ``target_pose`` (N,18,H,W); output ``image`` (N,3,H,W)).
Float feeds are cast to the engine's input type (FP16 for an FP16 model); outputs come back
as float32 NumPy arrays owned by the caller.

Nothing here imports tensorrt, pycuda or torch at module import time.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np

from engines.backends.registry import BackendRequest, BackendUnavailable
from engines.backends.cuda_buffers import (BUFFER_CLASSES, PycudaBuffers, TorchBuffers, cuda_device, probe_buffer_apis,
                                  select_buffer_kind)
from engines.backends.engine_cache import EngineCache, EngineKey, GpuInfo, mismatches
from engines.backends.model_cache import cached_onnx, engine_dir
from engines.backends.tensorrt_build import (BuildOptions, build_engine, current_gpu, detect_features, import_tensorrt,
                                    require_supported)
from realtime.errors import InputError

log = logging.getLogger(__name__)

# TensorRT DataType member name -> NumPy dtype (BF16/FP8/INT4 have no NumPy twin: unsupported I/O).
TRT_TO_NUMPY: dict[str, np.dtype] = {
    "FLOAT": np.dtype(np.float32), "HALF": np.dtype(np.float16), "INT32": np.dtype(np.int32),
    "INT64": np.dtype(np.int64), "INT8": np.dtype(np.int8), "UINT8": np.dtype(np.uint8),
    "BOOL": np.dtype(np.bool_), "DOUBLE": np.dtype(np.float64),
}


class EngineMismatch(InputError):
    """A serialized engine that cannot run here (other GPU/TensorRT, or refused by TensorRT)."""


def numpy_dtype(trt_dtype: Any) -> np.dtype:
    """NumPy dtype of a TensorRT DataType (by member name, so any enum-like object works)."""
    name = getattr(trt_dtype, "name", None) or str(trt_dtype).rpartition(".")[2]
    if name not in TRT_TO_NUMPY:
        raise InputError(f"engine tensor type {name} has no NumPy equivalent: expected one of "
                         f"{', '.join(TRT_TO_NUMPY)}; export the model with float32 or float16 I/O")
    return TRT_TO_NUMPY[name]


@dataclass(frozen=True)
class TensorSpec:
    """One engine I/O tensor. shape: as the engine declares it (-1 = dynamic); max_shape: what
    the buffers hold (the optimization profile's max for dynamic inputs)."""

    name: str
    is_input: bool
    shape: tuple[int, ...]
    dtype: np.dtype
    max_shape: tuple[int, ...]
    min_shape: tuple[int, ...] | None = None

    @property
    def max_size(self) -> int:
        return int(np.prod(self.max_shape)) if self.max_shape else 1


def check_feed(spec: TensorSpec, array: np.ndarray) -> None:
    """InputError unless ``array`` fits the engine input (exact static dims, dynamic within profile)."""
    shape = tuple(array.shape)
    lo = spec.min_shape or spec.shape
    ok = len(shape) == len(spec.shape) and all(
        (s == d) if d >= 0 else (lo_d <= s <= hi_d)
        for s, d, lo_d, hi_d in zip(shape, spec.shape, lo, spec.max_shape))
    if not ok:
        want = "x".join(str(d) if d >= 0 else f"{lo_d}..{hi_d}"
                        for d, lo_d, hi_d in zip(spec.shape, lo, spec.max_shape))
        raise InputError(f"input {spec.name!r}: expected shape {want}, got {'x'.join(map(str, shape))}; "
                         "rebuild the engine for this size (repose build-engine) or resize the input")
    if not (np.issubdtype(array.dtype, np.number) or array.dtype == np.bool_):
        raise InputError(f"input {spec.name!r}: expected a numeric array, got dtype {array.dtype}")


def environment_mismatches(built: EngineKey, gpu: GpuInfo, trt_version: str) -> list[str]:
    """Why an engine file built under ``built`` cannot run on ``gpu`` with ``trt_version``."""
    here = replace(built, gpu_name=gpu.name, compute_capability=tuple(gpu.compute_capability),
                   trt_version=trt_version)
    return mismatches(built, here)


class TensorRTEngine:
    """A deserialized TensorRT engine with its execution context and I/O buffers."""

    def __init__(self, trt: Any, engine: Any, path: Path, device_index: int = 0) -> None:
        self._trt = trt
        self.engine = engine
        self.path = path
        self.device_index = device_index
        self.context: Any = None
        self.buffers: PycudaBuffers | TorchBuffers | None = None
        self._runtime: Any = None  # the trt.Runtime that deserialized the engine must outlive it
        self.specs = self._read_specs()
        self._shapes: dict[str, tuple[int, ...]] = {}

    # -- construction -------------------------------------------------------------------------
    @classmethod
    def build(cls, onnx_path: str | Path, options: BuildOptions | None = None, buffers: str = "auto"
              ) -> "TensorRTEngine":
        """Engine for an ONNX model: cached one when it matches, else built now; buffers allocated.

        A cached engine that TensorRT refuses to deserialize is rebuilt once, with a warning.
        """
        options = options or BuildOptions()
        result = build_engine(onnx_path, options)
        try:
            eng = cls.load(result.path, options.device_index)
        except EngineMismatch as e:
            if not result.reused:
                raise
            log.warning("%s; rebuilding from %s", e, onnx_path)
            result = build_engine(onnx_path, replace(options, force=True))
            eng = cls.load(result.path, options.device_index)
        eng.allocate_buffers(buffers)
        return eng

    @classmethod
    def open(cls, engine_path: str | Path, onnx_path: str | Path | None = None,
             options: BuildOptions | None = None, buffers: str = "auto") -> "TensorRTEngine":
        """Load a given engine file; when it cannot run here, rebuild it from its ONNX model.

        The ONNX model is ``onnx_path`` or the one recorded in the engine's sidecar JSON; without
        either, the mismatch is an EngineMismatch naming the fix.
        """
        engine_path = Path(engine_path)
        try:
            eng = cls.load(engine_path, (options or BuildOptions()).device_index)
        except EngineMismatch as e:
            source = Path(onnx_path) if onnx_path else EngineCache(engine_path.parent).recorded_onnx(engine_path)
            if source is None or not source.is_file():
                raise
            log.warning("%s: rebuilding from %s", e, source)
            opts = replace(options or BuildOptions(), cache_dir=engine_path.parent)
            return cls.build(source, opts, buffers)
        eng.allocate_buffers(buffers)
        return eng

    @classmethod
    def load(cls, path: str | Path, device_index: int = 0) -> "TensorRTEngine":
        """Deserialize an engine file; EngineMismatch when this TensorRT/GPU cannot run it."""
        path = Path(path)
        if not path.is_file():
            raise InputError(f"no engine at {path}: run `repose build-engine --onnx MODEL.onnx` first")
        trt = import_tensorrt()
        features = detect_features(trt)
        require_supported(features)
        cache = EngineCache(path.parent)
        fix = f"repose build-engine --onnx {cache.recorded_onnx(path) or 'MODEL.onnx'}"
        built = cache.read_key(path)
        if built is not None:
            reasons = environment_mismatches(built, current_gpu(device_index), features.version)
            if reasons:
                raise EngineMismatch(f"engine {path.name} cannot run here: {'; '.join(reasons)}; rebuild it: {fix}")
        runtime = trt.Runtime(trt.Logger(trt.Logger.WARNING))
        with cuda_device(device_index):
            engine = runtime.deserialize_cuda_engine(path.read_bytes())
        if engine is None:
            raise EngineMismatch(f"TensorRT {features.version} could not deserialize {path} (built by another "
                                 f"TensorRT or for another GPU, or damaged?); rebuild it: {fix} --force")
        eng = cls(trt, engine, path, device_index)
        eng._runtime = runtime
        return eng

    def _read_specs(self) -> list[TensorSpec]:
        trt, engine = self._trt, self.engine
        specs = []
        for i in range(engine.num_io_tensors):
            name = engine.get_tensor_name(i)
            is_input = engine.get_tensor_mode(name) == trt.TensorIOMode.INPUT
            shape = tuple(int(d) for d in engine.get_tensor_shape(name))
            lo, hi = shape, shape
            if is_input and any(d < 0 for d in shape):
                lo_s, _opt, hi_s = engine.get_tensor_profile_shape(name, 0)
                lo, hi = tuple(int(d) for d in lo_s), tuple(int(d) for d in hi_s)
            specs.append(TensorSpec(name, is_input, shape, numpy_dtype(engine.get_tensor_dtype(name)), hi, lo))
        # dynamic outputs: size them by the shapes the max input profile implies
        if any(not s.is_input and any(d < 0 for d in s.shape) for s in specs):
            ctx = engine.create_execution_context()
            for s in specs:
                if s.is_input:
                    ctx.set_input_shape(s.name, s.max_shape)
            specs = [s if s.is_input else replace(s, max_shape=tuple(int(d) for d in ctx.get_tensor_shape(s.name)))
                     for s in specs]
        return specs

    def allocate_buffers(self, kind: str = "auto") -> None:
        """Create the execution context and allocate every I/O buffer once (at the max shapes)."""
        if self.buffers is not None:
            return
        chosen = select_buffer_kind(*probe_buffer_apis(kind), preferred=kind)
        tensors = {s.name: (s.max_size, s.dtype) for s in self.specs}
        self.buffers = BUFFER_CLASSES[chosen](tensors, self.device_index)
        with self.buffers.active():
            self.context = self.engine.create_execution_context()
        if self.context is None:
            raise InputError(f"TensorRT could not create an execution context for {self.path} "
                             "(out of GPU memory?)")
        log.info("engine %s: %s buffers, inputs %s, outputs %s", self.path.name, chosen, self.input_names,
                 self.output_names)

    # -- per frame ------------------------------------------------------------------------------
    @property
    def input_names(self) -> list[str]:
        return [s.name for s in self.specs if s.is_input]

    @property
    def output_names(self) -> list[str]:
        return [s.name for s in self.specs if not s.is_input]

    def infer(self, feeds: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        """Run one batch: copy in, set addresses, execute_async_v3, copy out, one sync."""
        if self.buffers is None:
            self.allocate_buffers()
        missing = [n for n in self.input_names if n not in feeds]
        if missing:
            raise InputError(f"missing engine inputs {missing}: expected {self.input_names}, got {sorted(feeds)}")
        buf, ctx = self.buffers, self.context
        with buf.active():
            for s in self.specs:
                if not s.is_input:
                    continue
                arr = np.asarray(feeds[s.name])
                check_feed(s, arr)
                if any(d < 0 for d in s.shape) and self._shapes.get(s.name) != arr.shape:
                    ctx.set_input_shape(s.name, arr.shape)
                    self._shapes[s.name] = arr.shape
                n = arr.size
                np.copyto(buf.host[s.name][:n].reshape(arr.shape), arr, casting="unsafe")
                buf.to_device(s.name, n)
            out_shapes = {}
            for s in self.specs:
                ctx.set_tensor_address(s.name, buf.address(s.name))
                if not s.is_input:
                    out_shapes[s.name] = tuple(int(d) for d in ctx.get_tensor_shape(s.name))
            if not ctx.execute_async_v3(buf.stream_handle):
                raise InputError(f"TensorRT execution failed for {self.path.name}: run with -v for its log")
            for name, shape in out_shapes.items():
                buf.to_host(name, int(np.prod(shape)))
            buf.synchronize()
            return {name: buf.host[name][:int(np.prod(shape))].reshape(shape).astype(np.float32)
                    for name, shape in out_shapes.items()}

    def close(self) -> None:
        """Free the context, the buffers and the engine (idempotent)."""
        if self.buffers is not None:
            with self.buffers.active():
                self.context = None
            self.buffers.close()
            self.buffers = None
        self.context = None
        self.engine = None
        self._runtime = None


class TensorRTBackend:
    """The Backend interface over a TensorRTEngine (``--backend tensorrt``)."""

    name = "tensorrt"

    def __init__(self, engine: TensorRTEngine) -> None:
        self.engine = engine
        self.input_names = engine.input_names
        self.output_names = engine.output_names

    def infer(self, feeds: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        return self.engine.infer(feeds)

    def close(self) -> None:
        self.engine.close()


def _onnx_for(request: BackendRequest) -> Path:
    """The ONNX model to build from: the request's, else the checkpoint's export in the model cache."""
    if request.onnx_path is not None:
        return Path(request.onnx_path)
    if request.checkpoint is None:
        raise BackendUnavailable("the tensorrt backend needs an ONNX model or a checkpoint: pass --onnx MODEL.onnx "
                                 "(made by `repose export`) or --checkpoint")
    try:
        return cached_onnx(request.checkpoint, request.precision, request.cache_dir)
    except ImportError as e:
        raise BackendUnavailable(f"exporting {request.checkpoint} to ONNX needs torch and onnx ({e}); "
                                 "export it elsewhere with `repose export` and pass --onnx") from e


def create_tensorrt_backend(request: BackendRequest) -> TensorRTBackend:
    """Backend factory (registered as "tensorrt"). Fails fast with BackendUnavailable off-GPU.

    request.extra: workspace_mb (int), timing_cache (path), max_batch (int), buffers
    ("auto"/"pycuda"/"torch"), engine (path of a prebuilt engine to load instead of building).
    """
    trt = import_tensorrt()  # first, so "auto" moves on at once where TensorRT is missing
    require_supported(detect_features(trt))
    if request.device == "cpu":
        raise BackendUnavailable("TensorRT runs on NVIDIA GPUs only; for --device cpu use --backend onnxruntime")
    if request.precision not in ("fp32", "fp16"):
        raise BackendUnavailable(f"precision {request.precision!r}: the tensorrt backend supports fp32 and fp16")
    extra = dict(request.extra)
    buffers = str(extra.get("buffers", "auto"))
    options = BuildOptions(cache_dir=engine_dir(request.cache_dir),
                           precision=request.precision,
                           workspace_mb=int(extra.get("workspace_mb", 2048)),
                           timing_cache=Path(extra["timing_cache"]) if extra.get("timing_cache") else None,
                           max_batch=int(extra.get("max_batch", 1)))
    if extra.get("engine"):
        return TensorRTBackend(TensorRTEngine.open(extra["engine"], request.onnx_path, options, buffers))
    return TensorRTBackend(TensorRTEngine.build(_onnx_for(request), options, buffers))
