"""The access log: one common-log-format line per response, buffered, and
flushed within ``interval`` or every ``max_lines`` (acceptance item 6)."""

from __future__ import annotations

import io
import os
import re
import threading
import time

import pytest
from wsgi_harness import get, raw, serve

from greeneio import http as Http
from greeneio import wsgi
from greeneio.mock import Clock

pytestmark = pytest.mark.timeout(30)

CLF = re.compile(
    r'^(\S+) - - \[(\d\d/[A-Z][a-z]{2}/\d{4}:\d\d:\d\d:\d\d \+0000)\] "([^"]*)" (\d{3}) (\d+|-)$'
)


class Recording(io.StringIO):
    """A text stream that remembers each write and signals each flush."""

    def __init__(self) -> None:
        super().__init__()
        self.writes: list[str] = []
        self.flushed = threading.Event()

    def write(self, s: str) -> int:
        self.writes.append(s)
        return super().write(s)

    def flush(self) -> None:
        self.flushed.set()


def app(environ, start_response):
    if environ["PATH_INFO"] == "/missing":
        start_response("404 Not Found", [("Content-Type", "text/plain")])
        return [b"no"]
    environ["wsgi.input"].read()
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [b"hello"]


def test_one_line_per_request_in_common_log_format():
    stream = Recording()

    def client(port):
        get(port, "/")
        get(port, "/missing?x=1")
        get(port, "/post", "POST", body=b"abc")
        get(port, "/", "HEAD")
        raw(port, b"GET /a HTTP/1.1\r\nHost: x\r\n\r\nGET /b HTTP/1.0\r\n\r\n")
        raw(port, b"GET / HTTP/1.1\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n")

    serve(app, client, access_log=wsgi.AccessLog(stream))
    lines = stream.getvalue().splitlines()
    assert len(lines) == 7
    parsed = [CLF.match(line) for line in lines]
    assert all(parsed), lines
    rows = [(m[1], m[3], m[4], m[5]) for m in parsed if m]
    assert rows == [
        ("127.0.0.1", "GET / HTTP/1.1", "200", "5"),
        ("127.0.0.1", "GET /missing?x=1 HTTP/1.1", "404", "2"),
        ("127.0.0.1", "POST /post HTTP/1.1", "200", "5"),
        ("127.0.0.1", "HEAD / HTTP/1.1", "200", "-"),
        ("127.0.0.1", "GET /a HTTP/1.1", "200", "5"),
        ("127.0.0.1", "GET /b HTTP/1.0", "200", "5"),
        ("127.0.0.1", "-", "400", "-"),  # a head the engine refused: still a line
    ]


def test_a_waiting_line_is_flushed_within_the_interval_while_the_connection_stays_open():
    stream = Recording()

    def client(port):
        import socket

        with socket.create_connection(("127.0.0.1", port), timeout=10) as c:
            c.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
            got = b""
            while not got.endswith(b"hello"):
                got += c.recv(4096)
            t0 = time.monotonic()
            assert stream.flushed.wait(5)  # the connection is still open and idle
            return time.monotonic() - t0, stream.getvalue()

    elapsed, text = serve(app, client, access_log=wsgi.AccessLog(stream, interval=0.2)).result
    assert elapsed < 1.0 and text.count("\n") == 1 and '"GET / HTTP/1.1" 200 5' in text


def test_max_lines_are_written_together():
    stream = Recording()
    pipelined = b"".join(b"GET /%d HTTP/1.1\r\nHost: x\r\n\r\n" % i for i in range(5))
    serve(
        app,
        lambda p: raw(p, pipelined),
        access_log=wsgi.AccessLog(stream, max_lines=3, interval=60),
        cancel_on_disconnect=False,
    )
    assert [w.count("\n") for w in stream.writes] == [3, 2]  # then the rest at the end


def request(method: str, target: bytes, version=(1, 1)) -> Http.Request:
    path, _, query = target.partition(b"?")
    return Http.Request(method, target, path, query, version, [], True, None, False, False)


def test_line_format():
    log = wsgi.AccessLog(io.StringIO(), wall_clock=Clock(1796292000.5))
    assert log.line("10.0.0.1", request("GET", b"/"), 200, 5) == (
        '10.0.0.1 - - [03/Dec/2026:10:00:00 +0000] "GET / HTTP/1.1" 200 5\n'
    )
    assert log.line("", request("HEAD", b"/x", (1, 0)), 200, 99).endswith(
        '"HEAD /x HTTP/1.0" 200 -\n'
    )
    assert log.line("::1", None, 400, 0).startswith("::1 - - [")
    assert log.line("::1", None, 400, 0).endswith('"-" 400 -\n')
    weird = log.line("h", request("GET", b'/a"b\\c\xff'), 200, 1)
    assert '"GET /a\\x22b\\x5cc\\xff HTTP/1.1"' in weird
    utf8 = log.line("h", request("GET", "/café".encode()), 200, 1)
    assert '"GET /caf\\xc3\\xa9 HTTP/1.1"' in utf8


def test_a_failing_stream_loses_lines_not_requests():
    class Broken(io.StringIO):
        def write(self, s: str) -> int:
            raise OSError(28, "No space left on device")

    status, _, body = serve(app, get, access_log=wsgi.AccessLog(Broken(), max_lines=1)).result
    assert (status, body) == (200, b"hello")


def test_a_forked_worker_starts_with_an_empty_buffer(monkeypatch):
    stream = Recording()
    log = wsgi.AccessLog(stream, max_lines=2)
    log.write("parent\n")
    pid = os.getpid()
    monkeypatch.setattr(os, "getpid", lambda: pid + 1)
    log.write("child 1\n")
    log.write("child 2\n")
    assert stream.getvalue() == "child 1\nchild 2\n"


def test_bad_arguments():
    with pytest.raises(TypeError, match="text stream"):
        wsgi.AccessLog(None)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="max_lines"):
        wsgi.AccessLog(io.StringIO(), max_lines=0)
    with pytest.raises(TypeError, match="access_log"):
        wsgi.handler(app, access_log=io.StringIO())  # type: ignore[arg-type]


def test_any_engine_handler_can_log_through_run():
    stream = Recording()
    access = wsgi.AccessLog(stream)

    def hello(request, respond):
        respond.send(200, [(b"Content-Type", b"text/plain")], b"static")

    def make(env, stop):
        def handler(flow, addr):
            access.run(
                addr,
                lambda on_response: Http.serve_connection(
                    flow, hello, clock=env.mono_clock, stop=stop, on_response=on_response
                ),
            )

        return handler

    assert serve(app, get, wrap=make).result[2] == b"static"
    assert stream.getvalue().endswith('"GET / HTTP/1.1" 200 6\n')
