"""Flows over the process's standard file descriptors.

Pipes, terminals and sockets are waited on cooperatively; regular files are
read and written directly (they never block for long). Each write after a
readiness wait is at most ``PIPE_BUF`` bytes on a blocking descriptor, so it
cannot stall the hub. These flows are not closed by greeneio. OS errors
come out as greeneio errors (``Net.ConnectionReset`` for a closed pipe, as
in Eio), with the stream's name in their context.
"""

from __future__ import annotations

import fcntl
import os
import stat

from gevent.socket import wait_read, wait_write
from zope.interface import implementer

from greeneio._core.exn import add_context
from greeneio._flows import Buffer, copy_via_buffer
from greeneio.gevent_backend._errors import translate
from greeneio.gevent_backend._sockets import IOV_MAX
from greeneio.interfaces import ISink, ISource

__all__ = ["FdSink", "FdSource"]

_PIPE_BUF = 4096


def _pollable(fd: int) -> bool:
    try:
        mode = os.fstat(fd).st_mode
    except OSError:
        return False
    return not (stat.S_ISREG(mode) or stat.S_ISDIR(mode))


def _nonblocking(fd: int) -> bool:
    try:
        return bool(fcntl.fcntl(fd, fcntl.F_GETFL) & os.O_NONBLOCK)
    except OSError:
        return False


@implementer(ISource)
class FdSource:
    """Reads from a file descriptor it does not own (e.g. stdin)."""

    __slots__ = ("_fd", "_pollable", "name")

    def __init__(self, fd: int, name: str) -> None:
        self._fd = fd
        self.name = name
        self._pollable = _pollable(fd)

    def single_read(self, buf: memoryview) -> int:
        fd = self._fd
        while True:
            try:
                if self._pollable:
                    wait_read(fd)
                data = os.read(fd, len(buf))
            except BlockingIOError:
                continue
            except OSError as e:
                raise add_context(translate(e), f"reading {self.name}") from e
            if not data:
                raise EOFError(f"end of {self.name}")
            n = len(data)
            buf[:n] = data
            return n

    def __repr__(self) -> str:
        return f"<{self.name}>"


@implementer(ISink)
class FdSink:
    """Writes to a file descriptor it does not own (e.g. stdout, stderr)."""

    __slots__ = ("_fd", "_pollable", "name")

    def __init__(self, fd: int, name: str) -> None:
        self._fd = fd
        self.name = name
        self._pollable = _pollable(fd)

    def single_write(self, bufs: list[Buffer]) -> int:
        try:
            return self._write(bufs[:IOV_MAX] if len(bufs) > IOV_MAX else bufs)
        except OSError as e:
            raise add_context(translate(e), f"writing to {self.name}") from e

    def _write(self, bufs: list[Buffer]) -> int:
        fd = self._fd
        if not bufs:
            return 0
        if not self._pollable:
            return os.writev(fd, bufs)
        while True:
            if _nonblocking(fd):
                try:
                    return os.writev(fd, bufs)
                except BlockingIOError:
                    wait_write(fd)
                    continue
            wait_write(fd)
            first = memoryview(bufs[0])[:_PIPE_BUF]
            return os.write(fd, first)

    def copy(self, src: object) -> None:
        copy_via_buffer(src, self)

    def __repr__(self) -> str:
        return f"<{self.name}>"
