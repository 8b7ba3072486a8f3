"""The torch backend: a PATN checkpoint run by PyTorch on the CPU or a CUDA GPU.

Request fields used: checkpoint (required), device ("auto", "cpu", "cuda"), precision ("fp32",
"fp16", "bf16"). ``extra``: ``channels_last`` (bool, NHWC memory format, CUDA), ``cuda_graphs``
(bool: capture one inference in a CUDA graph and replay it; inputs are copied into static buffers),
``threads`` (int, CPU intra-op threads), ``compile`` (bool: torch.compile, Inductor; needs a C++
compiler on the CPU and costs ~40 s on the first call here). fp16 runs on CUDA only (CPU half convolutions are slow or
missing); bf16 runs on both. Feeds and outputs are float32 NumPy arrays whatever the precision.
"""
from __future__ import annotations

import logging

import numpy as np

from engines.backends.registry import BackendRequest, BackendUnavailable
from engines.learned.export import INPUT_NAMES, OUTPUT_NAMES

log = logging.getLogger(__name__)


class TorchBackend:
    name = "torch"
    input_names = list(INPUT_NAMES)
    output_names = list(OUTPUT_NAMES)

    def __init__(self, request: BackendRequest) -> None:
        try:
            import torch
        except ImportError:
            raise BackendUnavailable("torch is not installed: pip install 'repose[train]' (torch==2.13.0)") from None
        from engines.learned.checkpoint import load_generator

        if request.checkpoint is None:
            raise BackendUnavailable("the torch backend needs a checkpoint (NAME.safetensors + NAME.json): "
                                     "pass --checkpoint PATH")
        self._torch = torch
        device = request.device
        if device == "auto":
            device = "cuda" if torch.cuda.is_available() else "cpu"
        if device.startswith("cuda") and not torch.cuda.is_available():
            raise BackendUnavailable("torch backend: device cuda asked for, but torch sees no CUDA GPU "
                                     "(install a CUDA build of torch 2.13.0 or use --device cpu)")
        dtypes = {"fp32": torch.float32, "fp16": torch.float16, "bf16": torch.bfloat16}
        if request.precision not in dtypes:
            raise BackendUnavailable(f"torch backend: precision {request.precision!r}, expected fp32, fp16 or bf16")
        if request.precision == "fp16" and device == "cpu":
            raise BackendUnavailable("torch backend: fp16 needs a CUDA GPU; on the CPU use precision bf16 or fp32")
        extra = dict(request.extra or {})
        if "threads" in extra and device == "cpu":
            torch.set_num_threads(int(extra["threads"]))
        self.device = torch.device(device)
        self.dtype = dtypes[request.precision]
        model, self.config = load_generator(request.checkpoint)
        self.model = model.to(self.device, self.dtype).eval()
        self.channels_last = bool(extra.get("channels_last", False))
        if self.channels_last:
            self.model = self.model.to(memory_format=torch.channels_last)
        if extra.get("compile"):
            self.model = torch.compile(self.model)
        self.use_graphs = bool(extra.get("cuda_graphs", False)) and self.device.type == "cuda"
        if extra.get("cuda_graphs") and not self.use_graphs:
            log.warning("cuda_graphs ignored: it needs device cuda (got %s)", self.device)
        self._graph = None
        self._static_in: list | None = None
        self._static_out = None
        self._graph_shape: tuple | None = None

    def _prepare(self, arr: np.ndarray):
        t = self._torch.from_numpy(np.ascontiguousarray(arr, dtype=np.float32)).to(self.device, non_blocking=True)
        t = t.to(self.dtype)
        if self.channels_last:
            t = t.contiguous(memory_format=self._torch.channels_last)
        return t

    def _check(self, feeds: dict[str, np.ndarray]) -> list[np.ndarray]:
        missing = [n for n in self.input_names if n not in feeds]
        if missing:
            raise ValueError(f"torch backend: feeds lack {missing}; expected {self.input_names}")
        arrs = [np.asarray(feeds[n]) for n in self.input_names]
        c = self.config
        want = [(3, c.height, c.width), (c.pose_channels, c.height, c.width), (c.pose_channels, c.height, c.width)]
        for name, a, w in zip(self.input_names, arrs, want):
            if a.ndim != 4 or tuple(a.shape[1:]) != w:
                raise ValueError(f"torch backend: {name} must be (N,{w[0]},{w[1]},{w[2]}), got {a.shape}")
        return arrs

    def _run_graph(self, arrs: list[np.ndarray]):
        torch = self._torch
        shape = tuple(a.shape for a in arrs)
        if self._graph is None or shape != self._graph_shape:
            self._static_in = [self._prepare(a) for a in arrs]
            stream = torch.cuda.Stream()
            stream.wait_stream(torch.cuda.current_stream())
            with torch.cuda.stream(stream), torch.inference_mode():
                for _ in range(3):  # warm up (cuDNN autotuning) outside the capture
                    self.model(*self._static_in)
            torch.cuda.current_stream().wait_stream(stream)
            self._graph = torch.cuda.CUDAGraph()
            with torch.cuda.graph(self._graph), torch.inference_mode():
                self._static_out = self.model(*self._static_in)
            self._graph_shape = shape
        for dst, a in zip(self._static_in, arrs):
            dst.copy_(self._prepare(a))
        self._graph.replay()
        return self._static_out

    def infer(self, feeds: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        """Run the generator on float32 NCHW feeds named cond_image, cond_pose, target_pose."""
        arrs = self._check(feeds)
        with self._torch.inference_mode():
            if self.use_graphs:
                out = self._run_graph(arrs)
            else:
                out = self.model(*(self._prepare(a) for a in arrs))
            image = out.float().contiguous().cpu().numpy()  # .cpu() synchronises with the GPU
        return {"image": image}

    def close(self) -> None:
        self._graph = None
        self._static_in = self._static_out = None
        self.model = None


def create(request: BackendRequest) -> TorchBackend:
    """Registry factory (engines.backends.registry.BACKENDS["torch"])."""
    return TorchBackend(request)
