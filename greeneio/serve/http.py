"""http: a static HTTP/1.1 file server on greeneio's HTTP engine (``greeneio.http``).

Without ``--root`` it answers a hello page at ``/`` (and 404 elsewhere); with
``--root`` it serves that directory and nothing else: ``index.html`` for a
directory (a listing only if asked), a 301 to add the slash to a directory's
path, ``Last-Modified`` and a strong ``ETag`` (``If-None-Match`` and
``If-Modified-Since`` give 304), a single byte range (206; 416 when it cannot
be satisfied; ``If-Range`` honoured), GET, HEAD and OPTIONS (others 405).

Paths are percent-decoded, resolved (symlinks included) and must stay inside
the root: anything else is 404, so the server does not say what exists
outside. A request body (rare: a GET may carry one) is read and dropped
before the answer, bounded by ``max_body``, chunked or not; a malformed one
is refused by the engine with 400. A file's head and bytes leave in one
flush: small files in one write, larger ones by ``sendfile`` under
``TCP_CORK``. With an access log (``--access-log``), each response is a line
in the common log format, written by ``wsgi.AccessLog`` (refused requests
too); without one, a connection is served exactly as before.
"""

from __future__ import annotations

import email.utils
import errno
import functools
import html
import logging
import mimetypes
import os
import posixpath
import re
import stat
from collections.abc import Callable
from typing import Any, Final
from urllib.parse import quote, unquote_to_bytes

from greeneio import Fs, Promise, Switch
from greeneio import http as Http
from greeneio import wsgi as Wsgi
from greeneio.protocols import AlarmClock
from greeneio.serve._file_cache import FileCache

__all__ = ["HELLO", "SERVER", "make_handler"]

HELLO = b"<!doctype html>\n<title>greeneio</title>\n<h1>Hello from greeneio!</h1>\n"
SERVER = b"greeneio-serve"
ALLOW = b"GET, HEAD, OPTIONS"
_TEXT = (b"Content-Type", b"text/plain; charset=utf-8")
_SERVER = (b"Server", SERVER)
_HELLO_HEADERS = (_SERVER, (b"Content-Type", b"text/html; charset=utf-8"))
#: Files up to this size are read whole and sent in one write with their head.
SMALL_FILE = 65536
_RANGE_RE = re.compile(rb"bytes=[ \t]*([0-9]*)[ \t]*-[ \t]*([0-9]*)[ \t]*", re.I)

log = logging.getLogger("greeneio-serve")


def make_handler(
    root: str | None,
    clock: AlarmClock,
    *,
    limits: Http.Limits | None = None,
    stop: Promise[Any] | None = None,
    listing: bool = False,
    log: logging.Logger = log,
    shed_at: int | None = None,
    access_log: Wsgi.AccessLog | None = None,
) -> Callable[[Any, Any], None]:
    """The ``run_server`` connection handler: files under ``root`` (or the hello
    page), with the engine's ``limits`` measured on ``clock`` (``env.mono_clock``);
    ``stop`` starts the drain; ``listing`` lists directories without an index.
    ``shed_at`` (the connection limit of this process) turns on shedding: at
    the limit, the oldest connection without a complete request head is
    closed so that new clients are answered (``Http.Shedding``).
    ``access_log`` (a ``wsgi.AccessLog``) gets a common-log-format line per
    response, refused requests included (its flusher timed on ``clock``);
    ``TypeError`` if it is something else."""
    if access_log is not None and not isinstance(access_log, Wsgi.AccessLog):
        raise TypeError(
            f"http.make_handler: access_log must be a wsgi.AccessLog, not {access_log!r}"
        )
    app = StaticFiles(root, listing)
    shedding = Http.Shedding(shed_at) if shed_at is not None else None

    def serve(flow: Any, on_response: Callable[..., object] | None = None) -> None:
        Http.serve_connection(
            flow,
            app,
            clock=clock,
            limits=limits,
            stop=stop,
            log=log,
            on_response=on_response,
            shedding=shedding,
        )

    if access_log is None:
        return lambda flow, _addr: serve(flow)  # no hook: nothing more per request
    return lambda flow, addr: access_log.run(addr, lambda hook: serve(flow, hook), clock=clock)


