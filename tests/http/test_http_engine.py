"""The HTTP engine on the mock backend: keep-alive, pipelining, framing both
ways, HEAD, 100-continue, errors, limits however the bytes arrive, drain."""

from __future__ import annotations

import contextlib
import logging

import pytest
from http_harness import SPLITS, ScriptedFlow, chunked, serve

from greeneio import Cancel, Flow, Promise, Time
from greeneio import http as Http
from greeneio.http._parser import INITIAL_BUFFER, RequestParser

pytestmark = pytest.mark.timeout(30)


def get(path: str = "/", *headers: str, version: str = "1.1") -> bytes:
    lines = [f"GET {path} HTTP/{version}", "Host: x", *headers, "", ""]
    return "\r\n".join(lines).encode()


def hello(request: Http.Request, respond: Http.Responder) -> None:
    respond.send(200, [(b"Content-Type", b"text/plain")], b"hello " + request.path)


# -- keep-alive and pipelining --------------------------------------------------


def test_keepalive_serves_several_requests_on_one_connection():
    s = serve([get("/a"), get("/b"), get("/c")], hello)
    assert [(r.status, r.body) for r in s.responses] == [
        (200, b"hello /a"),
        (200, b"hello /b"),
        (200, b"hello /c"),
    ]
    assert not any(r.closes for r in s.responses)
    r = s.responses[0]
    assert r.reason == b"OK" and r.header(b"date") is not None
    assert s.flow.events == ["0: read eof"]  # the client left: the engine returns


def test_pipelined_requests_are_answered_in_order_one_at_a_time():
    seen = []
    flow = ScriptedFlow([get("/slow") + get("/fast") + get("/last")])

    def app(request: Http.Request, respond: Http.Responder) -> None:
        seen.append(f"start {request.path.decode()}")
        if request.path == b"/slow":
            Time.sleep(flow.clock, 1)
        respond.send(200, [], request.path)
        seen.append(f"end {request.path.decode()}")

    s = serve([], app, flow=flow)
    assert [r.body for r in s.responses] == [b"/slow", b"/fast", b"/last"]
    assert seen == [
        "start /slow",
        "end /slow",
        "start /fast",
        "end /fast",
        "start /last",
        "end /last",
    ]


def test_http_1_0_closes_unless_keep_alive_is_asked():
    s = serve([get("/", version="1.0"), get("/")], hello)
    assert len(s.responses) == 1 and s.responses[0].closes
    s = serve([get("/", "Connection: keep-alive", version="1.0"), get("/", version="1.0")], hello)
    assert [r.header(b"connection") for r in s.responses] == [b"keep-alive", b"close"]


def test_connection_close_from_the_client_ends_after_the_response():
    s = serve([get("/", "Connection: close") + get("/never")], hello)
    assert [r.body for r in s.responses] == [b"hello /"]
    assert s.responses[0].closes


def test_leading_empty_lines_before_a_request_are_ignored():
    s = serve([b"\r\n" + get("/a") + b"\r\n\r\n" + get("/b")], hello)
    assert [r.status for r in s.responses] == [200, 200]


def test_cl_te_smuggling_is_answered_400_and_the_connection_closed():
    smuggle = (
        b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 6\r\nTransfer-Encoding: chunked\r\n\r\n"
        b"0\r\n\r\nG" + get("/admin")
    )
    s = serve([smuggle], hello)
    assert [r.status for r in s.responses] == [400]
    assert s.responses[0].closes and b"/admin" not in s.flow.out


# -- request bodies ----------------------------------------------------------------


def echo(request: Http.Request, respond: Http.Responder) -> None:
    body = request.body.read()
    trailers = b";".join(b"%s=%s" % t for t in request.trailers)
    respond.send(200, [(b"X-Trailers", trailers or b"-")], body)


