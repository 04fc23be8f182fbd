"""Buffered reading and parsing (Eio's ``Buf_read``).

A :class:`Reader` buffers a source (at most ``max_size`` bytes at once) and
offers parsers as methods: ``r.line()``, ``r.take(4)``. The same parsers exist
as values for combining and for :func:`parse_exn`: ``Buf_read.line`` is a
function of a reader, ``Buf_read.take(4)`` returns one. Parsers return
``bytes``; predicates get each byte as an ``int``. End of stream raises
``EOFError``; a parse failure raises :class:`ParseError` (a ``ValueError``);
needing more than ``max_size`` buffered raises :class:`BufferLimitExceeded`.
"""

from __future__ import annotations

import struct
from collections.abc import Callable, Iterator
from typing import Any, TypeVar

from zope.interface import implementer

from greeneio._quote import quote
from greeneio.interfaces import ISource
from greeneio.protocols import Source

T = TypeVar("T")
U = TypeVar("U")
Parser = Callable[["Reader"], T]

__all__ = [
    "BE",
    "LE",
    "BufferLimitExceeded",
    "ParseError",
    "Reader",
    "any_char",
    "as_flow",
    "at_end_of_input",
    "bind",
    "char",
    "consume",
    "end_of_input",
    "ensure",
    "line",
    "lines",
    "map",
    "of_flow",
    "of_string",
    "pair",
    "parse_exn",
    "parse_string_exn",
    "peek",
    "peek_char",
    "return_",
    "seq",
    "skip",
    "skip_while",
    "skip_while1",
    "string",
    "take",
    "take_all",
    "take_while",
    "take_while1",
    "uint8",
]


class ParseError(ValueError):
    """The input does not match what the parser expects (Eio's ``Failure``)."""


class BufferLimitExceeded(ParseError):
    """A parser needed more than ``max_size`` bytes buffered at once."""

    def __init__(self, msg: str = "Buffer size limit exceeded") -> None:
        super().__init__(msg)


def _q(data: bytes | bytearray) -> str:
    return quote(bytes(data))


def _qc(b: int) -> str:
    return "'" + _q(bytes([b]))[1:-1].replace('\\"', '"').replace("'", "\\'") + "'"


def _byte_arg(c: object, fn: str) -> int:
    # SPEC §5: one ASCII character or one byte; an int is uint8's job.
    if isinstance(c, bytes | bytearray):
        if len(c) == 1:
            return c[0]
        raise ValueError(f"Buf_read.{fn}: c must be one byte, not {len(c)} bytes ({c!r})")
    if isinstance(c, str):
        if len(c) == 1 and c.isascii():
            return ord(c)
        raise ValueError(f"Buf_read.{fn}: c must be one ASCII character, not {c!r}")
    raise TypeError(f"Buf_read.{fn}: c must be a one-byte bytes or a one-character str, not {c!r}")


def _count_arg(n: object, fn: str) -> int:
    if isinstance(n, bool) or not isinstance(n, int):
        raise TypeError(f"Buf_read.{fn}: n must be an int, not {n!r}")
    if n < 0:
        raise ValueError(f"Buf_read.{fn}: n must be >= 0, not {n}")
    return n


