"""Building TensorRT engines from ONNX, for the TensorRT 10 and 11 Python APIs.

TensorRT 10 is weakly typed by default: FP16 is enabled with ``BuilderFlag.FP16`` and TensorRT
picks FP16 kernels where they are faster. TensorRT 11 removed that flag and every network is
strongly typed: an engine computes in FP16 only when the ONNX model already is FP16
(``repose export --fp16``). Which API is present is detected by feature (does
``BuilderFlag.FP16`` exist?), never by parsing the version string alone.

Build: parse (listing every parser error), set the workspace limit, load and save a timing
cache, add an optimization profile for a dynamic batch axis, build a serialized engine and store
it in the engine cache under a name carrying model, ONNX hash, precision, GPU, compute
capability and TensorRT version (engines/backends/engine_cache.py).

``tensorrt`` is imported only inside ``import_tensorrt()``; the pure functions here (feature
detection, precision plan, parser-error listing, profile shapes) take a module-like object and
are tested on machines without TensorRT.
"""
from __future__ import annotations

import logging
import threading
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from engines.backends.registry import BackendUnavailable
from engines.backends.engine_cache import EngineCache, EngineKey, GpuInfo, default_cache_dir, onnx_digest, probe_gpu, read_onnx
from realtime.errors import InputError
from realtime.fileio import atomic_path

log = logging.getLogger(__name__)

TRT_INSTALL_HINT = ('install the GPU extra: pip install -e ".[gpu]" --extra-index-url https://pypi.nvidia.com '
                    "(TensorRT's libraries come from NVIDIA's index; it needs an NVIDIA driver and CUDA 12)")
REQUESTED_PRECISIONS = ("auto", "fp16", "fp32")


def import_tensorrt() -> Any:
    """The ``tensorrt`` module, or BackendUnavailable (exit 2 in the CLI) saying what to install."""
    try:
        import tensorrt as trt
    except (ImportError, OSError) as e:  # OSError: wheel present but libnvinfer missing
        raise BackendUnavailable(f"TensorRT is not available here ({type(e).__name__}: {e}); "
                                 f"{TRT_INSTALL_HINT}") from e
    return trt


# --- feature detection (pure: works on any module-like object) ----------------------------------

def _has(obj: Any, *path: str) -> bool:
    for name in path:
        if not hasattr(obj, name):
            return False
        obj = getattr(obj, name)
    return True


def _major(version: str) -> int:
    head = version.split(".", 1)[0]
    return int(head) if head.isdigit() else 0


@dataclass(frozen=True)
class TensorRTFeatures:
    """What the installed TensorRT Python API offers, found by looking, not by version.

    name_based_io: ICudaEngine.num_io_tensors / get_tensor_name (TensorRT 10+).
    execute_v3: IExecutionContext.execute_async_v3 + set_tensor_address (TensorRT 10+).
    fp16_builder_flag: BuilderFlag.FP16 exists (10.x); absent means strongly typed only (11+).
    strongly_typed_flag: NetworkDefinitionCreationFlag.STRONGLY_TYPED exists.
    """

    version: str
    major: int
    name_based_io: bool
    execute_v3: bool
    fp16_builder_flag: bool
    strongly_typed_flag: bool
    memory_pool_limit: bool
    timing_cache: bool
    progress_monitor: bool

    @property
    def always_strongly_typed(self) -> bool:
        """No weak-typing precision flag: FP16 has to come from the model (TensorRT 11)."""
        return not self.fp16_builder_flag

    @property
    def supported(self) -> bool:
        return self.name_based_io and self.execute_v3 and self.memory_pool_limit


def detect_features(trt: Any) -> TensorRTFeatures:
    """Inspect a ``tensorrt`` module (or any object shaped like one)."""
    version = str(getattr(trt, "__version__", "0"))
    return TensorRTFeatures(
        version=version,
        major=_major(version),
        name_based_io=_has(trt, "ICudaEngine", "num_io_tensors")
        and _has(trt, "ICudaEngine", "get_tensor_name"),
        execute_v3=_has(trt, "IExecutionContext", "execute_async_v3")
        and _has(trt, "IExecutionContext", "set_tensor_address"),
        fp16_builder_flag=_has(trt, "BuilderFlag", "FP16"),
        strongly_typed_flag=_has(trt, "NetworkDefinitionCreationFlag", "STRONGLY_TYPED"),
        memory_pool_limit=_has(trt, "IBuilderConfig", "set_memory_pool_limit")
        and _has(trt, "MemoryPoolType", "WORKSPACE"),
        timing_cache=_has(trt, "IBuilderConfig", "create_timing_cache")
        and _has(trt, "IBuilderConfig", "set_timing_cache"),
        progress_monitor=_has(trt, "IProgressMonitor") and _has(trt, "IBuilderConfig", "progress_monitor"),
    )


