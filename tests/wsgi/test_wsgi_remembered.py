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
