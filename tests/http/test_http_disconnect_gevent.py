"""The disconnect watch on real sockets: on gevent's stream sockets it is a
readiness call (no fiber), on a TLS flow a watcher fiber; both cancel the
handler when the client goes away and keep what a client sends meanwhile."""

from __future__ import annotations

import socket
import ssl
import struct

import pytest
import trustme

import greeneio
import greeneio.tls as Tls
from greeneio import Cancel, Fiber, Flow, Net, Promise, Switch, Time
from greeneio import http as Http

pytestmark = pytest.mark.timeout(20)

V4 = Net.Ipaddr.V4.loopback


def get(path: str = "/") -> bytes:
    return f"GET {path} HTTP/1.1\r\nHost: x\r\n\r\n".encode()


def blocking_handler(env, started, seen):
    """Blocks 30 s in its first request (recording how it was cancelled);
    answers later ones at once."""

    def handler(request: Http.Request, respond: Http.Responder) -> None:
        if request.path == b"/slow":
            Promise.try_resolve(started, None)
            try:
                Time.sleep(env.mono_clock, 30)
            except Cancel.Cancelled as c:
                seen.append(type(c.reason).__name__)
                raise
        respond.send(200, [], b"answer " + request.path)

    return handler


def tcp_pair(env, sw):
    """(server flow, stdlib client socket) over TCP loopback."""
    server = Net.listen(env.net, Net.Sockaddr.Tcp(V4, 0), sw=sw, backlog=1)
    c = socket.create_connection(("127.0.0.1", Net.listening_addr(server).port))
    flow, _ = Net.accept(server, sw=sw)
    Net.close(server)
    return flow, c


def serve_slow_request(env, client_side) -> tuple[list[str], float]:
    """Send ``GET /slow`` on a TCP pair, run ``client_side(sock, started)`` in
    a fiber, and serve the connection (cancel_on_disconnect) with the blocking
    handler; what the handler saw, and how long serving took."""
    seen: list[str] = []
    started, set_started = Promise.create()
    with Switch() as sw:
        flow, c = tcp_pair(env, sw)
        c.sendall(get("/slow"))
        Fiber.fork(lambda: client_side(c, started), sw=sw)
        t0 = env.mono_clock.now()
        Http.serve_connection(
            flow, blocking_handler(env, set_started, seen), clock=env.mono_clock,
            cancel_on_disconnect=True,
        )  # fmt: skip
        took = env.mono_clock.now() - t0
        c.close()
        return seen, took


@pytest.mark.parametrize("how", ["close", "reset", "half-close"])
def test_a_client_that_goes_away_cancels_the_handler_at_once(how):
    def client_leaves(c, started) -> None:
        started.await_()
        if how == "reset":
            c.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            c.close()
        elif how == "half-close":
            c.shutdown(socket.SHUT_WR)
        else:
            c.close()

    seen, took = greeneio.run(lambda env: serve_slow_request(env, client_leaves))
    assert seen == ["ClientDisconnected"] and took < 5


def test_a_request_pipelined_while_the_handler_runs_is_kept_and_answered():
    def client(env):
        def side(c, started) -> None:
            started.await_()
            c.sendall(get("/next"))  # read ahead by the watch, not a disconnect
            Time.sleep(env.mono_clock, 0.1)
            c.shutdown(socket.SHUT_WR)  # now gone: the handler is cancelled

        return side

    seen, _ = greeneio.run(lambda env: serve_slow_request(env, client(env)))
    # The first handler saw only the disconnect (the pipelined bytes did not
    # cancel it); after a cancelled request the connection is closed.
    assert seen == ["ClientDisconnected"]


def test_bytes_sent_while_a_quick_handler_runs_are_the_next_request():
    def main(env):
        released, release = Promise.create()
        started, set_started = Promise.create()
        answers = []
        with Switch() as sw:
            flow, c = tcp_pair(env, sw)

            def handler(request: Http.Request, respond: Http.Responder) -> None:
                if request.path == b"/a":
                    Promise.try_resolve(set_started, None)
                    released.await_()
                respond.send(200, [], b"answer " + request.path)

            def client() -> None:
                c.sendall(get("/a"))
                started.await_()
                c.sendall(get("/b"))
                Time.sleep(
                    env.mono_clock, 0.1
                )  # time for the watch to read /b ahead (or not: same answer)
                Promise.resolve(release, None)
                data = b""
                while data.count(b"answer") < 2:
                    Fiber.yield_()
                    try:
                        c.setblocking(False)
                        data += c.recv(4096)
                    except BlockingIOError:
                        Time.sleep(env.mono_clock, 0.01)
                answers.append(data)
                c.close()

            Fiber.fork(client, sw=sw)
            Http.serve_connection(flow, handler, clock=env.mono_clock, cancel_on_disconnect=True)
            return answers[0]

    data = greeneio.run(main)
    assert data.index(b"answer /a") < data.index(b"answer /b")


def test_a_flood_while_the_handler_runs_leaves_it_alone_and_is_refused_after():
    limits = Http.Limits(max_header_bytes=4096, max_request_line=1024)

    def main(env):
        released, release = Promise.create()
        started, set_started = Promise.create()
        with Switch() as sw:
            flow, c = tcp_pair(env, sw)

            def handler(request: Http.Request, respond: Http.Responder) -> None:
                Promise.try_resolve(set_started, None)
                released.await_()
                respond.send(200, [], b"a")

            def client() -> None:
                c.sendall(get("/a"))
                started.await_()
                c.sendall(b"GET /b HTTP/1.1\r\nX: " + b"y" * 200_000)  # kernel buffers it
                Time.sleep(env.mono_clock, 0.1)
                Promise.resolve(release, None)

            Fiber.fork(client, sw=sw)
            Http.serve_connection(
                flow, handler, clock=env.mono_clock, limits=limits, cancel_on_disconnect=True
            )
            c.setblocking(True)
            c.settimeout(5)
            data = b""
            while True:
                chunk = c.recv(65536)
                if not chunk:
                    break
                data += chunk
            c.close()
            return data

    data = greeneio.run(main)
    assert data.startswith(b"HTTP/1.1 200 ")
    assert b"HTTP/1.1 431 " in data  # the oversized head, refused once the handler returned


def test_on_a_tls_flow_the_watch_is_a_fiber_and_a_close_cancels_the_handler():
    ca = trustme.CA()
    cert = ca.issue_cert("localhost")
    server_ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    cert.configure_cert(server_ctx)
    client_ctx = ssl.create_default_context()
    ca.configure_trust(client_ctx)

    def main(env):
        seen: list[str] = []
        started, set_started = Promise.create()
        with Switch() as sw:
            a, b = Net.socketpair_stream(sw=sw)
            client, server = Fiber.pair(
                lambda: Tls.client_of_flow(a, context=client_ctx, host="localhost"),
                lambda: Tls.server_of_flow(b, context=server_ctx),
            )

            def client_side() -> None:
                Flow.copy_string(get("/slow").decode(), client)
                started.await_()
                Net.close(a)  # gone, without a close_notify

            Fiber.fork(client_side, sw=sw)
            Http.serve_connection(
                server, blocking_handler(env, set_started, seen), clock=env.mono_clock,
                cancel_on_disconnect=True,
            )  # fmt: skip
            return seen

    assert greeneio.run(main) == ["ClientDisconnected"]
