"""Buf_read: Eio's tests/buf_reader.md, ported."""

from __future__ import annotations

import pytest

from greeneio import Buf_read as R
from greeneio import Flow, traceln
from greeneio.mock import Backend, Raise, Return
from greeneio.mock import Flow as MockFlow

pytestmark = pytest.mark.timeout(10)


class Chunks:
    """A source returning the given chunks one read at a time (traced), then EOF."""

    def __init__(self, *chunks: bytes) -> None:
        self.next = list(chunks)

    def single_read(self, buf):
        if not self.next:
            traceln("mock_flow returning Eof")
            raise EOFError
        x = self.next.pop(0)
        n = min(len(buf), len(x))
        buf[:n] = x[:n]
        if n < len(x):
            self.next.insert(0, x[n:])
        traceln("mock_flow returning %d bytes", n)
        return n


from zope.interface import classImplements  # noqa: E402

from greeneio.interfaces import ISource  # noqa: E402

classImplements(Chunks, ISource)


def run(fn):
    return Backend.run(fn)


def test_ensure_and_peek(traced):
    def main():
        src = Chunks(b"h", b"ello")
        r = R.of_flow(src, max_size=100)
        r.ensure(1)
        assert r.peek() == b"h"
        r.consume(1)
        r.ensure(4)
        assert r.peek() == b"ello"
        with pytest.raises(EOFError):
            r.ensure(5)

    run(main)
    assert traced == [
        "mock_flow returning 1 bytes",
        "mock_flow returning 4 bytes",
        "mock_flow returning Eof",
    ]


def test_buffer_limit(traced):
    def main():
        r = R.of_flow(Chunks(b"hello", b" world"), max_size=10, initial_size=4)
        r.ensure(9)
        assert r.peek() == b"hello worl"[: r.buffered_bytes()]
        r.ensure(10)
        assert r.peek() == b"hello worl"
        with pytest.raises(R.BufferLimitExceeded):
            r.ensure(11)

    run(main)


def test_ensure_eof_keeps_data():
    def main():
        r = R.of_flow(Chunks(b"hi"), max_size=10, initial_size=4)
        with pytest.raises(EOFError):
            r.ensure(10)
        assert r.peek() == b"hi"
        with pytest.raises(EOFError):
            r.ensure(10)

    run(main)


def test_lines():
    def main():
        r = R.of_flow(Chunks(b"one\ntw", b"o\r\nthree"), max_size=100)
        got = [r.line(), r.line(), r.line()]
        with pytest.raises(EOFError):
            r.line()
        return got

    assert run(main) == [b"one", b"two", b"three"]


def test_lines_iterator_and_empty_lines():
    r = R.of_string("a\n\nb\r\nc")
    assert list(r.lines()) == [b"a", b"", b"b", b"c"]


def test_any_char_and_take(traced):
    def main():
        r = R.of_flow(Chunks(b"ab", b"c"), max_size=100)
        assert r.any_char() == b"a"
        assert R.take(1)(r) == b"b"
        with pytest.raises(EOFError):
            r.take(3)

    run(main)


def test_char_and_string_errors():
    def main():
        r = R.of_flow(Chunks(b"ab", b"c"), max_size=100)
        with pytest.raises(R.ParseError, match="^Expected 'A' but got 'a'$"):
            r.char(b"A")
        r.char(b"a")
        with pytest.raises(R.ParseError, match='^Expected "BC" but got "b"$'):
            r.string(b"BC")
        with pytest.raises(R.ParseError, match='^Expected "bC" but got "bc"$'):
            r.string(b"bC")
        with pytest.raises(EOFError):
            r.string(b"bcd")
        with pytest.raises(EOFError):
            r.string(b"bcd")

    run(main)


def is_a(b: int) -> bool:
    return b == ord("a")


@pytest.mark.parametrize(
    "chunks, parser, expected",
    [
        ([b"aaabc"], R.take_while(is_a), b"aaa"),
        ([b"aaa", b"bc"], R.take_while(is_a), b"aaa"),
        ([b"bc"], R.take_while(is_a), b""),
        ([b""], R.take_while(is_a), b""),
        ([b"aaabc"], R.take_while1(is_a), b"aaa"),
        ([b"aaabc"], R.pair(R.skip_while(is_a), R.take_all), (None, b"bc")),
        ([b"aaa", b"abc"], R.pair(R.skip_while1(is_a), R.take_all), (None, b"bc")),
        ([b"abc"], R.pair(R.any_char, R.take_all), (b"a", b"bc")),
        ([b"abcd123"], R.map(lambda s: s.upper(), R.take(2)), b"AB"),
        ([b"\x01\x02\x03\x04"], R.BE.uint16, 0x0102),
        ([b"\x01\x02\x03\x04"], R.LE.uint32, 0x04030201),
        ([b"\x01\x02\x03\x04\x05\x06"], R.BE.uint48, 0x010203040506),
        ([b"\xff"], R.uint8, 255),
        ([b"\x3f\xf0\x00\x00\x00\x00\x00\x00"], R.BE.double, 1.0),
    ],
)
def test_parsers(chunks, parser, expected):
    assert run(lambda: parser(R.of_flow(Chunks(*chunks), max_size=100))) == expected


