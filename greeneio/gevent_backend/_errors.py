"""The one table from OS errors to greeneio errors, for the gevent backend.

``translate(exc)`` returns the greeneio error to raise for an ``OSError``
(or ``socket.gaierror``); the original stays as ``backend`` and ``__cause__``.
Anything not in the table becomes a plain ``Net.Error`` (still an ``OSError``
with the same ``errno``). Callers raise ``translate(e) from e``.
"""

from __future__ import annotations

import errno
import socket

from greeneio import fs as Fs
from greeneio._core.exn import Io
from greeneio.net import errors as Net

__all__ = ["OUT_OF_RESOURCES", "translate", "translate_file", "translate_fs", "translate_gai"]

_BY_ERRNO: dict[int, type[Io]] = {
    errno.ECONNREFUSED: Net.Refused,
    errno.ECONNRESET: Net.ConnectionReset,
    errno.EPIPE: Net.ConnectionReset,
    errno.ECONNABORTED: Net.ConnectionReset,
    errno.ETIMEDOUT: Net.ConnectionTimeout,
    errno.ENOPROTOOPT: Net.InvalidOption,
}

# Errors about the path of a Unix-domain socket.
_BY_ERRNO_FS: dict[int, type[Io]] = {
    errno.ENOENT: Fs.NotFound,
    errno.EACCES: Fs.PermissionDenied,
    errno.EPERM: Fs.PermissionDenied,
    errno.EEXIST: Fs.AlreadyExists,
}

#: accept() errors that mean "out of resources": back off and retry.
OUT_OF_RESOURCES = frozenset({errno.EMFILE, errno.ENFILE, errno.ENOBUFS, errno.ENOMEM})

_GAI_CODES = {
    getattr(socket, f"EAI_{tag}"): tag
    for tag in (
        "ADDRFAMILY",
        "AGAIN",
        "BADFLAGS",
        "FAIL",
        "FAMILY",
        "MEMORY",
        "NODATA",
        "NONAME",
        "OVERFLOW",
        "SERVICE",
        "SOCKTYPE",
    )
    if hasattr(socket, f"EAI_{tag}")
}


def translate(exc: OSError) -> Io:
    """The greeneio error for ``exc`` (already an ``Io``: returned as it is)."""
    if isinstance(exc, Io):
        return exc
    if isinstance(exc, socket.gaierror):
        return translate_gai(exc)
    if isinstance(exc, TimeoutError) and exc.errno is None:
        return Net.ConnectionTimeout(backend=exc)
    code = exc.errno
    if code is not None:
        cls = _BY_ERRNO_FS.get(code) if exc.filename is not None else None
        cls = cls or _BY_ERRNO.get(code)
        if cls is not None:
            return cls(backend=exc)
        name = errno.errorcode.get(code, str(code))
        return Net.Error(f"Unix_error ({name})", backend=exc)
    return Net.Error("Unix_error", backend=exc)


def translate_fs(exc: OSError, path: str) -> Io:
    """Like :func:`translate`, for an error about the Unix-domain path ``path``."""
    if exc.filename is None:
        exc.filename = path
    return translate(exc)


def translate_file(exc: OSError, path: str) -> Io:
    """The ``Fs`` error for ``exc``, raised while using the file at ``path``."""
    if isinstance(exc, Io):
        return exc
    if exc.filename is None:
        exc.filename = path
    code = exc.errno
    cls = _BY_ERRNO_FS.get(code) if code is not None else None
    if cls is not None:
        return cls(backend=exc)
    name = errno.errorcode.get(code, str(code)) if code is not None else "?"
    return Fs.Error(f"Unix_error ({name})", backend=exc)


def translate_gai(exc: socket.gaierror) -> Net.AddressLookupFailed:
    code = exc.errno if isinstance(exc.errno, int) else None
    tag = _GAI_CODES.get(code, "UNKNOWN") if code is not None else "UNKNOWN"
    return Net.AddressLookupFailed(tag, backend=exc)
