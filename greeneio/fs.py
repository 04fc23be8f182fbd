"""File-system errors (Eio's ``Fs``), raised for Unix-domain socket paths.

Each is an :class:`greeneio.Exn.Io` and also the matching builtin, so
``except FileNotFoundError:`` keeps working.
"""

from __future__ import annotations

from greeneio._core.exn import OsIo

__all__ = ["AlreadyExists", "Error", "NotFound", "PermissionDenied"]


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
