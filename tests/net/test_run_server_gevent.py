"""run_server on real loopback sockets: many clients, the connection limit,
graceful stop, grace, and backing off when the process runs out of fds."""

from __future__ import annotations

import socket
import subprocess
import sys
import textwrap
from typing import Any

import pytest

import greeneio
from greeneio import Fiber, Flow, Net, Promise, Switch, traceln
from greeneio._core.trace import capture

pytestmark = [pytest.mark.timeout(60), pytest.mark.usefixtures("no_fd_leak")]

V4 = Net.Ipaddr.V4.loopback


def echo(flow: Any, _addr: Any) -> None:
    Flow.copy(flow, flow)


def run_clients(net: Any, sw: Switch, addr: Any, n: int, at_once: int) -> list[bytes]:
    def client(i: int) -> bytes:
        with Switch() as csw:
            flow = Net.connect(net, addr, sw=csw)
            Flow.copy_string(f"hello from client {i}\n", flow)
            Flow.shutdown(flow, "send")
            return Flow.read_all(flow)

    return Fiber.List.map(client, range(n), max_fibers=at_once)


def test_1000_clients_each_get_their_echo():
    def main(env: Any) -> Any:
        with Switch() as sw:
            server = Net.listen(env.net, Net.Sockaddr.Tcp(V4, 0), sw=sw, backlog=128)
            stop, set_stop = Promise.create()
            served = Fiber.fork_promise(
                lambda: Net.run_server(server, echo, on_error=_reraise, stop=stop), sw=sw
            )
            replies = run_clients(env.net, sw, Net.listening_addr(server), 1000, 100)
            Promise.resolve(set_stop, "stopped")
            return replies, served.await_()

    replies, result = greeneio.run(main)
    assert replies == [f"hello from client {i}\n".encode() for i in range(1000)]
    assert result == "stopped"


def _reraise(e: BaseException) -> None:
    raise e


def test_max_connections_bounds_concurrent_handlers():
    active = [0]
    peak = [0]

    def counting_echo(flow: Any, addr: Any) -> None:
        active[0] += 1
        peak[0] = max(peak[0], active[0])
        try:
            Fiber.yield_()  # give other connections a chance to overlap
            echo(flow, addr)
        finally:
            active[0] -= 1

    def main(env: Any) -> list[bytes]:
        with Switch() as sw:
            server = Net.listen(env.net, Net.Sockaddr.Tcp(V4, 0), sw=sw, backlog=128)
            stop, set_stop = Promise.create()
            Fiber.fork(
                lambda: Net.run_server(
                    server, counting_echo, on_error=_reraise, max_connections=10, stop=stop
                ),
                sw=sw,
            )
            replies = run_clients(env.net, sw, Net.listening_addr(server), 300, 100)
            Promise.resolve(set_stop, None)
            return replies

    replies = greeneio.run(main)
    assert len(replies) == 300 and all(r.startswith(b"hello from client") for r in replies)
    assert 1 < peak[0] <= 10, peak[0]


def test_stop_returns_only_after_open_connections_finish():
    def main(env: Any) -> None:
        with Switch() as sw:
            server = Net.listen(env.net, Net.Sockaddr.Tcp(V4, 0), sw=sw, backlog=8)
            addr = Net.listening_addr(server)
            stop, set_stop = Promise.create()
            release, set_release = Promise.create()
            both_in, set_both_in = Promise.create()
            inside = []

            def slow(flow: Any, _addr: Any) -> None:
                inside.append(flow)
                if len(inside) == 2:
                    Promise.resolve(set_both_in, None)
                release.await_()
                Flow.copy_string("done", flow)
                traceln("handler finished")

            def server_fiber() -> None:
                result = Net.run_server(server, slow, on_error=_reraise, stop=stop)
                traceln("run_server returned %s", result)

            Fiber.fork(server_fiber, sw=sw)
            clients = [Net.connect(env.net, addr, sw=sw) for _ in range(2)]
            both_in.await_()
            Promise.resolve(set_stop, "stopped")
            for _ in range(20):
                Fiber.yield_()
            traceln("stop resolved; releasing handlers")
            Promise.resolve(set_release, None)
            for c in clients:
                traceln("client got %r", Flow.read_all(c))

    with capture() as lines:
        greeneio.run(main)
    assert lines == [
        "stop resolved; releasing handlers",
        "handler finished",
        "handler finished",
        "run_server returned stopped",
        "client got b'done'",
        "client got b'done'",
    ]


