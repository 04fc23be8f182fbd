"""Response bytes: status lines, reason phrases, the Date cache, head
building and chunk framing. Pure functions of their arguments; no I/O.

Heads are checked as they are built: a field name must be a token and a
value must not hold CR, LF or NUL (no response splitting, whatever an app
passes), and the framing headers are the engine's own (an app gives
``Content-Length`` or nothing; ``Transfer-Encoding`` is refused).
"""

from __future__ import annotations

import email.utils
import http
import re
from collections.abc import Callable, Sequence
from typing import Final

__all__ = [
    "CONTINUE",
    "LAST_CHUNK",
    "DateCache",
    "HeadInfo",
    "build_head",
    "head_block",
    "chunk_prefix",
    "error_response",
    "format_date",
    "reason_phrase",
    "status_line",
]

_REASONS: Final = {int(s): s.phrase for s in http.HTTPStatus}
_STATUS_LINES: dict[int, bytes] = {}

#: The interim response to ``Expect: 100-continue``.
CONTINUE: Final = b"HTTP/1.1 100 Continue\r\n\r\n"
#: The end of a chunked body (no trailers).
LAST_CHUNK: Final = b"0\r\n\r\n"

_TOKEN_RE: Final = re.compile(rb"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")
_GOOD_NAMES: set[bytes] = set()  # field names already checked


def reason_phrase(status: int) -> str:
    """The standard reason phrase of ``status`` (``"Not Found"``), or ``""``."""
    return _REASONS.get(status, "")


def status_line(status: int) -> bytes:
    """``b"HTTP/1.1 404 Not Found\\r\\n"`` (cached)."""
    line = _STATUS_LINES.get(status)
    if line is None:
        if not 100 <= status <= 999:
            raise ValueError(f"Http: a status must be 100-999, not {status}")
        line = b"HTTP/1.1 %d %s\r\n" % (status, reason_phrase(status).encode("ascii"))
        if len(_STATUS_LINES) < 1000:
            _STATUS_LINES[status] = line
    return line


def format_date(t: float) -> str:
    """``t`` (seconds since the epoch) as an HTTP date: ``Sun, 06 Nov 1994 08:49:37 GMT``."""
    return email.utils.formatdate(t, usegmt=True)


class DateCache:
    """The ``Date`` field line for now, formatted at most once a second.

    ``now`` gives the wall-clock time (``time.time``, or a clock's ``now``).
    On a hot path, ``cached`` may be used without a call while ``since <=
    now() < until`` (the second it was formatted for; a clock set back is
    seen too).
    """

    __slots__ = ("cached", "now", "since", "until")

    def __init__(self, now: Callable[[], float]) -> None:
        self.now = now
        self.since = self.until = -1.0
        #: The line for the second from ``since`` to ``until``.
        self.cached = b""

    def line(self) -> bytes:
        """``b"Date: ...\\r\\n"``."""
        t = self.now()
        if not self.since <= t < self.until:
            second = int(t)
            self.since = float(second)
            self.until = second + 1.0
            self.cached = b"Date: %s\r\n" % format_date(second).encode("ascii")
        return self.cached


class HeadInfo:
    """What a response's own headers say about its framing."""

    __slots__ = ("close", "content_length", "has_date")

    def __init__(self) -> None:
        self.content_length: int | None = None
        self.close = False
        self.has_date = False


#: Heads built lately, by ``(status, *headers)``: handlers tend to send the
#: same few heads again and again. Bounded: emptied when full.
_BLOCKS: dict[tuple[object, ...], tuple[bytes, HeadInfo]] = {}
_MAX_BLOCKS: Final = 512
#: The last call whose headers were a tuple of bytes pairs (immutable, so the
#: same object means the same headers): ``(headers, status, length, result)``.
_LAST: tuple[object, int, int | None, tuple[bytes, HeadInfo] | None] = ((), 0, None, None)