class Reader:
    """A buffered reader over a source. Not safe to share between fibers."""

    __slots__ = ("_buf", "_consumed", "_end", "_eof", "_flow", "_start", "max_size")

    def __init__(self, flow: Source | None, max_size: int, initial_size: int = 4096) -> None:
        self._flow = flow
        self.max_size = max_size
        self._buf = bytearray(max(1, min(initial_size, max_size)))
        self._start = 0
        self._end = 0
        self._consumed = 0
        self._eof = flow is None

    # -- the buffer ----------------------------------------------------------

    def buffered_bytes(self) -> int:
        return self._end - self._start

    def consumed_bytes(self) -> int:
        return self._consumed

    def eof_seen(self) -> bool:
        return self._eof

    def peek(self) -> bytes:
        """The buffered bytes not yet consumed (reads nothing)."""
        return bytes(self._buf[self._start : self._end])

    def consume(self, n: int) -> None:
        """Discard the first ``n`` buffered bytes. ``ValueError`` if fewer are buffered."""
        n = _count_arg(n, "consume")
        if n > self._end - self._start:
            raise ValueError(
                f"Buf_read.consume: n={n} but only {self._end - self._start} bytes are buffered"
            )
        self._start += n
        self._consumed += n
        if self._start == self._end:
            self._start = self._end = 0

    def ensure(self, n: int) -> None:
        """Read until at least ``n`` bytes are buffered.

        ``EOFError`` if the stream ends first; ``BufferLimitExceeded`` if ``n > max_size``.
        """
        if self._end - self._start >= n:
            return
        if n > self.max_size:
            raise BufferLimitExceeded()
        while self._end - self._start < n:
            self._fill(n)

    def _fill(self, want: int) -> None:
        # Read once, making room for at least `want` buffered bytes.
        flow = self._flow
        if self._eof or flow is None:  # no flow (of_string): at its end from the start
            raise EOFError
        buf = self._buf
        have = self._end - self._start
        if len(buf) - self._end < max(want - have, 1):
            if self._start:
                buf[:have] = buf[self._start : self._end]
                self._start, self._end = 0, have
            if len(buf) < want:
                buf.extend(bytes(min(max(want, 2 * len(buf)), self.max_size) - len(buf)))
            elif len(buf) == self._end:
                if len(buf) >= self.max_size:
                    raise BufferLimitExceeded()
                buf.extend(bytes(min(2 * len(buf), self.max_size) - len(buf)))
        try:
            n = flow.single_read(memoryview(buf)[self._end :])
        except EOFError:
            self._eof = True
            raise
        self._end += n

    def _more(self) -> bool:
        """Read more data (growing up to max_size); False at end of stream."""
        have = self._end - self._start
        if have >= self.max_size:
            raise BufferLimitExceeded()
        try:
            self._fill(have + 1)
        except EOFError:
            return False
        return True

    def _take(self, n: int) -> bytes:
        s = self._start
        data = bytes(self._buf[s : s + n])
        self.consume(n)
        return data

    # -- parsers -------------------------------------------------------------

    def line(self) -> bytes:
        """The next line without its ``\\n`` or ``\\r\\n``; at end of stream, the
        rest (if any), else ``EOFError``."""
        i = 0
        while True:
            nl = self._buf.find(b"\n", self._start + i, self._end)
            if nl >= 0:
                end = nl - self._start
                cut = end - 1 if end > 0 and self._buf[nl - 1] == 0x0D else end
                data = bytes(self._buf[self._start : self._start + cut])
                self.consume(end + 1)
                return data
            i = self._end - self._start
            if not self._more():
                if i == 0:
                    raise EOFError
                return self._take(i)

    def lines(self) -> Iterator[bytes]:
        """The remaining lines, one at a time, until end of stream."""
        while True:
            try:
                yield self.line()
            except EOFError:
                return

    def take(self, n: int) -> bytes:
        """Exactly the next ``n`` bytes."""
        n = _count_arg(n, "take")
        self.ensure(n)
        return self._take(n)

    def take_all(self) -> bytes:
        """Everything up to the end of the stream (at most ``max_size`` bytes)."""
        while self._more():
            pass
        return self._take(self._end - self._start)

    def _match_len(self, pred: Callable[[int], object]) -> int:
        i = 0
        while True:
            buf, end = self._buf, self._end
            j = self._start + i
            while j < end and pred(buf[j]):
                j += 1
            i = j - self._start
            if j < end or not self._more():
                return i

    def take_while(self, pred: Callable[[int], object]) -> bytes:
        """The longest prefix whose bytes all satisfy ``pred`` (possibly empty)."""
        return self._take(self._match_len(pred))

    def take_while1(self, pred: Callable[[int], object]) -> bytes:
        """Like :meth:`take_while`, but ``ParseError`` if it would be empty."""
        n = self._match_len(pred)
        if n == 0:
            raise ParseError("take_while1")
        return self._take(n)

    def skip_while(self, pred: Callable[[int], object]) -> None:
        """Discard bytes while they satisfy ``pred``."""
        while True:
            buf, end = self._buf, self._end
            j = self._start
            while j < end and pred(buf[j]):
                j += 1
            self.consume(j - self._start)
            if j < end:
                return
            try:
                self._fill(1)
            except EOFError:
                return

    def skip_while1(self, pred: Callable[[int], object]) -> None:
        """Like :meth:`skip_while`, but ``ParseError`` if nothing matched."""
        before = self._consumed
        self.skip_while(pred)
        if self._consumed == before:
            raise ParseError("skip_while1")

    def skip(self, n: int) -> None:
        """Discard the next ``n`` bytes (which may be more than ``max_size``)."""
        n = _count_arg(n, "skip")
        while n:
            if self._start == self._end:
                self._fill(1)
            k = min(n, self._end - self._start)
            self.consume(k)
            n -= k

    def char(self, c: bytes | str) -> None:
        """Consume the byte ``c``; ``ParseError`` if the next byte differs."""
        want = _byte_arg(c, "char")
        self.ensure(1)
        got = self._buf[self._start]
        if got != want:
            raise ParseError(f"Expected {_qc(want)} but got {_qc(got)}")
        self.consume(1)

    def any_char(self) -> bytes:
        """The next byte."""
        self.ensure(1)
        return self._take(1)

    def peek_char(self) -> bytes | None:
        """The next byte without consuming it, or ``None`` at end of stream."""
        try:
            self.ensure(1)
        except EOFError:
            return None
        return bytes(self._buf[self._start : self._start + 1])

    def string(self, s: bytes | str) -> None:
        """Consume exactly ``s``; ``ParseError`` naming what was found otherwise."""
        want = s.encode() if isinstance(s, str) else bytes(s)
        while True:
            avail = min(self._end - self._start, len(want))
            got = self._buf[self._start : self._start + avail]
            if got != want[:avail]:
                raise ParseError(f"Expected {_q(want)} but got {_q(got)}")
            if avail == len(want):
                self.consume(avail)
                return
            self.ensure(avail + 1)

    def uint8(self) -> int:
        """The next byte as an int."""
        self.ensure(1)
        b = self._buf[self._start]
        self.consume(1)
        return b

    def _unpack(self, fmt: struct.Struct) -> Any:
        self.ensure(fmt.size)
        (v,) = fmt.unpack_from(self._buf, self._start)
        self.consume(fmt.size)
        return v

    def at_end_of_input(self) -> bool:
        """True if nothing is buffered and the stream has ended."""
        if self._end > self._start:
            return False
        try:
            self.ensure(1)
        except EOFError:
            return True
        return False

    def end_of_input(self) -> None:
        """``ParseError("Unexpected data after parsing")`` unless at end of input."""
        if not self.at_end_of_input():
            raise ParseError("Unexpected data after parsing")

    def __repr__(self) -> str:
        return f"<Buf_read {self.buffered_bytes()} buffered, {self._consumed} consumed>"


