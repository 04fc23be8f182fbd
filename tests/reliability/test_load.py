"""Load, slow and hostile clients, and faults, on loopback. Each test is bounded
in count and time. The long versions are marked ``soak`` (``pytest -m soak``)."""

from __future__ import annotations

import os
import resource
import socket
import struct
import subprocess
import sys
import textwrap
from typing import Any

import pytest

import greeneio
from greeneio import Buf_read, Fiber, Flow, Net, Promise, Switch, Time
from greeneio.serve import chargen

pytestmark = pytest.mark.timeout(120)

V4 = Net.Ipaddr.V4.loopback
ANY = Net.Sockaddr.Tcp(V4, 0)


def rss_kib() -> int:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise AssertionError("no VmRSS")


def echo_line(flow: Any, _addr: Any) -> None:
    reader = Buf_read.of_flow(flow, max_size=4096)
    while True:
        try:
            line = reader.line()
        except EOFError:
            return
        Flow.copy_string(line.decode() + "\n", flow)


def counting(handler: Any, n: int) -> tuple[Promise[None], Any]:
    """``handler``, wrapped to resolve the returned promise when its ``n``th
    connection starts: wait on that instead of sleeping until clients are in."""
    started = 0
    all_in: Promise[None]
    all_in, set_all_in = Promise.create(f"{n} connections started")

    def wrapped(flow: Any, addr: Any) -> None:
        nonlocal started
        started += 1
        if started == n:
            Promise.resolve(set_all_in, None)
        handler(flow, addr)

    return all_in, wrapped


# Clients in a process of their own, so that the fds of both sides do not add up.
HOLDER = textwrap.dedent(
    """
    import resource, socket, sys
    n, port = int(sys.argv[1]), int(sys.argv[2])
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    conns = []
    for i in range(n):
        c = socket.create_connection(("127.0.0.1", port), timeout=30)
        c.sendall(b"x\\n")
        assert c.recv(10) == b"x\\n"
        conns.append(c)
    print("holding", len(conns), flush=True)
    sys.stdin.readline()          # until the test says so
    for c in conns:
        c.close()
    print("closed", flush=True)
    """
)


