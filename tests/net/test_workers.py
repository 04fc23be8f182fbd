"""run_server with worker processes (additional_domains) and Domain_manager.run,
on real loopback sockets. No test may leave a child process behind."""

from __future__ import annotations

import errno
import os
import re
import signal
import socket
import subprocess
import sys
import textwrap
import time
from typing import Any

import pytest

import greeneio
from greeneio import Domain_manager, Fiber, Flow, Net, Promise, Switch

pytestmark = [pytest.mark.timeout(60)]

V4 = Net.Ipaddr.V4.loopback


def pid_handler(flow: Any, _addr: Any) -> None:
    Flow.copy_string(f"{os.getpid()}\n", flow)


def fetch(net: Any, addr: Any) -> bytes:
    with Switch() as sw:
        return Flow.read_all(Net.connect(net, addr, sw=sw))


# -- Domain_manager.run ------------------------------------------------------------


def test_domain_manager_run_returns_the_childs_result():
    def main(env: Any) -> Any:
        return Domain_manager.run(env.domain_mgr, lambda: ("from", os.getpid()))

    kind, pid = greeneio.run(main)
    assert kind == "from" and pid != os.getpid()


def test_domain_manager_run_reraises_the_exception():
    def main(env: Any) -> Any:
        return Domain_manager.run(env.domain_mgr, lambda: int("nope"))

    with pytest.raises(ValueError, match="invalid literal for int"):
        greeneio.run(main)


def test_domain_manager_run_unpicklable_result_is_a_clear_error():
    def main(env: Any) -> Any:
        return Domain_manager.run(env.domain_mgr, lambda: lambda: None)

    with pytest.raises(TypeError, match="the result of the domain could not be pickled"):
        greeneio.run(main)


def test_domain_manager_run_cancelled_kills_the_child():
    def main(env: Any) -> str:
        def forever() -> None:
            while True:
                time.sleep(1)  # a worker that ignores its hub: only a signal stops it

        Fiber.first(lambda: Domain_manager.run(env.domain_mgr, forever), lambda: None)
        return "cancelled"

    assert greeneio.run(main) == "cancelled"


def test_respawner_run_tells_a_death_from_a_result_and_an_exception():
    """``env.domain_mgr.respawner().run(fn)``: what run_server(restart_workers=True)
    supervises with. A death is a value, an exception is raised."""

    def main(env: Any) -> Any:
        respawner = env.domain_mgr.respawner()
        ok = respawner.run(lambda: ("from", os.getpid()))
        died = respawner.run(lambda: os._exit(3))
        try:
            respawner.run(lambda: int("nope"))
        except ValueError as e:
            raised = str(e)
        return ok, died, raised

    (why, (kind, pid)), (dead, nothing), raised = greeneio.run(main)
    assert why is None and kind == "from" and pid != os.getpid()
    assert nothing is None and re.fullmatch(r"worker \d+ exited with status 3", dead), dead
    assert "invalid literal for int" in raised


def test_a_respawned_domain_does_not_inherit_what_was_opened_later(tmp_path):
    """Descriptors opened after ``respawner()`` are /dev/null in the new domain;
    those opened before are the same files."""
    before_path, after_path = tmp_path / "before", tmp_path / "after"

    def main(env: Any) -> Any:
        before = os.open(before_path, os.O_WRONLY | os.O_CREAT)
        try:
            respawner = env.domain_mgr.respawner()
            after = os.open(after_path, os.O_WRONLY | os.O_CREAT)
            try:

                def look() -> tuple[str, str]:
                    return os.readlink(f"/proc/self/fd/{before}"), os.readlink(
                        f"/proc/self/fd/{after}"
                    )

                return respawner.run(look)
            finally:
                os.close(after)
        finally:
            os.close(before)

    why, (seen_before, seen_after) = greeneio.run(main)
    assert why is None
    assert seen_before == str(before_path)
    assert seen_after == os.devnull


def test_domain_manager_bad_arguments():
    with pytest.raises(TypeError, match="domain_mgr must be a domain manager"):
        Domain_manager.run(object(), print)