def require_supported(features: TensorRTFeatures) -> None:
    """BackendUnavailable unless this TensorRT has the name-based API of TensorRT 10 and later."""
    if not features.supported:
        missing = [n for n, ok in (("num_io_tensors/get_tensor_name", features.name_based_io),
                                   ("execute_async_v3/set_tensor_address", features.execute_v3),
                                   ("set_memory_pool_limit", features.memory_pool_limit)) if not ok]
        raise BackendUnavailable(
            f"TensorRT {features.version} lacks {', '.join(missing)}: repose needs TensorRT 10 or later; "
            "upgrade: pip install -U tensorrt --extra-index-url https://pypi.nvidia.com")


@dataclass(frozen=True)
class PrecisionPlan:
    """How to get the wanted precision out of this TensorRT and this model.

    precision: what the engine computes in ("fp16"/"fp32"; part of the engine's name).
    fp16_flag: set BuilderFlag.FP16 (TensorRT 10 weak typing).
    strongly_typed: create the network with NetworkDefinitionCreationFlag.STRONGLY_TYPED.
    allow_tf32: leave BuilderFlag.TF32 on (TensorRT's default); FP32 plans clear it so that an
    "fp32" engine computes in true FP32 (TF32 keeps only 10 mantissa bits).
    note: a sentence worth logging, or "".
    """

    precision: str
    fp16_flag: bool
    strongly_typed: bool
    note: str = ""
    allow_tf32: bool = True


def plan_precision(requested: str, model_prec: str, features: TensorRTFeatures) -> PrecisionPlan:
    """Decide builder flags from the requested precision, the ONNX model's and the API's features.

    requested: "auto" (FP16 wherever this TensorRT can give it), "fp16" or "fp32".
    model_prec: "fp16" for an FP16 ONNX (``repose export --fp16``), else "fp32".
    InputError when the request cannot be met here (FP16 from an FP32 model on TensorRT 11).
    """
    if requested not in REQUESTED_PRECISIONS:
        raise InputError(f"precision {requested!r}: expected one of {', '.join(REQUESTED_PRECISIONS)}")
    typed = features.strongly_typed_flag
    if model_prec == "fp16":
        note = ("the ONNX model is FP16, so the engine computes in FP16; export without --fp16 for FP32"
                if requested == "fp32" else "")
        return PrecisionPlan("fp16", fp16_flag=False, strongly_typed=typed, note=note)
    if requested == "fp32":
        return PrecisionPlan("fp32", fp16_flag=False, strongly_typed=typed and features.always_strongly_typed,
                             allow_tf32=False)
    if features.fp16_builder_flag:
        return PrecisionPlan("fp16", fp16_flag=True, strongly_typed=False)
    if requested == "fp16":
        raise InputError(
            f"TensorRT {features.version} is strongly typed (BuilderFlag.FP16 is gone), so FP16 must "
            "come from the model: export it with `repose export --fp16` and build that ONNX file")
    return PrecisionPlan("fp32", fp16_flag=False, strongly_typed=typed, allow_tf32=False,
                         note=(f"TensorRT {features.version} is strongly typed and the ONNX model is FP32: "
                               "building FP32; for FP16 export with `repose export --fp16`"))


def network_flags(trt: Any, plan: PrecisionPlan) -> int:
    """Bit flags for ``Builder.create_network`` (explicit batch is implicit since TensorRT 10)."""
    if plan.strongly_typed:
        return 1 << int(trt.NetworkDefinitionCreationFlag.STRONGLY_TYPED)
    return 0


def _call(obj: Any, name: str) -> Any:
    attr = getattr(obj, name, None)
    if attr is None:
        return None
    return attr() if callable(attr) else attr


def parser_errors(parser: Any) -> list[str]:
    """Every error an OnnxParser recorded, one readable line each (node, operator, code, text)."""
    lines = []
    for i in range(int(parser.num_errors)):
        err = parser.get_error(i)
        code = _call(err, "code")
        code_name = getattr(code, "name", None) or str(code).rpartition(".")[2]
        where = []
        node = _call(err, "node")
        if node is not None and int(node) >= 0:
            where.append(f"node {int(node)}")
        op, nname = _call(err, "node_operator"), _call(err, "node_name")
        if op or nname:
            where.append(f"({op or '?'} {nname!r})" if nname else f"({op})")
        desc = str(_call(err, "desc") or "").strip()
        lines.append(f"{' '.join(where) or 'model'}: {code_name}: {desc}")
    return lines


