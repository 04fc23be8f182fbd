"""Every provider object of both backends provides its interfaces, verified."""

from __future__ import annotations

import pytest
from zope.interface.verify import verifyObject

import greeneio
from greeneio import Flow
from greeneio.interfaces import IClock, IClose, IShutdown, ISink, ISource
from greeneio.mock import Backend, Clock
from greeneio.mock import Flow as MockFlow

pytestmark = pytest.mark.timeout(10)


def gevent_providers():
    return greeneio.run(
        lambda env: [
            (IClock, env.clock),
            (IClock, env.mono_clock),
            (ISource, env.stdin),
            (ISink, env.stdout),
            (ISink, env.stderr),
        ]
    )


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
