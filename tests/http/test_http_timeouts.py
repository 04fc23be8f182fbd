"""The engine's timeouts, in virtual time on the mock clock (issue 18, item 2).

Defaults: header_timeout 10 s (from the accept for a connection's first
request, else from the head's first byte), keepalive_timeout 5 s,
body_timeout 30 s and write_timeout 30 s (each without progress).
"""

from __future__ import annotations

import pytest
from http_harness import ScriptedFlow, serve

from greeneio import Time
from greeneio import http as Http

pytestmark = pytest.mark.timeout(30)

GET = b"GET / HTTP/1.1\r\nHost: x\r\n\r\n"


def ok(request: Http.Request, respond: Http.Responder) -> None:
    respond.send(200, [], b"ok")


def echo_body(request: Http.Request, respond: Http.Responder) -> None:
    respond.send(200, [], request.body.read())


def test_a_silent_new_connection_gets_408_after_the_header_timeout():
    s = serve([], ok, flow_options={"hang": True})
    assert [r.status for r in s.responses] == [408]
    assert s.responses[0].closes
    # 10 s from the accept; then closed at once (a timed-out client is not waited for)
    assert s.elapsed == 10
    assert s.flow.events == ["0: read waits", "10: shutdown send"]


def test_slowloris_a_head_trickling_in_gets_408_ten_seconds_after_accept():
    # one header byte every second: the whole head must be in within 10 s
    trickle = []
    for b in GET[:-2]:
        trickle += [bytes([b]), 1.0]
    s = serve(trickle, ok)
    assert [r.status for r in s.responses] == [408]
    assert s.flow.events[0] == "10: shutdown send"


def test_a_later_heads_timeout_runs_from_its_first_byte():
    # the first request at 0; the second starts at 4 s and stalls: 408 at 14 s
    s = serve([GET, 4.0, b"GET / HT"], ok, flow_options={"hang": True})
    assert [r.status for r in s.responses] == [200, 408]
    assert s.flow.events[:2] == ["4: read waits", "14: shutdown send"]


def test_an_idle_keepalive_connection_is_closed_silently_after_5s():
    s = serve([GET], ok, flow_options={"hang": True})
    assert [r.status for r in s.responses] == [200]
    assert s.elapsed == 5
    assert s.flow.events == ["0: read waits"]  # no 408, no shutdown: a plain close


def test_keepalive_timeout_counts_from_the_last_response():
    s = serve([GET, 4.0, GET, 4.0, GET], ok, flow_options={"hang": True})
    assert [r.status for r in s.responses] == [200, 200, 200]
    assert s.elapsed == 8 + 5


def test_a_stalled_request_body_gets_408_after_the_body_timeout():
    head = b"POST / HTTP/1.1\r\nContent-Length: 10\r\n\r\n"
    s = serve([head, b"abc"], echo_body, flow_options={"hang": True})
    assert [r.status for r in s.responses] == [408]
    assert s.flow.events[:2] == ["0: read waits", "30: shutdown send"]


def test_a_body_that_keeps_coming_is_not_cut():
    head = b"POST / HTTP/1.1\r\nContent-Length: 6\r\n\r\n"
    script: list[object] = [head]
    for b in b"abcdef":
        script += [20.0, bytes([b])]  # 20 s between bytes: slow, under 30 s each
    s = serve(script, echo_body)
    assert [(r.status, r.body) for r in s.responses] == [(200, b"abcdef")]
    assert s.elapsed == 120


def test_a_body_stall_after_the_response_began_closes_without_408():
    def stream_then_read(request: Http.Request, respond: Http.Responder) -> None:
        respond.start(200, [])
        respond.write(b"first ")
        respond.write(request.body.read())

    head = b"POST / HTTP/1.1\r\nContent-Length: 10\r\n\r\n"
    s = serve([head, b"abc"], stream_then_read, flow_options={"hang": True}, parse=False)
    assert s.flow.out.startswith(b"HTTP/1.1 200 OK\r\n")
    assert b"408" not in s.flow.out and s.elapsed == 30


def test_a_client_that_never_reads_is_dropped_after_the_write_timeout():
    def big(request: Http.Request, respond: Http.Responder) -> None:
        respond.send(200, [], b"x" * 100_000)

    s = serve([GET], big, flow_options={"hang": True, "write_limit": 50_000}, parse=False)
    assert s.elapsed == 30
    assert s.flow.events == ["0: write blocks"]
    assert len(s.flow.out) == 50_000


def test_a_slow_reader_that_keeps_reading_is_not_cut():
    # each write takes 20 s and moves 10 kB: 100 s in all, never 30 s without progress
    def big(request: Http.Request, respond: Http.Responder) -> None:
        respond.send(200, [], b"x" * 50_000)

    s = serve([GET], big, flow_options={"write_delay": 20.0, "write_chunk": 10_000})
    assert [len(r.body) for r in s.responses] == [50_000]
    assert s.elapsed >= 100


def test_a_handler_may_take_its_time():
    flow = ScriptedFlow([GET])

    def slow(request: Http.Request, respond: Http.Responder) -> None:
        Time.sleep(flow.clock, 600)  # no deadline applies while the handler works
        respond.send(200, [], b"late")

    s = serve([], slow, flow=flow)
    assert [r.body for r in s.responses] == [b"late"]
    assert s.elapsed == 600


def test_timeouts_can_be_turned_off():
    limits = Http.Limits(header_timeout=None, keepalive_timeout=None)
    s = serve([GET, 3600.0, b"GET / HT", 3600.0, b"TP/1.1\r\n\r\n"], ok, limits=limits)
    assert [r.status for r in s.responses] == [200, 200]
    assert s.elapsed == 7200


@pytest.mark.parametrize(
    "kw",
    [
        {"header_timeout": 0},
        {"keepalive_timeout": -1},
        {"max_body": -1},
        {"max_headers": 0},
        {"write_timeout": "5"},
    ],
)
def test_bad_limits_are_refused(kw):
    with pytest.raises((ValueError, TypeError)):
        Http.Limits(**kw)