class _Ints:
    """Fixed-size integers and floats of one byte order, as parsers."""

    def __init__(self, order: str) -> None:
        def parser(code: str) -> Parser[Any]:
            fmt = struct.Struct(order + code)
            return lambda r: r._unpack(fmt)

        self.uint16: Parser[int] = parser("H")
        self.uint32: Parser[int] = parser("I")
        self.uint64: Parser[int] = parser("Q")
        self.float: Parser[float] = parser("f")
        self.double: Parser[float] = parser("d")

        def uint48(r: Reader) -> int:
            return int.from_bytes(r.take(6), "big" if order == ">" else "little")

        self.uint48: Parser[int] = uint48


#: Big-endian parsers: ``Buf_read.BE.uint16(r)`` ...
BE = _Ints(">")
#: Little-endian parsers.
LE = _Ints("<")


# -- creating readers -----------------------------------------------------------


def of_flow(flow: Source, max_size: int, initial_size: int = 4096) -> Reader:
    """A reader over the source ``flow`` buffering at most ``max_size`` bytes."""
    if not ISource.providedBy(flow):
        raise TypeError(f"Buf_read.of_flow: flow must be a source (provide ISource), not {flow!r}")
    for name, v in (("max_size", max_size), ("initial_size", initial_size)):
        if isinstance(v, bool) or not isinstance(v, int):
            raise TypeError(f"Buf_read.of_flow: {name} must be an int, not {v!r}")
        if v < 1:
            raise ValueError(f"Buf_read.of_flow: {name} must be >= 1, not {v}")
    return Reader(flow, max_size, initial_size)


def of_string(s: bytes | str) -> Reader:
    """A reader over the bytes of ``s`` (UTF-8 if ``str``), already at end of stream."""
    data = s.encode() if isinstance(s, str) else bytes(s)
    r = Reader(None, max(len(data), 1), max(len(data), 1))
    r._buf[: len(data)] = data
    r._end = len(data)
    return r


@implementer(ISource)
class _ReaderFlow:
    __slots__ = ("_r",)

    def __init__(self, r: Reader) -> None:
        self._r = r

    def single_read(self, buf: memoryview) -> int:
        r = self._r
        if r._start == r._end:
            r._fill(1)
        n = min(len(buf), r._end - r._start)
        buf[:n] = r._buf[r._start : r._start + n]
        r.consume(n)
        return n


