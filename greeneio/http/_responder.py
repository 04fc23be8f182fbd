"""Sending one response: framing (fixed length, chunked, or until the close),
HEAD and 204/304 without body bytes, the head held back until the first body
bytes, and files by ``sendfile``. The bytes go out through the connection
(under the write timeout)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Final

from greeneio import flow as Flow
from greeneio._flows import Buffer
from greeneio.http._request import Request
from greeneio.http._response import LAST_CHUNK, chunk_prefix, head_block
from greeneio.interfaces import ISocket
from greeneio.net import _api as _net
from greeneio.net.errors import InvalidOption
from greeneio.net.sockopt import Sockopt
from greeneio.protocols import Source

if TYPE_CHECKING:
    from greeneio.http._connection import Connection

__all__ = ["SMALL_FILE", "Responder"]

#: Files up to this size are read and sent with their head in one write.
SMALL_FILE: Final = 65536

_NONE, _FIXED, _CHUNKED, _UNTIL_CLOSE = range(4)


class Responder:
    """Sends the response to one request: ``start`` (status and headers) then
    ``write``/``sendfile`` body bytes and ``finish``; or ``send`` for a whole
    response in one call.

    Framing is the engine's: a ``Content-Length`` among the headers makes a
    fixed-length body (writing more is a ``ValueError``; fewer closes the
    connection); without one the body is chunked (HTTP/1.1) or ends with the
    connection (HTTP/1.0). HEAD, 204 and 304 responses send no body bytes
    (what is written is counted, not sent). The head is held until the first
    body bytes (or ``finish``/``flush``), so both leave in one write.
    ``Connection: close`` is added when the connection will close (the client
    asked, the server is stopping, or the body runs until close).
    """

    __slots__ = (
        "_conn",
        "_head",
        "_left",
        "_mode",
        "_no_body",
        "_request",
        "broken",
        "committed",
        "finished",
        "keep_alive",
        "sent",
        "started",
        "status",
    )

    def __init__(self, conn: Connection, request: Request) -> None:
        self._conn = conn
        self._request = request
        self._head = b""
        self._mode = _NONE
        self._left = 0
        self._no_body = request.method == "HEAD"
        #: True once ``start`` was called.
        self.started = False
        #: True once response bytes were handed to the flow (no other answer is possible).
        self.committed = False
        #: True once the response is complete.
        self.finished = False
        #: True if the response could not be completed as framed (the connection closes).
        self.broken = False
        #: Whether the connection stays open after this response.
        self.keep_alive = False
        #: The status given to ``start``.
        self.status = 0
        #: Body bytes written (for HEAD: that would have been).
        self.sent = 0

    def start(self, status: int, headers: Sequence[tuple[bytes, bytes]] = ()) -> None:
        """Begin the response: ``status`` (200-999) and ``headers`` as
        ``(name, value)`` bytes. ``Date`` is added unless given. ``ValueError``
        for a bad status or header; ``RuntimeError`` if already started."""
        self._head = b"".join(self._begin(status, headers, None))

    def _begin(
        self, status: int, headers: Sequence[tuple[bytes, bytes]], length: int | None
    ) -> list[bytes]:
        # ``start``, with a Content-Length of ``length`` after ``headers`` unless None.
        if self.started:
            raise RuntimeError("Http.Responder.start: the response has already started")
        error = self._request.body.error
        if error is not None:
            raise error  # the request body was bad: that is the answer
        if status.__class__ is not int and (
            isinstance(status, bool) or not isinstance(status, int)
        ):
            raise ValueError(f"Http.Responder.start: status must be 200-999, not {status!r}")
        if not 200 <= status <= 999:
            raise ValueError(f"Http.Responder.start: status must be 200-999, not {status!r}")
        block, info = head_block(status, headers, length)
        parts = [block]
        request = self._request
        conn = self._conn
        if status == 204 or status == 304:
            self._no_body = True
        if info.content_length is not None:
            self._mode = _FIXED
            self._left = info.content_length
        elif self._no_body:
            self._mode = _NONE
        elif request.version == (1, 1):
            self._mode = _CHUNKED
            parts.append(b"Transfer-Encoding: chunked\r\n")
        else:
            self._mode = _UNTIL_CLOSE
        keep = (
            request.keep_alive
            and not info.close
            and self._mode != _UNTIL_CLOSE
            and not conn.stopping
            and (conn.parser.body_done or not conn.body_blocks_reuse())
        )
        if not keep and not info.close:
            parts.append(b"Connection: close\r\n")
        elif keep and request.version == (1, 0):
            parts.append(b"Connection: keep-alive\r\n")
        if not info.has_date:
            parts.append(conn.dates.line())
        parts.append(b"\r\n")
        self.keep_alive = keep
        self.status = status
        self.started = True
        return parts

    def _send(self, bufs: list[Buffer]) -> None:
        self.committed = True
        self._conn.write(bufs)

    def _check(self, fn: str) -> None:
        if not self.started:
            raise RuntimeError(f"Http.Responder.{fn}: call start first")
        if self.finished:
            raise RuntimeError(f"Http.Responder.{fn}: the response is finished")

    def _count(self, n: int) -> None:
        if self._mode == _FIXED:
            if n > self._left:
                self.broken = True
                raise ValueError(
                    f"Http.Responder: {self.sent + n} body bytes for a Content-Length of "
                    f"{self.sent + self._left}"
                )
            self._left -= n
        self.sent += n

    def write(self, data: Buffer) -> None:
        """Send ``data`` as the next body bytes (the head goes with the first)."""
        self._check("write")
        n = len(data)
        if not n:
            return
        self._count(n)
        if self._no_body:
            return
        bufs: list[Buffer] = [chunk_prefix(n), data, b"\r\n"] if self._mode == _CHUNKED else [data]
        head = self._head
        if head:
            self._head = b""
            bufs.insert(0, head)
            if n <= 16384:  # the head and a small first piece: one buffer, one send()
                bufs = [b"".join(bufs)]
        self._send(bufs)

    def flush(self) -> None:
        """Send the head now, before any body bytes (for a slow first chunk)."""
        self._check("flush")
        if self._head:
            head, self._head = self._head, b""
            self._send([head])

    def sendfile(self, src: Source, length: int) -> None:
        """Send the next ``length`` bytes of ``src`` (a file from ``Fs.open_in``,
        positioned where they start) as body bytes: by ``sendfile`` when they are
        the rest of the file, with the head in the same flush."""
        self._check("sendfile")
        if length <= 0:
            return
        self._count(length)
        if self._no_body:
            return
        if length <= SMALL_FILE and (self._head or self._mode == _CHUNKED):
            data = bytearray(length)
            got = 0
            view = memoryview(data)
            while got < length:
                try:
                    got += Flow.single_read(src, view[got:])
                except EOFError:
                    break
            view.release()
            if got < length:
                self.broken = True
                raise ValueError("Http.Responder.sendfile: the file ended early")
            self._count(-length)
            self.write(data)
            return
        conn = self._conn
        cork = bool(self._head) and self._cork(True)
        try:
            if self._mode == _CHUNKED:
                self._send([self._head, chunk_prefix(length)])
            elif self._head:
                self._send([self._head])
            self._head = b""
            self.committed = True
            sent = conn.copy(src, length)
            if self._mode == _CHUNKED:
                self._send([b"\r\n"])
        finally:
            if cork:
                self._cork(False)
        if sent != length:
            self.broken = True
            conn.log.warning(
                "http: sent %d bytes of a file instead of %d (it changed?): closing", sent, length
            )

    def _cork(self, on: bool) -> bool:
        flow = self._conn.flow
        if not ISocket.providedBy(flow):
            return False
        try:
            _net.setsockopt(flow, Sockopt.TCP_CORK, on)
        except (InvalidOption, OSError):
            return False
        return True

    def finish(self) -> None:
        """End the response (the last chunk, or the head alone if nothing was
        written). A fixed-length body left short marks the connection for closing."""
        self._check("finish")
        self.finished = True
        bufs: list[Buffer] = [self._head] if self._head else []
        self._head = b""
        if self._mode == _CHUNKED and not self._no_body:
            bufs.append(LAST_CHUNK)
        elif self._mode == _FIXED and self._left and not self._no_body:
            self.broken = True
        if bufs:
            self._send(bufs)

    def send(
        self, status: int, headers: Sequence[tuple[bytes, bytes]] = (), body: bytes = b""
    ) -> None:
        """A whole response in one write: ``start`` with a ``Content-Length`` for
        ``body`` (which ``headers`` must not hold; none for 204 and 304, which
        have no body), then the body."""
        n = len(body)
        conn = self._conn
        request = self._request
        if (
            status.__class__ is int
            and 200 <= status < 300
            and status != 204
            and not self.started
            and not self._no_body
            and request.keep_alive
            and not conn.stopping
            and request.body is conn.no_body  # bodiless, so its body is done
            and 0 < n <= 16384
        ):
            # The usual answer, kept alive: what _begin would decide, decided at
            # once (a bodiless request has no body error; a 2xx other than 204
            # has a body).
            block, info = head_block(status, headers, n)
            dates = conn.dates
            if not info.close and not info.has_date:
                self.started = self.finished = self.committed = self.keep_alive = True
                self.status = status
                self._mode = _FIXED
                self.sent = n
                conn.write(
                    [
                        b"".join(
                            (
                                block,
                                b"" if request.version == (1, 1) else b"Connection: keep-alive\r\n",
                                dates.cached
                                if dates.since <= dates.now() < dates.until
                                else dates.line(),
                                b"\r\n",
                                body,
                            )
                        )
                    ]
                )
                return
        if status == 204 or status == 304:
            parts = self._begin(status, headers, None)
        else:
            parts = self._begin(status, headers, n)
            self._left = 0  # the Content-Length is n: all of it goes now
            self.sent = n
        self.finished = True
        self.committed = True
        if self._no_body or not n:
            self._conn.write([b"".join(parts)])
        elif n <= 16384:
            parts.append(body)
            self._conn.write([b"".join(parts)])  # one buffer: one send()
        else:
            self._conn.write([b"".join(parts), body])
