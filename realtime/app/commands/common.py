"""Helpers the commands share: progress bars, output checks. Reading inputs: ``realtime.inputs``."""
from __future__ import annotations

import sys
from pathlib import Path

from realtime.errors import InputError


def output_suffix(path: str | Path, allowed: tuple[str, ...], what: str) -> str:
    ext = Path(path).suffix.lower()
    if ext not in allowed:
        raise InputError(f"{path}: {what} must end in {' or '.join(allowed)}")
    return ext


def progress(iterable, total: int | None, desc: str):
    """A tqdm bar on stderr (only on a terminal or with --progress, and not for short runs)."""
    from realtime.progress import bar

    return bar(iterable, total=total, desc=desc, unit="frame", min_total=30)
