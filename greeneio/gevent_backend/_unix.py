"""The gevent backend's ``IUnixNet`` and ``IFiles``: what Eio_unix gives
programs beyond ``env`` (wrapping ``socket.socket`` objects, socket pairs,
files), reached by the API through the running scheduler (``sched.unix``).

Arguments are checked by the API functions (``Net.import_socket_*``,
``Fs.open_in``); errors are translated through the one table in
``_errors.py``.
"""

from __future__ import annotations

import os
import socket
from typing import Any

from zope.interface import implementer

from greeneio._core.exn import add_context
from greeneio._core.switch import Switch
from greeneio.gevent_backend._errors import translate, translate_file
from greeneio.gevent_backend._files import FileSource
from greeneio.gevent_backend._sockets import (
    DatagramSocket,
    ListeningSocket,
    RawSocket,
    StreamSocket,
)
from greeneio.interfaces import IFiles, IUnixNet

__all__ = ["UnixNet"]

_KINDS: dict[str, Any] = {
    "stream": StreamSocket,
    "listening": ListeningSocket,
    "datagram": DatagramSocket,
}
_TYPES = {"stream": socket.SOCK_STREAM, "datagram": socket.SOCK_DGRAM}


@implementer(IUnixNet, IFiles)
class UnixNet:
    """OS sockets and files for the gevent backend."""

    __slots__ = ()

    def import_socket(self, kind: str, sock: Any, sw: Switch, close_unix: bool) -> Any:
        sw.check()
        try:
            raw = RawSocket(fileno=sock.fileno())
        except OSError as e:
            raise translate(e) from e
        wrapped = _KINDS[kind](raw, owner=sock, close_owner=close_unix)
        try:
            wrapped.attach(sw)
        except BaseException:
            wrapped.close()
            raise
        return wrapped

    def socketpair(self, kind: str, sw: Switch, family: int) -> tuple[Any, Any]:
        sw.check()
        try:
            a, b = socket.socketpair(family, _TYPES[kind])
        except OSError as e:
            raise translate(e) from e
        cls = _KINDS[kind]
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

    def legacy_socket(self, fd: int) -> Any:
        import gevent.socket

        try:
            dup = os.dup(fd)
        except OSError as e:
            raise translate(e) from e
        try:
            return gevent.socket.socket(fileno=dup)
        except BaseException:
            os.close(dup)
            raise

    def open_in(self, path: str, sw: Switch) -> FileSource:
        sw.check()
        try:
            fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
        except OSError as e:
            raise add_context(translate_file(e, path), f"opening {path}") from e
        f = FileSource(fd, path)
        try:
            f.attach(sw)
        except BaseException:
            f.close()
            raise
        return f

    def __repr__(self) -> str:
        return "<gevent unix>"