# -- run_server with workers ----------------------------------------------------


def test_2000_clients_served_by_several_processes():
    stats = Net.ServerStats()

    def main(env: Any) -> tuple[list[bytes], Any]:
        with Switch() as sw:
            server = Net.listen(env.net, Net.Sockaddr.Tcp(V4, 0), sw=sw, backlog=256)
            addr = Net.listening_addr(server)
            stop, set_stop = Promise.create()
            served = Fiber.fork_promise(
                lambda: Net.run_server(
                    server,
                    pid_handler,
                    on_error=print,
                    stop=stop,
                    additional_domains=(env.domain_mgr, 2),
                    stats=stats,
                ),
                sw=sw,
            )
            replies = Fiber.List.map(lambda _: fetch(env.net, addr), range(2000), max_fibers=100)
            Promise.resolve(set_stop, "stopped")
            return replies, served.await_()

    replies, result = greeneio.run(main)
    assert result == "stopped"
    assert len(replies) == 2000 and all(r.strip().isdigit() for r in replies)
    pids = {int(r) for r in replies}
    assert len(pids) >= 2, pids
    accepted = stats.accepted()  # per process, seen through shared memory
    assert len(accepted) == 3 and sum(accepted) == 2000, accepted
    assert stats.open() == [0, 0, 0]


SLOW_CLIENTS = textwrap.dedent(
    """
    import socket, sys, time
    port = int(sys.argv[1])
    held = []  # (socket, file, pid): connections inside a handler
    # One at a time, as clients trickle in, until 20 are held by at least two
    # processes (workers start a little after the caller: until then, the
    # oldest held connection is finished and let go), for 20 s at most.
    deadline = time.monotonic() + 20
    while True:
        c = socket.create_connection(("127.0.0.1", port), timeout=20)
        f = c.makefile("rb")
        line = f.readline()
        assert line.startswith(b"started by "), line   # it is inside a handler
        held.append((c, f, line.split()[-1]))
        if len(held) >= 20 and len({pid for _, _, pid in held}) >= 2:
            break
        if time.monotonic() > deadline:
            break
        if len(held) > 20:
            c0, f0, _ = held.pop(0)
            c0.sendall(b"!")
            f0.readline()
            f0.close()
            c0.close()
    print("all in", len(held), flush=True)
    sys.stdin.readline()                    # stop has been resolved
    for c, _, _ in held:
        c.sendall(b"!")
    for _, f, _ in held:
        print(f.readline().decode().strip(), flush=True)
    """
)


def test_stop_lets_slow_connections_in_every_worker_finish():
    """20 slow connections from another process (so that every server process is
    free to accept): stop lets each finish its reply, then the port refuses."""

    def main(env: Any) -> Any:
        with Switch() as sw:
            server = Net.listen(env.net, Net.Sockaddr.Tcp(V4, 0), sw=sw, backlog=64)
            addr = Net.listening_addr(server)
            stop, set_stop = Promise.create()

            def slow(flow: Any, _addr: Any) -> None:
                Flow.copy_string(f"started by {os.getpid()}\n", flow)
                Flow.read_exact(flow, bytearray(1))  # until the client says "finish"
                Flow.copy_string(f"done by {os.getpid()}\n", flow)

            served = Fiber.fork_promise(
                lambda: Net.run_server(
                    server,
                    slow,
                    on_error=print,
                    stop=stop,
                    additional_domains=(env.domain_mgr, 2),
                ),
                sw=sw,
            )
            a, b = socket.socketpair()
            clients = subprocess.Popen(
                [sys.executable, "-c", SLOW_CLIENTS, str(addr.port)],
                stdin=subprocess.PIPE,
                stdout=b.fileno(),
            )
            b.close()
            out = greeneio.Buf_read.of_flow(Net.import_socket_stream(a, sw=sw), max_size=4096)
            all_in, n = out.line().rsplit(b" ", 1)
            assert all_in == b"all in"
            Promise.resolve(set_stop, "stopped")
            clients.stdin.write(b"go\n")  # type: ignore[union-attr]
            clients.stdin.close()  # type: ignore[union-attr]
            replies = [out.line() for _ in range(int(n))]
            result = served.await_()
            clients.wait()
            Net.close(server)
        # The server is gone: a new connection is refused.
        with Switch() as sw2:
            try:
                Net.connect(env.net, addr, sw=sw2)
                refused = False
            except Net.Refused:
                refused = True
        return replies, result, refused

    replies, result, refused = greeneio.run(main)
    assert result == "stopped" and refused
    assert len(replies) == 20 and all(r.startswith(b"done by ") for r in replies)
    assert len(set(replies)) >= 2  # several workers were draining


