"""The model cache: ONNX exports of checkpoints and TensorRT engines, in one folder.

Root: ``--cache-dir DIR`` (the ``cache_dir`` argument), else ``$REPOSE_CACHE_DIR``, else
``$REPOSE_CACHE`` (deprecated alias, warned about once), else ``$XDG_CACHE_HOME/repose``, else
``~/.cache/repose``. Inside it:

    onnx/<checkpoint stem>-<sha256 of weights and config, 16 hex>-<fp32|fp16>.onnx
    engines/<model>--<onnx sha256, 12 hex>--<precision>--<gpu>--cc<X.Y>--trt<version>.engine (+ .json)

Every key is a content hash: a re-trained checkpoint gets a new export, a re-exported model a new
engine; copying, touching or renaming files changes nothing. Engine names are described in
engines/backends/engine_cache.py. Nothing here imports torch, onnx or TensorRT at import time.
"""
from __future__ import annotations

import hashlib
import logging
import os
from pathlib import Path

log = logging.getLogger(__name__)

ENV = "REPOSE_CACHE_DIR"
DEPRECATED_ENV = "REPOSE_CACHE"
ONNX_FOLDER = "onnx"
ENGINE_FOLDER = "engines"
_warned: set[str] = set()


def cache_root(cache_dir: str | Path | None = None) -> Path:
    """The model cache folder (see the module docstring for the order of lookups)."""
    if cache_dir:
        return Path(cache_dir).expanduser()
    if os.environ.get(ENV):
        return Path(os.environ[ENV]).expanduser()
    if os.environ.get(DEPRECATED_ENV):
        if DEPRECATED_ENV not in _warned:
            _warned.add(DEPRECATED_ENV)
            log.warning("$%s is deprecated: set $%s (the same folder) instead", DEPRECATED_ENV, ENV)
        return Path(os.environ[DEPRECATED_ENV]).expanduser()
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache").expanduser() / "repose"


def onnx_dir(cache_dir: str | Path | None = None) -> Path:
    """Where checkpoints exported to ONNX are kept."""
    return cache_root(cache_dir) / ONNX_FOLDER


def engine_dir(cache_dir: str | Path | None = None) -> Path:
    """Where TensorRT engines (and their timing caches) are kept."""
    return cache_root(cache_dir) / ENGINE_FOLDER


def file_digest(*paths: Path, chars: int = 16) -> str:
    """The first ``chars`` hex digits of the SHA-256 over the files' bytes, in order."""
    h = hashlib.sha256()
    for p in paths:
        with Path(p).open("rb") as f:
            for chunk in iter(lambda: f.read(1 << 20), b""):
                h.update(chunk)
    return h.hexdigest()[:chars]


def onnx_export_path(checkpoint: str | Path, precision: str, cache_dir: str | Path | None = None) -> Path:
    """Where the ONNX export of a checkpoint (weights + config) at a precision is cached."""
    from engines.learned.checkpoint import resolve

    weights, config = resolve(Path(checkpoint))
    prec = "fp16" if precision == "fp16" else "fp32"
    return onnx_dir(cache_dir) / f"{weights.stem}-{file_digest(weights, config)}-{prec}.onnx"


def cached_onnx(checkpoint: str | Path, precision: str, cache_dir: str | Path | None = None) -> Path:
    """The ONNX export of a checkpoint, made once (atomically) and reused while its content is the same.

    precision "fp16" exports FP16 weights and compute (float32 inputs and outputs); anything else fp32.
    Needs torch and onnx for the export itself (ImportError otherwise).
    """
    from engines.learned.checkpoint import resolve

    path = onnx_export_path(checkpoint, precision, cache_dir)
    if not path.is_file():
        from engines.learned.export import export_onnx

        weights, _ = resolve(Path(checkpoint))
        log.info("exporting %s to %s", weights, path)
        export_onnx(weights, path, fp16=precision == "fp16")
    return path
