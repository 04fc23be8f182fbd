"""Files (Eio's ``Fs`` errors, plus ``open_in`` for reading a file as a flow).

The errors are raised for Unix-domain socket paths and for files. Each is an
:class:`greeneio.Exn.Io` and also the matching builtin, so
``except FileNotFoundError:`` keeps working.
"""

from __future__ import annotations

import errno
import os

from zope.interface import implementer

from greeneio._core.exn import OsIo, add_context
from greeneio._core.switch import Hook, Switch
from greeneio.flow import Closeable
from greeneio.interfaces import IClose, IFd, ISource

__all__ = ["AlreadyExists", "Error", "FileSource", "NotFound", "PermissionDenied", "open_in"]


class Error(OsIo):
    """Any file-system error."""

    kind = "Fs"


class NotFound(Error, FileNotFoundError):
    """The path does not exist (ENOENT)."""

    kind = "Fs Not_found"


class PermissionDenied(Error, PermissionError):
    """The path may not be used (EACCES, EPERM)."""

    kind = "Fs Permission_denied"


class AlreadyExists(Error, FileExistsError):
    """Something is already at the path (EEXIST, or a file where a socket would go)."""

    kind = "Fs Already_exists"


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

    def fileno(self) -> int:
        return self._fd

    def single_read(self, buf: memoryview) -> int:
        # Regular files are always "ready": a read never waits on the network.
        n = os.readv(self._fd, [buf])
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


def open_in(path: str | os.PathLike[str], *, sw: Switch) -> FileSource:
    """Open the file at ``path`` for reading; it is closed when ``sw`` finishes.

    Raises ``Fs.NotFound``, ``Fs.PermissionDenied``... with context
    ``opening PATH``.
    """
    if not isinstance(path, str | os.PathLike):
        raise TypeError(f"Fs.open_in: path must be a str or path, not {path!r}")
    if not isinstance(sw, Switch):
        raise TypeError(f"Fs.open_in: sw must be a Switch, not {sw!r}")
    sw.check()
    name = os.fspath(path)
    try:
        fd = os.open(name, os.O_RDONLY | os.O_CLOEXEC)
    except OSError as e:
        cls = _BY_ERRNO.get(e.errno or 0, Error)
        raise add_context(cls(backend=e), f"opening {name}") from e
    f = FileSource(fd, name)
    try:
        f._hook = sw.on_release_cancellable(f.close)
    except BaseException:
        f.close()
        raise
    return f


_BY_ERRNO: dict[int, type[Error]] = {
    errno.ENOENT: NotFound,
    errno.EACCES: PermissionDenied,
    errno.EPERM: PermissionDenied,
    errno.EEXIST: AlreadyExists,
}
