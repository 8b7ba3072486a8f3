"""Progress bars: on stderr only when stderr is a terminal (or ``repose --progress`` forces them).

Every long loop (commands, training data, training, coach, the TensorRT build) takes its bar from
``bar()``, so logs and pipes never fill with carriage-return lines.
"""
from __future__ import annotations

import sys
from typing import Any

_forced: bool | None = None


def force(on: bool | None) -> None:
    """True: always show bars; False: never; None: only on a terminal (default)."""
    global _forced
    _forced = on


def enabled() -> bool:
    if _forced is not None:
        return _forced
    try:
        return sys.stderr.isatty()
    except (AttributeError, ValueError):
        return False


def bar(iterable: Any = None, total: int | None = None, desc: str = "", unit: str = "frame",
        min_total: int = 0, show: bool = True, **kw: Any):
    """A tqdm bar on stderr, disabled unless ``show`` and ``enabled()`` (and ``total`` > ``min_total``)."""
    from tqdm import tqdm

    off = not show or not enabled() or (total is not None and total <= min_total)
    kw.setdefault("leave", False)
    return tqdm(iterable, total=total, desc=desc, unit=unit, file=sys.stderr, disable=off, **kw)
