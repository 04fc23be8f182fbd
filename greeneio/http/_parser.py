"""Request parsing: bytes in, requests and body bytes out; no I/O.

httptools (llhttp) parses each request head; this module frames it, checks
what llhttp parsed against RFC 9110/9112 and the limits, and decodes the
body itself (Content-Length, or chunked with its trailers).

Theory of operation. The parser owns the connection's input buffer: the
connection reads into :meth:`RequestParser.read_buffer` and reports the count
with :meth:`received`. A head is fed to llhttp one *complete line* at a time
and never past its blank line, so

* a limit is a property of the bytes, never of how they were split into
  reads (the request line's length, the header section's length and field
  count are measured on the buffer and on what llhttp reports);
* llhttp never sees a body or the next pipelined request: body framing is
  ours, so a chunked body stops exactly at its end and a pipelined request
  waits in the buffer, unparsed, until :meth:`start_next` (responses go out
  in order).

Parsing is a pure function of a head's bytes (and the limits), and a
keep-alive client often sends the same head again and again (a poller, a
health check, a proxy's pool, a benchmark): so the parser remembers the last
bodiless head it accepted, and a head byte-for-byte equal to it is answered
with a fresh copy of its request, without parsing or checking it again.

Every refusal is an :class:`HttpError` carrying the status to answer with;
after one, the connection must be closed (the parser is left in error).
"""

from __future__ import annotations

from typing import Final

import httptools

from greeneio.http._limits import Limits
from greeneio.http._request import END, NEED_DATA, HttpError, Marker, Request
from greeneio.http._syntax import (
    BAD_VALUE_RE,
    CHUNK_LINE_RE,
    FIELD_LINE_RE,
    FORBIDDEN_TRAILERS,
    GOOD_HOSTS,
    HOST_RE,
    METHOD_RE,
    METHODS,
    SPECIAL,
    VERSION_LINE_RE,
    check_target,
    clean_head,
)

__all__ = ["BODY_READ", "INITIAL_BUFFER", "RequestParser"]

#: A chunk-size line (with its extensions) longer than this is refused.
MAX_CHUNK_LINE: Final = 4096
INITIAL_BUFFER: Final = 2048
#: An emptied buffer larger than this is replaced by a small one.
SHRINK_ABOVE: Final = 16384
#: Body bytes read at once.
BODY_READ: Final = 65536

# Parser states.
_HEAD, _BODY_LENGTH, _CHUNK_SIZE, _CHUNK_DATA, _CHUNK_END, _TRAILERS, _DONE, _ERROR = range(8)


class _TooManyHeaders(Exception):
    pass


class _Head:
    """llhttp's callbacks for one head: the pieces it reports."""

    __slots__ = ("complete", "headers", "max_headers", "message_done", "url")

    def __init__(self, max_headers: int) -> None:
        self.max_headers = max_headers
        self.url: list[bytes] = []
        self.headers: list[tuple[bytes, bytes]] = []
        self.complete = False
        self.message_done = False

    def reset(self) -> None:
        self.url = []
        self.headers = []
        self.complete = False
        self.message_done = False

    def on_url(self, url: bytes) -> None:
        self.url.append(url)

    def on_header(self, name: bytes, value: bytes) -> None:
        # Raised inside llhttp, so that it stops at this field line: the answer
        # does not depend on what comes after it in the same read.
        if len(self.headers) >= self.max_headers:
            raise _TooManyHeaders()
        self.headers.append((name, value))

    def on_headers_complete(self) -> None:
        self.complete = True

    def on_message_complete(self) -> None:
        self.message_done = True


