"""Static typing of the public API (issue 12).

:func:`count_any_in_public_signatures` counts ``Any`` in the signatures of
every public callable reachable from the facades, and the count may only go
down. A user-style program is type-checked with mypy: what ``Net.connect``
and friends return are the ``greeneio.protocols`` types, and a wrong
annotation in user code is an error.
"""

from __future__ import annotations

import ast
import importlib
import inspect
import re
import subprocess
import sys
import textwrap
import types
import typing
from pathlib import Path

import mypy.api as api

from greeneio import Net
from greeneio.net import _api

ROOT = Path(__file__).resolve().parent.parent

# The public modules among ``greeneio.__all__`` whose ``__all__`` is walked too.
FACADE_MODULES = (
    "Net",
    "Flow",
    "Time",
    "Fs",
    "Fiber",
    "Cancel",
    "Exn",
    "Buf_read",
    "Buf_write",
    "Domain_manager",
    "Signal",
)

# ``Any`` in public signatures, counted by count_any_in_public_signatures():
#   58ac0a4 (before issue 12):                     68
#   core before the protocols (more API since):   80
#   with greeneio.protocols in the signatures:    22
#   and in Flow's:                                  9
# The 9 left: Fiber's ``*args: Any`` and ``get`` (4), Promise.create and
# resolve_error (3), Switch.with_op/with_daemon's ``*args`` (2).
MAX_ANY = 9

_ANY_WORD = re.compile(r"\bAny\b")


def _count_any(t: object) -> int:
    """How many times ``typing.Any`` occurs in the annotation ``t``."""
    if t is typing.Any:
        return 1
    if isinstance(t, str):
        return len(_ANY_WORD.findall(t))
    if isinstance(t, typing.ForwardRef):
        return len(_ANY_WORD.findall(t.__forward_arg__))
    if isinstance(t, list | tuple):
        return sum(_count_any(x) for x in t)
    return sum(_count_any(a) for a in typing.get_args(t))


def _hints(fn: object) -> dict[str, object]:
    """``fn``'s annotations, resolved with ``typing.get_type_hints`` where that
    works, else the raw ``__annotations__`` (strings)."""
    try:
        return dict(typing.get_type_hints(fn))
    except Exception:  # a name only imported under TYPE_CHECKING, say
        return dict(getattr(fn, "__annotations__", {}) or {})


def _signature_any(fn: typing.Callable[..., object]) -> int:
    """``Any`` in the parameters and return of ``fn``: of its overloads, if it
    has some (they are what callers see), else of ``fn`` itself."""
    variants = typing.get_overloads(fn) or [fn]
    return sum(_count_any(t) for v in variants for t in _hints(v).values())


def _is_ours(obj: object) -> bool:
    return str(getattr(obj, "__module__", "") or "").startswith("greeneio")


def _unwrap(member: object) -> object:
    if isinstance(member, staticmethod | classmethod):
        return member.__func__
    if isinstance(member, property):
        return member.fget
    return member


def count_any_in_public_signatures(pkg: str = "greeneio") -> tuple[int, dict[str, int]]:
    """``(total, {qualified name: count})`` of ``Any`` in public signatures.

    The walk starts at ``greeneio.__all__``; for each module among
    :data:`FACADE_MODULES` (and the modules they export, like ``Net.Sockaddr``)
    it follows that module's ``__all__``. Functions count their parameters and
    return (their overloads' if any); classes count their public methods (and
    ``__init__``), static and class methods and property getters, and nested
    classes, along their greeneio base classes; public instances
    (``Buf_read.BE``) count the functions they hold. Each function is counted
    once, under its first name.
    """
    root = importlib.import_module(pkg)
    counts: dict[str, int] = {}
    seen: set[int] = set()

    def visit(name: str, obj: object) -> None:
        if id(obj) in seen:
            return
        seen.add(id(obj))
        if isinstance(obj, types.ModuleType):
            for attr in getattr(obj, "__all__", ()):
                if hasattr(obj, attr):
                    visit(f"{name}.{attr}", getattr(obj, attr))
        elif inspect.isclass(obj):
            if not _is_ours(obj):
                return
            for klass in obj.__mro__:
                if not _is_ours(klass):
                    continue
                for attr, member in vars(klass).items():
                    if attr.startswith("_") and attr != "__init__":
                        continue
                    member = _unwrap(member)
                    if inspect.isfunction(member) or inspect.isclass(member):
                        visit(f"{name}.{attr}", member)
        elif inspect.isfunction(obj):
            counts[name] = _signature_any(obj)
        elif _is_ours(type(obj)):  # a public instance: Buf_read.BE, Flow.null...
            for attr, member in getattr(obj, "__dict__", {}).items():
                if not attr.startswith("_") and inspect.isfunction(member):
                    visit(f"{name}.{attr}", member)

    for top in root.__all__:
        obj = getattr(root, top)
        if isinstance(obj, types.ModuleType) and top not in FACADE_MODULES:
            continue
        visit(f"{pkg}.{top}", obj)
    return sum(counts.values()), counts


