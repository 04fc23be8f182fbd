"""No file descriptor is leaked on any path: 200 rounds of each operation,
success, failure and cancellation, leave /proc/self/fd as it was."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable
from typing import Any

import pytest

import greeneio
from greeneio import Fiber, Flow, Net, Promise, Switch


def open_fds() -> set[int]:
    return {int(x) for x in os.listdir("/proc/self/fd")}


pytestmark = [pytest.mark.timeout(60)]

ROUNDS = 200
V4 = Net.Ipaddr.V4.loopback
ANY_PORT = Net.Sockaddr.Tcp(V4, 0)


def rounds(body: Callable[[Any, Switch], object]) -> dict[str, int]:
    """Run ``body(net, sw)`` ROUNDS times in one ``greeneio.run``, each in its own
    switch; return how the rounds ended, and check the fd count is unchanged."""
    outcomes: dict[str, int] = {}

    def main(env: Any) -> None:
        with contextlib.suppress(Exception):
            Switch.run(lambda sw: body(env.net, sw))  # warm up: lazily made fds
        before = open_fds()
        for _ in range(ROUNDS):
            try:
                key = str(Switch.run(lambda sw: body(env.net, sw)))
            except Exception as e:
                key = type(e).__name__
            outcomes[key] = outcomes.get(key, 0) + 1
        after = open_fds()
        assert after == before, f"leaked: {sorted(after - before)}"

    greeneio.run(main)
    return outcomes


def test_connect_and_close():
    def body(net: Any, sw: Switch) -> str:
        server = Net.listen(net, ANY_PORT, sw=sw, backlog=5)
        flow = Net.connect(net, Net.listening_addr(server), sw=sw)
        Net.close(flow)
        return "ok"

    assert rounds(body) == {"ok": ROUNDS}


def test_connect_refused():
    def body(net: Any, sw: Switch) -> None:
        with Switch() as probe:
            addr = Net.listening_addr(Net.listen(net, ANY_PORT, sw=probe, backlog=1))
        Net.connect(net, addr, sw=sw)

    assert rounds(body) == {"Refused": ROUNDS}


def test_accept_fork_with_a_failing_handler():
    def body(net: Any, sw: Switch) -> str:
        server = Net.listen(net, ANY_PORT, sw=sw, backlog=5)
        errors: list[BaseException] = []
        client = Net.connect(net, Net.listening_addr(server), sw=sw)

        def handler(flow: Any, addr: Any) -> None:
            raise ValueError("handler failed")

        Net.accept_fork(server, handler, sw=sw, on_error=errors.append)
        Flow.read_all(client)  # the server side was closed
        return type(errors[0]).__name__

    assert rounds(body) == {"ValueError": ROUNDS}


def _full_listener(net: Any, sw: Switch) -> Any:
    """A listener whose accept queue is full, so that a further connect hangs
    (Linux drops the SYN); connections that complete at once fill the queue."""
    server = Net.listen(net, ANY_PORT, sw=sw, backlog=1)
    addr = Net.listening_addr(server)
    for _ in range(4):
        connected: list[Any] = []
        Fiber.first(lambda c=connected: c.append(Net.connect(net, addr, sw=sw)), _yield_many)
        if not connected:
            break  # this one hung (and was cancelled): the queue is full
    return addr


def _yield_many() -> None:
    for _ in range(50):
        Fiber.yield_()


def test_cancelled_connect():
    def body(net: Any, sw: Switch) -> str:
        addr = _full_listener(net, sw)
        connected = []
        Fiber.first(lambda: connected.append(Net.connect(net, addr, sw=sw)), lambda: None)
        return "connected" if connected else "cancelled"

    outcomes = rounds(body)
    assert sum(outcomes.values()) == ROUNDS
    assert outcomes.get("cancelled", 0) > ROUNDS // 2, outcomes


def test_cancelled_accept():
    def body(net: Any, sw: Switch) -> str:
        server = Net.listen(net, ANY_PORT, sw=sw, backlog=5)
        got = []
        Fiber.first(lambda: got.append(Net.accept(server, sw=sw)), lambda: None)
        return "accepted" if got else "cancelled"

    assert rounds(body) == {"cancelled": ROUNDS}


def test_run_server_cancelled_with_connections_open():
    def body(net: Any, sw: Switch) -> str:
        server = Net.listen(net, ANY_PORT, sw=sw, backlog=5)
        addr = Net.listening_addr(server)
        started: list[Any] = []
        both_in, set_both_in = Promise.create()

        def handler(flow: Any, _addr: Any) -> None:
            started.append(flow)
            if len(started) == 2:
                Promise.resolve(set_both_in, None)
            Fiber.await_cancel()

        def clients() -> str:
            Net.connect(net, addr, sw=sw)
            Net.connect(net, addr, sw=sw)
            both_in.await_()
            return "stopped with 2 open"

        return Fiber.first(lambda: Net.run_server(server, handler, on_error=print), clients)

    assert rounds(body) == {"stopped with 2 open": ROUNDS}


def test_run_server_stopped_gracefully_with_grace_expiring():
    def body(net: Any, sw: Switch) -> Any:
        server = Net.listen(net, ANY_PORT, sw=sw, backlog=5)
        addr = Net.listening_addr(server)
        stop, set_stop = Promise.create()

        def handler(flow: Any, _addr: Any) -> None:
            Promise.resolve(set_stop, "stopped")
            Fiber.await_cancel()

        def client() -> None:
            Net.connect(net, addr, sw=sw)

        Fiber.fork(client, sw=sw)
        return Net.run_server(server, handler, on_error=print, stop=stop, grace=0)

    assert rounds(body) == {"stopped": ROUNDS}
