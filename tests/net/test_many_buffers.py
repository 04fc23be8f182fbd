"""More buffers than IOV_MAX in one write (SPEC §5): sent in chunks, never EMSGSIZE."""

from __future__ import annotations

from typing import Any

import pytest

import greeneio
from greeneio import Fiber, Flow, Net, Switch
from greeneio.net._fdpass import recv_msg_with_fds, send_msg

pytestmark = [pytest.mark.timeout(30), pytest.mark.usefixtures("no_fd_leak")]

COUNT = 10_000


def _bufs() -> list[bytes]:
    return [i.to_bytes(2, "big") for i in range(COUNT)]


def test_write_of_10000_buffers_arrives_whole_and_in_order():
    bufs = _bufs()
    expected = b"".join(bufs)

    def main(env: Any) -> bytes:
        with Switch() as sw:
            a, b = Net.socketpair_stream(sw=sw)
            got = bytearray(len(expected))

            def write() -> None:
                Flow.write(a, bufs)

            Fiber.both(write, lambda: Flow.read_exact(b, got))
            return bytes(got)

    assert greeneio.run(main) == expected


def test_single_write_of_10000_buffers_writes_a_prefix():
    bufs = _bufs()
    total = 2 * COUNT

    def main(env: Any) -> None:
        with Switch() as sw:
            a, b = Net.socketpair_stream(sw=sw)
            n = Flow.single_write(a, bufs)
            assert 0 < n <= total
            got = bytearray(n)
            Flow.read_exact(b, got)
            assert bytes(got) == b"".join(bufs)[:n]

    greeneio.run(main)


def test_datagram_of_10000_buffers_is_one_datagram():
    bufs = _bufs()
    expected = b"".join(bufs)

    def main(env: Any) -> None:
        with Switch() as sw:
            a, b = Net.socketpair_datagram(sw=sw)
            Net.send(a, bufs)
            buf = bytearray(len(expected) + 1)
            _, n = Net.recv(b, buf)
            assert bytes(buf[:n]) == expected
            assert send_msg(a, bufs) == len(expected)
            _, n, fds = recv_msg_with_fds(b, buf, sw=sw, max_fds=0)
            assert (bytes(buf[:n]), fds) == (expected, [])

    greeneio.run(main)


def test_send_msg_of_10000_buffers_on_a_stream_sends_a_prefix():
    bufs = _bufs()

    def main(env: Any) -> None:
        with Switch() as sw:
            a, b = Net.socketpair_stream(sw=sw)
            n = send_msg(a, bufs)
            assert 0 < n <= 2 * COUNT
            got = bytearray(n)
            Flow.read_exact(b, got)
            assert bytes(got) == b"".join(bufs)[:n]

    greeneio.run(main)
