"""Buf_write: buffered writing; every operation as a method and as a module function."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from greeneio import Buf_write, Cancel, Flow, Net
from greeneio.mock import Backend, Raise
from greeneio.mock import Flow as MockFlow

pytestmark = pytest.mark.timeout(10)

WRITER_OPERATIONS = [
    "string", "bytes", "char", "uint8", "printf", "flush", "close", "abort", "buffered"
]  # fmt: skip


def written(fn: Callable[[Any], object], initial_size: int = 4096) -> bytes:
    """The bytes that ``Buf_write.with_flow(buffer_sink, fn)`` writes."""
    out = bytearray()
    Backend.run(lambda: Buf_write.with_flow(Flow.buffer_sink(out), fn, initial_size=initial_size))
    return bytes(out)


# -- what each operation writes -----------------------------------------------------


def test_with_flow_collects_small_writes(transcript):
    def main():
        dst = MockFlow.make("dst")

        def fn(w):
            w.string("Hello")
            w.char(b" ")
            w.string("world!", 0, 5)
            w.bytes(b"\n")
            Buf_write.BE.uint16(w, 0x4142)
            w.uint8(0x43)
            return w.buffered()

        return Buf_write.with_flow(dst, fn)

    assert transcript(main) == ['dst: wrote "Hello world\\n"', '           "ABC"', "-> 15"]


def test_each_operation_writes_exact_bytes():
    def fn(w):
        w.string("héllo")  # UTF-8
        w.string(b"0123456789", 2, 3)
        w.string("abcdef", 4)
        w.bytes(b"BY")
        w.bytes(bytearray(b"ba"))
        w.bytes(memoryview(b"xmvx"), 1, 2)
        w.char("c")
        w.char(b"d")
        w.char(bytearray(b"e"))
        w.uint8(0)
        w.uint8(255)
        w.printf("%d%% of %s", 50, "é")
        w.printf("no args %%")

    assert written(fn) == (b"h\xc3\xa9llo234efBYbamvcde\x00\xff50% of \xc3\xa9no args %")


def test_byte_orders_write_exact_bytes():
    def fn(w):
        for order in (Buf_write.BE, Buf_write.LE):
            order.uint16(w, 0x0102)
            order.uint32(w, 0x01020304)
            order.uint48(w, 0x010203040506)
            order.uint64(w, 0x0102030405060708)
            order.float(w, 1.5)
            order.double(w, -2)

    be = (
        b"\x01\x02"
        b"\x01\x02\x03\x04"
        b"\x01\x02\x03\x04\x05\x06"
        b"\x01\x02\x03\x04\x05\x06\x07\x08"
        b"\x3f\xc0\x00\x00"
        b"\xc0\x00\x00\x00\x00\x00\x00\x00"
    )
    le = (
        b"\x02\x01"
        b"\x04\x03\x02\x01"
        b"\x06\x05\x04\x03\x02\x01"
        b"\x08\x07\x06\x05\x04\x03\x02\x01"
        b"\x00\x00\xc0\x3f"
        b"\x00\x00\x00\x00\x00\x00\x00\xc0"
    )
    assert written(fn) == be + le


def test_module_functions_write_what_the_methods_write():
    def by_methods(w):
        w.string("s")
        w.string("string", 1, 3)
        w.bytes(b"b")
        w.bytes(b"bytes", 2)
        w.char("c")
        w.uint8(7)
        w.printf("%s=%d\n", "x", 1)
        w.flush()
        w.string("after flush")
        w.close()

    def by_functions(w):
        Buf_write.string(w, "s")
        Buf_write.string(w, "string", 1, 3)
        Buf_write.bytes(w, b"b")
        Buf_write.bytes(w, b"bytes", off=2)
        Buf_write.char(w, "c")
        Buf_write.uint8(w, 7)
        Buf_write.printf(w, "%s=%d\n", "x", 1)
        Buf_write.flush(w)
        Buf_write.string(w, "after flush")
        Buf_write.close(w)

    assert written(by_functions) == written(by_methods) == b"stribtesc\x07x=1\nafter flush"


def test_every_writer_method_is_also_a_module_function():
    methods = {n for n in dir(Buf_write.Writer) if not n.startswith("_")}
    assert methods == set(WRITER_OPERATIONS)
    for name in methods:
        assert callable(getattr(Buf_write, name)), name


def test_all_lists_exactly_the_documented_names():
    documented = ["Writer", "create", "with_flow", "BE", "LE", *WRITER_OPERATIONS]
    assert sorted(Buf_write.__all__) == sorted(documented)
    for order in (Buf_write.BE, Buf_write.LE):
        for name in ["uint16", "uint32", "uint48", "uint64", "float", "double"]:
            assert callable(getattr(order, name)), name


# -- flushing ---------------------------------------------------------------------------


def test_flush_and_auto_flush(transcript):
    def main():
        dst = MockFlow.make("dst")
        w = Buf_write.create(dst, initial_size=4)
        w.string("ab")
        w.flush()
        w.string("cdefg")  # passes initial_size: written at once
        w.string("h")
        w.close()
        with pytest.raises(RuntimeError, match="closed"):
            w.string("x")

    assert transcript(main) == [
        'dst: wrote "ab"',
        'dst: wrote "cdefg"',
        'dst: wrote "h"',
        "-> None",
    ]


def test_flush_returns_once_everything_is_in_the_flow():
    out = bytearray()

    def main():
        w = Buf_write.create(Flow.buffer_sink(out))
        Buf_write.string(w, "one")
        Buf_write.BE.uint16(w, 2)
        assert (bytes(out), w.buffered()) == (b"", 5)
        Buf_write.flush(w)
        assert (bytes(out), Buf_write.buffered(w)) == (b"one\x00\x02", 0)
        Buf_write.flush(w)  # nothing buffered: writes nothing
        Buf_write.close(w)
        Buf_write.close(w)  # closing twice does nothing
        Buf_write.flush(w)  # nor does flushing a closed writer

    Backend.run(main)
    assert bytes(out) == b"one\x00\x02"


def test_round_trip_through_buffer_sink():
    def fn(w):
        for i in range(1000):
            Buf_write.LE.uint32(w, i)

    out = written(fn, initial_size=7)  # flushed every other integer
    assert len(out) == 4000
    assert out == b"".join(i.to_bytes(4, "little") for i in range(1000))


def test_with_flow_flushes_what_fn_wrote_then_reraises(transcript):
    def main():
        dst = MockFlow.make("dst")

        def fn(w):
            w.string("partial ")
            Buf_write.printf(w, "answer %d", 42)
            raise ValueError("boom")

        Buf_write.with_flow(dst, fn)

    assert transcript(main) == ['dst: wrote "partial answer 42"', "Exception: ValueError: boom"]


def test_with_flow_flushes_before_the_exception_leaves():
    out = bytearray()
    seen: list[bytes] = []
    boom = ValueError("boom")

    def fn(w):
        w.string("kept")
        raise boom

    def main():
        try:
            Buf_write.with_flow(Flow.buffer_sink(out), fn)
        except ValueError as e:
            seen.append(bytes(out))  # already in the sink when the error arrives
            assert e is boom

    Backend.run(main)
    assert seen == [b"kept"]


def test_with_flow_returns_fns_value_and_closes_the_writer():
    kept: list[Any] = []

    def fn(w):
        kept.append(w)
        w.string("x")
        return "value"

    out = bytearray()
    assert Backend.run(lambda: Buf_write.with_flow(Flow.buffer_sink(out), fn)) == "value"
    assert bytes(out) == b"x"
    with pytest.raises(RuntimeError, match=r"Buf_write\.string: the writer is closed"):
        kept[0].string("late")


def test_with_flow_when_fn_and_the_flush_both_fail(transcript):
    def main():
        dst = MockFlow.make("dst")
        MockFlow.on_copy_bytes(dst, [Raise(Net.ConnectionReset())])

        def fn(w):
            w.string("lost")
            raise ValueError("boom")

        Buf_write.with_flow(dst, fn)

    assert transcript(main) == [
        "Exception: Multiple exceptions: [ValueError: boom; ConnectionReset: Net Connection_reset]"
    ]


def test_with_flow_cancelled_while_flushing_keeps_fns_exception(transcript):
    """``fn`` cancels its own context, then fails: the flush cannot write (it is
    cancelled), and ``fn``'s exception is what leaves, not ``Cancelled``."""

    def main():
        dst = MockFlow.make("dst")

        def in_sub(cc):
            def fn(w):
                w.string("never written")
                cc.cancel(RuntimeError("stop"))
                raise ValueError("boom")

            Buf_write.with_flow(dst, fn)

        Cancel.sub(in_sub)

    assert transcript(main) == ["Exception: ValueError: boom"]


