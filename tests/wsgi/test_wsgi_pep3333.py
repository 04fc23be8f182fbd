"""PEP 3333 over loopback: raw WSGI apps, wrapped in ``wsgiref.validate.validator``,
served by ``wsgi.handler`` on ``Net.run_server`` (acceptance item 5)."""

from __future__ import annotations

import hashlib
import http.client
import io
import os
import socket
import warnings
from wsgiref.validate import validator

import pytest
from wsgi_harness import get, raw, responses, serve

from greeneio import http as Http

pytestmark = [pytest.mark.timeout(30), pytest.mark.filterwarnings("error")]

TEXT = [("Content-Type", "text/plain")]


def echo_environ(environ, start_response):
    keys = sorted(k for k in environ if not k.startswith("wsgi."))
    text = "".join(f"{k}={environ[k]}\n" for k in keys)
    for k in ("version", "url_scheme", "multithread", "multiprocess", "run_once"):
        text += f"wsgi.{k}={environ['wsgi.' + k]!r}\n"
    text += f"wsgi.input_terminated={environ['wsgi.input_terminated']!r}\n"
    start_response("200 OK", TEXT)
    return [text.encode("latin-1")]


def parse(body: bytes) -> dict[str, str]:
    return dict(line.split("=", 1) for line in body.decode("latin-1").splitlines())


def test_get_environ():
    headers = {"X-Custom": "1", "X_Custom": "smuggled", "Content_Length": "9", "Cookie": "a=1"}

    def client(port):
        return get(port, "/caf%C3%A9/a%2Fb?q=%20x&y", headers=headers)

    status, _, body = serve(validator(echo_environ), client).result
    assert status == 200
    env = parse(body)
    assert env["REQUEST_METHOD"] == "GET"
    assert env["SCRIPT_NAME"] == ""
    assert env["PATH_INFO"] == "/café/a/b".encode().decode("latin-1")  # PEP 3333: bytes as latin-1
    assert env["QUERY_STRING"] == "q=%20x&y"
    assert env["REQUEST_URI"] == env["RAW_URI"] == "/caf%C3%A9/a%2Fb?q=%20x&y"
    assert env["SERVER_PROTOCOL"] == "HTTP/1.1"
    assert env["SERVER_NAME"] == "127.0.0.1" and env["SERVER_PORT"].isdigit()
    assert env["REMOTE_ADDR"] == "127.0.0.1" and env["REMOTE_PORT"].isdigit()
    assert env["HTTP_HOST"] == f"127.0.0.1:{env['SERVER_PORT']}"
    assert env["HTTP_X_CUSTOM"] == "1"  # the underscore spellings are dropped
    assert "CONTENT_LENGTH" not in env and "HTTP_CONTENT_LENGTH" not in env
    assert env["HTTP_COOKIE"] == "a=1"
    assert env["wsgi.version"] == "(1, 0)"
    assert env["wsgi.url_scheme"] == "'http'"
    assert env["wsgi.multithread"] == env["wsgi.multiprocess"] == env["wsgi.run_once"] == "False"
    assert env["wsgi.input_terminated"] == "True"


def test_repeated_fields_are_joined_and_multiprocess_is_set():
    def client(port):
        return raw(
            port,
            b"GET / HTTP/1.1\r\nHost: x\r\nX-A: 1\r\nX-A: 2\r\nCookie: a=1\r\nCookie: b=2\r\n"
            b"Connection: close\r\n\r\n",
        )

    out = serve(validator(echo_environ), client, multiprocess=True).result
    [(_, _, body)] = responses(out)
    env = parse(body)
    assert env["HTTP_X_A"] == "1, 2"
    assert env["HTTP_COOKIE"] == "a=1; b=2"
    assert env["wsgi.multiprocess"] == "True"
    assert env["SERVER_PROTOCOL"] == "HTTP/1.1"


def reader(environ, start_response):
    """Reads the body the way the query asks, answers its size and digest."""
    inp = environ["wsgi.input"]
    how = environ["QUERY_STRING"]
    if how == "lines":
        data = b"".join(inp.readlines())
    elif how == "iter":
        data = b"".join(inp)
    elif how == "readline":
        data = b""
        while line := inp.readline(7):
            data += line
    else:
        data = b""
        while chunk := inp.read(1000):
            data += chunk
    start_response("200 OK", TEXT)
    extra = f"cl={environ.get('CONTENT_LENGTH', '-')}\n"
    return [f"{len(data)} {hashlib.sha256(data).hexdigest()}\n{extra}".encode()]


