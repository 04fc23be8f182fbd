"""The provider interfaces' contract, on both backends.

Every provider object of both backends provides its interfaces (verified with
``verifyObject``), and each scenario below runs once on the mock (scripted
``greeneio.mock`` flows and listening sockets) and once on gevent (real
loopback sockets and socketpairs), calling the provider methods the way the
``Flow`` and ``Net`` functions do. A "world" builds the objects of one
backend; the scenario, and what it asserts, is the same for both.
"""

from __future__ import annotations

from collections import deque

import pytest
from zope.interface.verify import verifyObject

import greeneio
from greeneio import Fiber, Flow, Fs, Net, Promise, Switch
from greeneio.interfaces import (
    IAlarm,
    IAlarmClock,
    IClock,
    IClose,
    IDatagramSocket,
    IFd,
    IListeningSocket,
    INetwork,
    INonblockingSource,
    IShutdown,
    ISink,
    ISocket,
    ISource,
    IStreamSocket,
)
from greeneio.mock import Backend, Clock, Return, Run
from greeneio.mock import Flow as MockFlow
from greeneio.mock import Net as MockNet

pytestmark = pytest.mark.timeout(10)


def gevent_providers():
    def main(env):
        with Switch() as sw:
            listening = Net.listen(env.net, Net.Sockaddr.Tcp(Net.Ipaddr.V4.loopback, 0), sw=sw,
                                   backlog=1)  # fmt: skip
            a, _ = Net.socketpair_stream(sw=sw)
            d, _ = Net.socketpair_datagram(sw=sw)
            f = Fs.open_in(__file__, sw=sw)
            alarm = env.mono_clock.call_at(env.mono_clock.now() + 3600, lambda: None)
            alarm.cancel()
            return [
                (IClock, env.clock),
                (IClock, env.mono_clock),
                (IAlarmClock, env.clock),
                (IAlarmClock, env.mono_clock),
                (IAlarm, alarm),
                (ISource, env.stdin),
                (ISink, env.stdout),
                (ISink, env.stderr),
                (INetwork, env.net),
                (IListeningSocket, listening),
                (IStreamSocket, a),
                (INonblockingSource, a),
                (IAlarm, a.call_when_readable(lambda: None)),
                (IDatagramSocket, d),
                (IFd, a),
                (IFd, listening),
                (IFd, d),
                (ISource, f),
                (IFd, f),
            ]

    return greeneio.run(main)


def mock_providers():
    env_clock = Backend.run_full(lambda env: env.clock)
    flow = MockFlow.make("f")
    clock = Clock()
    return [
        (IClock, clock),
        (IClock, env_clock),
        (IAlarmClock, clock),
        (IAlarmClock, env_clock),
        (IAlarm, clock.call_at(5, lambda: None)),
        (ISource, flow),
        (ISink, flow),
        (IShutdown, flow),
        (IClose, flow),
        (ISocket, flow),
        (IStreamSocket, flow),
        (INetwork, MockNet.make("net")),
        (IListeningSocket, MockNet.listening_socket("l")),
    ]


def memory_providers():
    return [
        (ISource, Flow.string_source("x")),
        (ISource, Flow.cstruct_source([b"x"])),
        (ISink, Flow.buffer_sink(bytearray())),
        (ISource, Flow.null),
        (ISink, Flow.null),
    ]


@pytest.mark.parametrize("source", [gevent_providers, mock_providers, memory_providers])
def test_verify_object(source):
    providers = source()
    assert providers
    for iface, obj in providers:
        assert verifyObject(iface, obj), (iface, obj)


# -- One scenario, both backends ------------------------------------------------------

LOOPBACK = Net.Sockaddr.Tcp(Net.Ipaddr.V4.loopback, 0)


class Inbox:
    """What a scripted mock hands out, in arrival order: ``take`` waits (cancellably)
    for the next item, so a cancelled ``take`` leaves the item for the next one."""

    def __init__(self):
        self.items = deque()
        self.waiters = []

    def put(self, item):
        self.items.append(item)
        waiters, self.waiters = self.waiters, []
        for r in waiters:
            Promise.resolve(r, None)

    def take(self):
        while not self.items:
            p, r = Promise.create()
            self.waiters.append(r)
            p.await_()
        return self.items.popleft()