def test_cancelling_run_server_closes_connections_and_reaps_workers():
    def main(env: Any) -> float:
        with Switch() as sw:
            server = Net.listen(env.net, Net.Sockaddr.Tcp(V4, 0), sw=sw, backlog=64)
            addr = Net.listening_addr(server)
            inside = [0]
            all_in, set_all_in = Promise.create()

            def stuck(flow: Any, _addr: Any) -> None:
                Flow.copy_string("in\n", flow)
                Fiber.await_cancel()

            conns: list[Any] = []

            def clients() -> None:
                for _ in range(10):
                    c = Net.connect(env.net, addr, sw=sw)
                    assert greeneio.Buf_read.of_flow(c, max_size=10).line() == b"in"
                    conns.append(c)
                    inside[0] += 1
                Promise.resolve(set_all_in, None)

            Fiber.first(
                lambda: Net.run_server(
                    server, stuck, on_error=print, additional_domains=(env.domain_mgr, 2)
                ),
                lambda: (clients(), all_in.await_()),
            )
            t0 = time.monotonic()
            for c in conns:
                assert Flow.read_all(c) == b""  # closed by the server
            return time.monotonic() - t0

    assert greeneio.run(main) < 2.0


def test_a_worker_killed_with_sigkill_fails_run_server_naming_it():
    def main(env: Any) -> None:
        with Switch() as sw:
            server = Net.listen(env.net, Net.Sockaddr.Tcp(V4, 0), sw=sw, backlog=64)
            addr = Net.listening_addr(server)
            victim: list[int] = []

            def killer() -> None:
                while not victim:
                    pid = int(fetch(env.net, addr))
                    if pid != os.getpid():
                        victim.append(pid)
                os.kill(victim[0], signal.SIGKILL)
                Fiber.await_cancel()

            try:
                Fiber.both(
                    lambda: Net.run_server(
                        server, pid_handler, on_error=print, additional_domains=(env.domain_mgr, 2)
                    ),
                    killer,
                )
            except RuntimeError as e:
                assert str(e) == f"worker {victim[0]} killed by SIGKILL"
                return
            raise AssertionError("run_server did not fail")

    greeneio.run(main)


PARENT_SCRIPT = textwrap.dedent(
    """
    import greeneio, os, sys
    from greeneio import Flow, Net, Switch

    def main(env):
        with Switch() as sw:
            server = Net.listen(env.net, Net.Sockaddr.Tcp(Net.Ipaddr.V4.loopback, 0),
                                sw=sw, backlog=64, reuse_addr=True)
            print(Net.listening_addr(server).port, flush=True)
            def handler(flow, addr):
                Flow.copy_string(str(os.getpid()), flow)
            Net.run_server(server, handler, on_error=print,
                           additional_domains=(env.domain_mgr, 2))

    greeneio.run(main)
    """
)


def test_sigkill_of_the_parent_leaves_no_worker_and_frees_the_port(children_of):
    proc = subprocess.Popen(
        [sys.executable, "-c", PARENT_SCRIPT], stdout=subprocess.PIPE, text=True
    )
    try:
        assert proc.stdout is not None
        port = int(proc.stdout.readline())
        seen: set[int] = set()
        # Until both workers are up: bounded in time, not in connections (on a
        # loaded machine the workers start late, and connections are quick).
        up_by = time.monotonic() + 20
        while True:
            with socket.create_connection(("127.0.0.1", port), timeout=5) as c:
                seen.add(int(c.recv(20)))
            workers = children_of(proc.pid)
            if len(workers) == 2 or time.monotonic() > up_by:
                break
        assert len(workers) == 2, workers
        proc.kill()
        proc.wait()
        deadline = time.monotonic() + 10  # PR_SET_PDEATHSIG: at once, unless loaded
        while time.monotonic() < deadline and any(_alive(w) for w in workers):
            time.sleep(0.02)
        assert not any(_alive(w) for w in workers)
        assert _port_frees(port, within=10)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        if proc.stdout is not None:
            proc.stdout.close()


