"""The TensorRT engine cache: file names that carry everything an engine depends on.

A serialized TensorRT engine only runs on the GPU model (compute capability) and the TensorRT
version it was built with, and only computes the ONNX model it was built from. So the file name
carries all of them, and a lookup on another machine, after a driver/TensorRT upgrade or after a
re-export finds no match and rebuilds, saying why, instead of crashing in deserialization:

    <model>--<onnx sha256[:12]>--<precision>--<gpu name>--cc<major>.<minor>--trt<version>.engine

beside it ``<same>.json`` holds the exact (unslugged) values and the build settings. Nothing here
imports TensorRT, pycuda or torch at import time; everything but ``probe_gpu`` is pure and tested
on any machine.
"""
from __future__ import annotations

import hashlib
import json
import logging
import re
import shutil
import subprocess
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Callable

from realtime.errors import InputError
from realtime.fileio import atomic_path, write_json

log = logging.getLogger(__name__)

ENGINE_SUFFIX = ".engine"
META_SUFFIX = ".json"
SEP = "--"
PRECISIONS = ("fp32", "fp16")
HASH_CHARS = 12
_NAME_RE = re.compile(
    r"^(?P<model>[a-z0-9.]+(?:-[a-z0-9.]+)*)--(?P<hash>[0-9a-f]{12})--(?P<precision>fp32|fp16)"
    r"--(?P<gpu>[a-z0-9.]+(?:-[a-z0-9.]+)*)--cc(?P<major>\d+)\.(?P<minor>\d+)"
    r"--trt(?P<trt>[a-z0-9.]+(?:-[a-z0-9.]+)*)\.engine$")


def slug(text: str) -> str:
    """Lower-case file-name-safe form: runs of anything but [a-z0-9.] become one '-'.

    Never contains the field separator '--' and never starts or ends with '-'. Empty -> 'unknown'.
    """
    s = re.sub(r"[^a-z0-9.]+", "-", text.lower()).strip("-")
    return s or "unknown"


@dataclass(frozen=True)
class GpuInfo:
    """One CUDA device: its marketing name and compute capability (major, minor)."""

    name: str
    compute_capability: tuple[int, int]

    @property
    def cc(self) -> str:
        return f"{self.compute_capability[0]}.{self.compute_capability[1]}"


@dataclass(frozen=True)
class EngineKey:
    """Everything a serialized engine depends on. Two engines are interchangeable iff keys match.

    model: a short model name (e.g. the ONNX file's stem). onnx_hash: first 12 hex digits of the
    ONNX file's SHA-256. precision: "fp32" or "fp16" (what the engine computes in). gpu_name and
    compute_capability: the device it was built on. trt_version: ``tensorrt.__version__``.
    """

    model: str
    onnx_hash: str
    precision: str
    gpu_name: str
    compute_capability: tuple[int, int]
    trt_version: str

    def __post_init__(self) -> None:
        if self.precision not in PRECISIONS:
            raise ValueError(f"precision must be one of {PRECISIONS}, got {self.precision!r}")
        if not re.fullmatch(r"[0-9a-f]{%d}" % HASH_CHARS, self.onnx_hash):
            raise ValueError(f"onnx_hash must be {HASH_CHARS} lower-case hex digits, got {self.onnx_hash!r}")
        major, minor = self.compute_capability
        if major < 0 or minor < 0:
            raise ValueError(f"compute capability must be non-negative, got {self.compute_capability}")

    @property
    def gpu(self) -> GpuInfo:
        return GpuInfo(self.gpu_name, tuple(self.compute_capability))

    def file_name(self) -> str:
        major, minor = self.compute_capability
        return SEP.join([slug(self.model), self.onnx_hash, self.precision, slug(self.gpu_name),
                         f"cc{major}.{minor}", "trt" + slug(self.trt_version)]) + ENGINE_SUFFIX

    def normalized(self) -> "EngineKey":
        """The key as its file name records it (names slugged): what parse_engine_name returns."""
        return EngineKey(slug(self.model), self.onnx_hash, self.precision, slug(self.gpu_name),
                         tuple(self.compute_capability), slug(self.trt_version))

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["compute_capability"] = list(self.compute_capability)
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "EngineKey":
        return cls(model=str(d["model"]), onnx_hash=str(d["onnx_hash"]), precision=str(d["precision"]),
                   gpu_name=str(d["gpu_name"]),
                   compute_capability=tuple(int(v) for v in d["compute_capability"]),
                   trt_version=str(d["trt_version"]))