def head_block(
    status: int, headers: Sequence[tuple[bytes, bytes]], length: int | None = None
) -> tuple[bytes, HeadInfo]:
    """The status line and checked field lines of ``headers`` (and of a
    ``Content-Length: length`` after them, unless ``length`` is None) as one
    bytes without the blank line, and what they say about framing; as
    :func:`build_head` (same errors), remembered for heads seen lately."""
    global _LAST
    last = _LAST
    if headers is last[0] and status == last[1] and length == last[2]:
        assert last[3] is not None
        return last[3]  # the same immutable headers as the last call (a constant)
    try:
        key = (status, length, *headers)
        found = _BLOCKS.get(key)
    except TypeError:  # a bytearray value, say: not hashable, not remembered
        key = None
        found = None
    if found is None:
        info = HeadInfo()
        fields = headers if length is None else [*headers, (b"Content-Length", b"%d" % length)]
        found = (b"".join(build_head(status, fields, info)), info)
        if key is not None:
            if len(_BLOCKS) >= _MAX_BLOCKS:
                _BLOCKS.clear()
            _BLOCKS[key] = found
    if type(headers) is tuple and all(
        type(f) is tuple and type(f[0]) is bytes and type(f[1]) is bytes for f in headers
    ):
        _LAST = (headers, status, length, found)
    return found


def build_head(status: int, headers: Sequence[tuple[bytes, bytes]], info: HeadInfo) -> list[bytes]:
    """The status line and the checked field lines of ``headers``, as a list of
    pieces to which the engine appends its own lines and the blank line; ``info`` is
    filled in. ``ValueError`` for a bad name or value, a bad or repeated
    ``Content-Length``, or a ``Transfer-Encoding`` (the engine frames bodies)."""
    parts = [status_line(status)]
    add = parts.extend
    for name, value in headers:
        if name not in _GOOD_NAMES:
            if not _TOKEN_RE.fullmatch(name):
                raise ValueError(f"Http: invalid header field name {name!r}")
            if len(_GOOD_NAMES) < 1024:
                _GOOD_NAMES.add(name)
        add((name, b": ", value, b"\r\n"))
        if len(name) in (4, 10, 14, 17):  # the lengths of the names that matter here
            lname = name.lower()
            if lname == b"content-length":
                if info.content_length is not None or not value.isdigit():
                    raise ValueError(f"Http: bad or repeated Content-Length {value!r}")
                info.content_length = int(value)
            elif lname == b"connection":
                info.close = info.close or b"close" in value.lower()
            elif lname == b"date":
                info.has_date = True
            elif lname == b"transfer-encoding":
                raise ValueError("Http: the engine frames the body; do not set Transfer-Encoding")
    # No response splitting: each field line holds exactly one CR and one LF (its
    # own), and no NUL. Three C-speed counts, whatever the number of fields.
    block = b"".join(parts[1:])
    n = len(headers)
    if block.count(b"\n") != n or block.count(b"\r") != n or b"\0" in block:
        bad = [(k, v) for k, v in headers if b"\r" in v or b"\n" in v or b"\0" in v]
        raise ValueError(f"Http: invalid header field {bad[0]!r}")
    return parts


def chunk_prefix(n: int) -> bytes:
    """The size line of a chunk of ``n`` (> 0) bytes."""
    return b"%x\r\n" % n


def error_response(status: int, detail: str, date_line: bytes) -> bytes:
    """A whole ``text/plain`` error response with ``Connection: close``."""
    reason = reason_phrase(status)
    body = (f"{reason}: {detail}\n" if detail else f"{reason}\n").encode("utf-8", "replace")
    return b"".join(
        [
            status_line(status),
            date_line,
            b"Content-Type: text/plain; charset=utf-8\r\n",
            b"Content-Length: %d\r\n" % len(body),
            b"Connection: close\r\n\r\n",
            body,
        ]
    )
