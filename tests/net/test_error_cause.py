"""The OS error behind a Net error is kept as ``.backend`` and as ``__cause__``
(SPEC §4), through every layer that adds context: a refused connect on real
loopback sockets, with ``Net.connect`` and with ``Net.with_tcp_connect``."""

from __future__ import annotations

import errno
import socket
import traceback
from collections.abc import Callable, Iterator
from typing import Any

import pytest

import greeneio
from greeneio import Net, Switch, Time

pytestmark = pytest.mark.usefixtures("no_fd_leak")

V4 = Net.Ipaddr.V4.loopback


@pytest.fixture
def refusing_port() -> Iterator[int]:
    """A loopback port bound but not listening: connecting to it is refused, and
    nothing else can take it while the test runs."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        yield s.getsockname()[1]


def refused(fn: Callable[[Any], object]) -> Net.Refused:
    """Run ``fn(env)``; return the ``Net.Refused`` it raises."""
    with pytest.raises(Net.Refused) as info:
        greeneio.run(fn)
    return info.value


def assert_caused_by_econnrefused(ex: Net.Refused) -> None:
    assert isinstance(ex.backend, OSError)
    assert ex.backend.errno == errno.ECONNREFUSED
    assert ex.__cause__ is ex.backend
    assert ex.errno == errno.ECONNREFUSED  # still an OSError for legacy code
    text = "".join(traceback.format_exception(ex))
    assert "ConnectionRefusedError: [Errno 111]" in text
    assert "The above exception was the direct cause of the following exception" in text


def test_connect_refused_keeps_the_os_error(refusing_port: int):
    addr = Net.Sockaddr.Tcp(V4, refusing_port)

    def main(env: Any) -> None:
        with Switch() as sw:
            Net.connect(env.net, addr, sw=sw)

    ex = refused(main)
    assert_caused_by_econnrefused(ex)
    assert ex.context == [f"connecting to tcp:127.0.0.1:{refusing_port}"]


@pytest.mark.parametrize("happy_eyeballs", [False, True], ids=["one-by-one", "happy-eyeballs"])
def test_with_tcp_connect_refused_keeps_the_os_error(refusing_port: int, happy_eyeballs: bool):
    def main(env: Any) -> None:
        delay = Time.Timeout.seconds(env.mono_clock, 0.05) if happy_eyeballs else None
        Net.with_tcp_connect(
            env.net,
            lambda conn: pytest.fail("must not connect"),
            host="127.0.0.1",
            service=str(refusing_port),
            happy_eyeballs_delay=delay,
        )

    ex = refused(main)
    assert_caused_by_econnrefused(ex)
    assert ex.context == [
        f"connecting to tcp:127.0.0.1:{refusing_port}",
        f'connecting to "127.0.0.1":{refusing_port}',
    ]
    assert ex.attempts == [(Net.Sockaddr.Tcp(V4, refusing_port), ex)]  # type: ignore[attr-defined]