def parse_engine_name(name: str) -> EngineKey | None:
    """The (slugged) key encoded in an engine file name, or None when it is not one of ours."""
    m = _NAME_RE.match(Path(name).name)
    if not m:
        return None
    return EngineKey(m["model"], m["hash"], m["precision"], m["gpu"],
                     (int(m["major"]), int(m["minor"])), m["trt"])


def mismatches(built: EngineKey, here: EngineKey) -> list[str]:
    """Why an engine built under ``built`` cannot serve ``here`` (empty list: it can).

    Names are compared in their slugged form, so a key read back from a file name compares
    equal to the exact key it was made from.
    """
    a, b = built.normalized(), here.normalized()
    checks: list[tuple[str, Any, Any, str, str]] = [
        ("model", a.model, b.model, built.model, here.model),
        ("ONNX model", a.onnx_hash, b.onnx_hash, f"sha256 {built.onnx_hash}", f"sha256 {here.onnx_hash}"),
        ("precision", a.precision, b.precision, built.precision, here.precision),
        ("GPU", a.gpu_name, b.gpu_name, built.gpu_name, here.gpu_name),
        ("compute capability", a.compute_capability, b.compute_capability, built.gpu.cc, here.gpu.cc),
        ("TensorRT", a.trt_version, b.trt_version, built.trt_version, here.trt_version),
    ]
    return [f"{what}: built for {shown_a}, here {shown_b}"
            for what, x, y, shown_a, shown_b in checks if x != y]


@dataclass
class Lookup:
    """Result of looking a key up in the cache.

    path: the matching engine file, or None. stale: engines of the same model that cannot be
    used here, each with the reasons (other GPU, other TensorRT, re-exported ONNX, ...).
    """

    path: Path | None
    stale: list[tuple[Path, list[str]]] = field(default_factory=list)

    def rebuild_message(self, key: EngineKey) -> str:
        """One paragraph saying why a build is needed (for logs and the CLI)."""
        if self.path is not None:
            return f"engine {self.path.name} matches; no build needed"
        if not self.stale:
            return f"no engine for {key.model} ({key.precision}) in the cache yet: building {key.file_name()}"
        lines = [f"{p.name} cannot be used here ({'; '.join(reasons)})" for p, reasons in self.stale]
        return "rebuilding: " + " | ".join(lines)


