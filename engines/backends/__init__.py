"""Inference backends behind one interface, ``infer(feeds) -> outputs``.

registry (protocol, errors, ``auto``), torch_backend, onnxruntime_backend, tensorrt_backend with
tensorrt_build, cuda_buffers, and the model cache. Heavy packages are imported only on creation.
"""
