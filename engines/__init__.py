"""repose engines: everything that turns (reference, target pose) into an image.

Importing this package needs none of the optional extras; renderers and backends import their
heavy dependencies (torch, onnxruntime, tensorrt, pycuda) only when they are created.
"""
from engines.renderer import RENDERERS, Renderer, create_renderer

__all__ = ["RENDERERS", "Renderer", "create_renderer"]