class EngineCache:
    """A folder of engines named by EngineKey, each with a JSON sidecar of exact values."""

    def __init__(self, root: str | Path) -> None:
        self.root = Path(root)
        if self.root.exists() and not self.root.is_dir():
            raise InputError(f"engine cache {self.root} is a file; expected a folder (pass another --cache-dir DIR)")

    def path_for(self, key: EngineKey) -> Path:
        return self.root / key.file_name()

    def meta_path(self, engine_path: Path) -> Path:
        return engine_path.with_suffix(META_SUFFIX)

    def lookup(self, key: EngineKey) -> Lookup:
        """Find the engine for ``key``; also list same-model engines that no longer fit, and why."""
        exact = self.path_for(key)
        found = exact if exact.is_file() and exact.stat().st_size > 0 else None
        stale: list[tuple[Path, list[str]]] = []
        if self.root.is_dir():
            for p in sorted(self.root.glob("*" + ENGINE_SUFFIX)):
                if p == exact:
                    continue
                built = self.read_key(p)
                if built is None or slug(built.model) != slug(key.model):
                    continue
                reasons = mismatches(built, key)
                if reasons:
                    stale.append((p, reasons))
        return Lookup(found, stale)

    def read_key(self, engine_path: Path) -> EngineKey | None:
        """The exact key from the sidecar JSON, else the slugged key from the file name."""
        meta = self.meta_path(engine_path)
        if meta.is_file():
            try:
                return EngineKey.from_dict(json.loads(meta.read_text(encoding="utf-8"))["key"])
            except (ValueError, KeyError, TypeError) as e:
                log.warning("ignoring unreadable engine metadata %s: %s", meta, e)
        return parse_engine_name(engine_path.name)

    def recorded_onnx(self, engine_path: Path) -> Path | None:
        """The ONNX file an engine was built from, as its sidecar JSON records it (None if unknown)."""
        meta = self.meta_path(engine_path)
        try:
            onnx = json.loads(meta.read_text(encoding="utf-8"))["settings"]["onnx_path"]
        except (OSError, ValueError, KeyError, TypeError):
            return None
        return Path(onnx) if onnx else None

    def write(self, key: EngineKey, engine_bytes: bytes | memoryview, settings: dict[str, Any]) -> Path:
        """Store a serialized engine atomically (engine first, then its sidecar)."""
        path = self.path_for(key)
        with atomic_path(path) as tmp:
            tmp.write_bytes(bytes(engine_bytes))
        write_json(self.meta_path(path), {"key": key.to_dict(), "file": path.name, "settings": settings})
        return path

    def timing_cache_path(self, gpu: GpuInfo, trt_version: str) -> Path:
        """Default timing cache: one per GPU model and TensorRT version, shared by all models."""
        return self.root / f"timing{SEP}{slug(gpu.name)}{SEP}cc{gpu.cc}{SEP}trt{slug(trt_version)}.cache"


def default_cache_dir() -> Path:
    """The engines/ folder of the model cache (engines/backends/model_cache.py): $REPOSE_CACHE_DIR/engines,
    else $XDG_CACHE_HOME/repose/engines, else ~/.cache/repose/engines."""
    from engines.backends.model_cache import engine_dir

    return engine_dir()


def onnx_digest(path: str | Path) -> str:
    """First 12 hex digits of the SHA-256 of an ONNX file and of its external-data file if any."""
    p = Path(path)
    if not p.is_file():
        raise InputError(f"{p}: no such ONNX file; export one with `repose export` (or pass --onnx PATH)")
    h = hashlib.sha256()
    for part in (p, p.with_name(p.name + ".data")):
        if part.is_file():
            with part.open("rb") as f:
                for chunk in iter(lambda: f.read(1 << 20), b""):
                    h.update(chunk)
    return h.hexdigest()[:HASH_CHARS]


@dataclass(frozen=True)
class OnnxTensor:
    """An ONNX graph input or output: name, shape (-1 = dynamic) and element type name."""

    name: str
    shape: tuple[int, ...]
    dtype: str


_FLOAT_TYPES = ("FLOAT", "FLOAT16", "DOUBLE", "BFLOAT16")


@dataclass(frozen=True)
class OnnxModelInfo:
    """What a build needs to know about an ONNX file without running it.

    inputs: graph inputs (initializers excluded). weights: element type name -> number of
    elements over the floating-point initializers (the weights).
    """

    inputs: list[OnnxTensor]
    weights: dict[str, int]

    @property
    def precision(self) -> str:
        return model_precision(self.inputs, self.weights)


