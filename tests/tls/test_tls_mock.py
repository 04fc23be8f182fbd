"""TLS over flows that are not sockets: an in-memory pipe, ``greeneio.mock``
flows, on the mock backend (virtual time) and on gevent."""

from __future__ import annotations

import ssl
from collections import deque
from typing import Any

import pytest
from zope.interface import implementer

import greeneio.tls as Tls
from greeneio import Fiber, Flow, Net, Promise, Time, mock
from greeneio.interfaces import IClose, ITwoWay
from greeneio.testing import run

pytestmark = pytest.mark.timeout(30)


@implementer(ITwoWay, IClose)
class PipeEnd:
    """One end of an in-memory duplex pipe: what one end writes, the other reads.
    Blocks on promises, so it works on any backend."""

    def __init__(self) -> None:
        self.inbox: deque[bytes] = deque()
        self.eof = False
        self.waiter: Any = None
        self.peer: PipeEnd | None = None
        self.closed = False

    def _wake(self) -> None:
        if self.waiter is not None:
            Promise.try_resolve(self.waiter, None)
            self.waiter = None

    def single_read(self, buf: memoryview) -> int:
        while not self.inbox:
            if self.eof or self.closed:
                raise EOFError
            p, self.waiter = Promise.create("pipe read")
            p.await_()
        data = self.inbox[0]
        n = min(len(buf), len(data))
        buf[:n] = data[:n]
        if n == len(data):
            self.inbox.popleft()
        else:
            self.inbox[0] = data[n:]
        return n

    def single_write(self, bufs: list[Any]) -> int:
        assert self.peer is not None
        if self.closed or self.peer.eof:
            raise BrokenPipeError
        data = b"".join(bytes(b) for b in bufs)
        if data:
            self.peer.inbox.append(data)
            self.peer._wake()
        return len(data)

    def copy(self, src: Any) -> None:
        buf = memoryview(bytearray(65536))
        while True:
            try:
                n = src.single_read(buf)
            except EOFError:
                return
            self.single_write([buf[:n]])

    def shutdown(self, cmd: str) -> None:
        assert self.peer is not None
        if cmd in ("send", "all"):
            self.peer.eof = True
            self.peer._wake()

    def close(self) -> None:
        if not self.closed:
            self.closed = True
            self.shutdown("send")
            self._wake()


def pipe() -> tuple[PipeEnd, PipeEnd]:
    a, b = PipeEnd(), PipeEnd()
    a.peer, b.peer = b, a
    return a, b


@pytest.mark.parametrize("backend", ["mock", "gevent"])
def test_a_session_over_an_in_memory_pipe(backend, server_context, client_context, traced):
    def main() -> Any:
        a, b = pipe()
        c, s = Fiber.pair(
            lambda: Tls.client_of_flow(a, host="example.test", context=client_context),
            lambda: Tls.server_of_flow(b, context=server_context, alpn=["h2"]),
        )
        Flow.copy_string("ping", c)
        Flow.shutdown(c, "send")
        request = Flow.read_all(s)
        Flow.copy_string(b"pong after " + request, s)
        s.close()
        reply = Flow.read_all(c)
        c.close()
        return reply, Tls.version(c), a.closed, b.closed

    assert run(backend, main) == (b"pong after ping", "TLSv1.3", True, True)
    assert traced == []


def test_a_client_over_a_mock_flow_that_answers_garbage(client_context, traced):
    flow = mock.Flow.make("flow")
    mock.Flow.on_read(flow, [mock.Return("HTTP/1.1 400 Bad Request\r\n\r\n")])

    def main() -> Any:
        with pytest.raises(Tls.Error) as info:
            Tls.client_of_flow(flow, host="example.test", context=client_context)
        return info.value

    e = run("mock", main)
    assert e.context == ['TLS handshake with "example.test"']
    assert traced[0].startswith('flow: wrote "\\022\\003\\001')  # the ClientHello
    assert traced[-3:] == [
        'flow: read "HTTP/1.1 400 Bad Request\\r\\n"',
        '           "\\r\\n"',
        "flow: closed",
    ]


def test_tls_handler_times_out_in_virtual_time(server_context, traced):
    # A client that never sends its ClientHello: the read blocks forever, and
    # the mock clock jumps to the handshake timeout.
    flow = mock.Flow.make("conn")
    never, _ = Promise.create("never")
    mock.Flow.on_read(flow, [mock.Run(never.await_)])
    handler = Tls.handler(lambda t, addr: None, context=server_context, handshake_timeout=5)
    addr = Net.Sockaddr.Tcp(Net.Ipaddr.V4.loopback, 4433)

    def main() -> Any:
        with pytest.raises(Time.Timeout) as info:
            handler(flow, addr)
        return info.value

    e = run("mock", main)
    assert str(e) == "TLS handshake not done within 5s"
    assert e.__notes__ == ["TLS handshake with tcp:127.0.0.1:4433"]
    assert traced == [
        "conn: setsockopt TCP_NODELAY = true",  # TLS sends whole records: no Nagle
        "mock time is now 5",
        "conn: closed",
    ]


def test_tls_handler_serves_over_a_pipe_on_the_mock(server_context, client_context):
    seen: list[Any] = []

    def app(t: Any, addr: Any) -> None:
        seen.append((Tls.alpn_protocol(t), addr))
        Flow.copy(t, t)

    handler = Tls.handler(app, context=server_context, alpn=["http/1.1"])

    def main() -> Any:
        a, b = pipe()

        def client() -> bytes:
            with Tls.client_of_flow(
                a, host="localhost", context=client_context, alpn=["h2", "http/1.1"]
            ) as t:
                Flow.copy_string("echo me", t)
                Flow.shutdown(t, "send")
                return Flow.read_all(t)

        reply, _ = Fiber.pair(client, lambda: handler(b, "pipe"))
        return reply, b.closed

    assert run("mock", main) == (b"echo me", True)
    assert seen == [("http/1.1", "pipe")]


def test_ssl_is_imported_by_use_not_by_import_greeneio():
    import subprocess
    import sys

    code = (
        "import sys, greeneio, greeneio.tls as Tls\n"
        "print('ssl' in sys.modules, end=' ')\n"
        "Tls.Error\n"
        "print('ssl' in sys.modules)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=30)
    assert out.returncode == 0, out.stderr
    assert out.stdout == "False True\n"
    assert issubclass(Tls.Error, ssl.SSLError)
