"""One WSGI response: ``start_response``, the ``write`` callable, and sending
the app's iterable through the engine's :class:`Http.Responder`.

The response is started on the engine (``Responder.start``) only with its
first non-empty body bytes, or when the iterable ends: until then a later
``start_response(..., exc_info)`` may still replace status and headers
(PEP 3333), and the head leaves with the first bytes in one write. After
that, ``start_response`` with ``exc_info`` re-raises the app's exception.

Framing is the engine's. A Content-Length from the app is kept (a body that
does not match it closes the connection). Without one: a list or tuple gets
its total length; a ``wsgi.file_wrapper`` over a regular file the rest of the
file (sent with ``sendfile``); an empty body ``0``; anything else is chunked
(HTTP/1.1) or runs until the close (HTTP/1.0). Hop-by-hop fields from the
app are dropped (the engine owns the connection), except that
``Connection: close`` is honoured.
"""

from __future__ import annotations

import io
import os
import stat
from collections.abc import Callable, Iterable
from types import TracebackType
from typing import Any, Final, TypeVar

from zope.interface import implementer

from greeneio import http as Http
from greeneio.interfaces import IFd, ISource

__all__ = ["Exchange", "FileWrapper"]

#: Fields that belong to one connection (RFC 9110 §7.6.1): the engine's, not the app's.
_HOP_BY_HOP: Final = frozenset(
    {
        "connection",
        "keep-alive",
        "proxy-connection",
        "te",
        "trailer",
        "transfer-encoding",
        "upgrade",
    }
)
_CLOSE: Final = (b"Connection", b"close")
_ZERO: Final = (b"Content-Length", b"0")
#: What an app may give as body bytes (a tuple: ``bytes | bytearray`` would be
#: a new union object per check).
_BYTES: Final = (bytes, bytearray, memoryview)

ExcInfo = tuple[type[BaseException], BaseException, TracebackType | None]
K = TypeVar("K")
V = TypeVar("V")


class FileWrapper:
    """``wsgi.file_wrapper(filelike, block_size=8192)``: return it from the app
    to send a file. Over a regular file opened in binary mode (anything with
    ``fileno`` whose descriptor is a regular file) the rest of the file, from
    its current position, goes by ``sendfile``; otherwise it is iterated in
    ``block_size`` reads. ``close()`` closes ``filelike`` (the server calls it)."""

    __slots__ = ("block_size", "filelike")

    def __init__(self, filelike: Any, block_size: int = 8192) -> None:
        self.filelike = filelike
        self.block_size = block_size

    def __iter__(self) -> Iterable[bytes]:
        read = self.filelike.read
        size = self.block_size
        while data := read(size):
            yield data

    def close(self) -> None:
        close = getattr(self.filelike, "close", None)
        if close is not None:
            close()


@implementer(ISource, IFd)
class _FdSource:
    """A file descriptor, as a source the engine's ``sendfile`` path takes (not owned)."""

    __slots__ = ("_fd",)

    def __init__(self, fd: int) -> None:
        self._fd = fd

    def fileno(self) -> int:
        return self._fd

    def single_read(self, buf: memoryview) -> int:
        n = os.readv(self._fd, [buf])
        if n == 0:
            raise EOFError("end of file")
        return n


def _regular_file(filelike: Any) -> tuple[int, int, int] | None:
    """``(fd, position, size)`` if ``filelike`` is a regular binary file, else None."""
    if isinstance(filelike, io.TextIOBase):
        return None
    try:
        fd = filelike.fileno()
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            return None
        tell = getattr(filelike, "tell", None)
        pos = tell() if tell is not None else os.lseek(fd, 0, os.SEEK_CUR)
    except (AttributeError, OSError, ValueError):  # io.UnsupportedOperation is both
        return None
    if not isinstance(fd, int) or not isinstance(pos, int):
        return None
    return fd, pos, st.st_size


#: Status lines and header lists converted lately (apps send the same few again
#: and again), by value: ``start_response`` looks them up, a hit costs one
#: tuple and one lookup. Only what passed the checks is remembered (by the two
#: functions below, on a miss); each dict is emptied when full.
_CODES: dict[str, int] = {}
_Fields = tuple[tuple[bytes, bytes], ...]
_CONVERTED: dict[tuple[object, ...], tuple[_Fields, int | None, _Fields]] = {}
_MAX_REMEMBERED: Final = 256


def _status_code(status: object) -> int:
    """The code of a status line not remembered yet: checked, then remembered."""
    if not isinstance(status, str):
        raise TypeError(f"start_response: status must be a str, not {status!r}")
    code = status[:3]
    if (len(status) > 3 and status[3] != " ") or not code.isdigit() or not code.isascii():
        raise ValueError(f"start_response: status must be 'NNN Reason', not {status!r}")
    if type(status) is str:
        _remember(_CODES, status, int(code))
    return int(code)


def _converted(headers: object) -> tuple[_Fields, int | None, _Fields]:
    """:func:`_convert` of headers not remembered yet, remembered when they are
    a list of ``(str, str)`` pairs."""
    found = _convert(headers)
    if type(headers) is list and all(
        type(i) is tuple and type(i[0]) is str and type(i[1]) is str for i in headers
    ):
        _remember(_CONVERTED, tuple(headers), found)
    return found


def _remember(memo: dict[K, V], key: K, value: V) -> None:
    """``memo[key] = value``, ``memo`` emptied first when it is full."""
    if len(memo) >= _MAX_REMEMBERED:
        memo.clear()
    memo[key] = value


