"""Buf_write: buffered writing."""

from __future__ import annotations

import pytest

from greeneio import Buf_write, Flow
from greeneio.mock import Backend
from greeneio.mock import Flow as MockFlow

pytestmark = pytest.mark.timeout(10)


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


def test_round_trip_through_buffer_sink():
    out = bytearray()

    def fn(w):
        for i in range(1000):
            Buf_write.LE.uint32(w, i)

    Backend.run(lambda: Buf_write.with_flow(Flow.buffer_sink(out), fn))
    assert len(out) == 4000
    assert int.from_bytes(out[-4:], "little") == 999


def test_bad_arguments():
    with pytest.raises(TypeError, match="flow must be a sink"):
        Buf_write.create("nope")
    with pytest.raises(ValueError, match="initial_size must be an int >= 1"):
        Buf_write.create(Flow.null, initial_size=0)
    w = Buf_write.create(Flow.null)
    with pytest.raises(ValueError, match="uint8: v must be 0-255, not 300"):
        w.uint8(300)
