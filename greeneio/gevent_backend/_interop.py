"""Eio_unix.Net interop: wrap ``socket.socket`` objects, make socket pairs, get fds.

These make gevent-backend sockets directly (as Eio_unix does for its
backend); the ``Net`` facade re-exports them.
"""

from __future__ import annotations

import os
import socket
from typing import Any

from greeneio._core.switch import Switch
from greeneio.gevent_backend._errors import translate
from greeneio.gevent_backend._sockets import (
    DatagramSocket,
    ListeningSocket,
    RawSocket,
    StreamSocket,
)
from greeneio.interfaces import IFd

__all__ = [
    "fd",
    "import_socket_datagram",
    "import_socket_listening",
    "import_socket_stream",
    "legacy_socket",
    "socketpair_datagram",
    "socketpair_stream",
]


def _import(cls: Any, sock: object, sw: object, close_unix: object, fn: str) -> Any:
    if not isinstance(sw, Switch):
        raise TypeError(f"Net.{fn}: sw must be a Switch, not {sw!r}")
    if not isinstance(close_unix, bool):
        raise TypeError(f"Net.{fn}: close_unix must be a bool, not {close_unix!r}")
    fileno = getattr(sock, "fileno", None)
    if not callable(fileno):
        raise TypeError(f"Net.{fn}: sock must be a socket.socket (with fileno()), not {sock!r}")
    n = fileno()
    if not isinstance(n, int) or n < 0:
        raise ValueError(f"Net.{fn}: sock is closed (fileno() is {n!r})")
    sw.check()
    try:
        raw = RawSocket(fileno=n)
    except OSError as e:
        raise translate(e) from e
    wrapped = cls(raw, owner=sock, close_owner=close_unix)
    try:
        wrapped.attach(sw)
    except BaseException:
        wrapped.close()
        raise
    return wrapped


def import_socket_stream(
    sock: socket.socket, *, sw: Switch, close_unix: bool = True
) -> StreamSocket:
    """A stream flow over ``sock`` (a connected ``socket.socket``), released with ``sw``.

    The socket is made non-blocking. When released, ``sock`` is closed if
    ``close_unix`` (its ``fileno()`` becomes -1), else left open for the caller.
    """
    return _import(StreamSocket, sock, sw, close_unix, "import_socket_stream")  # type: ignore[no-any-return]


def import_socket_listening(
    sock: socket.socket, *, sw: Switch, close_unix: bool = True
) -> ListeningSocket:
    """A listening socket over ``sock`` (already bound and listening), released with ``sw``."""
    return _import(ListeningSocket, sock, sw, close_unix, "import_socket_listening")  # type: ignore[no-any-return]


def import_socket_datagram(
    sock: socket.socket, *, sw: Switch, close_unix: bool = True
) -> DatagramSocket:
    """A datagram socket over ``sock``, released with ``sw``."""
    return _import(DatagramSocket, sock, sw, close_unix, "import_socket_datagram")  # type: ignore[no-any-return]


def _pair(cls: Any, kind: int, sw: object, family: int, fn: str) -> tuple[Any, Any]:
    if not isinstance(sw, Switch):
        raise TypeError(f"Net.{fn}: sw must be a Switch, not {sw!r}")
    sw.check()
    try:
        a, b = socket.socketpair(family, kind)
    except OSError as e:
        raise translate(e) from e
    out = []
    try:
        for s in (a, b):
            raw = RawSocket(s.family, s.type, 0, fileno=s.detach())
            out.append(cls(raw))
        for w in out:
            w.attach(sw)
    except BaseException:
        for w in out:
            w.close()
        a.close()
        b.close()
        raise
    return out[0], out[1]


def socketpair_stream(
    *, sw: Switch, family: int = socket.AF_UNIX
) -> tuple[StreamSocket, StreamSocket]:
    """Two connected stream sockets, closed with ``sw``."""
    return _pair(StreamSocket, socket.SOCK_STREAM, sw, family, "socketpair_stream")


def socketpair_datagram(
    *, sw: Switch, family: int = socket.AF_UNIX
) -> tuple[DatagramSocket, DatagramSocket]:
    """Two connected datagram sockets, closed with ``sw``."""
    return _pair(DatagramSocket, socket.SOCK_DGRAM, sw, family, "socketpair_datagram")


def fd(sock: object) -> int:
    """The OS file descriptor of a greeneio socket (it keeps owning it)."""
    if not IFd.providedBy(sock):
        raise TypeError(f"Net.fd: sock must be a socket backed by a file descriptor, not {sock!r}")
    return sock.fileno()


def legacy_socket(sock: object) -> Any:
    """A cooperative ``gevent.socket.socket`` on a duplicate of ``sock``'s fd, for
    legacy code that wants a socket object. The caller closes it (the original
    stays owned by its switch). Works with and without monkey-patching."""
    import gevent.socket

    n = fd(sock)
    try:
        dup = os.dup(n)
    except OSError as e:
        raise translate(e) from e
    try:
        return gevent.socket.socket(fileno=dup)
    except BaseException:
        os.close(dup)
        raise
