"""Every provider object of both backends provides its interfaces, verified."""

from __future__ import annotations

import pytest
from zope.interface.verify import verifyObject

import greeneio
from greeneio import Flow, Fs, Net, Switch
from greeneio.interfaces import (
    IClock,
    IClose,
    IDatagramSocket,
    IFd,
    IListeningSocket,
    INetwork,
    IShutdown,
    ISink,
    ISocket,
    ISource,
    IStreamSocket,
)
from greeneio.mock import Backend, Clock
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
            return [
                (IClock, env.clock),
                (IClock, env.mono_clock),
                (ISource, env.stdin),
                (ISink, env.stdout),
                (ISink, env.stderr),
                (INetwork, env.net),
                (IListeningSocket, listening),
                (IStreamSocket, a),
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
    return [
        (IClock, Clock()),
        (IClock, env_clock),
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
