"""No import cycle between metarl's modules, and every module imports on its own."""

import ast
import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

import metarl

ROOT = Path(metarl.__file__).parent
# Modules that need an extra which this environment may lack: (module prefix, extra's module).
EXTRAS = {"metarl.envs.metaworld": "metaworld", "metarl.envs.mujoco": "mujoco"}


def _module_name(path: Path) -> str:
    parts = path.relative_to(ROOT.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {_module_name(path): path for path in sorted(ROOT.rglob("*.py"))}


def _module_level_imports(path: Path) -> set[str]:
    """The metarl modules ``path`` imports when it is executed (not in functions, not under
    ``if TYPE_CHECKING``)."""
    name = _module_name(path)
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found: set[str] = set()

    def visit(nodes: list[ast.stmt]) -> None:
        for node in nodes:
            if isinstance(node, ast.Import):
                found.update(alias.name for alias in node.names)
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    base = ".".join(package.split(".")[: len(package.split(".")) - node.level + 1])
                    base = f"{base}.{node.module}" if node.module else base
                found.add(base)
                found.update(f"{base}.{alias.name}" for alias in node.names)
            elif isinstance(node, ast.If):
                if "TYPE_CHECKING" not in ast.unparse(node.test):
                    visit(node.body)
                    visit(node.orelse)
            elif isinstance(node, ast.Try):
                visit(node.body)
                for handler in node.handlers:
                    visit(handler.body)

    visit(ast.parse(path.read_text()).body)
    targets = set()
    for imported in found:
        parts = imported.split(".")
        for end in range(1, len(parts) + 1):  # importing a.b.c runs a, a.b and a.b.c
            module = ".".join(parts[:end])
            is_ancestor = name == module or name.startswith(module + ".")
            if module in MODULES and not is_ancestor:  # an ancestor is already initialising
                targets.add(module)
    return targets


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components with more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    components = []

    def connect(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        for target in graph[node]:
            if target not in index:
                connect(target)
                low[node] = min(low[node], low[target])
            elif target in stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                components.append(sorted(component))

    for node in graph:
        if node not in index:
            connect(node)
    return components


def test_no_module_level_import_cycle():
    graph = {name: _module_level_imports(path) for name, path in MODULES.items()}
    assert sum(len(targets) for targets in graph.values()) > 100  # the parser sees the imports
    assert _cycles(graph) == []
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": set()}) == [["a", "b", "c"]]


# Imports the third-party libraries once, then forks one child per module that imports that
# module first of all of metarl: cheap, and as strict as a fresh interpreter per module.
DRIVER = """
import importlib, json, os, sys, traceback
import gymnasium, matplotlib, numpy, stable_baselines3, torch, yaml
assert not [m for m in sys.modules if m.split(".")[0] == "metarl"]
failures = {}
for module in sys.argv[1:]:
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.close(read)
        try:
            importlib.import_module(module)
        except BaseException:
            os.write(write, traceback.format_exc()[-1500:].encode())
            os._exit(1)
        os._exit(0)
    os.close(write)
    with os.fdopen(read) as pipe:
        message = pipe.read()
    if os.waitpid(pid, 0)[1] != 0:
        failures[module] = message
print(json.dumps(failures))
"""


def _needs_absent_extra(module: str) -> bool:
    extra = next((extra for prefix, extra in EXTRAS.items() if module.startswith(prefix)), None)
    return extra is not None and importlib.util.find_spec(extra) is None


@pytest.mark.skipif(not hasattr(os, "fork"), reason="the driver forks a child per module")
def test_every_module_imports_first_in_a_fresh_interpreter():
    """Each module is the first metarl module its process imports (a cycle that only some import
    orders survive fails here)."""
    modules = [m for m in MODULES if not _needs_absent_extra(m)]
    done = subprocess.run(
        [sys.executable, "-c", DRIVER, *modules], capture_output=True, text=True, timeout=600
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert len(modules) > 50
    assert json.loads(done.stdout.splitlines()[-1]) == {}
