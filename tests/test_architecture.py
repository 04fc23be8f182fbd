"""HACKING.md's map, as code: the import rules between greeneio's rooms.

The graph is read from the source (``ast``): every ``import`` a module runs,
at module level or inside a function, except under ``if TYPE_CHECKING:``.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent / "greeneio"


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


MODULES = {_module_name(p): p for p in ROOT.rglob("*.py")}


def _is_type_checking(node: ast.If) -> bool:
    t = node.test
    return (isinstance(t, ast.Name) and t.id == "TYPE_CHECKING") or (
        isinstance(t, ast.Attribute) and t.attr == "TYPE_CHECKING"
    )


def _imports(name: str) -> set[str]:
    """The modules ``name`` imports (greeneio's own resolved to modules, others by top name)."""
    path = MODULES[name]
    tree = ast.parse(path.read_text(), str(path))
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found: set[str] = set()

    def visit(node: ast.AST) -> None:
        if isinstance(node, ast.If) and _is_type_checking(node):
            for child in node.orelse:
                visit(child)
            return
        if isinstance(node, ast.Import):
            found.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                base = ".".join(package.split(".")[: len(package.split(".")) - node.level + 1])
                base = f"{base}.{node.module}" if node.module else base
            for a in node.names:
                sub = f"{base}.{a.name}"
                found.add(sub if sub in MODULES else base)
        for child in ast.iter_child_nodes(node):
            visit(child)

    visit(tree)
    return found


GRAPH = {name: _imports(name) for name in MODULES}


def _edges_into(prefix: str) -> list[tuple[str, str]]:
    return [
        (src, dst)
        for src, dsts in GRAPH.items()
        for dst in dsts
        if dst == prefix or dst.startswith(prefix + ".")
    ]


def _in(name: str, *rooms: str) -> bool:
    return any(name == r or name.startswith(r + ".") for r in rooms)


def test_the_graph_is_read():
    assert "greeneio._core.switch" in GRAPH["greeneio._core.fiber"]
    assert "gevent" in {d.split(".")[0] for d in GRAPH["greeneio.gevent_backend._run"]}


def test_no_import_cycle():
    own = {n: {d for d in ds if d in MODULES and d != n} for n, ds in GRAPH.items()}
    state: dict[str, int] = {}
    stack: list[str] = []

    def dfs(n: str) -> None:
        state[n] = 1
        stack.append(n)
        for d in sorted(own[n]):
            if state.get(d) == 1:
                cycle = [*stack[stack.index(d) :], d]
                pytest.fail("import cycle: " + " -> ".join(cycle))
            if d not in state:
                dfs(d)
        stack.pop()
        state[n] = 2

    for n in sorted(own):
        if n not in state:
            dfs(n)


def test_only_greeneio_run_loads_the_gevent_backend():
    bad = [
        (src, dst)
        for src, dst in _edges_into("greeneio.gevent_backend")
        if not _in(src, "greeneio.gevent_backend") and src != "greeneio._run"
    ]
    assert bad == []


def test_only_the_runtime_modules_import_greenlet_or_gevent():
    allowed = ("greeneio._core._greenlet", "greeneio.gevent_backend", "greeneio.mock._backend")
    bad = [
        (src, dst)
        for lib in ("greenlet", "gevent")
        for src, dst in _edges_into(lib)
        if not _in(src, *allowed)
    ]
    assert bad == []


def test_the_core_knows_nothing_of_the_rest():
    bad = [
        (src, dst)
        for src, dsts in GRAPH.items()
        if _in(src, "greeneio._core")
        for dst in dsts
        if _in(dst, "greeneio") and not _in(dst, "greeneio._core")
    ]
    assert bad == []


def test_the_api_never_imports_the_mock_and_the_mock_never_imports_gevent():
    bad = [
        (src, dst)
        for src, dst in _edges_into("greeneio.mock")
        if not _in(src, "greeneio.mock", "greeneio.testing", "greeneio.pytest_plugin")
    ]
    assert bad == []


def test_greenlet_is_not_imported_outside_the_map(tmp_path):
    # The rules above read the source; this checks the running program agrees:
    # importing the mock backend must not load the gevent backend or gevent.
    import subprocess
    import sys

    code = (
        "import sys, greeneio, greeneio.mock\n"
        "loaded = [m for m in sys.modules if m.startswith(('greeneio.gevent_backend', 'gevent'))]\n"
        "print(sorted(loaded))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=30)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[]"


def test_greeneio_serve_uses_only_the_public_api():
    # Its own modules, and greeneio modules whose path has no _private segment.
    bad = [
        (src, dst)
        for src, dsts in GRAPH.items()
        if _in(src, "greeneio.serve")
        for dst in dsts
        if _in(dst, "greeneio")
        and not _in(dst, "greeneio.serve")
        and any(part.startswith("_") for part in dst.split(".")[1:])
    ]
    assert bad == []