def profile_shapes(name: str, shape: tuple[int, ...], max_batch: int = 1
                   ) -> tuple[tuple[int, ...], tuple[int, ...], tuple[int, ...]] | None:
    """(min, opt, max) shapes for an input with a dynamic batch axis; None when fully static.

    Only axis 0 may be dynamic (batch: 1 .. max_batch, optimised for 1, the live case);
    a dynamic spatial or channel axis is an InputError naming the input and the fix.
    """
    if max_batch < 1:
        raise InputError(f"max batch must be >= 1, got {max_batch}")
    if all(d >= 0 for d in shape):
        return None
    bad = [i for i, d in enumerate(shape) if d < 0 and i != 0]
    if bad:
        raise InputError(f"ONNX input {name!r} has shape {list(shape)} with dynamic axes {bad}: "
                         "TensorRT needs fixed sizes here; re-export the model at a fixed image size")
    rest = tuple(shape[1:])
    return (1,) + rest, (1,) + rest, (max_batch,) + rest


# --- building -------------------------------------------------------------------------------------

@dataclass
class BuildOptions:
    """Settings of one engine build.

    cache_dir: the folder of engines (default: the engines/ folder of the model cache,
    engines/backends/model_cache.py; `repose build-engine --cache-dir DIR` gives DIR/engines).
    precision: "auto", "fp16" or "fp32" (see plan_precision). workspace_mb: TensorRT workspace
    pool limit in MiB. timing_cache: file to load and save (default: one per GPU and TensorRT
    version in the cache folder). max_batch: upper batch of the profile when the batch axis is
    dynamic. force: rebuild even when a matching engine exists. model_name: default ONNX stem.
    """

    cache_dir: Path | None = None
    precision: str = "auto"
    workspace_mb: int = 2048
    timing_cache: Path | None = None
    max_batch: int = 1
    force: bool = False
    model_name: str | None = None
    device_index: int = 0
    progress: bool = True

    def __post_init__(self) -> None:
        if self.workspace_mb < 16:
            raise InputError(f"workspace of {self.workspace_mb} MiB is too small: expected --workspace-mb >= 16")
        if self.precision not in REQUESTED_PRECISIONS:
            raise InputError(f"precision {self.precision!r}: expected one of {', '.join(REQUESTED_PRECISIONS)}")


@dataclass
class BuildResult:
    """Where the engine is, what it is, and whether it was built now or found in the cache."""

    path: Path
    key: EngineKey
    reused: bool
    seconds: float
    plan: PrecisionPlan
    message: str


def current_gpu(index: int = 0) -> GpuInfo:
    """The GPU a build would target, or BackendUnavailable when there is none."""
    gpu = probe_gpu(index)
    if gpu is None:
        raise BackendUnavailable(f"no NVIDIA GPU (CUDA device {index}) found: TensorRT needs one, with the "
                                 "NVIDIA driver installed (check `nvidia-smi`); on CPU use --backend onnxruntime")
    return gpu


def engine_key(onnx_path: Path, options: BuildOptions, trt_version: str, gpu: GpuInfo,
               plan: PrecisionPlan) -> EngineKey:
    return EngineKey(model=options.model_name or onnx_path.stem, onnx_hash=onnx_digest(onnx_path),
                     precision=plan.precision, gpu_name=gpu.name,
                     compute_capability=tuple(gpu.compute_capability), trt_version=trt_version)


def build_engine(onnx_path: str | Path, options: BuildOptions | None = None) -> BuildResult:
    """Return the cached engine for this ONNX model, GPU and TensorRT, building it when needed."""
    options = options or BuildOptions()
    onnx_path = Path(onnx_path)
    onnx_digest(onnx_path)  # InputError naming the file before anything heavy happens
    info = read_onnx(onnx_path)  # ... and when it is not an ONNX model
    trt = import_tensorrt()
    features = detect_features(trt)
    require_supported(features)
    gpu = current_gpu(options.device_index)
    plan = plan_precision(options.precision, info.precision, features)
    if plan.note:
        log.warning(plan.note)
    key = engine_key(onnx_path, options, features.version, gpu, plan)
    cache = EngineCache(options.cache_dir or default_cache_dir())
    found = cache.lookup(key)
    if found.path is not None and not options.force:
        log.info("using cached engine %s", found.path)
        return BuildResult(found.path, key, True, 0.0, plan, found.rebuild_message(key))
    message = found.rebuild_message(key) if not options.force else f"--force: rebuilding {key.file_name()}"
    # a stale engine or --force is worth a warning; a first build is routine (tqdm shows its progress)
    (log.warning if (found.stale or options.force) else log.info)(message)
    timing = Path(options.timing_cache) if options.timing_cache else cache.timing_cache_path(gpu, features.version)
    t0 = time.perf_counter()
    blob = _build_serialized(trt, features, onnx_path, plan, options, timing)
    seconds = time.perf_counter() - t0
    settings = {"workspace_mb": options.workspace_mb, "max_batch": options.max_batch,
                "requested_precision": options.precision, "plan": asdict(plan),
                "onnx_path": str(onnx_path.resolve()), "timing_cache": str(timing),
                "build_seconds": round(seconds, 2)}
    path = cache.write(key, blob, settings)
    log.info("built %s in %.1f s", path, seconds)
    return BuildResult(path, key, False, seconds, plan, message)