def _port_frees(port: int, within: float) -> bool:
    """True once a socket can bind ``port`` again (the dead processes' last
    references to the listening socket are dropped as their threads finish
    exiting, a moment after the process shows as gone), within ``within`` s."""
    deadline = time.monotonic() + within
    while True:
        with socket.socket() as s:
            s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                s.bind(("127.0.0.1", port))
                return True
            except OSError as e:
                if e.errno != errno.EADDRINUSE or time.monotonic() > deadline:
                    raise
        time.sleep(0.01)


def _alive(pid: int) -> bool:
    """True while any thread of ``pid`` is neither gone nor a zombie."""
    try:
        tids = os.listdir(f"/proc/{pid}/task")
    except OSError:
        return False
    for tid in tids:
        try:
            with open(f"/proc/{pid}/task/{tid}/stat") as f:
                if f.read().rsplit(")", 1)[1].split()[0] != "Z":
                    return True
        except OSError:
            pass
    return False


def test_max_connections_is_a_total_across_processes(tmp_path):
    log = tmp_path / "events"

    def main(env: Any) -> None:
        with Switch() as sw:
            server = Net.listen(env.net, Net.Sockaddr.Tcp(V4, 0), sw=sw, backlog=128)
            addr = Net.listening_addr(server)
            stop, set_stop = Promise.create()

            def handler(flow: Any, _addr: Any) -> None:
                fd = os.open(log, os.O_WRONLY | os.O_APPEND | os.O_CREAT)
                try:
                    os.write(fd, b"+\n")
                    Fiber.yield_()
                    Flow.copy(flow, flow)
                    os.write(fd, b"-\n")
                finally:
                    os.close(fd)

            served = Fiber.fork_promise(
                lambda: Net.run_server(
                    server,
                    handler,
                    on_error=print,
                    stop=stop,
                    max_connections=4,
                    additional_domains=(env.domain_mgr, 2),
                ),
                sw=sw,
            )

            def client(i: int) -> bytes:
                with Switch() as csw:
                    c = Net.connect(env.net, addr, sw=csw)
                    Flow.copy_string(f"msg {i}", c)
                    Flow.shutdown(c, "send")
                    return Flow.read_all(c)

            replies = Fiber.List.map(client, range(200), max_fibers=40)
            assert replies == [f"msg {i}".encode() for i in range(200)]
            Promise.resolve(set_stop, None)
            served.await_()

    greeneio.run(main)
    level = peak = 0
    for line in log.read_text().split():
        level += 1 if line == "+" else -1
        peak = max(peak, level)
    assert level == 0
    assert 1 < peak <= 4, peak


def test_additional_domains_negative_count():
    def main(env: Any) -> None:
        with Switch() as sw:
            server = Net.listen(env.net, Net.Sockaddr.Tcp(V4, 0), sw=sw, backlog=1)
            Net.run_server(server, print, on_error=print, additional_domains=(env.domain_mgr, -1))

    with pytest.raises(ValueError, match="additional_domains count must be >= 0, not -1"):
        greeneio.run(main)


def test_buffered_output_is_not_duplicated_by_the_fork():
    script = textwrap.dedent(
        """
        import sys, greeneio
        from greeneio import Domain_manager
        def main(env):
            sys.stdout.write("before fork\\n")  # buffered: stdout is a pipe
            Domain_manager.run(env.domain_mgr, lambda: print("in child"))
            print("after")
        greeneio.run(main)
        """
    )
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=20)
    assert out.returncode == 0, out.stderr
    assert out.stdout.splitlines() == ["before fork", "in child", "after"]
