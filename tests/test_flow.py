"""Flows: Eio's tests/flow.md, plus the in-memory flows and argument checks."""

from __future__ import annotations

import pytest

from greeneio import Flow, traceln
from greeneio.mock import Backend, Return
from greeneio.mock import Flow as MockFlow

pytestmark = pytest.mark.timeout(10)


def test_read_exact(transcript):
    def main():
        for n in (0, 3, 5, 6, 7):
            buf = bytearray(n)
            Flow.read_exact(Flow.cstruct_source([b"foo", b"bar"]), buf)
            traceln("Got %r", bytes(buf))

    assert transcript(main) == [
        "Got b''",
        "Got b'foo'",
        "Got b'fooba'",
        "Got b'foobar'",
        "Exception: EOFError: ",
    ]


def test_copy_mock_to_mock(transcript):
    def main():
        src = MockFlow.make("src")
        dst = MockFlow.make("dst")
        MockFlow.on_read(src, [Return(b"foo"), Return(b"bar")])
        Flow.copy(src, dst)

    assert transcript(main) == [
        'src: read "foo"',
        'dst: wrote "foo"',
        'src: read "bar"',
        'dst: wrote "bar"',
        "-> None",
    ]


@pytest.mark.parametrize(
    "make_src", [lambda: Flow.string_source("foobar"), lambda: Flow.cstruct_source([b"foobar"])]
)
def test_copy_from_memory_source_respects_sink_sizes(transcript, make_src):
    def main():
        dst = MockFlow.make("dst")
        MockFlow.on_copy_bytes(dst, [Return(3), Return(5)])
        Flow.copy(make_src(), dst)

    assert transcript(main) == ['dst: wrote "foo"', 'dst: wrote "bar"', "-> None"]


def test_read_all():
    each = bytes(range(256))
    data = [each] * 40
    got = Backend.run(lambda: Flow.read_all(Flow.cstruct_source(data)))
    assert got == each * 40


def test_write_partial_writes_are_completed(transcript):
    def main():
        dst = MockFlow.make("dst")
        MockFlow.on_copy_bytes(dst, [Return(6)])
        Flow.write(dst, [b"foobar"])
        MockFlow.on_copy_bytes(dst, [Return(2), Return(10)])
        Flow.write(dst, [b"abc", b"def"])

    assert transcript(main) == [
        'dst: wrote "foobar"',
        'dst: wrote "ab"',
        'dst: wrote ["c"; "def"]',
        "-> None",
    ]


def test_mock_flow_traces_multiline_writes_shutdown_close(transcript):
    def main():
        f = MockFlow.make("flow")
        with f:
            Flow.copy_string("GET / HTTP/1.1\r\nHost: x\r\n", f)
            Flow.shutdown(f, "send")

    assert transcript(main) == [
        'flow: wrote "GET / HTTP/1.1\\r\\n"',
        '            "Host: x\\r\\n"',
        "flow: shutdown send",
        "flow: closed",
        "-> None",
    ]


def test_buffer_sink_and_single_write(transcript):
    def main():
        out = bytearray()
        sink = Flow.buffer_sink(out)
        n = Flow.single_write(sink, [b"ab", bytearray(b"cd"), memoryview(b"ef")])
        Flow.copy(Flow.string_source("é"), sink)
        return n, bytes(out)

    assert transcript(main) == ["-> (6, b'abcdef\\xc3\\xa9')"]


def test_single_read_end_of_stream(transcript):
    def main():
        src = Flow.string_source(b"xy")
        buf = bytearray(1)
        got = [Flow.single_read(src, buf), bytes(buf)]
        got += [Flow.single_read(src, buf), bytes(buf)]
        traceln("%r", got)
        Flow.single_read(src, buf)

    assert transcript(main) == ["[1, b'x', 1, b'y']", "Exception: EOFError: "]


def test_null_flow(transcript):
    def main():
        Flow.write(Flow.null, [b"discarded"])
        return Flow.read_all(Flow.null)

    assert transcript(main) == ["-> b''"]


def test_shutdown_bad_command_names_argument(transcript):
    out = transcript(lambda: Flow.shutdown(MockFlow.make("f"), "sideways"))
    assert out == [
        "Exception: ValueError: Flow.shutdown: cmd must be 'send', 'receive' or 'all', "
        "not 'sideways'"
    ]


@pytest.mark.parametrize(
    "call, message",
    [
        (
            lambda: Flow.write(Flow.null, "text"),
            "bufs must be bytes-like or a list of them, not str",
        ),
        (lambda: Flow.write(Flow.null, [b"ok", 3]), "every buffer in bufs must be bytes-like"),
        (lambda: Flow.single_read(Flow.null, b"readonly"), "buf must be writable"),
        (lambda: Flow.single_read(Flow.null, "str"), "buf must be a writable bytes-like object"),
        (lambda: Flow.copy("not a flow", Flow.null), "src must be a source"),
        (lambda: Flow.copy(Flow.null, object()), "dst must be a sink"),
        (lambda: Flow.buffer_sink(b"bytes"), "buffer must be a bytearray"),
        (lambda: Flow.copy_string(3, Flow.null), "s must be str or bytes"),
    ],
)
def test_bad_arguments_are_type_errors_naming_the_argument(call, message):
    with pytest.raises(TypeError, match=message):
        Backend.run(call)