def test_grace_cancels_a_handler_that_never_ends():
    def main(env: Any) -> Any:
        with Switch() as sw:
            server = Net.listen(env.net, Net.Sockaddr.Tcp(V4, 0), sw=sw, backlog=8)
            stop, set_stop = Promise.create()

            def stuck(flow: Any, _addr: Any) -> None:
                Promise.resolve(set_stop, "stopped")
                try:
                    Fiber.await_cancel()
                finally:
                    traceln("handler cancelled")

            client = Net.connect(env.net, Net.listening_addr(server), sw=sw)
            t0 = env.mono_clock.now()
            result = Net.run_server(server, stuck, on_error=_reraise, stop=stop, grace=0.5)
            waited = env.mono_clock.now() - t0
            traceln("connection closed by server: %r", Flow.read_all(client))
            return result, waited

    with capture() as lines:
        result, waited = greeneio.run(main)
    assert result == "stopped"
    assert 0.5 <= waited < 5
    assert lines == ["handler cancelled", "connection closed by server: b''"]


SERVER_WITH_FEW_FDS = textwrap.dedent(
    """
    import os, resource, sys
    import greeneio
    from greeneio import Flow, Net, Promise, Switch

    def main(env):
        with Switch() as sw:
            server = Net.listen(env.net, Net.Sockaddr.Tcp(Net.Ipaddr.V4.loopback, 0),
                                sw=sw, backlog=64)
            print(Net.listening_addr(server).port, flush=True)
            # Room for two connections at a time, no more: new fds take the lowest
            # free numbers, so after closing these two probes exactly two are free.
            probes = [os.open(os.devnull, os.O_RDONLY) for _ in range(2)]
            limit = max(probes) + 1
            for p in probes:
                os.close(p)
            resource.setrlimit(resource.RLIMIT_NOFILE, (limit, limit))
            stop, set_stop = Promise.create()
            served = [0]

            def handler(flow, addr):
                Flow.copy(flow, flow)
                served[0] += 1
                if served[0] == 8:
                    Promise.resolve(set_stop, "served 8")

            def on_error(e):
                print("on_error errno", e.errno, flush=True)

            return Net.run_server(server, handler, on_error=on_error, stop=stop)

    print(greeneio.run(main), flush=True)
    """
)


def test_running_out_of_fds_backs_off_and_resumes():
    proc = subprocess.Popen(
        [sys.executable, "-c", SERVER_WITH_FEW_FDS],
        stdout=subprocess.PIPE,
        text=True,
    )
    clients: list[socket.socket] = []
    try:
        assert proc.stdout is not None
        port = int(proc.stdout.readline())
        clients = [socket.create_connection(("127.0.0.1", port), timeout=10) for _ in range(8)]
        # No client has sent anything, so two handlers hold the two free fds and
        # the next accept must fail: wait until the server says so.
        first = proc.stdout.readline()
        assert first == "on_error errno 24\n", first
        for i, c in enumerate(clients):
            c.sendall(f"client {i}".encode())
            c.shutdown(socket.SHUT_WR)
            assert c.recv(100) == f"client {i}".encode()
            c.close()
        out, _ = proc.communicate(timeout=30)
    finally:
        for c in clients:
            c.close()
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 0
    assert out.splitlines()[-1] == "served 8", out  # accepting resumed after EMFILE