BODY = b"".join(b"line %d of the body\n" % i for i in range(5000))


@pytest.mark.parametrize("how", ["read", "lines", "iter", "readline"])
def test_post_with_a_chunked_body(how):
    def chunks():
        for i in range(0, len(BODY), 4096):
            yield BODY[i : i + 4096]

    def client(port):
        return get(
            port, "/?" + how, "POST", body=chunks(), headers={"Transfer-Encoding": "chunked"}
        )

    status, _, body = serve(validator(reader), client).result
    assert status == 200
    size, digest = body.split(b"\n")[0].split()
    assert int(size) == len(BODY) and digest.decode() == hashlib.sha256(BODY).hexdigest()
    assert b"cl=-" in body  # no CONTENT_LENGTH for a chunked body


def test_post_with_a_content_length():
    status, _, body = serve(validator(reader), lambda p: get(p, "/", "POST", body=BODY)).result
    assert status == 200 and int(body.split()[0]) == len(BODY)
    assert f"cl={len(BODY)}".encode() in body


def streaming(environ, start_response):
    start_response("200 OK", TEXT)

    def body():
        yield b"first\n"
        yield b""  # empty strings are skipped
        yield b"second\n"
        yield b"third\n"

    return body()


def test_a_streaming_response_is_chunked_one_chunk_per_yield():
    out = serve(validator(streaming), lambda p: raw(p, b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")).result
    head, body = out.split(b"\r\n\r\n", 1)
    assert b"Transfer-Encoding: chunked" in head
    assert body == b"6\r\nfirst\n\r\n7\r\nsecond\n\r\n6\r\nthird\n\r\n0\r\n\r\n"


def test_http_1_0_streams_until_the_close():
    out = serve(validator(streaming), lambda p: raw(p, b"GET / HTTP/1.0\r\n\r\n")).result
    head, body = out.split(b"\r\n\r\n", 1)
    assert b"chunked" not in head and b"Connection: close" in head
    assert body == b"first\nsecond\nthird\n"


def with_write(environ, start_response):
    write = start_response("200 OK", TEXT)
    write(b"written ")
    write(b"")
    write(b"at once, ")
    return [b"then returned"]


def test_the_write_callable():
    status, _, body = serve(validator(with_write), get).result
    assert (status, body) == (200, b"written at once, then returned")


def test_a_list_gets_its_content_length_and_an_empty_body_zero():
    def app(environ, start_response):
        start_response("200 OK", TEXT)
        return [b"a", b"bc"] if environ["PATH_INFO"] == "/list" else iter([])

    def client(port):
        return get(port, "/list"), get(port, "/empty")

    (s1, h1, b1), (s2, h2, b2) = serve(app, client).result  # a validator hides the list
    assert (s1, h1["Content-Length"], b1) == (200, "3", b"abc")
    assert (s2, h2["Content-Length"], b2) == (200, "0", b"")
    assert "Transfer-Encoding" not in h1 and "Transfer-Encoding" not in h2


@pytest.mark.parametrize("validated", [True, False])
def test_head_sends_the_headers_of_get_and_no_body(validated):
    def client(port):
        return raw(port, b"HEAD / HTTP/1.1\r\nHost: x\r\n\r\nHEAD /s HTTP/1.1\r\nHost: x\r\n\r\n")

    def app(environ, start_response):
        if environ["PATH_INFO"] == "/s":
            return streaming(environ, start_response)
        start_response("200 OK", TEXT)
        return [b"12345"]

    out = serve(validator(app) if validated else app, client).result
    (s1, h1, _), (s2, h2, _) = responses(out, head=True)  # nothing after the heads
    assert s1 == s2 == 200
    if not validated:  # a list: its length (the validator hides the list)
        assert h1["Content-Length"] == "5"
    assert "Transfer-Encoding" not in h2 and "Content-Length" not in h2


def test_keep_alive_and_pipelining_in_order():
    def app(environ, start_response):
        start_response("200 OK", TEXT)
        return [environ["PATH_INFO"].encode()]

    def client(port):
        reqs = b"".join(b"GET /%d HTTP/1.1\r\nHost: x\r\n\r\n" % i for i in range(5))
        return raw(port, reqs)

    out = serve(validator(app), client).result
    assert [(s, b) for s, _, b in responses(out)] == [(200, b"/%d" % i) for i in range(5)]


def test_expect_100_continue_is_answered_on_the_first_read():
    def client(port):
        with socket.create_connection(("127.0.0.1", port), timeout=10) as c:
            c.sendall(
                b"POST /?read HTTP/1.1\r\nHost: x\r\nContent-Length: 11\r\n"
                b"Expect: 100-continue\r\nConnection: close\r\n\r\n"
            )
            interim = b""
            while not interim.endswith(b"\r\n\r\n"):
                interim += c.recv(1)  # the body is not sent before the 100
            c.sendall(b"hello world")
            out = b""
            while chunk := c.recv(65536):
                out += chunk
            return interim, out

    interim, out = serve(validator(reader), client).result
    assert interim == b"HTTP/1.1 100 Continue\r\n\r\n"
    assert out.startswith(b"HTTP/1.1 200 OK")
    assert hashlib.sha256(b"hello world").hexdigest().encode() in out


def test_an_app_that_never_reads_an_expected_body_gets_no_100_and_closes():
    def app(environ, start_response):
        start_response("200 OK", TEXT)
        return [b"no thanks"]

    def client(port):
        with socket.create_connection(("127.0.0.1", port), timeout=10) as c:
            c.sendall(
                b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nExpect: 100-continue\r\n\r\n"
            )
            out = b""
            while chunk := c.recv(65536):
                out += chunk
            return out

    out = serve(validator(app), client).result
    assert b"100 Continue" not in out
    assert out.startswith(b"HTTP/1.1 200 OK") and b"Connection: close" in out


# -- wsgi.file_wrapper -------------------------------------------------------


@pytest.fixture
def big_file(tmp_path):
    data = os.urandom(300_000)  # past the engine's SMALL_FILE: really by sendfile
    path = tmp_path / "big.bin"
    path.write_bytes(data)
    return path, data


def file_app(path, offset=0):
    def app(environ, start_response):
        f = open(path, "rb")  # noqa: SIM115 (closed through the wrapper)
        f.seek(offset)
        start_response("200 OK", [("Content-Type", "application/octet-stream")])
        return environ["wsgi.file_wrapper"](f, 4096)

    return app


def spy_sendfile(monkeypatch):
    calls = {"responder": 0, "os": 0}
    real_responder, real_os = Http.Responder.sendfile, os.sendfile

    def responder_sendfile(self, src, length):
        calls["responder"] += 1
        return real_responder(self, src, length)

    def os_sendfile(*args):
        calls["os"] += 1
        return real_os(*args)

    monkeypatch.setattr(Http.Responder, "sendfile", responder_sendfile)
    monkeypatch.setattr(os, "sendfile", os_sendfile)
    return calls


def test_file_wrapper_goes_by_sendfile(big_file, monkeypatch):
    path, data = big_file
    calls = spy_sendfile(monkeypatch)
    (status, headers, body), (s2, _, b2) = serve(
        file_app(path), lambda p: (get(p), get(p, method="HEAD"))
    ).result
    assert status == 200 and body == data
    assert headers["Content-Length"] == str(len(data)) and "Transfer-Encoding" not in headers
    assert (s2, b2) == (200, b"")
    assert calls["responder"] == 2 and calls["os"] >= 1


def test_file_wrapper_sends_the_rest_from_the_files_position(big_file, monkeypatch):
    path, data = big_file
    calls = spy_sendfile(monkeypatch)
    status, headers, body = serve(file_app(path, offset=1000), get).result
    assert status == 200 and body == data[1000:]
    assert headers["Content-Length"] == str(len(data) - 1000)
    assert calls["os"] >= 1


def test_file_wrapper_under_the_validator_is_iterated_intact(big_file):
    # The validator wraps the iterable, so it is no longer our FileWrapper:
    # it is sent as any other iterable (chunked), and still closed.
    path, data = big_file
    status, headers, body = serve(validator(file_app(path)), get).result
    assert status == 200 and body == data and headers["Transfer-Encoding"] == "chunked"


def test_file_wrapper_over_a_file_like_without_fileno():
    closed = []

    class Stream(io.BytesIO):
        def close(self):
            closed.append(True)
            super().close()

    def app(environ, start_response):
        start_response("200 OK", TEXT)
        return environ["wsgi.file_wrapper"](Stream(b"x" * 10000), 1024)

    status, _, body = serve(validator(app), get).result
    assert (status, body, closed) == (200, b"x" * 10000, [True])


# -- start_response, headers, close --------------------------------------------


def test_exc_info_replaces_the_response_before_any_body_byte():
    def app(environ, start_response):
        start_response("200 OK", TEXT)
        try:
            raise ValueError("late")
        except ValueError:
            import sys

            start_response("503 Service Unavailable", TEXT, sys.exc_info())
        return [b"sorry"]

    status, _, body = serve(validator(app), get).result
    assert (status, body) == (503, b"sorry")


def test_start_response_twice_without_exc_info_is_an_error():
    def app(environ, start_response):
        start_response("200 OK", TEXT)
        start_response("200 OK", TEXT)
        return [b"never"]

    served = serve(app, get)
    assert served.result[0] == 500
    assert any("called again" in r.getMessage() for r in served.records)


def test_hop_by_hop_fields_are_dropped_and_connection_close_honoured():
    def app(environ, start_response):
        headers = [*TEXT, ("Keep-Alive", "timeout=99"), ("Connection", "close")]
        start_response("200 OK", headers)
        return [b"bye"]

    out = serve(app, lambda p: raw(p, b"GET / HTTP/1.1\r\nHost: x\r\n\r\n" * 2)).result
    assert out.count(b"HTTP/1.1 200") == 1  # closed after the first
    assert b"Keep-Alive" not in out and out.count(b"Connection: close") == 1


def test_the_iterable_is_closed_always():
    events = []

    class Body:
        def __init__(self, fail):
            self.fail = fail

        def __iter__(self):
            yield b"part"
            if self.fail:
                raise RuntimeError("broken iterable")

        def close(self):
            events.append("closed")

    def app(environ, start_response):
        start_response("200 OK", TEXT)
        return Body(environ["PATH_INFO"] == "/fail")

    def client(port):
        ok = get(port, "/")
        with pytest.raises(http.client.IncompleteRead):
            get(port, "/fail")  # cut: the chunked body never ends
        return ok

    served = serve(validator(app), client)
    assert served.result[2] == b"part"
    assert events == ["closed", "closed"]


def test_requests_the_engine_refuses_never_reach_the_app():
    seen = []

    def app(environ, start_response):
        seen.append(environ["PATH_INFO"])
        start_response("200 OK", TEXT)
        return [b""]

    twice = b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n"
    out = serve(app, lambda p: raw(p, twice)).result
    assert out.startswith(b"HTTP/1.1 400 ") and seen == []


def test_limits_are_keywords():
    with warnings.catch_warnings():
        out = serve(
            validator(echo_environ),
            lambda p: raw(p, b"GET /" + b"a" * 200 + b" HTTP/1.1\r\nHost: x\r\n\r\n"),
            max_request_line=100,
        ).result
    assert out.startswith(b"HTTP/1.1 414 ")


def test_bad_arguments():
    from greeneio import wsgi

    with pytest.raises(TypeError, match="app must be callable"):
        wsgi.handler(None)
    with pytest.raises(TypeError, match="unknown keyword 'max_bogus'"):
        wsgi.handler(echo_environ, max_bogus=1)
    with pytest.raises(TypeError, match="not both"):
        wsgi.handler(echo_environ, limits=Http.Limits(), max_body=1)
    with pytest.raises(ValueError, match="url_scheme"):
        wsgi.handler(echo_environ, url_scheme="ftp")
    with pytest.raises(ValueError, match="max_body"):
        wsgi.handler(echo_environ, max_body=-1)
    with pytest.raises(TypeError, match="wall_clock must provide IClock"):
        wsgi.handler(echo_environ, wall_clock=1.0)
    with pytest.raises(TypeError, match="stop must be a Promise"):
        wsgi.handler(echo_environ, stop=True)
    with pytest.raises(TypeError, match="multiprocess must be a bool"):
        wsgi.handler(echo_environ, multiprocess=1)


@pytest.mark.parametrize("watch", [True, False], ids=["watcher", "without the watcher"])
def test_sequential_requests_on_one_keep_alive_connection(watch):
    def app(environ, start_response):
        start_response("200 OK", TEXT)
        return [environ["PATH_INFO"].encode()]

    def client(port):
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        try:
            got = []
            for i in range(3):
                conn.request("GET", f"/{i}")
                r = conn.getresponse()
                got.append((r.status, r.read()))
            return got
        finally:
            conn.close()

    served = serve(validator(app), client, cancel_on_disconnect=watch)
    assert served.result == [(200, b"/0"), (200, b"/1"), (200, b"/2")]