def test_any_in_public_signatures_does_not_creep_back():
    total, counts = count_any_in_public_signatures()
    worst = sorted(((n, k) for k, n in counts.items() if n), reverse=True)
    assert total <= MAX_ANY, f"{total} Any in public signatures (max {MAX_ANY}): {worst}"


def test_the_counter_counts_nested_any_strings_and_overloads():
    assert _count_any(typing.Any) == 1
    assert _count_any(tuple[typing.Any, int, list[typing.Any]]) == 2
    assert _count_any(typing.Callable[[typing.Any], typing.Any]) == 2
    assert _count_any("tuple[Any, Any] | AnyStr") == 2
    assert _count_any(typing.Callable[..., object]) == 0
    _total, counts = count_any_in_public_signatures()
    assert counts["greeneio.Net.connect"] == 0
    assert "greeneio.Net.Sockaddr.parse" in counts  # modules exported by a facade
    assert "greeneio.Buf_read.Reader.__init__" in counts  # classes' methods
    assert len(typing.get_overloads(Net.getsockopt)) > 1


def test_getsockopt_overloads_match_the_sockopt_table():
    """Each option is in exactly one typed overload, whose return type is its kind's."""
    by_kind = {
        "bool": bool,
        "int": int,
        "optint": int | None,
        "float": float,
        "str": str,
        "mtu": str,
        "pair": tuple[int, int],
    }
    typed: dict[Net.Sockopt, object] = {}
    for variant in typing.get_overloads(Net.getsockopt):
        hints = typing.get_type_hints(variant, globalns=vars(_api))
        if typing.get_origin(hints["opt"]) is not typing.Literal:
            continue  # the fallback: any Sockopt or name
        for opt in typing.get_args(hints["opt"]):
            assert opt not in typed, f"{opt} in two overloads"
            typed[opt] = hints["return"]
    assert set(typed) == set(Net.Sockopt)
    for opt, returned in typed.items():
        assert returned == by_kind[opt.kind], (opt, returned)


