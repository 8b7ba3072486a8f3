"""TensorRT logic that needs no TensorRT: feature detection, precision plans, network flags,
parser-error listing, profile shapes, buffer choice, dtype mapping, feed checks, engine
compatibility. Detection is exercised on small hand-written objects shaped like the TensorRT 8,
10 and 11 Python modules (attributes only; nothing here builds or runs an engine)."""
from __future__ import annotations

import enum
from types import SimpleNamespace

import numpy as np
import pytest

from engines.backends.registry import BackendUnavailable
from engines.backends.engine_cache import EngineKey, GpuInfo
from engines.backends.cuda_buffers import select_buffer_kind
from engines.backends.tensorrt_backend import TensorSpec, check_feed, environment_mismatches, numpy_dtype
from engines.backends.tensorrt_build import (BuildOptions, PrecisionPlan, detect_features, network_flags, parser_errors,
                                    plan_precision, profile_shapes, require_supported)
from realtime.errors import InputError


class _Flag(enum.IntEnum):  # NetworkDefinitionCreationFlag shape: STRONGLY_TYPED is bit 1 in TensorRT 10
    EXPLICIT_BATCH = 0
    STRONGLY_TYPED = 1


def module_like(version: str, *, fp16_flag: bool, v3: bool = True, strongly_typed: bool = True,
                progress: bool = True) -> SimpleNamespace:
    """Attributes of a tensorrt module of the given API generation (no behaviour)."""
    builder_flag = SimpleNamespace(TF32=1, **({"FP16": 0} if fp16_flag else {}))
    engine = SimpleNamespace(**({"num_io_tensors": 3, "get_tensor_name": None} if v3 else
                                {"num_bindings": 3, "get_binding_name": None}))
    context = SimpleNamespace(**({"execute_async_v3": None, "set_tensor_address": None} if v3 else
                                 {"execute_async_v2": None}))
    config = SimpleNamespace(set_memory_pool_limit=None, create_timing_cache=None, set_timing_cache=None,
                             **({"progress_monitor": None} if progress else {}))
    flags = _Flag if strongly_typed else SimpleNamespace(EXPLICIT_BATCH=0)
    mod = SimpleNamespace(__version__=version, BuilderFlag=builder_flag, ICudaEngine=engine,
                          IExecutionContext=context, IBuilderConfig=config, MemoryPoolType=SimpleNamespace(WORKSPACE=0),
                          NetworkDefinitionCreationFlag=flags)
    if progress:
        mod.IProgressMonitor = object
    return mod


TRT10 = module_like("10.3.0", fp16_flag=True)
TRT11 = module_like("11.0.0", fp16_flag=False)
TRT8 = module_like("8.6.1", fp16_flag=True, v3=False, strongly_typed=False, progress=False)


def test_detects_tensorrt_10():
    f = detect_features(TRT10)
    assert f.supported and f.fp16_builder_flag and not f.always_strongly_typed
    assert f.major == 10 and f.timing_cache and f.progress_monitor and f.strongly_typed_flag


def test_detects_tensorrt_11_by_the_missing_flag():
    f = detect_features(TRT11)
    assert f.supported and not f.fp16_builder_flag and f.always_strongly_typed


def test_detection_follows_features_not_the_version_string():
    odd = detect_features(module_like("11.0.0", fp16_flag=True))  # a build that still has the flag
    assert odd.fp16_builder_flag and not odd.always_strongly_typed
    dev = detect_features(module_like("dev-snapshot", fp16_flag=False))
    assert dev.major == 0 and dev.always_strongly_typed and dev.supported


def test_tensorrt_8_is_refused_with_the_upgrade():
    f = detect_features(TRT8)
    assert not f.supported and not f.execute_v3 and not f.name_based_io
    with pytest.raises(BackendUnavailable, match=r"TensorRT 8\.6\.1 lacks .*execute_async_v3.*pip install -U tensorrt"):
        require_supported(f)
    require_supported(detect_features(TRT10))  # no error


@pytest.mark.parametrize("requested,model,trt,expected", [
    ("auto", "fp32", TRT10, PrecisionPlan("fp16", fp16_flag=True, strongly_typed=False)),
    ("fp16", "fp32", TRT10, PrecisionPlan("fp16", fp16_flag=True, strongly_typed=False)),
    ("fp32", "fp32", TRT10, PrecisionPlan("fp32", fp16_flag=False, strongly_typed=False)),
    ("auto", "fp16", TRT10, PrecisionPlan("fp16", fp16_flag=False, strongly_typed=True)),
    ("fp16", "fp16", TRT11, PrecisionPlan("fp16", fp16_flag=False, strongly_typed=True)),
    ("auto", "fp16", TRT11, PrecisionPlan("fp16", fp16_flag=False, strongly_typed=True)),
    ("fp32", "fp32", TRT11, PrecisionPlan("fp32", fp16_flag=False, strongly_typed=True)),
])
def test_precision_plans(requested, model, trt, expected):
    plan = plan_precision(requested, model, detect_features(trt))
    assert (plan.precision, plan.fp16_flag, plan.strongly_typed) == (
        expected.precision, expected.fp16_flag, expected.strongly_typed)
    assert plan.allow_tf32 == (plan.precision == "fp16")  # an fp32 engine computes in true FP32


def test_tensorrt_11_fp16_from_fp32_model_says_export_fp16():
    with pytest.raises(InputError, match=r"strongly typed.*repose export --fp16"):
        plan_precision("fp16", "fp32", detect_features(TRT11))
    plan = plan_precision("auto", "fp32", detect_features(TRT11))
    assert plan.precision == "fp32" and not plan.fp16_flag and "repose export --fp16" in plan.note


