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
import sys

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
    """Writes to a file descriptor it does not own (e.g. stdout, stderr).

    On descriptors 1 and 2, what ``print`` left in ``sys.stdout`` or
    ``sys.stderr``'s buffer (a pipe or a file is block-buffered) is flushed
    first, so the two kinds of output come out in the order they were made.
    """

    __slots__ = ("_fd", "_pollable", "name")

    def __init__(self, fd: int, name: str) -> None:
        self._fd = fd
        self.name = name
        self._pollable = _pollable(fd)

    def single_write(self, bufs: list[Buffer]) -> int:
        if self._fd == 1 or self._fd == 2:
            _flush_python_stream(self._fd)
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


def _flush_python_stream(fd: int) -> None:
    """Flush ``sys.stdout`` (fd 1) or ``sys.stderr`` (fd 2) if it writes to ``fd``
    (not a capture that has replaced it, nor a closed or missing stream)."""
    stream = sys.stdout if fd == 1 else sys.stderr
    if stream is None:  # no console (pythonw), or set to None
        return
    try:
        if stream.fileno() != fd:
            return
        stream.flush()
    except (OSError, ValueError, AttributeError):
        pass  # closed, detached, or not a file: nothing of ours to order