def test_protocols_load_no_backend():
    code = (
        "import sys\n"
        "import greeneio.protocols\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] == 'gevent'"
        " or m.startswith('greeneio.gevent_backend')))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=30)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[]"


def test_protocols_import_only_the_stdlib_at_run_time():
    """greeneio names in greeneio/protocols.py are for type checkers only
    (under ``TYPE_CHECKING``), so any module may import it without a cycle."""
    tree = ast.parse((ROOT / "greeneio" / "protocols.py").read_text())
    imported = []
    for node in tree.body:  # top level only: the TYPE_CHECKING block is an `if`
        if isinstance(node, ast.Import):
            imported += [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            imported.append(node.module or "")
    assert "typing" in imported
    assert [m for m in imported if m.split(".")[0] not in sys.stdlib_module_names] == []


# -- a user's program, type-checked --------------------------------------------------

USER_PROGRAM = """
    from __future__ import annotations

    import socket

    import greeneio
    import greeneio.mock
    from greeneio import Buf_read, Buf_write, Domain_manager, Flow, Fs, Net, Promise, Switch, Time
    from greeneio.protocols import (
        DatagramSocket,
        Env,
        FdResource,
        FileSource,
        ListeningSocket,
        StreamSocket,
    )

    ADDR = Net.Sockaddr.Tcp(Net.Ipaddr.V4.loopback, 8080)


    def main(env: Env) -> int:
        with Switch() as sw:
            conn: StreamSocket = Net.connect(env.net, ADDR, sw=sw)
            with Net.connect(env.net, ADDR, sw=sw, options=[(Net.Sockopt.TCP_NODELAY, True)]) as c:
                Flow.copy_string("hi", c)
            listening: ListeningSocket = Net.listen(env.net, ADDR, sw=sw, backlog=5)
            client, peer = Net.accept(listening, sw=sw)
            accepted: StreamSocket = client
            where: Net.Sockaddr.Tcp | Net.Sockaddr.Unix = peer
            dgram: DatagramSocket = Net.datagram_socket(env.net, Net.Sockaddr.UdpV4, sw=sw)
            sender, n = Net.recv(dgram, bytearray(10))
            rcvbuf: int = Net.getsockopt(conn, Net.Sockopt.SO_RCVBUF)
            nodelay: bool = Net.getsockopt(conn, Net.Sockopt.TCP_NODELAY)
            linger: int | None = Net.getsockopt(conn, Net.Sockopt.SO_LINGER)
            f: FileSource = Fs.open_in("/etc/hostname", sw=sw)
            Flow.copy(f, conn)
            line: bytes = Buf_read.of_flow(conn, max_size=100).line()
            Buf_write.with_flow(env.stdout, lambda w: w.string("x"))
            now: float = Time.now(env.mono_clock)
            Time.sleep(env.clock, 0.1)
            one: int = Domain_manager.run(env.domain_mgr, lambda: 1)
            a, b = Net.socketpair_stream(sw=sw)
            pair: tuple[StreamSocket, StreamSocket] = (a, b)
            imported: StreamSocket = Net.import_socket_stream(socket.socket(), sw=sw)
            _, _, fds = Net.recv_msg_with_fds(a, bytearray(1), sw=sw, max_fds=1)
            received: list[FdResource] = fds
            got: str = Net.with_tcp_connect(env.net, lambda c: "x", host="h", service="80")
            stop: Promise[str] = Promise.create_resolved("done")
            served: str = Net.run_server(listening, lambda fl, ad: None, on_error=print, stop=stop)
        return len(line)


    result: int = greeneio.run(main)


    def with_the_mock() -> None:
        net = greeneio.mock.Net.make("net")
        with Switch() as sw:
            conn: StreamSocket = Net.connect(net, ADDR, sw=sw)
        Time.sleep(greeneio.mock.Clock(), 1)
"""

USER_MISTAKES = """
    from greeneio import Net, Switch, Time
    from greeneio.protocols import Env

    ADDR = Net.Sockaddr.Tcp(Net.Ipaddr.V4.loopback, 8080)


    def main(env: Env) -> None:
        with Switch() as sw:
            wrong: int = Net.connect(env.net, ADDR, sw=sw)  # E: assignment
            Time.sleep(env.net, 1)  # E: arg-type
            Net.accept(Net.connect(env.net, ADDR, sw=sw), sw=sw)  # E: arg-type
"""


def test_mypy_sees_the_protocol_types_in_user_code(tmp_path, monkeypatch):
    mistakes = textwrap.dedent(USER_MISTAKES)
    (tmp_path / "good.py").write_text(textwrap.dedent(USER_PROGRAM))
    (tmp_path / "bad.py").write_text(mistakes)
    expected = [
        (i, line.rsplit("# E: ", 1)[1])
        for i, line in enumerate(mistakes.splitlines(), 1)
        if "# E: " in line
    ]
    monkeypatch.setenv("MYPYPATH", str(ROOT))  # this checkout's greeneio, not an installed one
    monkeypatch.chdir(tmp_path)
    stdout, stderr, _status = api.run(
        [
            "--config-file",
            str(ROOT / "pyproject.toml"),  # strict, with the mypy-zope plugin
            "--cache-dir",
            str(tmp_path / "cache"),
            "--follow-imports=silent",
            "--no-error-summary",
            "good.py",
            "bad.py",
        ]
    )
    errors = [line for line in stdout.splitlines() if ": error:" in line]
    assert not [e for e in errors if not e.startswith("bad.py:")], stdout + stderr
    found = sorted((int(e.split(":")[1]), e.rsplit("[", 1)[-1].rstrip("]")) for e in errors)
    assert found == expected, stdout + stderr
    assert 'expression has type "StreamSocket", variable has type "int"' in stdout


if __name__ == "__main__":  # PYTHONPATH=<checkout> python tests/test_typing.py
    total, counts = count_any_in_public_signatures()
    for name, n in sorted(counts.items()):
        if n:
            print(f"{n:3}  {name}")
    print("total", total)