class StaticFiles:
    """The ``Http`` handler that serves files under ``root`` (None: the hello page)."""

    def __init__(self, root: str | None, listing: bool = False) -> None:
        self.root = os.path.realpath(root) if root is not None else None
        self.listing = listing
        self.cache = FileCache()

    def __call__(self, request: Http.Request, respond: Http.Responder) -> None:
        if request.content_length or request.chunked:
            body = request.body
            while body.read(65536):
                pass  # a body is read and dropped: framing errors are refused (400) first
        method = request.method
        if method not in ("GET", "HEAD"):
            if method == "OPTIONS":
                respond.send(204, [_SERVER, (b"Allow", ALLOW)])
            else:
                _plain(respond, 405, b"Method Not Allowed\n", (b"Allow", ALLOW))
            return
        if self.root is None:
            if request.path == b"/":
                respond.send(200, _HELLO_HEADERS, HELLO)
            else:
                _plain(respond, 404, b"Not Found\n")
            return
        self._serve_path(request, respond)

    def _serve_path(self, request: Http.Request, respond: Http.Responder) -> None:
        assert self.root is not None
        path = request.path
        if request.method == "GET":
            kept = self.cache.get(path)
            if kept is not None:
                _answer(request, respond, *kept)
                return
        found = _resolve(self.root, path)
        if found is None:
            _plain(respond, 404, b"Not Found\n")
            return
        real, fd, st = found
        try:
            if stat.S_ISREG(st.st_mode):
                data = _send_opened(request, respond, real, fd, st)
                if data is not None and real == self.root + path.decode("utf-8", "replace"):
                    self.cache.put(path, real, st, data)  # named directly: no link on the way
                return
        finally:
            os.close(fd)
        if not stat.S_ISDIR(st.st_mode):
            _plain(respond, 404, b"Not Found\n")  # a FIFO, a device: not served
            return
        if not request.path.endswith(b"/"):
            location = request.path + b"/" + (b"?" + request.query if request.query else b"")
            _plain(respond, 301, b"Moved Permanently\n", (b"Location", location))
            return
        index = _resolve(self.root, request.path + b"index.html")  # checked like any path
        if index is not None:
            index_path, fd, st = index
            try:
                if stat.S_ISREG(st.st_mode):
                    _send_opened(request, respond, index_path, fd, st)
                    return
            finally:
                os.close(fd)
        if self.listing:
            _listing(respond, request, real)
        else:
            _plain(respond, 404, b"Not Found\n")


def _plain(respond: Http.Responder, status: int, body: bytes, *extra: tuple[bytes, bytes]) -> None:
    respond.send(status, [_SERVER, _TEXT, *extra], body)


#: How ``_resolve`` opens what a path names: never a symlink (it is checked
#: first), never blocking (a FIFO), for reading.
_OPEN_FLAGS: Final = os.O_RDONLY | os.O_CLOEXEC | os.O_NOFOLLOW | os.O_NONBLOCK


def _resolve(root: str, path: bytes) -> tuple[str, int, os.stat_result] | None:
    """The real path under ``root`` that ``path`` (percent-encoded) names,
    opened (the caller closes the descriptor), and its ``fstat``; None if it is
    not a clean path, does not exist, or leaves the root through a symlink
    (``..`` is resolved against ``/`` first, as nginx does). What is served is
    what was opened here: the last component is opened, not looked up first."""
    plain = b"%" not in path and b"/." not in path and b"//" not in path
    try:
        decoded = (path if plain else unquote_to_bytes(path)).decode("utf-8")
    except UnicodeDecodeError:
        return None
    if "\0" in decoded or not decoded.startswith("/"):
        return None
    current = root
    inside = root.rstrip("/") + "/"
    # A plain path (nothing escaped, no dot segment, no empty one) is already
    # what normpath would make of it.
    parts = [p for p in (decoded if plain else posixpath.normpath(decoded)).split("/") if p]
    try:
        for i, part in enumerate(parts):
            current = inside + part if current == root else f"{current}/{part}"
            if i == len(parts) - 1:
                try:
                    fd = os.open(current, _OPEN_FLAGS)
                except OSError as e:
                    if e.errno != errno.ELOOP:
                        raise
                else:
                    return current, fd, _fstat(fd)
            st = os.lstat(current)
            if stat.S_ISLNK(st.st_mode):  # follow it, and check where it leads
                current = os.path.realpath(current)
                if current != root and not current.startswith(inside):
                    return None
        fd = os.open(current, _OPEN_FLAGS & ~os.O_NOFOLLOW)  # the root, or a checked link
        return current, fd, _fstat(fd)
    except OSError:
        return None