def hold_idle_connections(n: int) -> dict[str, float]:
    """Serve ``n`` idle connections; measure RSS per connection and a new client's
    round trip meanwhile; then let them all close. Returns the figures."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard < n + 200:
        pytest.skip(f"RLIMIT_NOFILE hard limit {hard} is below {n + 200}")
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    figures: dict[str, float] = {}
    try:

        def main(env: Any) -> None:
            stats = Net.ServerStats()
            with Switch() as sw:
                server = Net.listen(env.net, ANY, sw=sw, backlog=1024)
                port = Net.listening_addr(server).port
                stop, set_stop = Promise.create()
                served = Fiber.fork_promise(
                    lambda: Net.run_server(
                        server, echo_line, on_error=print, stop=stop, stats=stats
                    ),
                    sw=sw,
                )
                rss0 = rss_kib()
                a, b = socket.socketpair()  # the control channel to the holder
                holder = subprocess.Popen(
                    [sys.executable, "-c", HOLDER, str(n), str(port)],
                    stdin=subprocess.PIPE,
                    stdout=b.fileno(),
                )
                b.close()
                control = Buf_read.of_flow(Net.import_socket_stream(a, sw=sw), max_size=100)
                assert control.line() == f"holding {n}".encode()
                figures["held"] = stats.open()[0]
                figures["kib_per_conn"] = (rss_kib() - rss0) / n
                # A new client is answered promptly while they are all held.
                t0 = env.mono_clock.now()
                with Switch() as csw:
                    c = Net.connect(env.net, Net.Sockaddr.Tcp(V4, port), sw=csw)
                    Flow.copy_string("new\n", c)
                    assert Buf_read.of_flow(c, max_size=10).line() == b"new"
                figures["new_client_ms"] = (env.mono_clock.now() - t0) * 1000
                holder.stdin.write(b"go\n")  # type: ignore[union-attr]
                holder.stdin.close()  # type: ignore[union-attr]
                assert control.line() == b"closed"
                Promise.resolve(set_stop, None)
                served.await_()  # run_server returns once every handler has ended
                figures["open_after"] = stats.open()[0]
                figures["accepted"] = stats.accepted()[0]
                holder.wait()

        greeneio.run(main)
    finally:
        resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))
    return figures


def test_1000_idle_connections_held_and_a_new_client_answered():
    f = hold_idle_connections(1000)
    assert f["held"] == 1000 and f["accepted"] == 1001 and f["open_after"] == 0
    assert f["new_client_ms"] < 1000


@pytest.mark.soak
@pytest.mark.timeout(300)
def test_soak_10000_idle_connections():
    f = hold_idle_connections(10_000)
    print(f"\nSOAK idle: {f}")
    assert f["held"] == 10_000 and f["accepted"] == 10_001 and f["open_after"] == 0
    assert f["new_client_ms"] < 1000


# -- slow and hostile clients ---------------------------------------------------------


def test_slowloris_clients_do_not_starve_others():
    def main(env: Any) -> float:
        with Switch() as sw:
            server = Net.listen(env.net, ANY, sw=sw, backlog=128)
            addr = Net.listening_addr(server)
            all_in, handler = counting(echo_line, 50)
            Fiber.fork_daemon(lambda: Net.run_server(server, handler, on_error=print), sw=sw)

            def slowloris(i: int) -> None:
                c = Net.connect(env.net, addr, sw=sw)
                for _ in range(10):  # one byte every 0.1 s, never a full line
                    Flow.copy_string("z", c)
                    Time.sleep(env.mono_clock, 0.1)

            for i in range(50):
                Fiber.fork_daemon(slowloris, i, sw=sw)
            all_in.await_()  # the server has taken all 50; they trickle on
            worst = 0.0
            for _ in range(20):
                t0 = env.mono_clock.now()
                with Switch() as csw:
                    c = Net.connect(env.net, addr, sw=csw)
                    Flow.copy_string("hello\n", c)
                    assert Buf_read.of_flow(c, max_size=100).line() == b"hello"
                worst = max(worst, env.mono_clock.now() - t0)
            return worst

    assert greeneio.run(main) < 0.5


def test_with_max_connections_slow_clients_queue_instead_of_taking_fds():
    def main(env: Any) -> tuple[int, list[int]]:
        stats = Net.ServerStats()
        with Switch() as sw:
            server = Net.listen(env.net, ANY, sw=sw, backlog=128)
            addr = Net.listening_addr(server)
            stop, set_stop = Promise.create()
            ten_in, handler = counting(echo_line, 10)
            served = Fiber.fork_promise(
                lambda: Net.run_server(
                    server, handler, on_error=print, max_connections=10, stop=stop, stats=stats
                ),
                sw=sw,
            )
            clients = [Net.connect(env.net, addr, sw=sw) for _ in range(30)]
            # Once ten handlers have started (each then waits for a line), the
            # accept loop waits for a free slot: the 20 others stay in the backlog.
            ten_in.await_()
            peak_open = stats.open()[0]
            accepted_while_slow = stats.accepted()[0]
            for c in clients:  # now they finish, one line each, and leave
                Flow.copy_string("done\n", c)
                Flow.shutdown(c, "send")
            for c in clients:
                assert Flow.read_all(c) == b"done\n"
            Promise.resolve(set_stop, None)
            served.await_()
            return peak_open, [accepted_while_slow, stats.accepted()[0]]

    peak, (accepted_while_slow, accepted) = greeneio.run(main)
    assert peak == 10 and accepted_while_slow == 10  # the other 20 waited in the backlog
    assert accepted == 30


def test_a_client_reset_mid_request_gives_one_on_error_report():
    def main(env: Any) -> list[BaseException]:
        errors: list[BaseException] = []
        reported, set_reported = Promise.create("on_error called")

        def on_error(e: BaseException) -> None:
            errors.append(e)
            Promise.try_resolve(set_reported, None)

        with Switch() as sw:
            server = Net.listen(env.net, ANY, sw=sw, backlog=16)
            port = Net.listening_addr(server).port
            stop, set_stop = Promise.create()
            got_partial, set_got_partial = Promise.create()

            def handler(flow: Any, addr: Any) -> None:
                buf = bytearray(100)
                Flow.single_read(flow, buf)
                if buf[:1] == b"s":  # "still there?": the second client, answer it
                    Flow.copy_string("yes", flow)
                    return
                Promise.resolve(set_got_partial, None)  # the first half of a request
                Flow.read_exact(flow, bytearray(1000))  # the rest never comes: RST

            served = Fiber.fork_promise(
                lambda: Net.run_server(server, handler, on_error=on_error, stop=stop),
                sw=sw,
            )
            raw = socket.create_connection(("127.0.0.1", port))
            raw.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            raw.sendall(b"GET / HT")
            got_partial.await_()
            raw.close()  # RST
            reported.await_()
            # The server goes on serving others.
            with Switch() as csw:
                c = Net.connect(env.net, Net.Sockaddr.Tcp(V4, port), sw=csw)
                Flow.copy_string("still there?", c)
                assert Flow.read_all(c) == b"yes"
            Promise.resolve(set_stop, None)
            served.await_()
        return errors

    errors = greeneio.run(main)
    assert [type(e) for e in errors] == [Net.ConnectionReset]
    assert errors[0].context[-1].startswith("handling connection from tcp:127.0.0.1:")


def test_a_client_that_never_reads_blocks_only_its_own_fiber():
    def main(env: Any) -> bytes:
        with Switch() as sw:
            server = Net.listen(env.net, ANY, sw=sw, backlog=16)
            addr = Net.listening_addr(server)
            hog_in, handler = counting(chargen.handler, 1)
            Fiber.fork_daemon(lambda: Net.run_server(server, handler, on_error=print), sw=sw)
            hog = socket.create_connection(("127.0.0.1", addr.port))  # never reads
            hog.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
            # This fiber runs again only once the hog's handler has blocked: it
            # writes without yielding until the socket buffers are full.
            hog_in.await_()
            with Switch() as csw:
                c = Net.connect(env.net, addr, sw=csw)
                buf = bytearray(74)
                Flow.read_exact(c, buf)  # a second client is served meanwhile
            hog.close()
            return bytes(buf)

    assert greeneio.run(main) == chargen.line(0)


# -- faults during a copy ------------------------------------------------------------------


@pytest.mark.parametrize("side", ["source", "sink"])
def test_peer_closing_during_copy_ends_it_promptly(side):
    """The source's peer closing ends the copy; the sink's peer closing makes the
    next write fail with ConnectionReset. Neither hangs (bounded by a timeout)."""

    def main(env: Any) -> str:
        with Switch() as sw:
            a, b = Net.socketpair_stream(sw=sw)  # copying from b ...
            c, d = Net.socketpair_stream(sw=sw)  # ... into c; d is the far end
            chunk = b"x" * 65536

            def produce() -> None:
                try:
                    for _ in range(2000):  # bounded: at most 128 MiB
                        Flow.write(a, [chunk])
                except (Net.ConnectionReset, OSError):
                    pass

            def copy() -> str:
                try:
                    Flow.copy(b, c)
                    return "ended"
                except Net.ConnectionReset:
                    return "ConnectionReset"
                except EOFError:
                    return "EOFError"

            def close_peer() -> None:
                Flow.read_exact(d, bytearray(65536))  # the copy is under way
                Net.close(a if side == "source" else d)

            Fiber.fork_daemon(produce, sw=sw)
            return Time.with_timeout(env.mono_clock, 10, lambda: Fiber.pair(copy, close_peer)[0])

    outcome = greeneio.run(main)
    if side == "source":
        assert outcome == "ended"  # the source's end of stream ends the copy
    else:
        assert outcome == "ConnectionReset"


def mixed_load(seconds: float, clients: int) -> dict[str, float]:
    """``clients`` echo clients doing request/response for ``seconds``, beside
    slowloris clients and clients that reset mid-request; counts what happened."""
    figures: dict[str, float] = {"requests": 0, "resets_sent": 0}

    def main(env: Any) -> None:
        errors: list[BaseException] = []
        stats = Net.ServerStats()
        clock = env.mono_clock
        with Switch() as sw:
            server = Net.listen(env.net, ANY, sw=sw, backlog=1024)
            addr = Net.listening_addr(server)
            stop, set_stop = Promise.create()
            served = Fiber.fork_promise(
                lambda: Net.run_server(
                    server, echo_line, on_error=errors.append, stop=stop, stats=stats
                ),
                sw=sw,
            )
            end = clock.now() + seconds

            def worker() -> None:
                with Switch() as csw:
                    c = Net.connect(env.net, addr, sw=csw)
                    reader = Buf_read.of_flow(c, max_size=4096)
                    while clock.now() < end:
                        Flow.copy_string("ping\n", c)
                        assert reader.line() == b"ping"
                        figures["requests"] += 1

            def slowloris() -> None:
                with Switch() as csw:
                    c = Net.connect(env.net, addr, sw=csw)
                    while clock.now() < end:
                        Flow.copy_string("z", c)
                        Time.sleep(clock, 0.5)

            def resetter() -> None:
                while clock.now() < end:
                    raw = socket.create_connection(("127.0.0.1", addr.port))
                    raw.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                    raw.sendall(b"half a li")
                    Time.sleep(clock, 0.05)
                    raw.close()
                    figures["resets_sent"] += 1

            Fiber.all(
                [worker] * clients + [slowloris] * 50 + [resetter] * 2  # type: ignore[list-item]
            )
            Promise.resolve(set_stop, None)
            served.await_()
        unexpected = [e for e in errors if not isinstance(e, Net.ConnectionReset | EOFError)]
        figures["errors_reported"] = len(errors)
        figures["unexpected_errors"] = len(unexpected)
        figures["accepted"] = stats.accepted()[0]

    fds_before = len(os.listdir("/proc/self/fd"))
    greeneio.run(main)
    figures["fds_leaked"] = len(os.listdir("/proc/self/fd")) - fds_before
    return figures


def test_mixed_load_short():
    f = mixed_load(seconds=2, clients=50)
    assert f["requests"] > 1000 and f["unexpected_errors"] == 0 and f["fds_leaked"] <= 0


@pytest.mark.soak
@pytest.mark.timeout(400)
def test_soak_mixed_load():
    f = mixed_load(seconds=120, clients=200)
    print(f"\nSOAK mixed: {f}")
    assert f["unexpected_errors"] == 0 and f["fds_leaked"] <= 0