@pytest.mark.parametrize("how", SPLITS)
def test_chunked_and_fixed_bodies_and_trailers(how):
    data = (
        b"POST /a HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello"
        b"POST /b HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n"
        b"5;ext=1\r\nhello\r\n1\r\n \r\n5\r\nworld\r\n0\r\nX-Sum: 11\r\n\r\n"
    )
    s = serve(chunked(data, how), echo)
    assert [(r.body, r.header(b"x-trailers")) for r in s.responses] == [
        (b"hello", b"-"),
        (b"hello world", b"x-sum=11"),
    ]


def test_body_readline_and_iteration():
    def lines(request: Http.Request, respond: Http.Responder) -> None:
        first = request.body.readline()
        rest = list(request.body)
        respond.send(200, [], b"|".join([first, *rest]))

    body = b"one\ntwo\nthree"
    head = b"POST / HTTP/1.1\r\nContent-Length: %d\r\n\r\n" % len(body)
    s = serve(chunked(head + body, "bytes"), lines)
    assert s.responses[0].body == b"one\n|two\n|three"


def test_expect_100_continue_is_answered_on_the_first_read():
    head = b"POST / HTTP/1.1\r\nContent-Length: 5\r\nExpect: 100-continue\r\n\r\n"
    gate, go = Promise.create()
    flow = ScriptedFlow([head, gate, b"hello"])

    def app(request: Http.Request, respond: Http.Responder) -> None:
        assert request.expect_continue
        assert bytes(flow.out) == b""  # nothing before the handler reads
        Promise.resolve(go, None)
        respond.send(200, [], request.body.read())

    s = serve([], app, flow=flow)
    assert s.flow.out.startswith(b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\n")
    assert [r.body for r in s.responses] == [b"hello"]


def test_expect_100_without_reading_the_body_closes_the_connection():
    head = b"POST / HTTP/1.1\r\nContent-Length: 5\r\nExpect: 100-continue\r\n\r\n"
    s = serve([head, b"hello", get()], hello)
    assert b"100 Continue" not in s.flow.out
    assert [r.status for r in s.responses] == [200] and s.responses[0].closes


def test_an_unread_small_body_is_drained_and_the_connection_kept():
    s = serve([b"POST / HTTP/1.1\r\nContent-Length: 3\r\n\r\nabc" + get("/next")], hello)
    assert [r.body for r in s.responses] == [b"hello /", b"hello /next"]


def test_an_unread_large_body_closes_the_connection():
    big = 1 << 20
    head = b"POST / HTTP/1.1\r\nContent-Length: %d\r\n\r\n" % big
    s = serve([head, b"x" * 1000, get("/next")], hello)
    assert [r.status for r in s.responses] == [200] and s.responses[0].closes


def test_the_body_limit_is_413_for_both_framings():
    limits = Http.Limits(max_body=10)
    s = serve([b"POST / HTTP/1.1\r\nContent-Length: 11\r\n\r\n"], echo, limits=limits)
    assert [r.status for r in s.responses] == [413]
    chunks = b"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n6\r\nabcdef\r\n5\r\nghijk\r\n"
    s = serve([chunks], echo, limits=limits)
    assert [r.status for r in s.responses] == [413]
    six = b"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n6\r\nabcdef\r\n0\r\n\r\n"
    s = serve([six], echo, limits=limits)  # 6 bytes: fine
    assert [(r.status, r.body) for r in s.responses] == [(200, b"abcdef")]


def test_a_bad_chunk_that_the_handler_swallows_is_still_answered_400():
    def careless(request: Http.Request, respond: Http.Responder) -> None:
        with contextlib.suppress(Exception):
            request.body.read()
        respond.send(200, [], b"never")

    s = serve([b"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n"], careless)
    assert [r.status for r in s.responses] == [400]


# -- limits: the same answer however the bytes arrive ----------------------------


def _head_of(size: int) -> bytes:
    """A GET whose header section (fields and the blank line) is ``size`` bytes."""
    line = b"GET / HTTP/1.1\r\n"
    filler = size - len(b"X: \r\n\r\n")
    return line + b"X: " + b"a" * filler + b"\r\n\r\n"


@pytest.mark.parametrize("how", ["whole", "bytes", 5])
def test_max_header_bytes_is_exact_however_the_head_arrives(how):
    limits = Http.Limits(max_header_bytes=1000)
    assert [
        r.status for r in serve(chunked(_head_of(1000), how), hello, limits=limits).responses
    ] == [200]
    assert [
        r.status for r in serve(chunked(_head_of(1001), how), hello, limits=limits).responses
    ] == [431]


@pytest.mark.parametrize("how", ["whole", "bytes", 7])
def test_max_request_line_is_exact(how):
    limits = Http.Limits(max_request_line=100)
    line = b"GET /" + b"a" * (100 - len(b"GET / HTTP/1.1")) + b" HTTP/1.1\r\n\r\n"
    assert len(line) == 104
    assert [r.status for r in serve(chunked(line, how), hello, limits=limits).responses] == [200]
    longer = line.replace(b"/a", b"/aa", 1)
    assert [r.status for r in serve(chunked(longer, how), hello, limits=limits).responses] == [414]


@pytest.mark.parametrize("how", ["whole", "lines", "bytes"])
def test_max_headers(how):
    limits = Http.Limits(max_headers=3)
    three = get("/", "A: 1", "B: 2")  # with Host: three fields
    assert [r.status for r in serve(chunked(three, how), hello, limits=limits).responses] == [200]
    four = get("/", "A: 1", "B: 2", "C: 3")
    assert [r.status for r in serve(chunked(four, how), hello, limits=limits).responses] == [431]


def test_a_huge_header_is_refused_early_without_buffering_it():
    # 1 MiB of header in 64 KiB pieces: refused once past the limit, not at the end
    piece = b"a" * 65536
    s = serve([b"GET / HTTP/1.1\r\nX: ", *[piece] * 16], hello)
    assert [r.status for r in s.responses] == [431]


def test_read_buffers_are_sized_to_the_request():
    parser = RequestParser(Http.Limits())
    view = parser.read_buffer()
    assert len(view) == INITIAL_BUFFER  # what an idle connection holds
    big = _head_of(60000)
    view[: len(big[:INITIAL_BUFFER])] = big[:INITIAL_BUFFER]
    view.release()
    parser.received(INITIAL_BUFFER)
    rest = big[INITIAL_BUFFER:]
    while rest:
        assert parser.next_request() is None
        view = parser.read_buffer()
        n = min(len(view), len(rest))
        view[:n] = rest[:n]
        view.release()
        parser.received(n)
        rest = rest[n:]
    assert parser.next_request() is not None
    parser.start_next()
    view = parser.read_buffer()  # the head was consumed: back to a small buffer
    assert len(view) == INITIAL_BUFFER


# -- responses -------------------------------------------------------------------


def test_head_responses_carry_headers_but_no_body():
    def app(request: Http.Request, respond: Http.Responder) -> None:
        respond.start(200, [(b"Content-Length", b"5")])
        respond.write(b"hello")
        respond.finish()

    head = b"HEAD / HTTP/1.1\r\n\r\n"
    s = serve([head + get()], app, heads=[True, False])
    assert [(r.header(b"content-length"), r.body) for r in s.responses] == [
        (b"5", b""),
        (b"5", b"hello"),
    ]


def test_streamed_responses_are_chunked_on_1_1_and_until_close_on_1_0():
    def app(request: Http.Request, respond: Http.Responder) -> None:
        respond.start(200, [(b"Content-Type", b"text/plain")])
        for part in (b"one ", b"two ", b"three"):
            respond.write(part)
        respond.finish()

    s = serve([get(), get()], app)
    assert [(r.chunked, r.body) for r in s.responses] == [(True, b"one two three")] * 2
    s = serve([get(version="1.0")], app)
    r = s.responses[0]
    assert (r.chunked, r.closes, r.body) == (False, True, b"one two three")


def test_sendfile_from_any_source_and_a_short_body_closes():
    def app(request: Http.Request, respond: Http.Responder) -> None:
        respond.start(200, [(b"Content-Length", b"10")])
        respond.sendfile(Flow.string_source(b"0123456789abc"), 10)  # the first 10
        respond.finish()

    s = serve([get(), get()], app)
    assert [r.body for r in s.responses] == [b"0123456789"] * 2

    def short(request: Http.Request, respond: Http.Responder) -> None:
        respond.start(200, [(b"Content-Length", b"10")])
        respond.write(b"01234")

    s = serve([get(), get()], short, parse=False)
    assert s.flow.out.endswith(b"\r\n\r\n01234")  # then closed: the client sees it cut


def test_writing_past_the_content_length_is_an_error(caplog):
    def app(request: Http.Request, respond: Http.Responder) -> None:
        respond.start(200, [(b"Content-Length", b"2")])
        respond.write(b"abc")  # nothing was sent yet: the client gets a 500

    with caplog.at_level(logging.ERROR, logger="greeneio.http"):
        s = serve([get(), get()], app)
    assert [r.status for r in s.responses] == [500]
    assert "ValueError" in caplog.text

    def late(request: Http.Request, respond: Http.Responder) -> None:
        respond.start(200, [(b"Content-Length", b"4")])
        respond.write(b"ab")
        respond.write(b"cde")  # too late for a 500: the connection is cut

    s = serve([get(), get()], late, parse=False)
    assert s.flow.out.endswith(b"\r\n\r\nab")


def test_header_injection_is_refused():
    def app(request: Http.Request, respond: Http.Responder) -> None:
        respond.send(200, [(b"X-Evil", b"a\r\nSet-Cookie: x=1")], b"")

    s = serve([get()], app)
    assert [r.status for r in s.responses] == [500]
    assert b"Set-Cookie" not in s.flow.out


def test_handler_exceptions_give_500_logged_once_with_the_traceback(caplog):
    def app(request: Http.Request, respond: Http.Responder) -> None:
        raise KeyError("boom")

    with caplog.at_level(logging.DEBUG, logger="greeneio.http"):
        s = serve([get(), get()], app)
    assert [r.status for r in s.responses] == [500] and s.responses[0].closes
    errors = [r for r in caplog.records if r.levelno == logging.ERROR]
    assert len(errors) == 1 and errors[0].exc_info is not None
    assert "KeyError" in errors[0].getMessage()


def test_a_handler_may_refuse_with_http_error():
    def app(request: Http.Request, respond: Http.Responder) -> None:
        raise Http.HttpError(403, "not for you")

    s = serve([get()], app)
    assert [(r.status, r.body) for r in s.responses] == [(403, b"Forbidden: not for you\n")]


def test_errors_name_the_reason_and_the_status():
    s = serve([b"GET / HTTP/1.1\r\nTransfer-Encoding: gzip, chunked\r\n\r\n"], hello)
    r = s.responses[0]
    assert (r.status, r.reason, r.body) == (
        501,
        b"Not Implemented",
        b"Not Implemented: transfer coding not implemented\n",
    )
    assert r.header(b"content-type") == b"text/plain; charset=utf-8"


def test_on_response_sees_each_request_once():
    seen = []
    serve(
        [get("/a"), b"BAD\r\n\r\n"],
        hello,
        on_response=lambda req, status, n: seen.append((req and req.path, status, n)),
    )
    assert seen == [(b"/a", 200, 8), (None, 400, 0)]


# -- drain ----------------------------------------------------------------------


def test_stop_closes_an_idle_keepalive_connection_at_once():
    stop, set_stop = Promise.create()
    script = [get(), 1.0, lambda: Promise.resolve(set_stop, None)]
    s = serve(script, hello, stop=stop, flow_options={"hang": True})
    assert [r.status for r in s.responses] == [200]
    assert not s.responses[0].closes  # it was sent before the stop
    assert s.elapsed == 1  # closed at the stop, not after the keep-alive timeout


def test_stop_during_a_request_finishes_it_with_connection_close():
    stop, set_stop = Promise.create()

    def app(request: Http.Request, respond: Http.Responder) -> None:
        Promise.resolve(set_stop, None)  # SIGTERM arrives while this one runs
        respond.send(200, [], b"finished")

    s = serve([get("/a") + get("/b")], app, stop=stop)
    assert [(r.body, r.closes) for r in s.responses] == [(b"finished", True)]


def test_after_stop_a_new_connection_still_gets_its_first_request_answered():
    stop = Promise.create_resolved(None)
    s = serve([get("/a"), get("/b")], hello, stop=stop)
    assert [(r.body, r.closes) for r in s.responses] == [(b"hello /a", True)]
    s = serve([0.2, get("/a")], hello, stop=stop)  # on its way: still answered
    assert [(r.body, r.closes) for r in s.responses] == [(b"hello /a", True)]


def test_after_stop_a_silent_new_connection_is_closed_after_a_moment():
    stop = Promise.create_resolved(None)
    s = serve([], hello, stop=stop, flow_options={"hang": True})
    assert s.responses == [] and s.elapsed == 0.25  # an idle nc does not hold the stop


def test_a_stop_while_a_head_arrives_lets_it_finish():
    stop, set_stop = Promise.create()
    script = [
        get("/a"),
        b"GET /b HTTP/1.1\r\n",
        lambda: Promise.resolve(set_stop, None),
        1.0,
        b"Host: x\r\n\r\n",
    ]
    s = serve(script, hello, stop=stop)
    assert [(r.body, r.closes) for r in s.responses] == [(b"hello /a", False), (b"hello /b", True)]


# -- a client that goes away ------------------------------------------------------


def test_a_client_that_leaves_cancels_its_handler_at_once():
    flow = ScriptedFlow([get(), 1.0])  # the request, then the client closes at 1 s
    seen = []

    def slow(request: Http.Request, respond: Http.Responder) -> None:
        try:
            Time.sleep(flow.clock, 100)
        except Cancel.Cancelled as c:
            seen.append((flow.clock.now(), type(c.reason).__name__))
            raise
        respond.send(200, [], b"too late")

    s = serve([], slow, flow=flow, cancel_on_disconnect=True)
    assert seen == [(1.0, "ClientDisconnected")]
    assert s.responses == [] and s.elapsed == 1


def test_watching_for_a_disconnect_keeps_a_pipelined_request():
    flow = ScriptedFlow([get("/a"), 1.0, get("/b")], hang=True)  # then stays connected

    def slow(request: Http.Request, respond: Http.Responder) -> None:
        Time.sleep(flow.clock, 5)
        respond.send(200, [], request.path)

    s = serve([], slow, flow=flow, cancel_on_disconnect=True)
    assert [r.body for r in s.responses] == [b"/a", b"/b"]
    assert s.elapsed == 5 + 5 + 5  # two handlers, then the keep-alive timeout


def test_without_cancel_on_disconnect_the_handler_finishes():
    flow = ScriptedFlow([get(), 1.0])

    def slow(request: Http.Request, respond: Http.Responder) -> None:
        Time.sleep(flow.clock, 100)
        respond.send(200, [], b"done")

    s = serve([], slow, flow=flow)
    assert [r.body for r in s.responses] == [b"done"] and s.elapsed == 101


def test_on_gevent_a_client_close_cancels_the_handler():
    import greeneio
    from greeneio import Fiber, Net, Switch

    def main(env):
        seen = []
        with Switch() as sw:
            server, client = Net.socketpair_stream(sw=sw)

            def slow(request: Http.Request, respond: Http.Responder) -> None:
                try:
                    Time.sleep(env.mono_clock, 30)
                except Cancel.Cancelled as c:
                    seen.append(type(c.reason).__name__)
                    raise

            def client_side() -> None:
                Flow.copy_string(get(), client)
                Time.sleep(env.mono_clock, 0.05)
                Net.close(client)  # gone, before any answer

            Fiber.fork(client_side, sw=sw)
            t0 = env.mono_clock.now()
            Http.serve_connection(server, slow, clock=env.mono_clock, cancel_on_disconnect=True)
            return seen, env.mono_clock.now() - t0

    seen, took = greeneio.run(main)
    assert seen == ["ClientDisconnected"] and took < 5


# -- a full server sheds its slowest connections --------------------------------------


def test_a_full_server_sheds_the_oldest_connection_without_a_head():
    from greeneio import Fiber, Switch
    from greeneio.mock import Backend

    shedding = Http.Shedding(3, min_wait=0)
    slow_a = ScriptedFlow([b"GET / HT"], hang=True)  # slowloris
    idle_b = ScriptedFlow([get("/b")], hang=True)  # keep-alive, then idle
    slow_c = ScriptedFlow([b"GET / HTTP/1.1\r\nX-"], hang=True)
    normal = ScriptedFlow([get("/d")])
    ended = {}

    def main(env):
        def conn(name, flow):
            flow.clock = env.mono_clock
            Http.serve_connection(flow, hello, clock=env.mono_clock, shedding=shedding)
            ended[name] = env.mono_clock.now()

        def settle():
            for _ in range(10):
                Fiber.yield_()

        with Switch() as sw:
            for name, flow in (("a", slow_a), ("b", idle_b)):
                Fiber.fork(conn, name, flow, sw=sw)
            settle()
            assert ended == {}  # two of three slots taken: nothing shed yet
            Fiber.fork(conn, "c", slow_c, sw=sw)  # the third: the oldest without a head goes
            settle()
            assert slow_a.out.startswith(b"HTTP/1.1 408 ")
            assert ended == {"a": 0}  # closed at once, no lingering: its slot is free now
            Fiber.fork(conn, "d", normal, sw=sw)  # full again: b (idle) is older than c
            settle()
            assert ended == {"a": 0, "b": 0, "d": 0}

    Backend.run_full(main)
    assert slow_a.out.startswith(b"HTTP/1.1 408 ")
    assert idle_b.out.count(b"HTTP/1.1") == 1  # its answer; then closed silently
    assert normal.out.startswith(b"HTTP/1.1 200 ") and b"hello /d" in normal.out
    assert ended == {"a": 0, "b": 0, "c": 10, "d": 0}  # c: its header timeout
    assert shedding.shed == 2


def test_at_the_limit_a_connection_is_shed_once_it_has_waited_min_wait():
    # Busy keep-alive clients, idle for a moment between two requests, are left
    # alone even at the limit; the one waiting longest goes once it has waited
    # min_wait (1 s), found by an alarm: a full server accepts no one until then.
    from greeneio import Fiber, Switch, Time
    from greeneio.mock import Backend

    shedding = Http.Shedding(2)
    idle = ScriptedFlow([get("/a")], hang=True)  # answered at 0, then idle
    late = ScriptedFlow([get("/b")], hang=True)  # answered at 0.5, then idle
    ended = {}
    seen = []

    def main(env):
        def conn(name, flow):
            flow.clock = env.mono_clock
            Http.serve_connection(flow, hello, clock=env.mono_clock, shedding=shedding)
            ended[name] = env.mono_clock.now()

        with Switch() as sw:
            Fiber.fork(conn, "idle", idle, sw=sw)
            Time.sleep(env.mono_clock, 0.5)
            Fiber.fork(conn, "late", late, sw=sw)  # the limit; idle has waited 0.5 s only
            Time.sleep(env.mono_clock, 0.4)
            seen.append((shedding.shed, dict(ended)))
            Time.sleep(env.mono_clock, 0.2)  # past 1.0: idle has waited 1 s
            seen.append((shedding.shed, dict(ended)))
            Time.sleep(env.mono_clock, 1.0)  # one connection left: below the limit
            seen.append((shedding.shed, dict(ended)))
            sw.fail(RuntimeError("done"))

    with pytest.raises(RuntimeError, match="done"):
        Backend.run_full(main)
    assert seen == [(0, {}), (1, {"idle": 1.0}), (1, {"idle": 1.0})]
    assert idle.out.count(b"HTTP/1.1 200 ") == 1 and late.out.count(b"HTTP/1.1 200 ") == 1


def test_shedding_checks_its_arguments():
    with pytest.raises(TypeError, match="min_wait"):
        Http.Shedding(3, min_wait="1")
    with pytest.raises(ValueError, match="min_wait"):
        Http.Shedding(3, min_wait=-1)
    with pytest.raises(ValueError, match="limit"):
        Http.Shedding(0)