class RequestParser:
    """One connection's request stream. Not shared between fibers."""

    __slots__ = (
        "_body_left",
        "_body_seen",
        "_buf",
        "_end",
        "_eof",
        "_fed",
        "_head",
        "_head_start",
        "_line_end",
        "_ll",
        "_memo",
        "_scan",
        "_start",
        "_state",
        "_trailers",
        "limits",
        "request",
    )

    def __init__(self, limits: Limits) -> None:
        self.limits = limits
        self._buf = bytearray(INITIAL_BUFFER)
        self._start = 0  # first byte not yet consumed
        self._end = 0  # end of the received bytes
        self._eof = False
        self._state = _HEAD
        self._head = _Head(limits.max_headers)
        self._ll: httptools.HttpRequestParser | None = None
        self._head_start = -1  # where this head's request line starts, once seen
        self._line_end = -1  # the request line's LF, once seen
        self._fed = 0  # bytes of this head before this offset were given to llhttp
        self._scan = 0  # bytes of this head before this offset were searched
        self._body_left = 0  # of the current Content-Length body, or chunk
        self._body_seen = 0  # body bytes so far (for max_body)
        self._trailers: list[tuple[bytes, bytes]] = []
        self.request: Request | None = None
        self._memo: tuple[bytes, Request] | None = None  # the last bodiless head, parsed

    # -- the input side ----------------------------------------------------------

    def read_buffer(self) -> memoryview:
        """Free space at the end of the buffer to read into (then :meth:`received`).

        Sized to what is being parsed: a head grows it (up to the head limits),
        a body reads at most ``BODY_READ`` at once; an emptied large buffer is
        replaced by a small one, so an idle connection holds ``INITIAL_BUFFER``.
        """
        buf = self._buf
        state = self._state
        if state == _HEAD and self._start == self._end and len(buf) <= SHRINK_ABOVE:
            # The usual case, between requests: the whole (small) buffer is free.
            self._start = self._end = self._fed = self._scan = 0
            return memoryview(buf)
        if self._start == self._end:  # all consumed: start from the beginning
            self._start = self._end = self._fed = self._scan = 0
            if state == _HEAD and len(buf) > SHRINK_ABOVE:
                buf = self._buf = bytearray(INITIAL_BUFFER)
        if state == _HEAD:
            want = 1024
        elif state == _BODY_LENGTH:
            want = max(1, min(BODY_READ, self._body_left - (self._end - self._start)))
        elif state == _CHUNK_DATA:
            want = max(1024, min(BODY_READ, self._body_left))
        else:
            want = 1024
        if len(buf) - self._end < want:
            if self._start:
                self._compact()
            if len(buf) - self._end < want:
                buf.extend(bytes(max(want - (len(buf) - self._end), len(buf))))
        return memoryview(buf)[self._end :]

    def received(self, n: int) -> None:
        """``n`` bytes were read into the last :meth:`read_buffer`."""
        self._end += n

    def eof_received(self) -> None:
        """The client will send nothing more."""
        self._eof = True

    @property
    def eof(self) -> bool:
        return self._eof

    def buffered(self) -> int:
        """Bytes received and not yet parsed (a pipelined request, say)."""
        return self._end - self._start

    def head_started(self) -> bool:
        """True once a byte of the next request line has arrived (leading CRLFs aside)."""
        return self._head_start >= 0

    def _rebase(self, delta: int) -> None:
        # Move every offset back by ``delta`` (the bytes before it are gone).
        self._start -= delta
        self._end -= delta
        if self._head_start >= 0:
            self._head_start -= delta
        if self._line_end >= 0:
            self._line_end -= delta
        self._fed = max(0, self._fed - delta)
        self._scan = max(0, self._scan - delta)

    def _compact(self) -> None:
        s = self._start
        buf = self._buf
        buf[: self._end - s] = buf[s : self._end]
        self._rebase(s)

    # -- heads ---------------------------------------------------------------

    def next_request(self) -> Request | None:
        """The next request, once its whole head has arrived (``None`` until then).

        Raises :class:`HttpError` for a head that is malformed, over a limit,
        or that asks for what the engine does not do; and for a head cut short
        by the end of input (400), unless nothing of it had arrived (then ``None``:
        check :attr:`eof`).
        """
        if self._state != _HEAD:
            raise RuntimeError("RequestParser.next_request: the current request is not done")
        memo = self._memo
        if memo is not None and self._head_start < 0:
            # The same head as last time, whole in the buffer? (It met the limits
            # then; llhttp is at a head's start, where that one left it.)
            head = memo[0]
            s = self._start
            if self._buf.startswith(head, s, self._end):
                request = memo[1].copy()
                self._start = s + len(head)
                self.request = request
                self._state = _DONE
                return request
        try:
            return self._parse_head()
        except HttpError:
            self._state = _ERROR
            raise

    def _parse_head(self) -> Request | None:
        buf = self._buf
        end = self._end
        limits = self.limits
        if self._head_start < 0:
            s = self._start
            while s + 1 < end and buf[s] == 13 and buf[s + 1] == 10:
                s += 2  # an empty line before a request line is ignored (RFC 9112 §2.2)
            self._start = s
            if s == end or (s + 1 == end and buf[s] == 13):
                if self._eof and s + 1 == end:
                    raise HttpError(400, "incomplete request line")
                return None
            self._head_start = self._fed = self._scan = s
        start = self._head_start
        scan = self._scan
        if self._line_end < 0:
            i = buf.find(b"\n", scan, end)
            if i < 0:
                if end - start > limits.max_request_line + 1:
                    raise HttpError(414, "request line too long")
                self._scan = end
                if self._eof:
                    raise HttpError(400, "incomplete request line")
                return None
            length = i - start - (1 if i > start and buf[i - 1] == 13 else 0)
            if length > limits.max_request_line:
                raise HttpError(414, "request line too long")
            self._line_end = i
        line_end = self._line_end
        # Head bytes past this offset are over the limit. Lines are fed to llhttp
        # in order and never past it, so a head refused for its size or for its
        # content gets the same answer however its bytes were split.
        limit_at = line_end + 1 + limits.max_header_bytes
        j = buf.find(b"\r\n\r\n", max(scan - 3, line_end - 1), end)
        head_end = j + 4
        if j < 0 or head_end > limit_at:
            k = buf.rfind(b"\n", max(scan, self._fed), min(end, limit_at))
            if k >= self._fed:
                self._feed(self._fed, k + 1)
                self._fed = k + 1
            if j >= 0 or end > limit_at:
                raise HttpError(431, "header section too large")
            self._scan = end
            if self._eof:
                raise HttpError(400, "incomplete request head")
            return None
        head_bytes = bytes(buf[start:head_end])
        self._feed(self._fed, head_end)
        if not self._head.complete:  # llhttp saw the blank line as something else
            raise HttpError(400, "malformed request head")
        if not clean_head(head_bytes):
            raise HttpError(400, "invalid character in request head")
        line = bytes(buf[start:line_end])
        request = self._check_head(line)
        self._start = head_end
        self._head_start = self._line_end = -1
        self.request = request
        if request.content_length is None and not request.chunked and self._ll is not None:
            self._memo = (head_bytes, request.copy())  # bodiless, llhttp kept: repeatable
        else:
            self._memo = None
        if request.chunked:
            self._state = _CHUNK_SIZE
            self._scan = head_end
        elif request.content_length:
            self._state = _BODY_LENGTH
            self._body_left = request.content_length
        else:
            self._state = _DONE
        return request

    def _feed(self, a: int, b: int) -> None:
        ll = self._ll
        if ll is None:
            ll = self._ll = httptools.HttpRequestParser(self._head)
        try:
            with memoryview(self._buf) as view:
                ll.feed_data(view[a:b])
        except httptools.HttpParserUpgrade:
            self._ll = None  # CONNECT or Upgrade: llhttp stops after the head
        except httptools.HttpParserInvalidMethodError as e:
            line = self._first_line()
            if METHOD_RE.match(line):
                raise HttpError(501, "method not implemented") from e
            raise HttpError(400, "invalid request method") from e
        except httptools.HttpParserError as e:
            if isinstance(e.__context__, _TooManyHeaders):
                raise HttpError(431, "too many header fields") from None
            msg = str(e) or type(e).__name__
            if "HTTP version" in msg and VERSION_LINE_RE.fullmatch(self._first_line()):
                raise HttpError(505, "HTTP version not supported") from e
            raise HttpError(400, msg) from e

    def _first_line(self) -> bytes:
        buf = self._buf
        s = self._head_start
        i = buf.find(b"\n", s, self._end)
        return bytes(buf[s : i if i >= 0 else self._end])

    def _check_head(self, line: bytes) -> Request:
        """What llhttp parsed, checked (RFC 9110/9112), as a :class:`Request`."""
        head = self._head
        ll = self._ll
        limits = self.limits
        raw = head.headers
        if len(raw) > limits.max_headers:
            raise HttpError(431, "too many header fields")
        method_b, _, rest = line.partition(b" ")
        method = METHODS.get(method_b) or method_b.decode("ascii")
        version_s = rest[rest.rfind(b" ") + 1 :].rstrip(b"\r")
        if version_s == b"HTTP/1.1":
            version = (1, 1)
        elif version_s == b"HTTP/1.0":
            version = (1, 0)
        else:
            raise HttpError(505, "HTTP version not supported")
        target = b"".join(head.url)
        path, query = check_target(method, target)
        headers: list[tuple[bytes, bytes]] = []
        content_length: int | None = None
        te: list[bytes] = []
        conn_tokens: list[bytes] = []
        expect_continue = False
        hosts = 0
        content_types = 0
        for name, value in raw:
            lname = name.lower()
            value = value.rstrip(b" \t")
            headers.append((lname, value))
            kind = SPECIAL.get(lname)
            if kind is None:
                continue
            if kind == 1:  # content-length
                if content_length is not None or not value.isdigit():
                    raise HttpError(400, "invalid Content-Length")
                content_length = int(value)
            elif kind == 2:  # transfer-encoding
                te.append(value)
            elif kind == 3:  # host
                hosts += 1
                if hosts > 1:
                    raise HttpError(400, "repeated Host")
                if value not in GOOD_HOSTS:
                    if not HOST_RE.fullmatch(value):
                        raise HttpError(400, "invalid Host")
                    if len(GOOD_HOSTS) < 1024:  # bounded: clients choose these
                        GOOD_HOSTS.add(value)
            elif kind == 4:  # connection
                conn_tokens.extend(t.strip().lower() for t in value.split(b","))
            elif kind == 5:  # expect
                if value.lower() != b"100-continue":
                    raise HttpError(417, "only Expect: 100-continue is supported")
                expect_continue = version == (1, 1)  # HTTP/1.0: ignored (RFC 9110 §10.1.1)
            elif kind == 6:  # content-type
                content_types += 1
                if content_types > 1:
                    raise HttpError(400, "repeated Content-Type")
        chunked = False
        if te:
            if version == (1, 0):
                raise HttpError(400, "Transfer-Encoding in an HTTP/1.0 request")
            if content_length is not None:
                raise HttpError(400, "both Content-Length and Transfer-Encoding")
            codings = [c.strip().lower() for c in b",".join(te).split(b",")]
            codings = [c for c in codings if c and c != b"identity"]
            if not codings or codings[-1] != b"chunked" or codings.count(b"chunked") > 1:
                raise HttpError(400, "chunked must be the last transfer coding, once")
            if len(codings) > 1:
                raise HttpError(501, "transfer coding not implemented")
            chunked = True
        elif content_length is not None and content_length > limits.max_body:
            raise HttpError(413, "request body too large")
        if version == (1, 1):
            keep_alive = b"close" not in conn_tokens
        else:
            keep_alive = b"keep-alive" in conn_tokens and b"close" not in conn_tokens
        if method == "CONNECT":
            keep_alive = False  # what follows may be tunnel data: never parsed as requests
        if head.message_done and ll is not None:
            head.reset()  # llhttp is ready for the next head: keep it
        else:
            self._ll = None
            self._head = _Head(limits.max_headers)
        return Request(
            method,
            target,
            path,
            query,
            version,
            headers,
            keep_alive,
            content_length,
            chunked,
            expect_continue,
        )

    # -- bodies --------------------------------------------------------------

    @property
    def body_done(self) -> bool:
        """True once the current request's body (if any) has been read to its end."""
        return self._state == _DONE

    def body_remaining(self) -> int | None:
        """Body bytes still to come (not yet received) for a Content-Length body;
        0 once done; ``None`` for a chunked body (not known)."""
        if self._state == _BODY_LENGTH:
            return max(0, self._body_left - (self._end - self._start))
        return 0 if self._state == _DONE else None

    def body_data(self, max_n: int) -> bytes | Marker:
        """At most ``max_n`` (> 0) further bytes of the body, or :data:`END`, or
        :data:`NEED_DATA`. :class:`HttpError` on bad framing (400), a body over
        ``max_body`` (413), bad trailers (400, 431), or the input ending first (400)."""
        try:
            return self._body_data(max_n)
        except HttpError:
            self._state = _ERROR
            raise

    def _body_data(self, max_n: int) -> bytes | Marker:
        while True:
            state = self._state
            avail = self._end - self._start
            if state in (_BODY_LENGTH, _CHUNK_DATA):
                if avail == 0:
                    if self._eof:
                        raise HttpError(400, "request body cut short")
                    return NEED_DATA
                n = min(avail, self._body_left, max_n)
                s = self._start
                data = bytes(self._buf[s : s + n])
                self._start = s + n
                self._body_left -= n
                if self._body_left == 0:
                    self._state = _DONE if state == _BODY_LENGTH else _CHUNK_END
                return data
            if state == _DONE:
                return END
            if state == _CHUNK_SIZE:
                if not self._chunk_size():
                    return NEED_DATA
            elif state == _CHUNK_END:
                if avail < 2:
                    if self._eof:
                        raise HttpError(400, "request body cut short")
                    return NEED_DATA
                s = self._start
                if self._buf[s : s + 2] != b"\r\n":
                    raise HttpError(400, "chunk data not followed by CRLF")
                self._start = s + 2
                self._scan = self._start
                self._state = _CHUNK_SIZE
            elif state == _TRAILERS:
                if not self._trailer_lines():
                    return NEED_DATA
            else:
                raise RuntimeError("RequestParser.body_data: no body is being read")

    def _line(self, limit: int, what: str) -> int:
        """The end (LF) of the line at ``_start``, or -1 if it has not arrived."""
        buf = self._buf
        i = buf.find(b"\n", self._scan, self._end)
        if i < 0:
            if self._end - self._start > limit:
                raise HttpError(431 if what == "trailer" else 400, f"{what} line too long")
            if self._eof:
                raise HttpError(400, "request body cut short")
            self._scan = self._end
            return -1
        if i - self._start > limit + 1:
            raise HttpError(431 if what == "trailer" else 400, f"{what} line too long")
        if i == self._start or buf[i - 1] != 13:
            raise HttpError(400, f"{what} line not ended by CRLF")
        return i

    def _chunk_size(self) -> bool:
        i = self._line(MAX_CHUNK_LINE, "chunk size")
        if i < 0:
            return False
        s = self._start
        m = CHUNK_LINE_RE.fullmatch(self._buf, s, i - 1)
        if m is None:
            raise HttpError(400, "invalid chunk size line")
        size = int(m.group(1), 16)
        self._body_seen += size
        if self._body_seen > self.limits.max_body:
            raise HttpError(413, "request body too large")
        self._start = self._scan = i + 1
        if size:
            self._body_left = size
            self._state = _CHUNK_DATA
        else:
            self._state = _TRAILERS
            self._trailers = []
            self._body_left = self.limits.max_header_bytes  # trailer bytes allowed
        return True

    def _trailer_lines(self) -> bool:
        limits = self.limits
        while True:
            i = self._line(self._body_left, "trailer")
            if i < 0:
                return False
            s = self._start
            self._body_left -= i + 1 - s
            if self._body_left < 0:
                raise HttpError(431, "trailer section too large")
            self._start = self._scan = i + 1
            if i - 1 == s:  # the blank line: the body ends
                assert self.request is not None
                self.request.trailers = self._trailers
                self._state = _DONE
                return True
            line = bytes(self._buf[s : i - 1])
            m = FIELD_LINE_RE.fullmatch(line)
            if m is None or BAD_VALUE_RE.search(m.group(2)):
                raise HttpError(400, "invalid trailer field")
            name = m.group(1).lower()
            if name in FORBIDDEN_TRAILERS:
                raise HttpError(400, f"{name.decode()} is not allowed in trailers")
            self._trailers.append((name, m.group(2)))
            if len(self._trailers) > limits.max_headers:
                raise HttpError(431, "too many trailer fields")

    # -- between requests ----------------------------------------------------

    def start_next(self) -> None:
        """Get ready for the next request (the current one's body must be done)."""
        if self._state != _DONE:
            raise RuntimeError("RequestParser.start_next: the request body was not read")
        self._state = _HEAD
        self._body_seen = 0
        self.request = None
        self._scan = self._fed = self._start