def _build_serialized(trt: Any, features: TensorRTFeatures, onnx_path: Path, plan: PrecisionPlan,
                      options: BuildOptions, timing_path: Path) -> bytes:
    logger = trt.Logger(trt.Logger.INFO if log.isEnabledFor(logging.INFO) else trt.Logger.WARNING)
    builder = trt.Builder(logger)
    network = builder.create_network(network_flags(trt, plan))
    parser = trt.OnnxParser(network, logger)
    if not parser.parse_from_file(str(onnx_path)):
        errors = parser_errors(parser) or ["(the parser gave no details; run with -v for TensorRT's log)"]
        raise InputError(f"TensorRT {features.version} could not parse {onnx_path} ({len(errors)} error(s)):\n  "
                         + "\n  ".join(errors)
                         + "\nfix: re-export with `repose export` (opset 17) or update TensorRT")
    config = builder.create_builder_config()
    config.set_memory_pool_limit(trt.MemoryPoolType.WORKSPACE, int(options.workspace_mb) << 20)
    if plan.fp16_flag:
        config.set_flag(trt.BuilderFlag.FP16)
    if not plan.allow_tf32 and hasattr(trt.BuilderFlag, "TF32"):
        config.clear_flag(trt.BuilderFlag.TF32)
    profile = None
    for i in range(network.num_inputs):
        tensor = network.get_input(i)
        shapes = profile_shapes(tensor.name, tuple(int(d) for d in tensor.shape), options.max_batch)
        if shapes is not None:
            profile = profile or builder.create_optimization_profile()
            profile.set_shape(tensor.name, *shapes)
    if profile is not None:
        config.add_optimization_profile(profile)
    if features.timing_cache:
        _attach_timing_cache(config, timing_path)
    monitor = _progress_monitor(trt) if (features.progress_monitor and options.progress) else None
    if monitor is not None:
        config.progress_monitor = monitor
    try:
        serialized = builder.build_serialized_network(network, config)
    finally:
        if monitor is not None:
            monitor.close()
    if serialized is None:
        raise InputError(f"TensorRT could not build an engine from {onnx_path}: run with -v for its log; "
                         f"a larger --workspace-mb (now {options.workspace_mb}) often helps")
    if features.timing_cache:
        with atomic_path(timing_path) as tmp:
            tmp.write_bytes(bytes(config.get_timing_cache().serialize()))
        log.info("timing cache saved to %s", timing_path)
    return bytes(serialized)


def _attach_timing_cache(config: Any, path: Path) -> None:
    """Load the timing cache at ``path`` (if any) into the builder config; start fresh on mismatch."""
    blob = path.read_bytes() if path.is_file() else b""
    cache = config.create_timing_cache(blob)
    if cache is not None and config.set_timing_cache(cache, False):
        if blob:
            log.info("reusing timing cache %s (%d bytes)", path, len(blob))
        return
    log.warning("timing cache %s was written by another GPU or TensorRT: starting a new one", path)
    config.set_timing_cache(config.create_timing_cache(b""), False)


def _progress_monitor(trt: Any) -> Any:
    """A tqdm bar per top-level build phase, through TensorRT's IProgressMonitor (10.0+)."""
    from tqdm import tqdm

    from realtime.progress import bar

    class _TqdmMonitor(trt.IProgressMonitor):
        def __init__(self) -> None:
            trt.IProgressMonitor.__init__(self)
            self._bars: dict[str, tqdm] = {}
            self._lock = threading.Lock()

        def phase_start(self, phase_name: str, parent_phase: str | None, num_steps: int) -> None:
            with self._lock:
                if parent_phase is None:  # nested phases are too chatty for a terminal
                    self._bars[phase_name] = bar(total=num_steps, desc=f"TensorRT {phase_name}", unit="step")

        def step_complete(self, phase_name: str, step: int) -> bool:
            with self._lock:
                bar = self._bars.get(phase_name)
                if bar is not None:
                    bar.update(1)
            return True  # False would cancel the build

        def phase_finish(self, phase_name: str) -> None:
            with self._lock:
                bar = self._bars.pop(phase_name, None)
                if bar is not None:
                    bar.close()

        def close(self) -> None:
            with self._lock:
                for bar in self._bars.values():
                    bar.close()
                self._bars.clear()

    return _TqdmMonitor()
