"""What the WSGI adapter remembers between requests (the header fields'
part of the environ per connection; converted status lines and header lists)
never leaks one request's values, or an app's changes, into another."""

from __future__ import annotations

import pytest
from wsgi_harness import raw, responses, serve

pytestmark = pytest.mark.timeout(30)


def req(path: str, *fields: str) -> bytes:
    return "\r\n".join([f"GET {path} HTTP/1.1", "Host: x", *fields, "", ""]).encode()


def test_same_fields_on_one_connection_give_fresh_independent_environs():
    seen = []

    def app(environ, start_response):
        seen.append({k: v for k, v in environ.items() if k.isupper()})
        environ["HTTP_X_A"] = "changed by the app"  # must not reach the next request
        environ["EXTRA"] = "added by the app"
        start_response("200 OK", [("Content-Length", "0")])
        return []

    data = req("/1", "X-A: one") + req("/2?q=2", "X-A: one") + req("/3", "X-A: three")
    data += req("/4", "X-A: one", "X-A: again")
    served = serve(app, lambda port: raw(port, data))
    assert [s for s, _, _ in responses(served.result)] == [200] * 4
    assert [(e["PATH_INFO"], e["QUERY_STRING"], e["HTTP_X_A"]) for e in seen] == [
        ("/1", "", "one"),
        ("/2", "q=2", "one"),
        ("/3", "", "three"),
        ("/4", "", "one, again"),
    ]
    assert not any("EXTRA" in e for e in seen)
    assert all(e["SERVER_PORT"] == seen[0]["SERVER_PORT"] for e in seen)


def test_a_bodied_request_after_a_bodiless_one_gets_its_content_length():
    seen = []

    def app(environ, start_response):
        seen.append((environ.get("CONTENT_LENGTH"), environ["wsgi.input"].read()))
        start_response("200 OK", [("Content-Length", "0")])
        return []

    post = b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\nabc"
    served = serve(app, lambda port: raw(port, req("/") + post + req("/")))
    assert [s for s, _, _ in responses(served.result)] == [200] * 3
    assert seen == [(None, b""), ("3", b"abc"), (None, b"")]


def test_an_app_that_changes_its_header_list_between_responses_is_heard():
    headers = [("Content-Type", "text/plain"), ("X-N", "1")]
    n = [0]

    def app(environ, start_response):
        n[0] += 1
        headers[1] = ("X-N", str(n[0]))  # the same list object, changed in place
        if n[0] == 3:
            headers.append(("X-Third", "yes"))
        start_response("200 OK", headers)
        return [b"hi"]

    served = serve(app, lambda port: raw(port, req("/") * 4))
    got = responses(served.result)
    assert [h.get("X-N") for _, h, _ in got] == ["1", "2", "3", "4"]
    assert [h.get("X-Third") for _, h, _ in got] == [None, None, "yes", "yes"]


@pytest.mark.parametrize(
    ("status", "headers"),
    [
        ("200 OK", [("Content-Length", "x")]),
        ("200 OK", [("X-Bytes", b"v")]),
        ("200 OK", [("Content-Length", "1"), ("Content-Length", "1")]),
        ("2000K", [("Content-Length", "0")]),
    ],
)
def test_bad_status_or_headers_are_refused_every_time_not_remembered(status, headers):
    def app(environ, start_response):
        start_response(status, headers)
        return [b""]

    served = serve(app, lambda port: [raw(port, req("/")) for _ in range(2)])
    assert [responses(r)[0][0] for r in served.result] == [500, 500]


def test_a_repeated_head_gets_a_fresh_environ_each_time_and_its_own_line():
    # Byte-for-byte equal heads come from the parser's memory and the environ's
    # remembered line; an app's changes must not reach the next request, and a
    # different method or version on the same target must be seen.
    seen = []

    def app(environ, start_response):
        seen.append(
            (
                environ["REQUEST_METHOD"],
                environ["PATH_INFO"],
                environ["SERVER_PROTOCOL"],
                environ.get("MINE"),
                environ["wsgi.input"].read(),
            )
        )
        environ["MINE"] = "set by the app"
        environ["PATH_INFO"] = "/changed"
        start_response("200 OK", [("Content-Length", "0")])
        return []

    get = req("/p%41th")
    head = get.replace(b"GET", b"HEAD", 1)
    old = b"GET /p%41th HTTP/1.0\r\nHost: x\r\nConnection: keep-alive\r\n\r\n"
    post = b"POST /p%41th HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\nhi"
    data = get * 3 + head + get + old + get + post + get
    served = serve(app, lambda port: raw(port, data))
    assert [s for s, _, _ in responses(served.result)] == [200] * 9
    assert seen == [
        ("GET", "/pAth", "HTTP/1.1", None, b""),
        ("GET", "/pAth", "HTTP/1.1", None, b""),
        ("GET", "/pAth", "HTTP/1.1", None, b""),
        ("HEAD", "/pAth", "HTTP/1.1", None, b""),
        ("GET", "/pAth", "HTTP/1.1", None, b""),
        ("GET", "/pAth", "HTTP/1.0", None, b""),
        ("GET", "/pAth", "HTTP/1.1", None, b""),
        ("POST", "/pAth", "HTTP/1.1", None, b"hi"),
        ("GET", "/pAth", "HTTP/1.1", None, b""),
    ]


def test_a_list_subclass_with_close_is_closed():
    closed = []

    class Body(list):
        def close(self):
            closed.append(len(closed))

    def app(environ, start_response):
        start_response("200 OK", [("Content-Length", "2")])
        return Body([b"hi"])

    served = serve(app, lambda port: raw(port, req("/") * 2))
    assert [(s, b) for s, _, b in responses(served.result)] == [(200, b"hi")] * 2
    assert closed == [0, 1]


def test_the_remembered_line_is_matched_on_method_target_and_version():
    # The engine hands a repeated head's request with the same objects; a
    # request sharing only some of them must not get the remembered line.
    from greeneio import http as Http
    from greeneio.wsgi._environ import Environ

    env = Environ({"wsgi.url_scheme": "http"}, None, None, "http")
    target = b"/a?b"
    fields = [(b"host", b"x")]

    def build(method: str, version: tuple[int, int]) -> dict:
        r = Http.Request(
            method, target, b"/a", b"b", version, fields.copy(), True, None, False, False
        )
        r.body = None  # bodiless: what wsgi.input wraps is not read here
        return env.build(r)

    got = [build(*a) for a in [("GET", (1, 1)), ("GET", (1, 1)), ("PUT", (1, 1)), ("PUT", (1, 0))]]
    assert [(e["REQUEST_METHOD"], e["SERVER_PROTOCOL"]) for e in got] == [
        ("GET", "HTTP/1.1"),
        ("GET", "HTTP/1.1"),
        ("PUT", "HTTP/1.1"),
        ("PUT", "HTTP/1.0"),
    ]
    assert all(e["RAW_URI"] == "/a?b" and e["QUERY_STRING"] == "b" for e in got)
    assert len({id(e) for e in got}) == 4