class MockWorld:
    """Scripted mock flows and listening sockets."""

    def __init__(self, env):
        self.backlogs = {}

    def flow(self, sw, label, reads):
        f = MockFlow.make(label)
        MockFlow.on_read(f, reads)
        f.attach_to_switch(sw)
        return f

    def stream(self, sw):
        return self.flow(sw, "flow", [])

    def stream_then_eof(self, sw, data):
        """A stream socket whose peer sent ``data`` and then closed its sending side."""
        return self.flow(sw, "flow", [Return(data)])

    def pipe(self, sw):
        """A stream socket and ``send(data)``, which makes ``data`` arrive on it."""
        inbox = Inbox()
        return self.flow(sw, "pipe", [Run(inbox.take) for _ in range(8)]), inbox.put

    def listener(self, sw):
        listening = MockNet.listening_socket("tcp/80")
        backlog = self.backlogs[id(listening)] = Inbox()
        MockNet.on_accept(listening, [Run(backlog.take) for _ in range(8)])
        sw.on_release(listening.close)
        return listening

    def arrive(self, listening, sw, data):
        """A client connects to ``listening`` and sends ``data``."""
        client = Net.Sockaddr.Tcp(Net.Ipaddr.V4.loopback, 1234)
        self.backlogs[id(listening)].put((self.flow(sw, "conn", [Return(data)]), client))


class GeventWorld:
    """Real loopback sockets and socketpairs."""

    def __init__(self, env):
        self.net = env.net

    def stream(self, sw):
        return Net.socketpair_stream(sw=sw)[0]

    def stream_then_eof(self, sw, data):
        a, b = Net.socketpair_stream(sw=sw)
        Flow.write(b, [data])
        Flow.shutdown(b, "send")
        return a

    def pipe(self, sw):
        a, b = Net.socketpair_stream(sw=sw)
        return a, lambda data: Flow.write(b, [data])

    def listener(self, sw):
        return Net.listen(self.net, LOOPBACK, sw=sw, backlog=4)

    def arrive(self, listening, sw, data):
        client = Net.connect(self.net, Net.listening_addr(listening), sw=sw)
        Flow.write(client, [data])


WORLDS = {"mock": MockWorld, "gevent": GeventWorld}


@pytest.fixture
def on_backend(greeneio_backend, run_on_backend, no_fd_leak):
    """``on_backend(scenario)`` runs ``scenario(world)`` on the test's backend."""
    world = WORLDS[greeneio_backend]
    return lambda scenario: run_on_backend(lambda env: scenario(world(env)), full=True)


def read(src, size=64):
    buf = bytearray(size)
    n = src.single_read(memoryview(buf))
    assert 1 <= n <= size
    return bytes(buf[:n])


def test_end_of_stream_is_eof_error(on_backend):
    def scenario(world):
        with Switch() as sw:
            src = world.stream_then_eof(sw, b"hi")
            assert read(src) == b"hi"
            for _ in range(2):  # and it stays at its end
                with pytest.raises(EOFError):
                    src.single_read(memoryview(bytearray(8)))

    on_backend(scenario)


def test_close_is_idempotent(on_backend):
    def scenario(world):
        with Switch() as sw:
            resources = [world.stream(sw), world.listener(sw)]
            for r in resources:
                r.close()
                r.close()  # does nothing, raises nothing
                if IFd.providedBy(r):
                    assert r.fileno() == -1
            Flow.close(resources[0])
        # the switch's release of what was closed already does nothing either
        return "closed"

    assert on_backend(scenario) == "closed"


def test_a_cancelled_accept_takes_nothing(on_backend):
    def scenario(world):
        with Switch() as sw:
            listening = world.listener(sw)
            # the accept blocks (no client yet); the other branch finishing cancels it
            assert Fiber.first(lambda: listening.accept(sw), lambda: "gave up") == "gave up"
            world.arrive(listening, sw, b"ping")
            conn, addr = listening.accept(sw)  # the connection is still there
            assert IStreamSocket.providedBy(conn)
            assert isinstance(addr, Net.Sockaddr.Tcp)
            assert read(conn) == b"ping"
            # and there was exactly one: the next accept waits
            assert Fiber.first(lambda: listening.accept(sw), lambda: "no more") == "no more"

    on_backend(scenario)


def test_a_cancelled_read_takes_nothing(on_backend):
    def scenario(world):
        with Switch() as sw:
            src, send = world.pipe(sw)
            assert Fiber.first(lambda: read(src), lambda: "gave up") == "gave up"
            send(b"late")
            assert read(src) == b"late"

    on_backend(scenario)


def test_a_blocked_read_suspends_only_its_fiber(on_backend):
    def scenario(world):
        events = []
        with Switch() as sw:
            src, send = world.pipe(sw)

            def reader():
                events.append("reading")
                events.append(read(src))

            def writer():
                events.append("writing")
                send(b"x")
                events.append("sent")

            Fiber.both(reader, writer)
        return events

    assert on_backend(scenario) == ["reading", "writing", "sent", b"x"]
