"""Memory of idle connections in ``greeneio-serve http``: KiB per connection.

    python benchmarks/http_idle_memory.py [--connections 2000] [--mode keepalive|silent]

Starts ``greeneio-serve http`` (its timeouts raised so that nothing is closed
while we measure, and ``--max-connections`` above the count so that nothing
is shed), warms it up with a few requests, and reads its resident set size
(``VmRSS`` in ``/proc/PID/status``). Then it opens ``--connections``
connections one after the other and keeps them open:

* ``keepalive``: each sends one ``GET /`` and reads the whole response, so
  the server holds it idle between requests (the usual idle client);
* ``silent``: each connects and sends nothing (the server holds it waiting
  for a first request head).

Once the server holds them all (every response read, or, when silent, one
more open descriptor per connection in ``/proc/PID/fd``) it reads ``VmRSS``
again and prints the growth per connection. Issue 18 asks for under 16 KiB
each for 2,000 idle http connections (74 KiB before the engine: a 64 KiB read
buffer per connection). The last line is ``N.N KiB per connection``.

The process needs a descriptor per connection, and the server one more: the
soft ``RLIMIT_NOFILE`` is raised (up to the hard limit) before the server
starts, so that it inherits it; if the hard limit is too low, the count is
lowered and the output says so.
"""

from __future__ import annotations

import argparse
import os
import re
import resource
import socket
import subprocess
import sys
import time
from collections.abc import Callable

from _procs import stop_server

LISTENING = re.compile(r"listening on tcp:127\.0\.0\.1:(\d+)")
REQUEST = b"GET / HTTP/1.1\r\nHost: bench\r\n\r\n"
#: Descriptors kept besides the connections (the interpreter's own, the
#: listening socket, the pipes), in the client and in the server.
SPARE_FDS = 64


def rss_kib(pid: int) -> int:
    """``VmRSS`` of process ``pid``, in KiB."""
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise RuntimeError(f"no VmRSS for process {pid}")


def open_fds(pid: int) -> int:
    return len(os.listdir(f"/proc/{pid}/fd"))


def wait_for_fds(pid: int, done: Callable[[int], bool], what: str, timeout: float = 30) -> None:
    """Wait until ``done(open descriptors of pid)``; RuntimeError naming ``what``
    after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while not done(n := open_fds(pid)):
        if time.monotonic() > deadline:
            raise RuntimeError(f"timed out waiting for {what} ({n} descriptors open)")
        time.sleep(0.01)  # polling /proc while the server accepts or closes; bounded


def raise_nofile(wanted: int) -> int:
    """Raise the soft RLIMIT_NOFILE to ``wanted`` if the hard limit allows; the
    soft limit now in force."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    target = wanted if hard == resource.RLIM_INFINITY else min(wanted, hard)
    if soft != resource.RLIM_INFINITY and soft < target:
        resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
        soft = target
    return soft


def read_response(sock: socket.socket) -> bytes:
    """One whole Content-Length response from ``sock`` (nothing is pipelined)."""
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(65536)
        if not chunk:
            raise EOFError(f"closed before a response head: {data!r}")
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    m = re.search(rb"\r\ncontent-length: *(\d+)", head, re.I)
    if not (m and head.startswith(b"HTTP/1.1 200 ")):
        raise AssertionError(f"unexpected response: {head[:200]!r}")
    n = int(m.group(1))
    while len(body) < n:
        chunk = sock.recv(65536)
        if not chunk:
            raise EOFError("closed in a response body")
        body += chunk
    return head


def measure(connections: int, mode: str, server_args: list[str]) -> dict[str, float]:
    """Start the server, hold ``connections`` idle ones; the figures."""
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "greeneio.serve",
            "http",
            "--listen",
            "tcp:127.0.0.1:0",
            "--max-connections",
            str(connections + 100),
            "--backlog",
            "1024",
            "--header-timeout",
            "300",
            "--keepalive-timeout",
            "300",
            *server_args,
        ],
        stderr=subprocess.PIPE,
        text=True,
    )
    clients: list[socket.socket] = []
    try:
        assert proc.stderr is not None
        first = proc.stderr.readline()
        m = LISTENING.search(first)
        if not m:
            raise RuntimeError(f"the server did not start: {first!r}")
        addr = ("127.0.0.1", int(m.group(1)))
        fds_before = open_fds(proc.pid)
        for _ in range(20):  # warm up: the code paths of a connection, then none open
            with socket.create_connection(addr, timeout=10) as c:
                c.sendall(REQUEST)
                read_response(c)
        wait_for_fds(proc.pid, lambda n: n <= fds_before, "the warm-up connections to close")
        before = rss_kib(proc.pid)
        t0 = time.perf_counter()
        for _ in range(connections):
            c = socket.create_connection(addr, timeout=30)
            clients.append(c)
            if mode == "keepalive":
                c.sendall(REQUEST)
                read_response(c)
        if mode == "silent":  # held once the server has accepted every one
            wait_for_fds(
                proc.pid, lambda n: n >= fds_before + connections, "every connection accepted"
            )
        opened = time.perf_counter() - t0
        after = rss_kib(proc.pid)
        fds_after = open_fds(proc.pid)
        # Still held? (a timeout or shedding would have closed some: then the
        # figure would be wrong, so say so rather than print it).
        if fds_after < fds_before + connections:
            raise RuntimeError(
                f"the server holds only {fds_after - fds_before} of {connections} connections"
            )
        return {
            "before": before,
            "after": after,
            "per_connection": (after - before) / connections,
            "seconds": opened,
            "pid": proc.pid,
        }
    finally:
        for c in clients:
            c.close()
        stop_server(proc, 30)
        if proc.stderr is not None:
            proc.stderr.close()


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--connections", type=int, default=2000)
    p.add_argument("--mode", choices=("keepalive", "silent"), default="keepalive")
    p.add_argument("server_args", nargs="*", help="more greeneio-serve http options (after --)")
    a = p.parse_args()
    n = a.connections
    limit = raise_nofile(n + SPARE_FDS)
    if limit < n + SPARE_FDS:
        lowered = max(1, limit - SPARE_FDS)
        print(
            f"RLIMIT_NOFILE is {limit} (hard limit): {lowered} connections instead of {n}",
            flush=True,
        )
        n = lowered
    r = measure(n, a.mode, a.server_args)
    print(f"greeneio-serve http (pid {r['pid']}): {n} idle {a.mode} connections")
    print(f"opened in {r['seconds']:.2f} s")
    print(f"VmRSS before: {r['before']:.0f} KiB, after: {r['after']:.0f} KiB")
    print(f"{r['per_connection']:.1f} KiB per connection")
    return 0


if __name__ == "__main__":
    sys.exit(main())
