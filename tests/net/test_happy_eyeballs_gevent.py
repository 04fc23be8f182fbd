"""Happy eyeballs on real sockets: the first address hangs (its listener's
queue is full), the second wins after the delay, the hung socket is closed."""

from __future__ import annotations

import os
from typing import Any

import pytest
from zope.interface import implementer

import greeneio
from greeneio import Flow, Net, Switch, Time
from greeneio.interfaces import INetwork

pytestmark = [pytest.mark.timeout(20)]

V4 = Net.Ipaddr.V4.loopback


@implementer(INetwork)
class ScriptedLookup:
    """A network whose getaddrinfo answers from a list, and which otherwise
    passes every call to a real network (a third-party provider)."""

    def __init__(self, real: Any, addrs: list[Any]) -> None:
        self.real = real
        self.addrs = addrs
        self.connects: list[tuple[str, float]] = []
        self.clock: Any = None
        self.expected: list[str] = []

    def getaddrinfo(self, host: str, service: str) -> list[Any]:
        return list(self.addrs)

    def connect(self, addr: Any, sw: Any, bind_to: Any, options: Any) -> Any:
        self.connects.append((str(addr), self.clock.now()))
        return self.real.connect(addr, sw, bind_to, options)

    def listen(self, *args: Any) -> Any:
        return self.real.listen(*args)

    def datagram_socket(self, *args: Any) -> Any:
        return self.real.datagram_socket(*args)

    def getnameinfo(self, addr: Any) -> Any:
        return self.real.getnameinfo(addr)


def _fill_queue(net: Any, clock: Any, sw: Switch, addr: Any) -> None:
    """Connect until a connect hangs: then the listener's accept queue is full
    and Linux drops further SYNs."""
    for _ in range(8):
        try:
            Time.with_timeout(clock, 0.2, lambda: Net.connect(net, addr, sw=sw))
        except Time.Timeout:
            return
    pytest.skip("could not make a connect hang on this host")


def test_second_address_wins_after_the_delay_and_hung_socket_is_closed():
    def main(env: Any) -> Any:
        with Switch() as sw:
            full = Net.listen(env.net, Net.Sockaddr.Tcp(V4, 0), sw=sw, backlog=1)
            good = Net.listen(env.net, Net.Sockaddr.Tcp(V4, 0), sw=sw, backlog=8)
            full_addr, good_addr = Net.listening_addr(full), Net.listening_addr(good)
            _fill_queue(env.net, env.mono_clock, sw, full_addr)
            net = ScriptedLookup(env.net, [full_addr, good_addr])
            net.clock = env.mono_clock
            fds_before = len(os.listdir("/proc/self/fd"))

            def use(conn: Any) -> bytes:
                peer, _ = Net.accept(good, sw=sw)
                Flow.copy_string("hi", peer)
                Net.close(peer)
                return Flow.read_all(conn)

            net.expected = [str(full_addr), str(good_addr)]
            got = Net.with_tcp_connect(
                net,
                use,
                host="example",
                service="http",
                happy_eyeballs_delay=Time.Timeout.seconds(env.mono_clock, 0.1),
            )
            fds_after = len(os.listdir("/proc/self/fd"))
            return got, net.connects, net.expected, fds_before, fds_after

    got, connects, expected, before, after = greeneio.run(main)
    assert got == b"hi"
    assert [a for a, _ in connects] == expected
    (_, t0), (_, t1) = connects
    assert t1 - t0 >= 0.1  # the second attempt waited for the delay
    assert after == before  # the hung attempt's socket was closed, the winner too