def read_onnx(path: str | Path) -> OnnxModelInfo:
    """Inputs and weight types of an ONNX file; needs the ``onnx`` package. InputError if unreadable."""
    try:
        import onnx
    except ImportError as e:
        raise InputError("reading an ONNX model needs the onnx package: pip install onnx") from e
    p = Path(path)
    try:
        model = onnx.load(str(p), load_external_data=False)
    except Exception as e:  # onnx raises DecodeError and friends; name the file and the fix
        raise InputError(f"{p}: not a readable ONNX model ({type(e).__name__}: {e}); "
                         "re-export it with `repose export`") from e
    name = onnx.TensorProto.DataType.Name
    inits = {i.name for i in model.graph.initializer}
    inputs = []
    for vi in model.graph.input:
        if vi.name in inits:
            continue
        tt = vi.type.tensor_type
        shape = tuple(d.dim_value if d.HasField("dim_value") else -1 for d in tt.shape.dim)
        inputs.append(OnnxTensor(vi.name, shape, name(tt.elem_type)))
    weights: dict[str, int] = {}
    for init in model.graph.initializer:
        dtype = name(init.data_type)
        if dtype in _FLOAT_TYPES:
            count = 1
            for d in init.dims:
                count *= int(d)
            weights[dtype] = weights.get(dtype, 0) + count
    return OnnxModelInfo(inputs, weights)


def onnx_inputs(path: str | Path) -> list[OnnxTensor]:
    """The graph inputs of an ONNX file (initializers excluded)."""
    return read_onnx(path).inputs


def model_precision(inputs: list[OnnxTensor], weights: dict[str, int] | None = None) -> str:
    """"fp16" for an FP16 model, else "fp32".

    FP16 means: the floating-point inputs are FLOAT16, or most weight elements are FLOAT16 (the
    `repose export --fp16` style: FP16 weights and compute inside, float32 inputs and outputs
    through Cast nodes).
    """
    floats = [t for t in inputs if t.dtype in _FLOAT_TYPES]
    if floats and all(t.dtype == "FLOAT16" for t in floats):
        return "fp16"
    weights = weights or {}
    total = sum(weights.values())
    return "fp16" if total and weights.get("FLOAT16", 0) * 2 > total else "fp32"


# --- the GPU this process would build on (the only impure part) ---------------------------------

def _probe_pycuda(index: int) -> GpuInfo | None:
    import pycuda.driver as cuda

    cuda.init()
    if cuda.Device.count() <= index:
        return None
    dev = cuda.Device(index)
    return GpuInfo(dev.name(), tuple(dev.compute_capability()))


def _probe_torch(index: int) -> GpuInfo | None:
    import torch

    if not torch.cuda.is_available() or torch.cuda.device_count() <= index:
        return None
    return GpuInfo(torch.cuda.get_device_name(index), tuple(torch.cuda.get_device_capability(index)))


def parse_nvidia_smi(text: str) -> GpuInfo | None:
    """Parse one line of ``nvidia-smi --query-gpu=name,compute_cap --format=csv,noheader``."""
    line = text.strip().splitlines()[0] if text.strip() else ""
    name, _, cap = line.rpartition(",")
    m = re.fullmatch(r"\s*(\d+)\.(\d+)\s*", cap)
    if not name.strip() or not m:
        return None
    return GpuInfo(name.strip(), (int(m[1]), int(m[2])))


def _probe_nvidia_smi(index: int) -> GpuInfo | None:
    exe = shutil.which("nvidia-smi")
    if exe is None:
        return None
    res = subprocess.run([exe, "--query-gpu=name,compute_cap", "--format=csv,noheader", "-i", str(index)],
                         capture_output=True, text=True, timeout=20, check=False)
    return parse_nvidia_smi(res.stdout) if res.returncode == 0 else None


PROBES: dict[str, Callable[[int], GpuInfo | None]] = {
    "pycuda": _probe_pycuda, "torch": _probe_torch, "nvidia-smi": _probe_nvidia_smi}


def probe_gpu(index: int = 0) -> GpuInfo | None:
    """Name and compute capability of CUDA device ``index`` (pycuda, else torch, else nvidia-smi).

    None when no probe finds a device (no GPU, no driver).
    """
    for name, probe in PROBES.items():
        try:
            info = probe(index)
        except Exception as e:  # ImportError, no driver, pycuda's own Error family: try the next probe
            log.debug("GPU probe %s failed: %s: %s", name, type(e).__name__, e)
            continue
        if info is not None:
            log.debug("GPU %d via %s: %s (cc %s)", index, name, info.name, info.cc)
            return info
    return None