def as_flow(r: Reader) -> Source:
    """A source that reads what ``r`` has buffered, then the rest of its stream."""
    return _ReaderFlow(r)


# -- parsers as values ------------------------------------------------------------


def line(r: Reader) -> bytes:
    return r.line()


def lines(r: Reader) -> Iterator[bytes]:
    return r.lines()


def take_all(r: Reader) -> bytes:
    return r.take_all()


def any_char(r: Reader) -> bytes:
    return r.any_char()


def peek_char(r: Reader) -> bytes | None:
    return r.peek_char()


def uint8(r: Reader) -> int:
    return r.uint8()


def at_end_of_input(r: Reader) -> bool:
    return r.at_end_of_input()


def end_of_input(r: Reader) -> None:
    r.end_of_input()


def peek(r: Reader) -> bytes:
    return r.peek()


def take(n: int) -> Parser[bytes]:
    """A parser of exactly ``n`` bytes."""
    n = _count_arg(n, "take")
    return lambda r: r.take(n)


def skip(n: int) -> Parser[None]:
    n = _count_arg(n, "skip")
    return lambda r: r.skip(n)


def ensure(n: int) -> Parser[None]:
    n = _count_arg(n, "ensure")
    return lambda r: r.ensure(n)


def consume(n: int) -> Parser[None]:
    n = _count_arg(n, "consume")
    return lambda r: r.consume(n)


def take_while(pred: Callable[[int], object]) -> Parser[bytes]:
    return lambda r: r.take_while(pred)


def take_while1(pred: Callable[[int], object]) -> Parser[bytes]:
    return lambda r: r.take_while1(pred)


def skip_while(pred: Callable[[int], object]) -> Parser[None]:
    return lambda r: r.skip_while(pred)


def skip_while1(pred: Callable[[int], object]) -> Parser[None]:
    return lambda r: r.skip_while1(pred)


def char(c: bytes | str) -> Parser[None]:
    _byte_arg(c, "char")
    return lambda r: r.char(c)


def string(s: bytes | str) -> Parser[None]:
    if not isinstance(s, str | bytes | bytearray):
        raise TypeError(f"Buf_read.string: s must be bytes or str, not {s!r}")
    return lambda r: r.string(s)


def return_(x: T) -> Parser[T]:
    return lambda _r: x


def map(f: Callable[[T], U], p: Parser[T]) -> Parser[U]:
    return lambda r: f(p(r))


def pair(p: Parser[T], q: Parser[U]) -> Parser[tuple[T, U]]:
    def both(r: Reader) -> tuple[T, U]:
        a = p(r)
        return a, q(r)

    return both


def bind(p: Parser[T], f: Callable[[T], Parser[U]]) -> Parser[U]:
    return lambda r: f(p(r))(r)


def seq(p: Parser[T], stop: Parser[bool] = at_end_of_input) -> Parser[Iterator[T]]:
    """A parser of an iterator that applies ``p`` until ``stop`` says so."""

    def run(r: Reader) -> Iterator[T]:
        while not stop(r):
            yield p(r)

    return run


# -- running parsers ----------------------------------------------------------------


def _format_errors(p: Parser[T], r: Reader) -> T:
    try:
        v = p(r)
        r.end_of_input()
        return v
    except BufferLimitExceeded as e:
        raise BufferLimitExceeded(
            f"Buffer size limit exceeded when reading at offset {r._consumed}"
        ) from e
    except ParseError as e:
        raise ParseError(f"{e} (at offset {r._consumed})") from e
    except EOFError as e:
        raise ParseError(
            f"Unexpected end-of-file at offset {r._consumed + r.buffered_bytes()}"
        ) from e


def parse_exn(p: Parser[T], flow: Source, max_size: int, initial_size: int = 4096) -> T:
    """Run ``p`` over all of ``flow``; ``ParseError`` (with the offset) if it
    fails, if input remains, or at an early end of stream."""
    if not callable(p):
        raise TypeError(
            f"Buf_read.parse_exn: p must be a parser (a function of a reader), not {p!r}"
        )
    return _format_errors(p, of_flow(flow, max_size=max_size, initial_size=initial_size))


def parse_string_exn(p: Parser[T], s: bytes | str) -> T:
    """Run ``p`` over all of ``s``; errors as :func:`parse_exn`."""
    return _format_errors(p, of_string(s))
