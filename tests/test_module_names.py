"""Modules looked up by name (the name registries, the scripts' imports) exist in this checkout, so a
module move that forgets one fails here, loudly, instead of a script reporting "not measured"."""
from __future__ import annotations

import ast
import importlib.util
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PROJECT = ("realtime", "engines", "calibration")


def _module_file(name: str) -> Path:
    spec = importlib.util.find_spec(name)
    assert spec is not None and spec.origin, f"module {name} is not in this checkout"
    return Path(spec.origin)


def _defines(path: Path, attr: str) -> bool:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names = {n.name for n in tree.body if isinstance(n, (ast.FunctionDef, ast.ClassDef))}
    names |= {t.id for n in tree.body if isinstance(n, ast.Assign) for t in n.targets if isinstance(t, ast.Name)}
    return attr in names


def _registries() -> list[tuple[str, str]]:
    from engines.backends.registry import BACKENDS
    from engines.renderer import RENDERERS
    from realtime.app.cli import COMMANDS
    from realtime.sinks import SINKS

    out = [(f"renderer {k}", v) for k, v in RENDERERS.items()] + [(f"backend {k}", v) for k, v in BACKENDS.items()]
    out += [(f"sink {k}", v) for k, v in SINKS.items()]
    out += [(f"command {k}", f"{module}:run") for k, (module, _) in COMMANDS.items()]
    return out


@pytest.mark.parametrize("what, entry", _registries())
def test_registry_entries_exist(what, entry):
    module, _, attr = entry.partition(":")
    assert _defines(_module_file(module), attr), f"{what}: {module} defines no {attr}"


def _script_imports() -> list[tuple[str, str]]:
    found = []
    for path in sorted((ROOT / "scripts").glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names = []
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                names = [node.module]
            found += [(path.name, n) for n in names if n.split(".")[0] in PROJECT]
    return sorted(set(found))


def test_scripts_import_modules_that_exist():
    missing = [f"{script}: {name}" for script, name in _script_imports() if importlib.util.find_spec(name) is None]
    assert _script_imports() and missing == []


def test_scripts_do_not_probe_for_project_modules():
    """A project module is imported (an ImportError names it), never probed for and skipped."""
    for path in sorted((ROOT / "scripts").glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Call) and getattr(node.func, "attr", None) == "find_spec" and node.args:
                arg = node.args[0]
                name = arg.value if isinstance(arg, ast.Constant) else ""
                assert str(name).split(".")[0] not in PROJECT, f"{path.name} probes for {name}"