def _convert(headers: object) -> tuple[_Fields, int | None, _Fields]:
    """The app's headers as the engine's bytes (hop-by-hop fields dropped, a
    ``Connection: close`` among them kept as ours); its Content-Length; the
    fields without it (for ``Responder.send``, which adds its own)."""
    if not isinstance(headers, list):
        raise TypeError(f"start_response: headers must be a list, not {headers!r}")
    out = []
    bare = []
    length = None
    close = False
    for item in headers:
        name, value = item
        if not isinstance(name, str) or not isinstance(value, str):
            raise TypeError(f"start_response: header names and values must be str: {item!r}")
        lower = name.lower()
        if lower in _HOP_BY_HOP:
            close = close or (lower == "connection" and "close" in value.lower())
            continue
        if lower == "content-length":
            value = value.strip()
            if not value.isdigit() or not value.isascii() or length is not None:
                raise ValueError(f"start_response: bad or repeated Content-Length {value!r}")
            length = int(value)
            out.append((name.encode("latin-1"), value.encode("latin-1")))
            continue
        field = (name.encode("latin-1"), value.encode("latin-1"))
        out.append(field)
        bare.append(field)
    if close:
        out.append(_CLOSE)
        bare.append(_CLOSE)
    return tuple(out), length, tuple(bare)


class Exchange:
    """One request's response: ``start_response``, ``write``, and :meth:`send`."""

    __slots__ = ("_bare", "_headers", "_length", "_respond", "_status")

    def __init__(self, respond: Http.Responder) -> None:
        self._respond = respond
        self._status = 0
        self._headers: _Fields = ()
        self._bare: _Fields = ()  # the headers without the app's Content-Length
        self._length: int | None = None

    def start_response(
        self, status: str, headers: list[tuple[str, str]], exc_info: ExcInfo | None = None
    ) -> Callable[[bytes], None]:
        """PEP 3333's ``start_response``; returns ``write``."""
        if exc_info is not None:
            try:
                if self._respond.started:  # the head is on its way: too late to replace it
                    raise exc_info[1].with_traceback(exc_info[2])
            finally:
                exc_info = None  # no reference cycle through the traceback
        elif self._status:
            raise RuntimeError("start_response: called again without exc_info")
        # The remembered conversions (the usual case), else checked and made.
        code = _CODES.get(status) if status.__class__ is str else None
        if code is None:
            code = _status_code(status)
        found = None
        if headers.__class__ is list:
            try:  # noqa: SIM105 (a try is free here; contextlib.suppress is not)
                found = _CONVERTED.get(tuple(headers))
            except TypeError:  # an unhashable item: _convert checks (and refuses) it
                pass
        if found is None:
            found = _converted(headers)
        self._headers, self._length, self._bare = found
        self._status = code
        return self.write

    def _start(self, extra: tuple[bytes, bytes] | None = None) -> None:
        if not self._status:
            raise RuntimeError("the WSGI app sent body bytes before calling start_response")
        headers = self._headers if extra is None else [*self._headers, extra]
        self._respond.start(self._status, headers)

    def write(self, data: bytes) -> None:
        """PEP 3333's ``write``: sends ``data`` at once (the head with the first bytes)."""
        if not isinstance(data, _BYTES):
            raise TypeError(f"the WSGI app gave {type(data).__name__}, not bytes")
        if not data:
            return
        respond = self._respond
        if not respond.started:
            self._start()
        respond.write(data)

    def send(self, result: Iterable[bytes], head: bool) -> None:
        """Send the app's iterable ``result`` (not closed here); ``head``: a HEAD request."""
        if type(result) is list or type(result) is tuple:
            if not self._respond.started:
                self._whole(result, head)
                return
        elif isinstance(result, FileWrapper) and self._sendfile(result):
            return
        for data in result:
            if data:
                self.write(data)
        respond = self._respond
        if not respond.started:
            no_body = head or self._status in (204, 304)
            self._start(_ZERO if self._length is None and not no_body else None)
        respond.finish()

    def _whole(self, parts: list[bytes] | tuple[bytes, ...], head: bool) -> None:
        """A list or tuple: one write, with its Content-Length unless the app gave one."""
        for data in parts:
            if data.__class__ is not bytes and not isinstance(data, _BYTES):
                raise TypeError(f"the WSGI app gave {type(data).__name__}, not bytes")
        body = parts[0] if len(parts) == 1 else b"".join(parts)
        if body.__class__ is not bytes:
            body = bytes(body)
        if not self._status:
            raise RuntimeError("the WSGI app returned without calling start_response")
        respond = self._respond
        length = self._length
        if length is None and (body or not head):
            respond.send(self._status, self._headers, body)
            return
        if length == len(body) and body and self._status not in (204, 304):
            respond.send(self._status, self._bare, body)  # its own Content-Length
            return
        respond.start(self._status, self._headers)
        if body:
            respond.write(body)
        respond.finish()

    def _sendfile(self, wrapper: FileWrapper) -> bool:
        """The rest of a regular file by the engine's ``sendfile`` path; False if
        ``wrapper`` is no such file (it is iterated then)."""
        found = _regular_file(wrapper.filelike)
        if found is None or not self._status or self._respond.started:
            return False
        fd, pos, size = found
        rest = max(0, size - pos)
        length = rest if self._length is None else min(self._length, rest)
        self._start((b"Content-Length", b"%d" % rest) if self._length is None else None)
        respond = self._respond
        if length:
            os.lseek(fd, pos, os.SEEK_SET)  # where Python's buffered file says it is
            respond.sendfile(_FdSource(fd), length)
        respond.finish()
        return True
