"""Inference backends behind one interface: ``infer(feeds) -> outputs``.

Callers never branch on which backend they hold. Backends are registered by name; each factory
imports its heavy dependency itself and raises BackendUnavailable (an InputError: exit code 2
from the CLI) saying what to install when it cannot run here. ``"auto"`` tries AUTO_ORDER and,
when all fail, raises one error that lists every failure.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

import numpy as np

from engines.registry import load_entry
from realtime.errors import InputError


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
    if name == "auto":
        failures = []
        for candidate in AUTO_ORDER:
            if candidate not in BACKENDS:
                continue
            try:
                return load_entry(BACKENDS[candidate])(request)
            except BackendUnavailable as e:
                failures.append(f"{candidate}: {e}")
        raise BackendUnavailable("no inference backend could run: " + "; ".join(failures))
    if name not in BACKENDS:
        raise InputError(f"unknown backend {name!r}: expected auto or one of {', '.join(BACKENDS)}")
    return load_entry(BACKENDS[name])(request)