def _fstat(fd: int) -> os.stat_result:
    try:
        return os.fstat(fd)
    except OSError:
        os.close(fd)
        raise


@functools.lru_cache(maxsize=256)
def _content_type(ext: str) -> bytes:
    return (mimetypes.guess_type("f" + ext)[0] or "application/octet-stream").encode("ascii")


@functools.lru_cache(maxsize=1024)
def _last_modified(mtime: int) -> bytes:
    return Http.format_date(mtime).encode("ascii")


@functools.lru_cache(maxsize=1024)
def _file_headers(
    path: str, mtime_ns: int, size: int
) -> tuple[tuple[tuple[bytes, bytes], ...], tuple[tuple[bytes, bytes], ...]]:
    """A file's response headers for this version of it (its mtime and size):
    those of a 304 (Server, Last-Modified, ETag), and those of a 200."""
    etag = b'"%x-%x"' % (mtime_ns // 1000, size)
    validators = (_SERVER, (b"Last-Modified", _last_modified(mtime_ns // 10**9)), (b"ETag", etag))
    content_type = _content_type(os.path.splitext(path)[1].lower())
    return validators, (*validators, (b"Content-Type", content_type), (b"Accept-Ranges", b"bytes"))


def _http_time(value: bytes) -> int | None:
    """An HTTP date (IMF-fixdate, RFC 850 or asctime) as seconds, or None."""
    try:
        parsed = email.utils.parsedate_tz(value.decode("latin-1"))
    except (TypeError, ValueError, IndexError):
        return None
    if parsed is None:
        return None
    try:
        return int(email.utils.mktime_tz(parsed))
    except (OverflowError, ValueError):
        return None


def _etag_listed(field: bytes, etag: bytes, *, weak: bool) -> bool:
    """Whether ``etag`` is among the entity-tags of ``field`` (or it is ``*``)."""
    if field.strip() == b"*":
        return True
    for tag in field.split(b","):
        tag = tag.strip()
        if tag.startswith(b"W/"):
            if not weak:
                continue
            tag = tag[2:]
        if tag == etag:
            return True
    return False


_CONDITIONAL = frozenset((b"if-none-match", b"if-modified-since", b"range", b"if-range"))


def _conditionals(request: Http.Request) -> dict[bytes, bytes]:
    """The request's conditional and range fields, in one pass over its head
    (a repeated field's lines joined with ``", "``, as ``Request.header`` does)."""
    found: dict[bytes, bytes] = {}
    for name, value in request.headers:
        if name in _CONDITIONAL:
            found[name] = found[name] + b", " + value if name in found else value
    return found


def _not_modified(cond: dict[bytes, bytes], etag: bytes, mtime: int) -> bool:
    """RFC 9110 §13.2.2: If-None-Match, else If-Modified-Since."""
    inm = cond.get(b"if-none-match")
    if inm is not None:
        return _etag_listed(inm, etag, weak=True)
    ims = cond.get(b"if-modified-since")
    if ims is not None:
        t = _http_time(ims)
        return t is not None and mtime <= t
    return False


def _byte_range(
    cond: dict[bytes, bytes], method: str, size: int, etag: bytes, mtime: int
) -> tuple[int, int] | None:
    """The single range ``(first, last)`` to send, ``(-1, -1)`` if the range
    cannot be satisfied (416), or None to send the whole file."""
    value = cond.get(b"range")
    if value is None or method != "GET":
        return None
    if_range = cond.get(b"if-range")
    if if_range is not None:
        if if_range.startswith((b'"', b"W/")):
            if not _etag_listed(if_range, etag, weak=False):
                return None
        elif _http_time(if_range) != mtime:
            return None
    m = _RANGE_RE.fullmatch(value)
    if m is None:
        return None  # not one byte range we understand (several, other units): ignored
    first, last = m.group(1), m.group(2)
    if not first:
        if not last:
            return None
        n = int(last)
        if n == 0 or size == 0:
            return (-1, -1)
        return (max(0, size - n), size - 1)
    start = int(first)
    end = int(last) if last else size - 1
    if last and end < start:
        return None  # invalid: ignored
    if start >= size:
        return (-1, -1)
    return (start, min(end, size - 1))


def _send_opened(
    request: Http.Request, respond: Http.Responder, path: str, fd: int, st: os.stat_result
) -> bytes | None:
    """Answer with the file open on ``fd`` (``st`` its fstat: what is sent is
    what was opened); the bytes of a small file read whole, else None."""
    size = st.st_size
    small = os.read(fd, size) if size <= SMALL_FILE and request.method == "GET" else None
    _answer(request, respond, path, st, small)
    return small if small is not None and len(small) == size else None


def _answer(
    request: Http.Request,
    respond: Http.Responder,
    path: str,
    st: os.stat_result,
    small: bytes | None,
) -> None:
    # A small file (``small``: its bytes) goes with its head in one write; a
    # larger one by sendfile from Fs.open_in.
    size = st.st_size
    validators, full = _file_headers(path, st.st_mtime_ns, size)
    cond = _conditionals(request)
    if not cond and small is not None and len(small) == size and request.method == "GET":
        respond.send(200, full, small)  # the usual request: the whole small file
        return
    mtime = int(st.st_mtime)
    etag = validators[2][1]
    if cond and _not_modified(cond, etag, mtime):
        respond.send(304, validators)
        return
    headers = list(full)
    span = _byte_range(cond, request.method, size, etag, mtime) if cond else None
    if span == (-1, -1):
        headers.append((b"Content-Range", b"bytes */%d" % size))
        respond.send(416, headers, b"Range Not Satisfiable\n")
        return
    if span is None:
        status, first, last = 200, 0, size - 1
    else:
        status, (first, last) = 206, span
        headers.append((b"Content-Range", b"bytes %d-%d/%d" % (first, last, size)))
    if request.method == "HEAD":
        respond.start(status, [*headers, (b"Content-Length", b"%d" % (last + 1 - first))])
        respond.finish()
    elif small is not None and len(small) == size:
        whole = last + 1 - first == size
        respond.send(status, headers, small if whole else small[first : last + 1])
    else:
        with Switch() as sw:
            try:
                src = Fs.open_in(path, sw=sw)
            except OSError:
                _plain(respond, 404, b"Not Found\n")
                return
            length = last + 1 - first
            respond.start(status, [*headers, (b"Content-Length", b"%d" % length)])
            if first:
                os.lseek(src.fileno(), first, os.SEEK_SET)
            respond.sendfile(src, length)
            respond.finish()


def _listing(respond: Http.Responder, request: Http.Request, real: str) -> None:
    try:
        names = sorted(os.listdir(real))
    except OSError:
        _plain(respond, 404, b"Not Found\n")
        return
    title = html.escape(unquote_to_bytes(request.path).decode("utf-8", "replace"))
    rows = []
    for name in names:
        slash = "/" if os.path.isdir(os.path.join(real, name)) else ""
        rows.append(f'<li><a href="{quote(name)}{slash}">{html.escape(name)}{slash}</a></li>')
    page = (
        f"<!doctype html>\n<title>Index of {title}</title>\n<h1>Index of {title}</h1>\n"
        f"<ul>\n{chr(10).join(rows)}\n</ul>\n"
    ).encode()
    respond.send(200, [_SERVER, (b"Content-Type", b"text/html; charset=utf-8")], page)
