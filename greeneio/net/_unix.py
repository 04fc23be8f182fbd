"""Eio_unix.Net: ``socket.socket`` interop. The calls check their arguments
and reach the backend through the running scheduler's ``IUnixNet`` provider
(``sched.unix``), never by importing it."""

from __future__ import annotations

import socket
from typing import Literal, Protocol, overload

from greeneio._core import _greenlet
from greeneio._core.args import bool_arg, instance_arg
from greeneio._core.switch import Switch
from greeneio.interfaces import IFd, IUnixNet
from greeneio.protocols import DatagramSocket, ListeningSocket, StreamSocket

__all__ = [
    "fd",
    "import_socket_datagram",
    "import_socket_listening",
    "import_socket_stream",
    "socketpair_datagram",
    "socketpair_stream",
    "unix_provider",
]


class UnixNetProvider(Protocol):
    """The static side of ``IUnixNet``: each socket kind gives its socket type."""

    @overload
    def import_socket(
        self, kind: Literal["stream"], sock: socket.socket, sw: Switch, close_unix: bool, /
    ) -> StreamSocket: ...
    @overload
    def import_socket(
        self, kind: Literal["listening"], sock: socket.socket, sw: Switch, close_unix: bool, /
    ) -> ListeningSocket: ...
    @overload
    def import_socket(
        self, kind: Literal["datagram"], sock: socket.socket, sw: Switch, close_unix: bool, /
    ) -> DatagramSocket: ...
    @overload
    def socketpair(
        self, kind: Literal["stream"], sw: Switch, family: int, /
    ) -> tuple[StreamSocket, StreamSocket]: ...
    @overload
    def socketpair(
        self, kind: Literal["datagram"], sw: Switch, family: int, /
    ) -> tuple[DatagramSocket, DatagramSocket]: ...
    def legacy_socket(self, fd: int, /) -> socket.socket:
        """A cooperative blocking-style socket on a duplicate of ``fd``."""
        ...


def unix_provider(fn: str) -> UnixNetProvider:
    """The running backend's ``IUnixNet``; ``RuntimeError`` naming ``fn`` if it has none."""
    unix: UnixNetProvider = _greenlet.current().sched.unix
    if not IUnixNet.providedBy(unix):
        raise RuntimeError(f"{fn}: this backend has no OS sockets (use greeneio.run)")
    return unix


def _import_provider(sock: object, sw: object, close_unix: object, fn: str) -> UnixNetProvider:
    """Check ``import_socket_*``'s arguments; the provider to import ``sock`` with."""
    instance_arg(sw, Switch, fn, "sw", "a Switch")
    bool_arg(close_unix, fn, "close_unix")
    fileno = getattr(sock, "fileno", None)
    if not callable(fileno):
        raise TypeError(f"{fn}: sock must be a socket.socket (with fileno()), not {sock!r}")
    n = fileno()
    if not isinstance(n, int) or n < 0:
        raise ValueError(f"{fn}: sock is closed (fileno() is {n!r})")
    return unix_provider(fn)


def import_socket_stream(
    sock: socket.socket, *, sw: Switch, close_unix: bool = True
) -> StreamSocket:
    """A stream flow over ``sock`` (a connected ``socket.socket``), released with ``sw``.

    The socket is made non-blocking. When released, ``sock`` is closed if
    ``close_unix`` (its ``fileno()`` becomes -1), else left open for the caller.
    """
    unix = _import_provider(sock, sw, close_unix, "Net.import_socket_stream")
    return unix.import_socket("stream", sock, sw, close_unix)


def import_socket_listening(
    sock: socket.socket, *, sw: Switch, close_unix: bool = True
) -> ListeningSocket:
    """A listening socket over ``sock`` (already bound and listening), released with ``sw``."""
    unix = _import_provider(sock, sw, close_unix, "Net.import_socket_listening")
    return unix.import_socket("listening", sock, sw, close_unix)


def import_socket_datagram(
    sock: socket.socket, *, sw: Switch, close_unix: bool = True
) -> DatagramSocket:
    """A datagram socket over ``sock``, released with ``sw``."""
    unix = _import_provider(sock, sw, close_unix, "Net.import_socket_datagram")
    return unix.import_socket("datagram", sock, sw, close_unix)


def _pair_provider(sw: object, family: object, fn: str) -> UnixNetProvider:
    """Check ``socketpair_*``'s arguments; the provider to make the pair with."""
    instance_arg(sw, Switch, fn, "sw", "a Switch")
    if isinstance(family, bool) or not isinstance(family, int):
        raise TypeError(f"{fn}: family must be a socket.AF_* constant, not {family!r}")
    return unix_provider(fn)


def socketpair_stream(
    *, sw: Switch, family: int = socket.AF_UNIX
) -> tuple[StreamSocket, StreamSocket]:
    """Two connected stream sockets, closed with ``sw``."""
    return _pair_provider(sw, family, "Net.socketpair_stream").socketpair("stream", sw, family)


def socketpair_datagram(
    *, sw: Switch, family: int = socket.AF_UNIX
) -> tuple[DatagramSocket, DatagramSocket]:
    """Two connected datagram sockets, closed with ``sw``."""
    return _pair_provider(sw, family, "Net.socketpair_datagram").socketpair("datagram", sw, family)


def fd(sock: object) -> int:
    """The OS file descriptor of a greeneio socket (it keeps owning it): any
    socket of the gevent backend, or another ``IFd`` provider. ``TypeError``
    for anything else."""
    if not IFd.providedBy(sock):
        raise TypeError(f"Net.fd: sock must be a socket backed by a file descriptor, not {sock!r}")
    return sock.fileno()
