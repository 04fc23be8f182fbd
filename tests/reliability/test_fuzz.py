"""Property tests (hypothesis, bounded example counts): parsers either parse or
raise their documented error, whatever the input and however it is split."""

from __future__ import annotations

import contextlib
import socket
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from greeneio import Buf_read, Buf_write, Flow, Net
from greeneio.mock import Backend
from greeneio.serve._options import UsageError, parse_listen

pytestmark = pytest.mark.timeout(120)

FAST = settings(max_examples=200, deadline=None)


@FAST
@given(st.text(max_size=60))
def test_sockaddr_parse_parses_or_raises_value_error(text):
    try:
        addr = Net.Sockaddr.parse(text)
    except ValueError:
        return
    assert Net.Sockaddr.parse(str(addr)) == addr


@FAST
@given(st.text(max_size=50))
def test_ipaddr_parse_parses_or_raises_value_error(text):
    try:
        ip = Net.Ipaddr.parse(text)
    except ValueError:
        return
    assert Net.Ipaddr.parse(str(ip)) == ip


@FAST
@given(st.binary(max_size=20))
def test_ipaddr_of_raw(raw):
    if len(raw) in (4, 16):
        assert bytes(Net.Ipaddr.of_raw(raw)) == raw
    else:
        with pytest.raises(ValueError):
            Net.Ipaddr.of_raw(raw)


@FAST
@given(st.text(max_size=60))
def test_cli_listen_parses_or_raises_usage_error(text):
    try:
        item = parse_listen(text)
    except UsageError as e:
        assert "\n" not in str(e)
        return
    assert item.kind in ("tcp", "udp", "unix", "fd")


# -- Buf_read: the same result however the stream is split ----------------------


def split_at(data: bytes, cuts: list[int]) -> list[bytes]:
    points = sorted({c % (len(data) + 1) for c in cuts})
    pieces, last = [], 0
    for p in points:
        pieces.append(data[last:p])
        last = p
    pieces.append(data[last:])
    return [p for p in pieces if p]


def parse_all(chunks: list[bytes], parser: Any) -> Any:
    def main() -> Any:
        reader = Buf_read.of_flow(Flow.cstruct_source(chunks), max_size=1 << 16)
        try:
            return ("ok", parser(reader))
        except (Buf_read.ParseError, EOFError) as e:
            return ("error", type(e).__name__)

    return Backend.run(main)


PARSERS = {
    "lines": lambda r: list(r.lines()),
    "line+take_all": lambda r: (r.line(), r.take_all()),
    "take(3)+take_while": lambda r: (r.take(3), r.take_while(lambda c: c != ord(b" "))),
    "uint8+BE.uint16+LE.uint32": lambda r: (
        r.uint8(),
        Buf_read.BE.uint16(r),
        Buf_read.LE.uint32(r),
    ),
    "skip_while+any_char+at_end": lambda r: (
        r.skip_while(lambda c: c == ord(b"a")),
        r.any_char(),
        r.at_end_of_input(),
    ),
}


@FAST
@given(
    data=st.binary(max_size=80) | st.text("ab \n\r", max_size=80).map(str.encode),
    cuts=st.lists(st.integers(min_value=0, max_value=200), max_size=8),
    name=st.sampled_from(sorted(PARSERS)),
)
def test_buf_read_parsers_ignore_how_the_stream_is_split(data, cuts, name):
    parser = PARSERS[name]
    whole = parse_all([data] if data else [], parser)
    assert parse_all(split_at(data, cuts), parser) == whole


# -- Buf_write round trips --------------------------------------------------------

OPS = st.lists(
    st.one_of(
        st.tuples(st.just("string"), st.binary(max_size=20)),
        st.tuples(st.just("uint8"), st.integers(0, 255)),
        st.tuples(st.just("BE.uint16"), st.integers(0, 0xFFFF)),
        st.tuples(st.just("LE.uint32"), st.integers(0, 0xFFFFFFFF)),
        st.tuples(st.just("BE.uint64"), st.integers(0, 2**64 - 1)),
    ),
    max_size=20,
)


def _module(kind: str) -> tuple[Any, Any]:
    if kind.startswith("BE."):
        return Buf_write.BE, Buf_read.BE
    if kind.startswith("LE."):
        return Buf_write.LE, Buf_read.LE
    return Buf_write, Buf_read


