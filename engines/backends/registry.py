"""Inference backends behind one interface: ``infer(feeds) -> outputs``.

Callers never branch on which backend they hold. Backends are registered by name; each factory
imports its heavy dependency itself and raises BackendUnavailable (an InputError: exit code 2
from the CLI) saying what to install when it cannot run here. ``"auto"`` tries AUTO_ORDER and,
when all fail, raises one error that lists every failure; each failure is logged as ``auto``
moves on. Exported models and engines live in one model cache (engines/backends/model_cache.py).
"""
from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

import numpy as np

from engines.registry import load_entry
from realtime.errors import InputError

log = logging.getLogger(__name__)


class BackendUnavailable(InputError):
    """This backend cannot run here (missing package, no GPU); the message says how to fix it."""


class Backend(Protocol):
    name: str
    input_names: list[str]
    output_names: list[str]

    def infer(self, feeds: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        """Run the model on named float arrays (NCHW); returns named outputs as NumPy arrays."""

    def close(self) -> None: ...


@dataclass
class BackendRequest:
    """What a backend is asked to run.

    checkpoint: a repose checkpoint (safetensors weights + JSON config), for torch.
    onnx_path: an ONNX model, for onnxruntime and tensorrt (exported from the checkpoint when absent).
    device: "auto", "cpu" or "cuda". precision: "fp32", "fp16" or "bf16".
    cache_dir: the model cache folder (engines/backends/model_cache.py; None: the default).
    """

    checkpoint: Path | None = None
    onnx_path: Path | None = None
    device: str = "auto"
    precision: str = "fp32"
    cache_dir: Path | None = None
    extra: dict = field(default_factory=dict)


# name -> "module:factory"; a factory takes a BackendRequest and returns a Backend.
BACKENDS: dict[str, str] = {
    "torch": "engines.backends.torch_backend:create",
    "onnxruntime": "engines.backends.onnxruntime_backend:create",
    "tensorrt": "engines.backends.tensorrt_backend:create_tensorrt_backend",
}
AUTO_ORDER: tuple[str, ...] = ("tensorrt", "onnxruntime", "torch")


def create_backend(name: str, request: BackendRequest) -> Backend:
    """The backend ``name`` for the request; ``"auto"``: the first of AUTO_ORDER that runs.

    With ``"auto"`` every failure falls through to the next backend with its reason logged (INFO for
    BackendUnavailable, the expected "cannot run here"; WARNING for anything else, e.g. a TensorRT
    build error); when none runs, one BackendUnavailable lists every reason.
    """
    if name != "auto":
        if name not in BACKENDS:
            raise InputError(f"unknown backend {name!r}: expected auto or one of {', '.join(BACKENDS)}")
        return load_entry(BACKENDS[name])(request)
    failures = []
    for candidate in (c for c in AUTO_ORDER if c in BACKENDS):
        try:
            backend = load_entry(BACKENDS[candidate])(request)
        except BackendUnavailable as e:
            log.info("backend %s cannot run here (%s); trying the next", candidate, e)
            failures.append(f"{candidate}: {e}")
        except Exception as e:  # noqa: BLE001 - present but failing (bad model, build error): try the next
            log.warning("backend %s failed (%s: %s); trying the next", candidate, type(e).__name__, e)
            failures.append(f"{candidate}: {type(e).__name__}: {e}")
        else:
            log.info("backend auto: using %s", candidate)
            return backend
    raise BackendUnavailable("no inference backend could run: " + "; ".join(failures))