def test_take_while1_and_skip_while1_fail():
    def main():
        with pytest.raises(R.ParseError, match="^take_while1$"):
            R.take_while1(lambda b: not is_a(b))(R.of_flow(Chunks(b"aaabc"), max_size=100))
        with pytest.raises(R.ParseError, match="^skip_while1$"):
            R.skip_while1(is_a)(R.of_flow(Chunks(b"bbbccc"), max_size=100))

    run(main)


def test_take_all_limit():
    def main():
        r = R.of_flow(Chunks(b"abc", b"def", b"ghi", b"jkl"), max_size=10)
        with pytest.raises(R.BufferLimitExceeded):
            r.take_all()

    run(main)


def test_bind():
    def main():
        p = R.bind(R.any_char, R.char)
        with pytest.raises(R.ParseError, match="Expected 'a' but got 'b'"):
            p(R.of_flow(Chunks(b"abc"), max_size=100))
        return R.bind(R.any_char, lambda c: R.return_(c * 2))(R.of_string("x"))

    assert run(main) == b"xx"


def test_seq():
    def main():
        r = R.of_flow(Chunks(b"abcd", b"1234"), max_size=100)
        return list(R.seq(R.take(2))(r))

    assert run(main) == [b"ab", b"cd", b"12", b"34"]
    with pytest.raises(EOFError):
        run(lambda: list(R.seq(R.take(2))(R.of_string("abcd123"))))


def test_peek_char_and_at_end():
    r = R.of_string("x")
    assert R.peek_char(r) == b"x"
    assert not R.at_end_of_input(r)
    r.any_char()
    assert r.peek_char() is None
    assert r.at_end_of_input()


def test_skip_more_than_max_size():
    def main():
        r = R.of_flow(Chunks(b"0123456789", b"abcdef"), max_size=5)
        r.skip(12)
        return r.take_all()

    assert run(main) == b"cdef"


def test_as_flow():
    def main():
        r = R.of_flow(Chunks(b"head\nbody", b" rest"), max_size=100)
        assert r.line() == b"head"
        return Flow.read_all(R.as_flow(r))

    assert run(main) == b"body rest"


@pytest.mark.parametrize(
    "parser, data, message",
    [
        (
            R.pair(R.string("FROM:"), R.take_all),
            "TO:B",
            'Expected "FROM:" but got "TO:B" (at offset 0)',
        ),
        (
            R.pair(R.string("FROM:"), R.take_all),
            "FROM:ABCDE",
            "Buffer size limit exceeded when reading at offset 5",
        ),
        (R.take(3), "ENDING", "Unexpected data after parsing (at offset 3)"),
        (R.take(3), "E", "Unexpected end-of-file at offset 1"),
    ],
)
def test_parse_exn_errors(parser, data, message):
    with pytest.raises(R.ParseError) as info:
        run(lambda: R.parse_exn(parser, Flow.string_source(data), max_size=5))
    assert str(info.value) == message


def test_parse_exn_ok():
    p = R.pair(R.string("FROM:"), R.take_all)
    assert run(lambda: R.parse_exn(p, Flow.string_source("FROM:A"), max_size=5)) == (None, b"A")


def test_parse_string():
    r = R.of_string("hello\nworld\n")
    assert [R.line(r), R.line(r)] == [b"hello", b"world"]
    with pytest.raises(EOFError):
        R.line(r)
    assert R.parse_string_exn(R.line, "foo\n") == b"foo"
    with pytest.raises(R.ParseError, match=r"^Unexpected data after parsing \(at offset 4\)$"):
        R.parse_string_exn(R.line, "foo\nbar\n")


def test_with_mock_flow(traced):
    def main():
        flow = MockFlow.make("flow")
        MockFlow.on_read(flow, [Return(b"foo\nba"), Return(b"r\n"), Raise(EOFError())])
        return R.parse_exn(R.pair(R.line, R.line), flow, max_size=100)

    assert run(main) == (b"foo", b"bar")
    assert traced == ['flow: read "foo\\n"', '           "ba"', 'flow: read "r\\n"']


def test_bad_arguments():
    with pytest.raises(ValueError, match="max_size must be >= 1, not 0"):
        R.of_flow(Flow.null, max_size=0)
    with pytest.raises(TypeError, match="max_size must be an int"):
        R.of_flow(Flow.null, max_size="10")
    with pytest.raises(TypeError, match="flow must be a source"):
        R.of_flow(b"bytes", max_size=10)
    with pytest.raises(ValueError, match="n must be >= 0"):
        R.take(-1)
    with pytest.raises(ValueError, match="c must be one byte"):
        R.char(b"ab")
    with pytest.raises(ValueError, match="only 0 bytes are buffered"):
        R.of_string("").consume(1)


@pytest.mark.parametrize(
    "c, exc, msg",
    [
        ("é", ValueError, "one ASCII character"),
        ("ab", ValueError, "one ASCII character"),
        (b"ab", ValueError, "one byte, not 2 bytes"),
        (b"", ValueError, "one byte, not 0 bytes"),
        (97, TypeError, "one-byte bytes or a one-character str"),
    ],
)
def test_char_takes_one_ascii_character_or_one_byte(c, exc, msg):
    r = R.of_string("a")
    with pytest.raises(exc, match=msg):
        r.char(c)
    assert r.char("a") is None
