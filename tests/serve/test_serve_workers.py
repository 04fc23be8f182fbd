"""greeneio-serve --workers N: a worker that dies is replaced (and a crash loop ends it)."""

from __future__ import annotations

import os
import queue
import re
import signal
import socket
import subprocess
import sys
import threading
import time

import pytest

pytestmark = pytest.mark.timeout(60)
LISTENING = re.compile(r"listening on tcp:127\.0\.0\.1:(\d+)")


class Server:
    """``greeneio-serve echo --workers 3`` with its stderr lines read as they come."""

    def __init__(self) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "greeneio.serve", "echo", "--listen", "tcp:127.0.0.1:0",
             "--workers", "3"],
            stderr=subprocess.PIPE, text=True,
        )  # fmt: skip
        self.lines: queue.Queue[str] = queue.Queue()
        threading.Thread(target=self._read, daemon=True).start()
        self.port = int(self.wait_for(LISTENING).group(1))

    def _read(self) -> None:
        assert self.proc.stderr is not None
        for line in self.proc.stderr:
            self.lines.put(line)
        self.lines.put("")

    def wait_for(self, pattern: re.Pattern[str], timeout: float = 20) -> re.Match[str]:
        deadline = time.monotonic() + timeout
        while True:
            line = self.lines.get(timeout=max(0.01, deadline - time.monotonic()))
            assert line, "greeneio-serve exited"
            m = pattern.search(line)
            if m:
                return m

    def echo(self) -> bytes:
        with socket.create_connection(("127.0.0.1", self.port), timeout=10) as c:
            c.sendall(b"ping")
            return c.recv(10)

    def close(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait()
        assert self.proc.stderr is not None
        self.proc.stderr.close()


def workers(children_of, pid: int, n: int) -> list[int]:
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        found = children_of(pid)
        if len(found) == n:
            return found
        time.sleep(0.02)  # polling /proc for processes that are starting; bounded
    raise AssertionError(f"expected {n} workers of {pid}, found {children_of(pid)}")


def test_a_killed_worker_is_replaced_and_reported_once(children_of):
    srv = Server()
    try:
        victim = workers(children_of, srv.proc.pid, 2)[0]
        os.kill(victim, signal.SIGKILL)  # (the parent is the third accepting process)
        srv.wait_for(re.compile(rf"worker {victim} killed by SIGKILL, restarting"))
        replacement = [p for p in workers(children_of, srv.proc.pid, 2) if p != victim]
        assert len(replacement) == 2
        for _ in range(20):
            assert srv.echo() == b"ping"
        srv.proc.send_signal(signal.SIGTERM)
        assert srv.proc.wait(timeout=10) == 0
    finally:
        srv.close()


def test_six_deaths_in_ten_seconds_end_the_server(children_of):
    srv = Server()
    try:
        for _ in range(5):
            victim = workers(children_of, srv.proc.pid, 2)[0]
            os.kill(victim, signal.SIGKILL)
            srv.wait_for(re.compile(rf"worker {victim} killed by SIGKILL, restarting"))
        last = workers(children_of, srv.proc.pid, 2)[0]
        os.kill(last, signal.SIGKILL)
        crash_loop = rf"workers keep dying: 6 deaths in 10 s; last: worker {last} killed by SIGKILL"
        srv.wait_for(re.compile("failed: " + crash_loop))
        assert srv.proc.wait(timeout=10) == 1
    finally:
        srv.close()
