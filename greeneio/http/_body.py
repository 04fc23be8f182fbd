"""A request's body as its handler reads it: bounded, cooperative, in the
handler's own fiber. The bytes come from the connection's parser; a wait for
more is the connection's (under the body timeout)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Final

from greeneio.http._request import END, NEED_DATA, HttpError, Request
from greeneio.http._response import CONTINUE

if TYPE_CHECKING:
    from greeneio.http._connection import Connection

__all__ = ["DRAIN_LIMIT", "Body"]

#: An unread request body up to this size is read and dropped to keep the
#: connection; a larger one closes it.
DRAIN_LIMIT: Final = 262144


class Body:
    """A request's body, read by the handler in its own fiber: ``read``,
    ``readline``, iteration over lines.

    Bounded: a body longer than ``max_body`` raises ``HttpError(413)``; a
    malformed chunked body ``HttpError(400)``; each wait for more bytes is
    bounded by ``body_timeout``. ``Expect: 100-continue`` is answered on the
    first read that has to wait for the client (never once a response began).
    """

    __slots__ = ("_conn", "_pending", "_request", "error")

    def __init__(self, conn: Connection, request: Request | None) -> None:
        # ``request`` None: the body of every bodiless request on ``conn`` (one
        # object for all of them: it is empty, and never fails).
        self._conn = conn
        self._request = request
        self._pending = b""  # read past a line's end by readline
        #: The error a read raised (the connection closes after this request).
        self.error: HttpError | None = None

    @property
    def done(self) -> bool:
        """True once every byte of the body has been read."""
        return not self._pending and self._conn.parser.body_done

    def _next(self, max_n: int) -> bytes | None:
        if self._pending:
            head, self._pending = self._pending[:max_n], self._pending[max_n:]
            return head
        conn = self._conn
        parser = conn.parser
        while True:
            try:
                got = parser.body_data(max_n)
            except HttpError as e:
                self.error = e
                raise
            if got is NEED_DATA:
                self._continue()
                conn.read_body()
            elif got is END:
                return None
            else:
                assert isinstance(got, bytes)
                return got

    def _continue(self) -> None:
        conn = self._conn
        responder = conn.responder
        request = self._request
        if (
            request is not None
            and request.expect_continue
            and not conn.continue_sent
            and not (responder is not None and responder.started)
        ):
            conn.continue_sent = True
            conn.write([CONTINUE])

    def read(self, n: int = -1) -> bytes:
        """Up to ``n`` bytes (all the rest if ``n`` < 0): fewer only at the end."""
        if n == 0:
            return b""
        parts = []
        got = 0
        while n < 0 or got < n:
            data = self._next(65536 if n < 0 else n - got)
            if data is None:
                break
            parts.append(data)
            got += len(data)
        return b"".join(parts)

    def readline(self, limit: int = -1) -> bytes:
        """The next line with its ``\\n`` (at most ``limit`` bytes if ``limit`` >= 0)."""
        parts = []
        got = 0
        while limit < 0 or got < limit:
            data = self._next(65536 if limit < 0 else limit - got)
            if data is None:
                break
            i = data.find(b"\n")
            if i >= 0:
                self._pending = data[i + 1 :] + self._pending
                parts.append(data[: i + 1])
                break
            parts.append(data)
            got += len(data)
        return b"".join(parts)

    def __iter__(self) -> Body:
        return self

    def __next__(self) -> bytes:
        line = self.readline()
        if not line:
            raise StopIteration
        return line

    def drain(self) -> bool:
        """Read and drop what is left, if little is (keeps the connection); True
        if the body ended."""
        conn = self._conn
        request = self._request
        if request is not None and request.expect_continue and not conn.continue_sent:
            return False  # the client may be waiting for a 100 that will not come
        left = DRAIN_LIMIT
        try:
            while left > 0:
                data = self._next(min(left, 65536))
                if data is None:
                    return True
                left -= len(data)
        except HttpError:
            return False
        return False