@FAST
@given(OPS, st.integers(1, 64))
def test_buf_write_round_trips_through_buf_read(ops, initial_size):
    def main() -> list[Any]:
        out = bytearray()
        sink = Flow.buffer_sink(out)

        def write(w: Any) -> None:
            for kind, value in ops:
                if "." in kind:
                    wmod, _ = _module(kind)
                    getattr(wmod, kind.split(".")[-1])(w, value)
                else:
                    getattr(w, kind)(value)  # Writer.string / Writer.uint8

        Buf_write.with_flow(sink, write, initial_size=initial_size)
        reader = Buf_read.of_string(bytes(out))
        got = []
        for kind, value in ops:
            _, rmod = _module(kind)
            if kind == "string":
                got.append(reader.take(len(value)))
            else:
                got.append(getattr(rmod, kind.split(".")[-1])(reader))
        assert reader.at_end_of_input()
        return got

    assert Backend.run(main) == [v for _, v in ops]


# -- the HTTP demo server against random and truncated requests ----------------------


def _valid_request(path: bytes) -> bytes:
    return b"GET " + path + b" HTTP/1.1\r\nHost: x\r\n\r\n"


REQUESTS = st.one_of(
    st.binary(max_size=300),
    st.builds(
        lambda path, cut: _valid_request(path)[:cut],
        st.binary(min_size=1, max_size=30).map(lambda p: b"/" + p),
        st.integers(0, 80),
    ),
    st.builds(_valid_request, st.sampled_from([b"/", b"/a", b"/../x", b"/%00", b"//etc/passwd"])),
)


@pytest.fixture
def http_server():
    """One ``greeneio-serve http`` per test (all its examples); at the end its log must hold
    no traceback and it must stop cleanly."""
    import re
    import signal
    import subprocess
    import sys

    proc = subprocess.Popen(
        [sys.executable, "-m", "greeneio.serve", "http", "--listen", "tcp:127.0.0.1:0"],
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stderr is not None
        port = int(re.search(r":(\d+)$", proc.stderr.readline().strip()).group(1))  # type: ignore[union-attr]
        yield port
        proc.send_signal(signal.SIGTERM)
        _, log = proc.communicate(timeout=20)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 0, log
    assert "Traceback" not in log, log


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(REQUESTS)
def test_http_answers_4xx_or_closes_never_hangs(http_server, request_bytes):
    with socket.create_connection(("127.0.0.1", http_server), timeout=5) as c:
        c.settimeout(5)
        try:
            c.sendall(request_bytes)
            c.shutdown(socket.SHUT_WR)
            reply = b""
            while chunk := c.recv(65536):
                reply += chunk
        except ConnectionResetError:
            reply = b""
    if reply:  # else: closed without an answer (e.g. empty or cut-off input)
        status = int(reply.split(b" ", 2)[1])
        # 501 (an unknown method or transfer coding) and 505 (a version other than
        # 1.0/1.1) are refusals too, as RFC 9110 says.
        assert status == 200 or 400 <= status < 500 or status in (501, 505), reply[:100]


def test_one_mib_request_line_is_refused_with_414(http_server):
    # 414 URI Too Long: the request line is over max_request_line (8192), SPEC §15.
    with socket.create_connection(("127.0.0.1", http_server), timeout=10) as c:
        # It stops reading after refusing (that is the point): sending may fail.
        with contextlib.suppress(BrokenPipeError, ConnectionResetError):
            c.sendall(b"GET /" + b"a" * (1 << 20) + b" HTTP/1.1\r\n\r\n")
        reply = c.recv(200)
    assert reply.startswith(b"HTTP/1.1 414 "), reply


def test_one_mib_header_is_refused_with_431(http_server):
    with socket.create_connection(("127.0.0.1", http_server), timeout=10) as c:
        with contextlib.suppress(BrokenPipeError, ConnectionResetError):
            c.sendall(b"GET / HTTP/1.1\r\nHost: x\r\nX-Big: " + b"b" * (1 << 20) + b"\r\n\r\n")
        reply = c.recv(200)
    assert reply.startswith(b"HTTP/1.1 431 "), reply
