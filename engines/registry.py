"""Name -> "module:attribute" registries, imported lazily so optional extras stay optional."""
from __future__ import annotations

import importlib
from typing import Any


def load_entry(spec: str) -> Any:
    """Import ``"package.module:attr"`` and return the attribute."""
    module, _, attr = spec.partition(":")
    return getattr(importlib.import_module(module), attr)
