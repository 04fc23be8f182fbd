"""Eio_unix.Net: ``socket.socket`` interop. The calls check their arguments
and reach the backend through the running scheduler's ``IUnixNet`` provider
(``sched.unix``), never by importing it."""

from __future__ import annotations

import socket
from typing import Any

from greeneio._core import _greenlet
from greeneio._core.args import bool_arg, instance_arg
from greeneio._core.switch import Switch
from greeneio.interfaces import IFd, IUnixNet

__all__ = [
    "fd",
    "import_socket_datagram",
    "import_socket_listening",
    "import_socket_stream",
    "socketpair_datagram",
    "socketpair_stream",
    "unix_provider",
]


def unix_provider(fn: str) -> Any:
    """The running backend's ``IUnixNet``; ``RuntimeError`` naming ``fn`` if it has none."""
    unix = _greenlet.current().sched.unix
    if not IUnixNet.providedBy(unix):
        raise RuntimeError(f"{fn}: this backend has no OS sockets (use greeneio.run)")
    return unix


def _import(kind: str, sock: object, sw: object, close_unix: object, fn: str) -> Any:
    instance_arg(sw, Switch, fn, "sw", "a Switch")
    bool_arg(close_unix, fn, "close_unix")
    fileno = getattr(sock, "fileno", None)
    if not callable(fileno):
        raise TypeError(f"{fn}: sock must be a socket.socket (with fileno()), not {sock!r}")
    n = fileno()
    if not isinstance(n, int) or n < 0:
        raise ValueError(f"{fn}: sock is closed (fileno() is {n!r})")
    return unix_provider(fn).import_socket(kind, sock, sw, close_unix)


def import_socket_stream(sock: socket.socket, *, sw: Switch, close_unix: bool = True) -> Any:
    """A stream flow over ``sock`` (a connected ``socket.socket``), released with ``sw``.

    The socket is made non-blocking. When released, ``sock`` is closed if
    ``close_unix`` (its ``fileno()`` becomes -1), else left open for the caller.
    """
    return _import("stream", sock, sw, close_unix, "Net.import_socket_stream")


def import_socket_listening(sock: socket.socket, *, sw: Switch, close_unix: bool = True) -> Any:
    """A listening socket over ``sock`` (already bound and listening), released with ``sw``."""
    return _import("listening", sock, sw, close_unix, "Net.import_socket_listening")


def import_socket_datagram(sock: socket.socket, *, sw: Switch, close_unix: bool = True) -> Any:
    """A datagram socket over ``sock``, released with ``sw``."""
    return _import("datagram", sock, sw, close_unix, "Net.import_socket_datagram")


def _pair(kind: str, sw: object, family: object, fn: str) -> tuple[Any, Any]:
    instance_arg(sw, Switch, fn, "sw", "a Switch")
    if isinstance(family, bool) or not isinstance(family, int):
        raise TypeError(f"{fn}: family must be a socket.AF_* constant, not {family!r}")
    return unix_provider(fn).socketpair(kind, sw, family)  # type: ignore[no-any-return]


def socketpair_stream(*, sw: Switch, family: int = socket.AF_UNIX) -> tuple[Any, Any]:
    """Two connected stream sockets, closed with ``sw``."""
    return _pair("stream", sw, family, "Net.socketpair_stream")


def socketpair_datagram(*, sw: Switch, family: int = socket.AF_UNIX) -> tuple[Any, Any]:
    """Two connected datagram sockets, closed with ``sw``."""
    return _pair("datagram", sw, family, "Net.socketpair_datagram")


def fd(sock: object) -> int:
    """The OS file descriptor of a greeneio socket (it keeps owning it)."""
    if not IFd.providedBy(sock):
        raise TypeError(f"Net.fd: sock must be a socket backed by a file descriptor, not {sock!r}")
    return sock.fileno()  # type: ignore[no-any-return]