def test_fp16_model_wins_over_fp32_request_with_a_note():
    plan = plan_precision("fp32", "fp16", detect_features(TRT10))
    assert plan.precision == "fp16" and "without --fp16" in plan.note


def test_unknown_precision_is_an_input_error():
    with pytest.raises(InputError, match="expected one of auto, fp16, fp32"):
        plan_precision("int8", "fp32", detect_features(TRT10))
    with pytest.raises(InputError):
        BuildOptions(precision="bf16")
    with pytest.raises(InputError, match="--workspace-mb"):
        BuildOptions(workspace_mb=1)


def test_network_flags():
    assert network_flags(TRT10, PrecisionPlan("fp16", True, False)) == 0
    assert network_flags(TRT10, PrecisionPlan("fp16", False, True)) == 1 << 1


class _ErrorCode(enum.Enum):
    UNSUPPORTED_NODE = 8
    INVALID_GRAPH = 4


class _ParserError:  # the methods tensorrt.ParserError offers (node_name/node_operator since 10.x)
    def __init__(self, code, desc, node, op=None, name=None):
        self._v = dict(code=code, desc=desc, node=node, node_operator=op, node_name=name)

    def __getattr__(self, attr):
        if attr in ("node_operator", "node_name") and self._v[attr] is None:
            raise AttributeError(attr)
        return lambda: self._v[attr]


class _Parser:
    def __init__(self, errors):
        self.errors = errors
        self.num_errors = len(errors)

    def get_error(self, i):
        return self.errors[i]


def test_parser_errors_lists_every_error():
    parser = _Parser([
        _ParserError(_ErrorCode.UNSUPPORTED_NODE, "No importer registered for op: NoSuchOp", 3, "NoSuchOp", "mystery"),
        _ParserError(_ErrorCode.INVALID_GRAPH, "graph has no outputs ", -1),
    ])
    lines = parser_errors(parser)
    assert lines == ["node 3 (NoSuchOp 'mystery'): UNSUPPORTED_NODE: No importer registered for op: NoSuchOp",
                     "model: INVALID_GRAPH: graph has no outputs"]
    assert parser_errors(_Parser([])) == []


def test_profile_shapes():
    assert profile_shapes("cond_image", (1, 3, 256, 176)) is None
    assert profile_shapes("cond_image", (-1, 3, 256, 176), max_batch=4) == (
        (1, 3, 256, 176), (1, 3, 256, 176), (4, 3, 256, 176))
    with pytest.raises(InputError, match=r"'cond_pose'.*dynamic axes \[2, 3\].*fixed image size"):
        profile_shapes("cond_pose", (1, 18, -1, -1))
    with pytest.raises(InputError):
        profile_shapes("x", (-1, 3), max_batch=0)


def test_buffer_choice_prefers_pycuda_then_torch():
    assert select_buffer_kind(True, True) == "pycuda"
    assert select_buffer_kind(False, True) == "torch"
    assert select_buffer_kind(True, True, "torch") == "torch"
    with pytest.raises(BackendUnavailable, match=r"pip install -e \"\.\[gpu\]\""):
        select_buffer_kind(False, False)
    with pytest.raises(BackendUnavailable, match="pip install pycuda"):
        select_buffer_kind(False, True, "pycuda")
    with pytest.raises(InputError):
        select_buffer_kind(True, True, "cupy")


class _DataType(enum.Enum):
    FLOAT = 0
    HALF = 1
    INT32 = 3
    BF16 = 7


def test_numpy_dtype_by_member_name():
    assert numpy_dtype(_DataType.FLOAT) == np.float32
    assert numpy_dtype(_DataType.HALF) == np.float16
    assert numpy_dtype(_DataType.INT32) == np.int32
    with pytest.raises(InputError, match="BF16"):
        numpy_dtype(_DataType.BF16)


def test_check_feed():
    static = TensorSpec("cond_image", True, (1, 3, 8, 6), np.dtype(np.float32), (1, 3, 8, 6))
    check_feed(static, np.zeros((1, 3, 8, 6), np.float32))
    with pytest.raises(InputError, match=r"'cond_image': expected shape 1x3x8x6, got 1x3x6x8"):
        check_feed(static, np.zeros((1, 3, 6, 8), np.float32))
    dyn = TensorSpec("cond_image", True, (-1, 3, 8, 6), np.dtype(np.float16), (4, 3, 8, 6), (1, 3, 8, 6))
    check_feed(dyn, np.zeros((3, 3, 8, 6), np.float32))
    with pytest.raises(InputError, match=r"expected shape 1\.\.4x3x8x6, got 5x3x8x6"):
        check_feed(dyn, np.zeros((5, 3, 8, 6), np.float32))
    with pytest.raises(InputError, match="numeric"):
        check_feed(static, np.zeros((1, 3, 8, 6), dtype=object))


def test_environment_mismatches_ignore_the_model_and_name_the_environment():
    built = EngineKey("patn", "0123456789ab", "fp16", "NVIDIA L4", (8, 9), "10.3.0")
    assert environment_mismatches(built, GpuInfo("NVIDIA L4", (8, 9)), "10.3.0") == []
    reasons = environment_mismatches(built, GpuInfo("NVIDIA H100 PCIe", (9, 0)), "11.0.0")
    assert [r.split(":")[0] for r in reasons] == ["GPU", "compute capability", "TensorRT"]
