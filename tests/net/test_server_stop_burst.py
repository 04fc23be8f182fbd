"""A stop during a burst of connects, with a connection limit (issue 18): the
server ends cleanly, it does not fail with ``Unix_error (EBADF) ... accepting
connection``.

The race: a handler that ends hands its permit straight to the accept loop
waiting in the semaphore; when ``stop`` resolves in the same turn, and the
listening socket is closed at once (greeneio-serve closes it to refuse new
clients), the loop used to wake up with its permit and accept on the closed
socket. The first tests build that turn deterministically; the last ones are
the burst itself, through ``run_server`` and through ``greeneio-serve``.
"""

from __future__ import annotations

import re
import signal
import socket
import subprocess
import sys
import threading
from typing import Any

import pytest

import greeneio
from greeneio import Fiber, Flow, Net, Promise, Switch

pytestmark = [pytest.mark.timeout(60)]

V4 = Net.Ipaddr.V4.loopback
CLIENTS = 229
LIMIT = 100


def _reraise(e: BaseException) -> None:
    raise e


@pytest.mark.parametrize("domains", [None, 0], ids=["one process", "token-pipe semaphore"])
def test_handler_that_stops_and_closes_the_socket_as_it_ends(domains: int | None) -> None:
    """The permit the handler gives back goes to the waiting accept loop in the
    same turn as the stop and the close: run_server returns stop's value."""

    def main(env: Any) -> Any:
        with Switch() as sw:
            server = Net.listen(env.net, Net.Sockaddr.Tcp(V4, 0), sw=sw, backlog=16)
            addr = Net.listening_addr(server)
            stop, set_stop = Promise.create()

            def handler(flow: Any, _addr: Any) -> None:
                Flow.read_exact(flow, bytearray(1))
                Promise.resolve(set_stop, "stopped")
                Net.close(server)  # at once, as the permit is handed over

            extra = {} if domains is None else {"additional_domains": (env.domain_mgr, domains)}
            served = Fiber.fork_promise(
                lambda: Net.run_server(
                    server, handler, on_error=_reraise, max_connections=1, stop=stop, **extra
                ),
                sw=sw,
            )
            first = Net.connect(env.net, addr, sw=sw)
            Net.connect(env.net, addr, sw=sw)  # waits in the backlog for the permit
            Flow.copy_string("x", first)
            return served.await_()

    for _ in range(5):
        assert greeneio.run(main) == "stopped"


def test_stop_then_close_mid_burst_at_the_library_level() -> None:
    """229 clients against max_connections=100; after 120 echoes a client
    resolves stop and closes the listening socket right away."""

    def main(env: Any) -> tuple[Any, int]:
        with Switch() as sw:
            server = Net.listen(env.net, Net.Sockaddr.Tcp(V4, 0), sw=sw, backlog=128)
            addr = Net.listening_addr(server)
            stop, set_stop = Promise.create()
            served = Fiber.fork_promise(
                lambda: Net.run_server(
                    server,
                    lambda flow, _a: Flow.copy(flow, flow),
                    on_error=lambda e: None,  # clients cut off by the close may reset
                    max_connections=LIMIT,
                    stop=stop,
                ),
                sw=sw,
            )
            echoed = [0]

            def client(i: int) -> None:
                try:
                    with Switch() as csw:
                        c = Net.connect(env.net, addr, sw=csw)
                        Flow.copy_string(f"client {i}\n", c)
                        Flow.shutdown(c, "send")
                        assert Flow.read_all(c) == f"client {i}\n".encode()
                except OSError:
                    return  # came after the stop
                echoed[0] += 1
                if echoed[0] == 120:
                    Promise.resolve(set_stop, "stopped")
                    Net.close(server)

            Fiber.List.map(client, range(CLIENTS), max_fibers=CLIENTS)
            return served.await_(), echoed[0]

    for _ in range(3):
        result, echoed = greeneio.run(main)
        assert result == "stopped" and echoed >= 120


LISTENING = re.compile(r"listening on tcp:127\.0\.0\.1:(\d+)")


def _burst_then_sigterm(*options: str) -> tuple[int, str, int]:
    """greeneio-serve echo with ``options``; 229 client threads, each connect,
    echo and close; SIGTERM once 120 have echoed. (exit status, stderr, echoes)."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "greeneio.serve", "echo", "--listen", "tcp:127.0.0.1:0", *options],
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stderr is not None
        first = proc.stderr.readline()
        m = LISTENING.search(first)
        assert m, first
        port = int(m.group(1))
        go = threading.Event()
        lock = threading.Lock()
        echoed = [0]
        mid_burst = threading.Event()

        def client(i: int) -> None:
            go.wait()
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=10) as c:
                    msg = f"client {i}\n".encode()
                    c.sendall(msg)
                    c.shutdown(socket.SHUT_WR)
                    got = b""
                    while chunk := c.recv(100):
                        got += chunk
                    assert got == msg
            except OSError:
                return  # refused or reset: it came after the stop
            with lock:
                echoed[0] += 1
                if echoed[0] == 120:
                    mid_burst.set()

        threads = [threading.Thread(target=client, args=(i,)) for i in range(CLIENTS)]
        for t in threads:
            t.start()
        go.set()
        assert mid_burst.wait(20)
        proc.send_signal(signal.SIGTERM)
        for t in threads:
            t.join(20)
        _, err = proc.communicate(timeout=20)
        return proc.returncode, err, echoed[0]
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


@pytest.mark.parametrize("workers", ["1", "2"])
def test_greeneio_serve_max_connections_stop_mid_burst_exits_0(workers: str) -> None:
    for _ in range(2):
        code, err, echoed = _burst_then_sigterm(
            "--max-connections", str(LIMIT), "--workers", workers
        )
        assert code == 0, err
        assert "EBADF" not in err and "stopped cleanly" in err, err
        assert echoed >= 120
