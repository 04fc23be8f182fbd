"""Files (Eio's ``Fs`` errors, plus ``open_in`` for reading a file as a flow).

The file itself is the backend's (``IFiles``, reached through the running
scheduler); this module checks arguments and holds the error types.

The errors are raised for Unix-domain socket paths and for files. Each is an
:class:`greeneio.Exn.Io` and also the matching builtin, so
``except FileNotFoundError:`` keeps working.
"""

from __future__ import annotations

import os
from typing import Protocol

from greeneio._core import _greenlet
from greeneio._core.args import instance_arg
from greeneio._core.exn import OsIo
from greeneio._core.switch import Switch
from greeneio.interfaces import IFiles
from greeneio.protocols import FileSource

__all__ = ["AlreadyExists", "Error", "NotFound", "PermissionDenied", "open_in"]


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


class _FilesProvider(Protocol):
    """The static side of ``IFiles`` (the running backend's ``sched.unix``)."""

    def open_in(self, path: str, sw: Switch, /) -> FileSource: ...


def open_in(path: str | os.PathLike[str], *, sw: Switch) -> FileSource:
    """Open the file at ``path`` for reading, as a flow source with a file
    descriptor (socket sinks copy it with ``sendfile``); it is closed when
    ``sw`` finishes (or by ``close()``, or a ``with`` block).

    Raises ``Fs.NotFound``, ``Fs.PermissionDenied``... with context
    ``opening PATH``; ``RuntimeError`` on a backend without files (the mock).
    """
    if not isinstance(path, str | os.PathLike):
        raise TypeError(f"Fs.open_in: path must be a str or path, not {path!r}")
    instance_arg(sw, Switch, "Fs.open_in", "sw", "a Switch")
    return _files_provider().open_in(os.fspath(path), sw)


def _files_provider() -> _FilesProvider:
    """The running backend's ``IFiles``; ``RuntimeError`` if it has none (the mock)."""
    unix: _FilesProvider = _greenlet.current().sched.unix
    if not IFiles.providedBy(unix):
        raise RuntimeError("Fs.open_in: this backend has no file system (use greeneio.run)")
    return unix
