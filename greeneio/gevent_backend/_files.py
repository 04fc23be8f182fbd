"""Regular files opened for reading (``Fs.open_in`` on the gevent backend)."""

from __future__ import annotations

import os

from zope.interface import implementer

from greeneio._core.switch import Hook, Switch
from greeneio._flows import Closeable
from greeneio.gevent_backend._errors import translate_file
from greeneio.interfaces import IClose, IFd, ISource

__all__ = ["FileSource"]


@implementer(ISource, IFd, IClose)
class FileSource(Closeable):
    """A regular file opened for reading; a flow source with a file descriptor.

    Socket sinks copy it with ``sendfile``, so its bytes never pass through Python.
    """

    __slots__ = ("_fd", "_hook", "path")

    def __init__(self, fd: int, path: str) -> None:
        self._fd = fd
        self.path = path
        self._hook: Hook | None = None

    def attach(self, sw: Switch) -> None:
        """Close this file when ``sw`` finishes."""
        self._hook = sw.on_release_cancellable(self.close)

    def fileno(self) -> int:
        return self._fd

    def single_read(self, buf: memoryview) -> int:
        # Regular files are always "ready": a read never waits on the network.
        try:
            n = os.readv(self._fd, [buf])
        except OSError as e:
            raise translate_file(e, self.path) from e
        if n == 0:
            raise EOFError(f"end of {self.path}")
        return n

    def close(self) -> None:
        fd, self._fd = self._fd, -1
        if fd < 0:
            return
        if self._hook is not None:
            self._hook.remove()
            self._hook = None
        os.close(fd)

    def __repr__(self) -> str:
        return f"<Fs.FileSource {self.path!r}>"
