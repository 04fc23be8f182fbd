"""gunicorn's request corpus (requests/, vendored from benoitc/gunicorn, MIT):
loading it as gunicorn's tests/treq.py does, without gunicorn.

Each ``NAME.http`` holds a request written with visible escapes (``\\r\\n``,
``\\t``, ``\\0``, ``\\xHH``; real newlines are only layout); each
``NAME.expect`` (gunicorn's ``NAME.py``, renamed so that linters leave it alone)
says what gunicorn expects: ``request`` is the parsed request (a dict, or a
list of them for pipelined requests) for ``valid/``, or the exception class
for ``invalid/``, and ``cfg.set(...)`` calls name the non-default options
the case needs. The ``.expect`` files are read with ``ast`` and run with stand-ins
for gunicorn's names (``uri``, ``Config``, the error classes as strings).
"""

from __future__ import annotations

import ast
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

HERE = Path(__file__).parent / "requests"


def load_http(path: Path) -> bytes:
    """The request bytes of a ``.http`` file (treq.py's unescaping)."""
    data = path.read_bytes()
    data = data.replace(b"\n", b"").replace(b"\\r\\n", b"\r\n")
    data = data.replace(b"\\0", b"\0").replace(b"\\n", b"\n").replace(b"\\t", b"\t")
    out = bytearray()
    i = 0
    while i < len(data):
        if i + 3 < len(data) and data[i : i + 2] == b"\\x":
            try:
                out.append(int(data[i + 2 : i + 4], 16))
                i += 4
                continue
            except ValueError:
                pass
        out.append(data[i])
        i += 1
    assert b"\\" not in out, f"{path}: an escape treq.py does not handle"
    return bytes(out)


class _Config:
    def __init__(self) -> None:
        self.settings: dict[str, Any] = {}

    def set(self, name: str, value: Any) -> None:
        self.settings[name] = value


@dataclass
class Case:
    kind: str  # "valid" or "invalid"
    name: str
    data: bytes
    expect: Any  # list of request dicts (valid), or the error class name (invalid)
    options: dict[str, Any] = field(default_factory=dict)  # gunicorn's non-default options


def load_case(kind: str, name: str) -> Case:
    base = HERE / kind / name
    tree = ast.parse(base.with_suffix(".expect").read_text(), str(base))
    ns: dict[str, Any] = {"uri": lambda raw: raw, "cfg": _Config()}
    body = []
    for node in tree.body:
        if isinstance(node, ast.ImportFrom):
            for a in node.names:
                ns[a.asname or a.name] = _Config if a.name == "Config" else a.name
        elif not isinstance(node, ast.Import):
            body.append(node)
    exec(compile(ast.Module(body=body, type_ignores=[]), str(base), "exec"), ns)
    expect = ns["request"]
    if kind == "valid" and not isinstance(expect, list):
        expect = [expect]
    return Case(kind, name, load_http(base.with_suffix(".http")), expect, ns["cfg"].settings)


def names(kind: str) -> list[str]:
    return sorted(p.stem for p in (HERE / kind).glob("*.http"))
