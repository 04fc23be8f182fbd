"""What the engine hands a handler: the parsed :class:`Request`, the
:class:`HttpError` refusals carry, and the parser's markers."""

from __future__ import annotations

from typing import TYPE_CHECKING, Final

if TYPE_CHECKING:
    from greeneio.http._body import Body

__all__ = ["END", "NEED_DATA", "HttpError", "Marker", "Request"]


class HttpError(Exception):
    """A request the engine (or an app) refuses: answered with ``status`` and
    ``Connection: close``. ``detail`` is one line for the response body."""

    def __init__(self, status: int, detail: str = "") -> None:
        super().__init__(status, detail)
        self.status = status
        self.detail = detail

    def __str__(self) -> str:
        return f"{self.status} {self.detail}" if self.detail else str(self.status)


class Marker:
    __slots__ = ("name",)

    def __init__(self, name: str) -> None:
        self.name = name

    def __repr__(self) -> str:
        return self.name


#: More bytes must arrive before the parser can say more.
NEED_DATA: Final = Marker("NEED_DATA")
#: The request body has ended.
END: Final = Marker("END")


_new = object.__new__


class Request:
    """One parsed request head.

    ``method`` is a ``str``; ``target`` the raw request-target, ``path`` and
    ``query`` its parts (bytes, still percent-encoded; for the absolute form,
    those of the URI; a fragment is dropped); ``version`` is ``(1, 0)`` or
    ``(1, 1)``; ``headers`` the field lines in order as ``(name, value)``
    bytes, names lower-cased, values without surrounding whitespace.
    ``keep_alive`` is what the client allows; ``content_length`` and
    ``chunked`` say how the body is framed (neither: no body);
    ``expect_continue`` is ``Expect: 100-continue``. ``body`` reads the body
    (set by the connection); ``trailers`` holds a chunked body's trailer
    fields once it has been read to its end.
    """

    __slots__ = (
        "body",
        "chunked",
        "content_length",
        "expect_continue",
        "headers",
        "keep_alive",
        "method",
        "path",
        "query",
        "target",
        "trailers",
        "version",
    )

    body: Body

    def __init__(
        self,
        method: str,
        target: bytes,
        path: bytes,
        query: bytes,
        version: tuple[int, int],
        headers: list[tuple[bytes, bytes]],
        keep_alive: bool,
        content_length: int | None,
        chunked: bool,
        expect_continue: bool,
    ) -> None:
        self.method = method
        self.target = target
        self.path = path
        self.query = query
        self.version = version
        self.headers = headers
        self.keep_alive = keep_alive
        self.content_length = content_length
        self.chunked = chunked
        self.expect_continue = expect_continue
        self.trailers: list[tuple[bytes, bytes]] = []

    def copy(self) -> Request:
        """A new request with the same head (its own ``headers`` list; no body yet)."""
        r = _new(Request)
        r.method = self.method
        r.target = self.target
        r.path = self.path
        r.query = self.query
        r.version = self.version
        r.headers = self.headers.copy()
        r.keep_alive = self.keep_alive
        r.content_length = self.content_length
        r.chunked = self.chunked
        r.expect_continue = self.expect_continue
        r.trailers = []
        return r

    def header(self, name: bytes) -> bytes | None:
        """The value of the field ``name`` (lower case), its lines joined with
        ``", "`` if repeated; ``None`` if absent."""
        found = [v for n, v in self.headers if n == name]
        if not found:
            return None
        return found[0] if len(found) == 1 else b", ".join(found)

    def __repr__(self) -> str:
        v = self.version
        return f"<Http.Request {self.method} {self.target!r} HTTP/{v[0]}.{v[1]}>"
