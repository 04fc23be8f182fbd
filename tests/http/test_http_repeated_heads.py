"""The engine's memory of repeated heads: the last bodiless request head a
connection sent, and the response heads built lately. Both must give exactly
what parsing or building anew would: fresh objects, every check still made."""

from __future__ import annotations

import pytest
from http_harness import serve

from greeneio import http as Http
from greeneio.http._limits import Limits
from greeneio.http._parser import RequestParser
from greeneio.http._request import END
from greeneio.http._response import head_block

pytestmark = pytest.mark.timeout(10)

GET = b"GET /a?x=1 HTTP/1.1\r\nHost: h\r\nX-Thing: one\r\n\r\n"


def feed(p: RequestParser, data: bytes) -> None:
    view = p.read_buffer()
    view[: len(data)] = data
    view.release()
    p.received(len(data))


def next_done(p: RequestParser) -> Http.Request:
    r = p.next_request()
    assert r is not None
    while p.body_data(65536) is not END:
        pass
    p.start_next()
    return r


def test_a_repeated_head_gives_an_equal_but_fresh_request() -> None:
    p = RequestParser(Limits())
    feed(p, GET + GET)  # pipelined: both in one read
    a = next_done(p)
    b = next_done(p)
    assert a is not b and a.headers is not b.headers
    for name in ("method", "target", "path", "query", "version", "headers", "keep_alive"):
        assert getattr(a, name) == getattr(b, name), name
    a.headers.append((b"mutated", b"by a handler"))
    feed(p, GET)
    c = next_done(p)
    assert (b"mutated", b"by a handler") not in c.headers  # the memory is its own copy
    assert c.headers == [(b"host", b"h"), (b"x-thing", b"one")]


def test_a_head_that_differs_by_one_byte_is_parsed_and_checked_again() -> None:
    p = RequestParser(Limits())
    feed(p, GET)
    next_done(p)
    feed(p, GET.replace(b"X-Thing: one", b"X-Thing: on\x07"))  # a control character
    with pytest.raises(Http.HttpError) as e:
        p.next_request()
    assert e.value.status == 400


def test_a_repeated_head_split_across_reads_is_parsed_as_usual() -> None:
    p = RequestParser(Limits())
    feed(p, GET)
    first = next_done(p)
    feed(p, GET[:20])
    assert p.next_request() is None
    feed(p, GET[20:])
    again = next_done(p)
    assert again.headers == first.headers and again.path == b"/a"


def test_a_head_with_a_body_is_not_remembered() -> None:
    post = b"POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 3\r\n\r\n"
    p = RequestParser(Limits())
    for _ in range(2):
        feed(p, post + b"abc")
        r = p.next_request()
        assert r is not None and r.content_length == 3
        assert p.body_data(65536) == b"abc"  # the body is read every time
        assert p.body_data(65536) is END
        p.start_next()


def test_repeated_requests_on_one_connection_each_get_their_answer() -> None:
    seen: list[tuple[bytes, int]] = []

    def app(request: Http.Request, respond: Http.Responder) -> None:
        seen.append((request.path, len(request.headers)))
        request.headers.clear()  # a handler that mangles its request changes nothing later
        respond.send(200, [(b"Content-Type", b"text/plain")], b"n=%d" % len(seen))

    s = serve([GET * 3 + GET.replace(b"/a", b"/b")], app)
    assert [r.status for r in s.responses] == [200, 200, 200, 200]
    assert [r.body for r in s.responses] == [b"n=1", b"n=2", b"n=3", b"n=4"]
    assert seen == [(b"/a", 2), (b"/a", 2), (b"/a", 2), (b"/b", 2)]


def test_remembered_response_heads_still_refuse_bad_fields_and_take_unhashable_values() -> None:
    good = [(b"X-A", b"1")]
    assert head_block(200, good, 5) == head_block(200, good, 5)
    block, info = head_block(200, good, 5)
    assert block == b"HTTP/1.1 200 OK\r\nX-A: 1\r\nContent-Length: 5\r\n"
    assert info.content_length == 5
    for _ in range(2):  # a refusal is never remembered
        with pytest.raises(ValueError, match="invalid header field"):
            head_block(200, [(b"X-A", b"1\r\nInjected: yes")])
    block, _ = head_block(200, [(b"X-B", bytearray(b"2"))])  # unhashable: built, not remembered
    assert block == b"HTTP/1.1 200 OK\r\nX-B: 2\r\n"


def test_date_is_fresh_in_every_response_even_with_a_remembered_head() -> None:
    def app(request: Http.Request, respond: Http.Responder) -> None:
        respond.send(200, [], b"x")

    s = serve([GET, GET], app)
    assert [r.status for r in s.responses] == [200, 200]
    assert all(r.header(b"date") for r in s.responses)


def test_a_headers_list_changed_in_place_gives_the_new_head() -> None:
    headers = [(b"X-A", b"1")]
    first, _ = head_block(200, headers, 1)
    headers[0] = (b"X-A", b"2")  # the same list object, other contents
    second, _ = head_block(200, headers, 1)
    assert b"X-A: 1\r\n" in first and b"X-A: 2\r\n" in second
    constant = ((b"X-B", b"3"),)
    assert head_block(200, constant, 1) == head_block(200, constant, 1)
    assert head_block(200, constant, 2)[0].endswith(b"Content-Length: 2\r\n")
    assert head_block(201, constant, 2)[0].startswith(b"HTTP/1.1 201 Created\r\n")


def test_the_date_line_is_formatted_once_a_second_and_follows_a_clock_set_back() -> None:
    from greeneio.http._response import DateCache

    now = [784111777.25]  # Sun, 06 Nov 1994 08:49:37 GMT
    dates = DateCache(lambda: now[0])
    first = dates.line()
    assert first == b"Date: Sun, 06 Nov 1994 08:49:37 GMT\r\n"
    now[0] += 0.5
    assert dates.since <= now[0] < dates.until and dates.cached is first  # the same second
    now[0] += 1.0
    assert dates.line() == b"Date: Sun, 06 Nov 1994 08:49:38 GMT\r\n"
    now[0] -= 3600  # the clock set back an hour: not stuck in the future
    assert not dates.since <= now[0] < dates.until
    assert dates.line() == b"Date: Sun, 06 Nov 1994 07:49:38 GMT\r\n"


def test_a_head_and_a_small_first_write_leave_as_one_buffer() -> None:
    # Two buffers would go by sendmsg; one goes by send (and never waits for
    # the peer's ACK between the head and the body).
    from http_harness import ScriptedFlow

    writes: list[int] = []

    class Counting(ScriptedFlow):
        def single_write(self, bufs):  # type: ignore[no-untyped-def]
            writes.append(len(bufs))
            return super().single_write(bufs)

    def app(request: Http.Request, respond: Http.Responder) -> None:
        respond.start(200, [(b"Content-Length", b"5")])
        respond.write(b"hello")
        respond.finish()

    flow = Counting([GET])
    s = serve([], app, flow=flow)
    assert [r.body for r in s.responses] == [b"hello"]
    assert writes == [1]
