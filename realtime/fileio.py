"""Writing output files: kept for its callers; the one implementation is ``realtime.outputs``."""
from __future__ import annotations

from realtime.outputs import atomic_path, default_file_mode, write_image, write_json

__all__ = ["atomic_path", "default_file_mode", "write_image", "write_json"]
