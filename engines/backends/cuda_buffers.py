"""CUDA memory for an inference engine: device buffers, pinned host buffers and one stream.

Two interchangeable implementations with the same small interface (``host`` NumPy views of the
pinned buffers, ``address(name)`` device pointers, ``to_device`` / ``to_host`` async copies of the
first ``count`` elements, ``synchronize``, ``stream_handle``, ``active()``, ``close``):

- PycudaBuffers: ``pycuda.driver`` allocations in the device's primary context (the context the
  CUDA runtime, hence TensorRT, uses), made current around each use with ``active()``;
- TorchBuffers: torch CUDA tensors, pinned CPU tensors and a torch stream, for machines with
  PyTorch's CUDA build but no pycuda.

Buffers are flat (1-D) and sized once, in elements; callers view them in the shape of the moment.
pycuda and torch are imported only when buffers are made.
"""
from __future__ import annotations

import contextlib
import logging
from typing import Any, Iterator

import numpy as np

from engines.backends.registry import BackendUnavailable
from realtime.errors import InputError

log = logging.getLogger(__name__)

BUFFER_KINDS = ("pycuda", "torch")


def select_buffer_kind(has_pycuda: bool, has_torch_cuda: bool, preferred: str = "auto") -> str:
    """Which CUDA memory API to use: pycuda first, torch CUDA tensors when pycuda is absent."""
    if preferred not in ("auto",) + BUFFER_KINDS:
        raise InputError(f"buffers {preferred!r}: expected auto, pycuda or torch")
    have = {"pycuda": has_pycuda, "torch": has_torch_cuda}
    if preferred != "auto":
        if have[preferred]:
            return preferred
        fix = "pip install pycuda" if preferred == "pycuda" else "install a CUDA build of torch==2.13.0"
        raise BackendUnavailable(f"{preferred} buffers requested but {preferred} with CUDA is not available: {fix}")
    for kind in BUFFER_KINDS:
        if have[kind]:
            return kind
    raise BackendUnavailable("TensorRT needs CUDA memory from pycuda or from PyTorch with CUDA; neither works "
                             'here: pip install -e ".[gpu]" (pycuda needs the NVIDIA driver and CUDA toolkit)')


def pycuda_usable() -> bool:
    """pycuda imports, initialises and sees at least one CUDA device."""
    try:
        import pycuda.driver as cuda

        cuda.init()
        return cuda.Device.count() > 0
    except Exception as e:  # ImportError, or pycuda's Error when the driver is missing
        log.debug("pycuda unusable: %s", e)
        return False


def torch_cuda_usable() -> bool:
    """torch imports and sees a CUDA device."""
    try:
        import torch
    except ImportError as e:
        log.debug("torch unusable: %s", e)
        return False
    return bool(torch.cuda.is_available())


def probe_buffer_apis(preferred: str = "auto") -> tuple[bool, bool]:
    """(pycuda usable, torch CUDA usable); torch is only imported when pycuda is not enough."""
    has_pycuda = preferred != "torch" and pycuda_usable()
    has_torch = (preferred == "torch" or not has_pycuda) and torch_cuda_usable()
    return has_pycuda, has_torch


class PycudaBuffers:
    """Pinned host arrays, device allocations and one stream in the device's primary context."""

    kind = "pycuda"

    def __init__(self, tensors: dict[str, tuple[int, np.dtype]], device_index: int = 0) -> None:
        import pycuda.driver as cuda

        self._cuda = cuda
        cuda.init()
        self._ctx = cuda.Device(device_index).retain_primary_context()  # the context cudart/TensorRT use
        self.host: dict[str, np.ndarray] = {}
        self._device: dict[str, Any] = {}
        with self.active():
            self.stream = cuda.Stream()
            for name, (count, dtype) in tensors.items():
                self.host[name] = cuda.pagelocked_empty(count, dtype)
                self._device[name] = cuda.mem_alloc(max(1, self.host[name].nbytes))

    @contextlib.contextmanager
    def active(self) -> Iterator[None]:
        self._ctx.push()
        try:
            yield
        finally:
            self._cuda.Context.pop()

    @property
    def stream_handle(self) -> int:
        return int(self.stream.handle)

    def address(self, name: str) -> int:
        return int(self._device[name])

    def to_device(self, name: str, count: int) -> None:
        self._cuda.memcpy_htod_async(self._device[name], self.host[name][:count], self.stream)

    def to_host(self, name: str, count: int) -> None:
        self._cuda.memcpy_dtoh_async(self.host[name][:count], self._device[name], self.stream)

    def synchronize(self) -> None:
        self.stream.synchronize()

    def close(self) -> None:
        if not self._device:
            return
        with self.active():
            for mem in self._device.values():
                mem.free()
        self._device.clear()
        self.host.clear()
        self._ctx.detach()


class TorchBuffers:
    """The same buffers as torch CUDA tensors (device), pinned CPU tensors (host) and a torch stream."""

    kind = "torch"

    def __init__(self, tensors: dict[str, tuple[int, np.dtype]], device_index: int = 0) -> None:
        import torch

        self._torch = torch
        self.device = torch.device("cuda", device_index)
        self.stream = torch.cuda.Stream(device=self.device)
        self._dev: dict[str, Any] = {}
        self._pinned: dict[str, Any] = {}
        self.host: dict[str, np.ndarray] = {}
        for name, (count, dtype) in tensors.items():
            tdtype = getattr(torch, np.dtype(dtype).name)  # float32, float16, int32, ... share names
            self._dev[name] = torch.empty(count, dtype=tdtype, device=self.device)
            self._pinned[name] = torch.empty(count, dtype=tdtype, pin_memory=True)
            self.host[name] = self._pinned[name].numpy()  # shares memory with the pinned tensor

    @contextlib.contextmanager
    def active(self) -> Iterator[None]:
        with self._torch.cuda.device(self.device):
            yield

    @property
    def stream_handle(self) -> int:
        return int(self.stream.cuda_stream)

    def address(self, name: str) -> int:
        return int(self._dev[name].data_ptr())

    def to_device(self, name: str, count: int) -> None:
        with self._torch.cuda.stream(self.stream):
            self._dev[name][:count].copy_(self._pinned[name][:count], non_blocking=True)

    def to_host(self, name: str, count: int) -> None:
        with self._torch.cuda.stream(self.stream):
            self._pinned[name][:count].copy_(self._dev[name][:count], non_blocking=True)

    def synchronize(self) -> None:
        self.stream.synchronize()

    def close(self) -> None:
        self._dev.clear()
        self._pinned.clear()
        self.host.clear()


BUFFER_CLASSES = {"pycuda": PycudaBuffers, "torch": TorchBuffers}


@contextlib.contextmanager
def cuda_device(index: int) -> Iterator[None]:
    """Make CUDA device ``index`` current for TensorRT calls outside the buffers (deserialization).

    Device 0 is CUDA's default and needs nothing; other devices go through pycuda's primary
    context or torch, whichever is present.
    """
    if index == 0:
        yield
        return
    has_pycuda, has_torch = probe_buffer_apis()
    kind = select_buffer_kind(has_pycuda, has_torch)
    if kind == "pycuda":
        import pycuda.driver as cuda

        ctx = cuda.Device(index).retain_primary_context()
        ctx.push()
        try:
            yield
        finally:
            cuda.Context.pop()
            ctx.detach()
    else:
        import torch

        with torch.cuda.device(index):
            yield
