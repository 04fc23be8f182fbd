"""``Tls.handler`` under ``Net.run_server`` on TCP loopback: clients that
fail the handshake (garbage, or silence until the timeout) each cost one
``on_error`` call and nothing else, while good clients are served."""

from __future__ import annotations

import contextlib
import os
import re
from collections.abc import Callable
from typing import Any

import pytest

import greeneio
import greeneio.tls as Tls
from greeneio import Fiber, Flow, Net, Promise, Switch, Time

pytestmark = pytest.mark.timeout(60)

V4 = Net.Ipaddr.V4.loopback
TIMEOUT = 0.5
ADDR = r"tcp:127\.0\.0\.1:\d+"


def echo(t: Any, _addr: Any) -> None:
    Flow.copy(t, t)


class Errors:
    """``on_error`` that keeps what it gets and wakes a waiter at a count."""

    def __init__(self) -> None:
        self.seen: list[BaseException] = []
        self._want: tuple[int, Any] | None = None

    def __call__(self, e: BaseException) -> None:
        self.seen.append(e)
        if self._want is not None and len(self.seen) >= self._want[0]:
            Promise.try_resolve(self._want[1], None)

    def wait_for(self, n: int) -> None:
        if len(self.seen) < n:
            p, r = Promise.create("errors")
            self._want = (n, r)
            p.await_()
            self._want = None


def serving(server_context: Any, body: Callable[[Any, Any, Errors], Any]) -> Any:
    """Run ``body(net, addr, errors)`` against a TLS echo ``run_server``; stop it
    afterwards (waiting for its handlers) and return ``body``'s result."""
    errors = Errors()

    def main(env: Any) -> Any:
        with Switch() as sw:
            server = Net.listen(env.net, Net.Sockaddr.Tcp(V4, 0), sw=sw, backlog=512)
            handler = Tls.handler(echo, context=server_context, handshake_timeout=TIMEOUT)
            stop, set_stop = Promise.create("stop")
            served = Fiber.fork_promise(
                lambda: Net.run_server(server, handler, on_error=errors, stop=stop), sw=sw
            )
            result = body(env.net, Net.listening_addr(server), errors)
            Promise.resolve(set_stop, "stopped")
            assert served.await_() == "stopped"
            return result

    return greeneio.run(main)


def garbage_client(net: Any, addr: Any) -> None:
    with Switch() as sw:
        conn = Net.connect(net, addr, sw=sw)
        Flow.copy_string("GET / HTTP/1.0\r\n\r\n", conn)
        with contextlib.suppress(Net.ConnectionReset):  # it closed, our request unread
            Flow.read_all(conn)  # until the server hangs up


def silent_client(net: Any, addr: Any) -> bytes:
    with Switch() as sw:
        conn = Net.connect(net, addr, sw=sw)
        return Flow.read_all(conn)  # nothing, until the server gives up


def good_client(net: Any, addr: Any, client_context: Any, i: int) -> bytes:
    with Switch() as sw:
        conn = Net.connect(net, addr, sw=sw)
        with Tls.client_of_flow(conn, host="localhost", context=client_context) as t:
            Flow.copy_string(f"hello from client {i}\n", t)
            Flow.shutdown(t, "send")
            return Flow.read_all(t)


def test_bad_clients_each_make_one_on_error_while_100_good_ones_get_their_echo(
    server_context, client_context
):
    def good_clients(net: Any, addr: Any) -> list[bytes]:
        # 100 sessions open at once, then all exchanging at once. The handshakes
        # go 5 at a time: 100 at once would take this one process longer than
        # the short handshake timeout the silent client is there to meet.
        with Switch() as sw:

            def connect(_i: int) -> Any:
                conn = Net.connect(net, addr, sw=sw)
                return Tls.client_of_flow(conn, host="localhost", context=client_context)

            def exchange(i: int, t: Any) -> bytes:
                with t:
                    Flow.copy_string(f"hello from client {i}\n", t)
                    Flow.shutdown(t, "send")
                    return Flow.read_all(t)

            sessions = Fiber.List.map(connect, range(100), max_fibers=5)
            return Fiber.List.map(lambda it: exchange(*it), list(enumerate(sessions)))

    def body(net: Any, addr: Any, errors: Errors) -> Any:
        good, bad = Fiber.pair(
            lambda: good_clients(net, addr),
            lambda: Fiber.pair(lambda: garbage_client(net, addr), lambda: silent_client(net, addr)),
        )
        errors.wait_for(2)
        return good, bad, list(errors.seen)

    good, bad, errors = serving(server_context, body)
    assert good == [f"hello from client {i}\n".encode() for i in range(100)]
    assert bad == (None, b"")
    assert len(errors) == 2
    by_type = {type(e): e for e in errors}
    tls_error = next(e for e in errors if isinstance(e, Tls.Error))
    assert re.fullmatch(
        f"TLS handshake with ({ADDR}) handling connection from \\1", " ".join(tls_error.context)
    ), tls_error.context
    timeout = by_type[Time.Timeout]
    assert str(timeout) == f"TLS handshake not done within {TIMEOUT:g}s"
    assert re.fullmatch(
        f"TLS handshake with ({ADDR}) handling connection from \\1", " ".join(timeout.__notes__)
    ), timeout.__notes__


def _open_fds() -> set[int]:
    return {int(x) for x in os.listdir("/proc/self/fd")}


@pytest.mark.parametrize("kind", ["garbage", "silent"])
def test_no_fd_is_left_by_200_failed_handshakes(server_context, client_context, kind):
    client = garbage_client if kind == "garbage" else silent_client

    def body(net: Any, addr: Any, errors: Errors) -> Any:
        assert good_client(net, addr, client_context, 0)  # warm up: lazily made fds
        before = _open_fds()
        Fiber.List.map(lambda _: client(net, addr), range(200), max_fibers=100)
        errors.wait_for(200)
        after = _open_fds()
        assert good_client(net, addr, client_context, 1) == b"hello from client 1\n"
        return len(errors.seen), after - before, before - after

    count, leaked, lost = serving(server_context, body)
    assert count == 200
    assert leaked == set() and lost == set()
