"""Keep-alive latency of ``greeneio-serve http``: a static file against the hello page.

    python benchmarks/http_static.py [--requests 5000] [--wrk]

Starts two servers (``--root`` a temporary directory, and one without it for
the hello page), then on one keep-alive connection each sends requests one
at a time and times each full response (p50/p90/p99 in microseconds) for:
the hello page, a 1 KiB file (read and sent with its head in one write), and
a 256 KiB file (``sendfile`` under ``TCP_CORK``). Issue 18 asks for a
keep-alive static file p50 under 1 ms on loopback (it was ~44 ms: the body
waited for the client's delayed ACK). With ``--wrk`` (and wrk installed) it
also runs ``wrk -c100`` on the hello page and on the small file.
"""

from __future__ import annotations

import argparse
import contextlib
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

from _procs import stop_server


@contextlib.contextmanager
def server(*args: str) -> Iterator[int]:
    proc = subprocess.Popen(
        [sys.executable, "-m", "greeneio.serve", "http", "--listen", "tcp:127.0.0.1:0", *args],
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stderr is not None
        m = re.search(r":(\d+)$", proc.stderr.readline().strip())
        assert m, "the server did not start"
        yield int(m.group(1))
    finally:
        stop_server(proc, 10)


def read_response(sock: socket.socket, pending: bytes) -> bytes:
    """Read one Content-Length response; what was read past it."""
    while b"\r\n\r\n" not in pending:
        pending += sock.recv(65536)
    head, _, rest = pending.partition(b"\r\n\r\n")
    m = re.search(rb"\r\ncontent-length: *(\d+)", head, re.I)
    assert m and head.startswith(b"HTTP/1.1 200 "), head[:100]
    n = int(m.group(1))
    while len(rest) < n:
        rest += sock.recv(max(65536, n - len(rest)))
    return rest[n:]


def latencies(port: int, path: str, n: int) -> list[float]:
    request = f"GET {path} HTTP/1.1\r\nHost: bench\r\n\r\n".encode()
    out = []
    with socket.create_connection(("127.0.0.1", port)) as sock:
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        pending = b""
        for i in range(n + n // 10):
            t0 = time.perf_counter()
            sock.sendall(request)
            pending = read_response(sock, pending)
            if i >= n // 10:  # the first tenth warms up
                out.append((time.perf_counter() - t0) * 1e6)
    return out


def report(name: str, xs: list[float]) -> None:
    q = statistics.quantiles(xs, n=100)
    print(f"{name:28} p50 {q[49]:8.0f} us   p90 {q[89]:8.0f} us   p99 {q[98]:8.0f} us")


def wrk(port: int, path: str) -> str:
    out = subprocess.run(
        ["wrk", "-t2", "-c100", "-d5s", f"http://127.0.0.1:{port}{path}"],
        capture_output=True,
        text=True,
        timeout=60,
    ).stdout
    m = re.search(r"Requests/sec:\s+([\d.]+)", out)
    return m.group(1) if m else out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--requests", type=int, default=5000)
    ap.add_argument("--wrk", action="store_true", help="also run wrk -c100 (if installed)")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as root:
        Path(root, "small.txt").write_bytes(b"x" * 1024)
        Path(root, "large.bin").write_bytes(bytes(range(256)) * 1024)
        with server() as hello_port, server("--root", root) as files_port:
            report("hello page /", latencies(hello_port, "/", args.requests))
            report("1 KiB file", latencies(files_port, "/small.txt", args.requests))
            report("256 KiB file (sendfile)", latencies(files_port, "/large.bin", args.requests))
            if args.wrk and shutil.which("wrk"):
                print(f"wrk -c100 hello page: {wrk(hello_port, '/')} req/s")
                print(f"wrk -c100 1 KiB file: {wrk(files_port, '/small.txt')} req/s")


if __name__ == "__main__":
    main()
