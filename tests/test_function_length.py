"""No function in the packages is longer than a screen and a half (80 lines): a long function is a
set of steps that want names. Scripts and tests are not held to it."""
from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("realtime", "engines", "calibration")
MAX_LINES = 80


def long_functions(root: Path = ROOT, packages=PACKAGES, limit: int = MAX_LINES) -> list[str]:
    """'path:line name (N lines)' for every function or method longer than ``limit`` lines."""
    found = []
    for package in packages:
        for path in sorted((root / package).rglob("*.py")):
            tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
            for node in ast.walk(tree):
                if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                    first = min([node.lineno] + [d.lineno for d in node.decorator_list])
                    n = node.end_lineno - first + 1
                    if n > limit:
                        found.append(f"{path.relative_to(root)}:{node.lineno} {node.name} ({n} lines)")
    return found


def test_no_function_over_80_lines():
    assert long_functions() == [], "split these into named steps"


def test_the_check_sees_a_long_function(tmp_path):
    pkg = tmp_path / "realtime"
    pkg.mkdir()
    body = "\n".join(f"    x{i} = {i}" for i in range(MAX_LINES))
    (pkg / "m.py").write_text(f"def short():\n    return 1\n\n\ndef long():\n{body}\n")
    assert long_functions(tmp_path, ("realtime",)) == [f"realtime/m.py:5 long ({MAX_LINES + 1} lines)"]