def test_abort_discards_and_refuses_further_writes(transcript):
    def main():
        dst = MockFlow.make("dst")
        w = Buf_write.create(dst)
        w.string("written")
        w.flush()
        w.string("discarded")
        Buf_write.abort(w)
        assert w.buffered() == 0
        w.close()  # already closed: writes nothing
        for write in (
            lambda: w.string("x"),
            lambda: Buf_write.char(w, "x"),
            lambda: w.uint8(1),
            lambda: Buf_write.LE.uint32(w, 1),
            lambda: Buf_write.printf(w, "x"),
            lambda: w.bytes(b"x"),
        ):
            with pytest.raises(RuntimeError, match="the writer is closed"):
                write()

    assert transcript(main) == ['dst: wrote "written"', "-> None"]


# -- bad arguments ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("call", "exc", "message"),
    [
        (lambda w: w.char("ab"), ValueError, "char: c must be one ASCII character, not 'ab'"),
        (lambda w: w.char(""), ValueError, "char: c must be one ASCII character"),
        (lambda w: w.char("é"), ValueError, "char: c must be one ASCII character, not 'é'"),
        (lambda w: w.char(b"ab"), ValueError, "char: c must be one byte, not b'ab'"),
        (lambda w: w.char(65), TypeError, r"char: c must be .*\(use uint8 for an int\), not 65"),
        (lambda w: Buf_write.char(w, None), TypeError, "char: c must be a str or bytes"),
        (lambda w: w.uint8(300), ValueError, "uint8: v must be 0-255, not 300"),
        (lambda w: w.uint8(-1), ValueError, "uint8: v must be 0-255, not -1"),
        (lambda w: w.uint8(True), TypeError, "uint8: v must be an int, not True"),
        (lambda w: w.uint8("1"), TypeError, "uint8: v must be an int, not '1'"),
        (lambda w: w.string(1), TypeError, "string: s must be bytes-like, not 1"),
        (lambda w: w.string("abc", 4), ValueError, "string: off must be in 0..3, not 4"),
        (lambda w: w.string("abc", -1), ValueError, "string: off must be in 0..3, not -1"),
        (lambda w: w.string("abc", 1, 3), ValueError, r"string: len must be in 0\.\.2"),
        (lambda w: w.string("abc", 0, -1), ValueError, "string: len must be in 0..3"),
        (lambda w: w.string("abc", "1"), TypeError, "string: off must be an int, not '1'"),
        (lambda w: w.bytes("str"), TypeError, "bytes: b must be bytes-like, not 'str'"),
        (lambda w: w.bytes(b"ab", 0, 3), ValueError, "bytes: len must be in 0..2"),
        (lambda w: Buf_write.BE.uint16(w, 0x10000), ValueError, "BE.uint16: v must be 0-65535"),
        (lambda w: Buf_write.LE.uint32(w, -1), ValueError, "LE.uint32: v must be 0-4294967295"),
        (lambda w: Buf_write.BE.uint48(w, 1 << 48), ValueError, "BE.uint48: v must be 0-"),
        (lambda w: Buf_write.LE.uint64(w, 1.0), TypeError, "LE.uint64: v must be an int, not 1.0"),
        (lambda w: Buf_write.BE.float(w, "1"), TypeError, "BE.float: v must be a float"),
        (lambda w: Buf_write.BE.float(w, 1e300), ValueError, "BE.float: v is too large"),
        (lambda w: w.printf(b"%d", 1), TypeError, "printf: fmt must be a str, not b'%d'"),
        (lambda w: w.printf("%d", "x"), TypeError, "printf: fmt '%d' does not fit args"),
        (lambda w: w.printf("%d %d", 1), TypeError, "printf: fmt '%d %d' does not fit args"),
        (lambda w: w.printf("100%"), ValueError, "printf: fmt '100%' does not fit args"),
        (lambda w: Buf_write.string("not a writer", "x"), TypeError, "string: w must be a"),
        (lambda w: Buf_write.BE.uint16(None, 1), TypeError, "BE.uint16: w must be a"),
        (lambda w: Buf_write.flush(b"x"), TypeError, "flush: w must be a Buf_write writer"),
    ],
)
def test_bad_arguments_name_the_argument(call, exc, message):
    def main():
        w = Buf_write.create(Flow.buffer_sink(out))
        with pytest.raises(exc, match=f"^Buf_write\\.{message}"):
            call(w)
        w.close()

    out = bytearray()
    Backend.run(main)
    assert out == b""  # nothing half-written


def test_bad_writer_creation():
    with pytest.raises(TypeError, match="Buf_write.create: flow must be a sink"):
        Buf_write.create("nope")
    with pytest.raises(ValueError, match="Buf_write.create: initial_size must be an int >= 1"):
        Buf_write.create(Flow.null, initial_size=0)
    with pytest.raises(TypeError, match="Buf_write.create: initial_size must be an int, not '8'"):
        Buf_write.create(Flow.null, initial_size="8")
    with pytest.raises(TypeError, match="Buf_write.with_flow: flow must be a sink"):
        Buf_write.with_flow(None, lambda w: None)
    with pytest.raises(TypeError, match="Buf_write.with_flow: fn must be callable"):
        Buf_write.with_flow(Flow.null, "fn")
