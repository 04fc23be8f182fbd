"""http: a small HTTP/1.1 server (h11 parses): a hello page at ``/`` and static
files from ``--root``, with keep-alive and HEAD.

Paths are resolved (symlinks included) and must stay inside the root: anything
else is 404, so the server does not say what exists outside. File bodies go
out with ``Flow.copy`` from ``Fs.open_in`` (``sendfile``).
"""

from __future__ import annotations

import contextlib
import mimetypes
import os
import stat
from collections.abc import Callable
from typing import Any
from urllib.parse import unquote, urlsplit

import h11

from greeneio import Flow, Fs, Switch, Time

HELLO = b"<!doctype html>\n<title>greeneio</title>\n<h1>Hello from greeneio!</h1>\n"
SERVER = b"greeneio-serve"
READ_SIZE = 65536


class _FileBody:
    """A stand-in for a file's bytes in h11's output: it has the file's length,
    and the file itself is written with sendfile where it appears."""

    __slots__ = ("path", "size")

    def __init__(self, path: str, size: int) -> None:
        self.path = path
        self.size = size

    def __len__(self) -> int:
        return self.size


def resolve(root: str, target: bytes) -> str | None:
    """The regular file under ``root`` that the request target names, or None."""
    try:
        path = unquote(urlsplit(target.decode("ascii")).path, errors="strict")
    except (UnicodeDecodeError, ValueError):
        return None
    if "\0" in path:
        return None
    real_root = os.path.realpath(root)
    real = os.path.realpath(os.path.join(real_root, path.lstrip("/")))
    if os.path.commonpath([real_root, real]) != real_root:
        return None  # escapes the root ("..", or a symlink pointing out)
    if os.path.isdir(real):
        real = os.path.join(real, "index.html")
    try:
        return real if stat.S_ISREG(os.stat(real).st_mode) else None
    except OSError:
        return None


LINGER_BYTES = 1 << 20
LINGER_SECONDS = 1.0


def make_handler(root: str | None, clock: Any = None) -> Callable[[Any, Any], None]:
    """The connection handler; ``clock`` bounds the lingering close after an error."""

    def handler(flow: Any, _addr: Any) -> None:
        _serve_connection(flow, root, clock)

    return handler


def _linger(flow: Any, clock: Any) -> None:
    """After an error response: stop sending, then read and drop what the client
    is still sending (bounded), so that it sees the response rather than a reset."""
    Flow.shutdown(flow, "send")
    buf = bytearray(READ_SIZE)

    def drain() -> None:
        total = 0
        with contextlib.suppress(EOFError, OSError):
            while total < LINGER_BYTES:
                total += Flow.single_read(flow, buf)

    if clock is None:
        return
    with contextlib.suppress(Time.Timeout):
        Time.with_timeout(clock, LINGER_SECONDS, drain)


def _serve_connection(flow: Any, root: str | None, clock: Any) -> None:
    conn = h11.Connection(h11.SERVER)
    buf = bytearray(READ_SIZE)

    def next_event() -> Any:
        while True:
            event = conn.next_event()
            if event is not h11.NEED_DATA:
                return event
            try:
                n = Flow.single_read(flow, buf)
                conn.receive_data(bytes(buf[:n]))
            except EOFError:
                conn.receive_data(b"")

    def send(*events: Any) -> None:
        out: list[Any] = []
        for event in events:
            out.extend(conn.send_with_data_passthrough(event) or ())
        _write(flow, out)

    while True:
        try:
            request = next_event()
            if not isinstance(request, h11.Request):
                return  # ConnectionClosed (or the client paused for good)
            while not isinstance(next_event(), h11.EndOfMessage):
                pass  # a request body: not used
        except h11.RemoteProtocolError as e:
            # A malformed request (400), or a request line or headers over h11's
            # 16 KiB limit (431): answered, then closed; never buffered whole.
            if conn.our_state in (h11.IDLE, h11.SEND_RESPONSE):
                status = e.error_status_hint
                body = b"Request Header Fields Too Large\n" if status == 431 else b"Bad Request\n"
                send(
                    h11.Response(
                        status_code=status, headers=_headers("text/plain", len(body), True)
                    ),
                    h11.Data(data=body),
                    h11.EndOfMessage(),
                )
                _linger(flow, clock)
            return
        _respond(request, root, send)
        if conn.our_state is h11.MUST_CLOSE or conn.their_state is h11.MUST_CLOSE:
            return
        conn.start_next_cycle()


def _headers(ctype: str, length: int, close: bool = False) -> list[tuple[bytes, bytes]]:
    headers = [
        (b"Server", SERVER),
        (b"Content-Type", ctype.encode()),
        (b"Content-Length", str(length).encode()),
    ]
    if close:
        headers.append((b"Connection", b"close"))
    return headers


def _respond(request: Any, root: str | None, send: Callable[..., None]) -> None:
    head = request.method == b"HEAD"
    if request.method not in (b"GET", b"HEAD"):
        body = b"Method Not Allowed\n"
        headers = [*_headers("text/plain", len(body)), (b"Allow", b"GET, HEAD")]
        send(
            h11.Response(status_code=405, headers=headers), h11.Data(data=body), h11.EndOfMessage()
        )
        return
    if urlsplit(request.target).path == b"/" and (root is None or resolve(root, b"/") is None):
        status, ctype, body = 200, "text/html; charset=utf-8", HELLO
    else:
        path = resolve(root, request.target) if root is not None else None
        if path is None:
            status, ctype, body = 404, "text/plain", b"Not Found\n"
        else:
            ctype = mimetypes.guess_type(path)[0] or "application/octet-stream"
            size = os.stat(path).st_size
            response = h11.Response(status_code=200, headers=_headers(ctype, size))
            if head:
                send(response, h11.EndOfMessage())
            else:
                file_body: Any = _FileBody(path, size)  # h11 passes it through untouched
                send(response, h11.Data(data=file_body), h11.EndOfMessage())
            return
    response = h11.Response(status_code=status, headers=_headers(ctype, len(body)))
    if head:
        send(response, h11.EndOfMessage())
    else:
        send(response, h11.Data(data=body), h11.EndOfMessage())


def _write(flow: Any, chunks: list[Any]) -> None:
    pending: list[bytes] = []
    for chunk in chunks:
        if isinstance(chunk, _FileBody):
            if pending:
                Flow.write(flow, pending)
                pending = []
            with Switch() as sw:
                Flow.copy(Fs.open_in(chunk.path, sw=sw), flow)
        else:
            pending.append(bytes(chunk))
    if pending:
        Flow.write(flow, pending)
