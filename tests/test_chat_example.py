"""examples/chat_server.py: a client that stops reading never slows the room.

The server runs as a subprocess (as in test_examples.py); the clients are
plain sockets on loopback. One client connects with a small receive buffer
and reads nothing while another floods the room with more than the kernel
can buffer towards it; the two clients that read get every message, in
order. Then the stalled client reads again: it gets what the kernel had
buffered, a notice of exactly how many messages it lost, and the rest.
Every wait is for an event (a line arriving) under a socket timeout and
pytest-timeout; nothing sleeps.
"""

from __future__ import annotations

import re
import signal
import socket
import subprocess
import sys
import threading
from pathlib import Path

import pytest

pytestmark = [pytest.mark.timeout(90), pytest.mark.usefixtures("no_fd_leak", "no_child_left")]

EXAMPLE = Path(__file__).resolve().parent.parent / "examples" / "chat_server.py"
PAYLOAD = "x" * 2000  # each message is one line of about 2 kB
WAIT = 30.0  # socket timeout: a line that takes this long is a failure


def flood_count() -> int:
    """Enough messages to pass twice what the kernel may buffer towards one client."""
    try:
        with open("/proc/sys/net/ipv4/tcp_wmem") as f:
            wmem_max = int(f.read().split()[2])
    except (OSError, ValueError, IndexError):
        wmem_max = 4 << 20
    return 2 * (wmem_max + (64 << 10)) // len(PAYLOAD) + 1


def message(i: int) -> bytes:
    return f"msg {i} {PAYLOAD}\n".encode()


class Client:
    def __init__(self, port: int, rcvbuf: int | None = None) -> None:
        self.sock = socket.socket()
        if rcvbuf is not None:
            self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
        self.sock.settimeout(WAIT)
        self.sock.connect(("127.0.0.1", port))
        self.name = f"tcp:127.0.0.1:{self.sock.getsockname()[1]}"
        self.file = self.sock.makefile("rb")

    def line(self) -> bytes:
        got = self.file.readline()
        assert got.endswith(b"\n"), f"connection ended: {got[-80:]!r}"
        return got

    def close(self) -> None:
        self.file.close()
        self.sock.close()


def msg_number(line: bytes) -> int | None:
    """``i`` for the line of ``message(i)`` as relayed (``[sender] msg i ...``)."""
    m = re.match(rb"\[tcp:[0-9.:]+\] msg (\d+) x+\n\Z", line)
    return int(m.group(1)) if m else None


def test_a_stalled_client_does_not_slow_the_others():
    proc = subprocess.Popen(
        [sys.executable, str(EXAMPLE), "tcp:127.0.0.1:0"], stderr=subprocess.PIPE, text=True
    )
    clients: list[Client] = []
    try:
        assert proc.stderr is not None
        first = proc.stderr.readline()
        m = re.search(r"tcp:127\.0\.0\.1:(\d+)", first)
        assert m, first
        port = int(m.group(1))

        def join(**kw: int) -> Client:
            c = Client(port, **kw)
            clients.append(c)
            return c

        # Each join is seen by the clients already there: when a notice
        # arrives, the newcomer is in the room.
        r1 = join()
        stalled = join(rcvbuf=4096)
        assert r1.line() == f"* {stalled.name} joined\n".encode()
        r2 = join()
        assert r1.line() == f"* {r2.name} joined\n".encode()
        sender = join()
        for r in (r1, r2):
            assert r.line() == f"* {sender.name} joined\n".encode()

        n = flood_count()
        got: dict[str, list[int | None]] = {}

        def read_all(r: Client, key: str) -> None:
            seen: list[int | None] = []
            got[key] = seen
            while not seen or seen[-1] != n - 1:
                seen.append(msg_number(r.line()))

        readers = [
            threading.Thread(target=read_all, args=(r, k), daemon=True)
            for r, k in ((r1, "r1"), (r2, "r2"))
        ]
        for t in readers:
            t.start()
        sender.sock.sendall(b"".join(message(i) for i in range(n)))
        for t in readers:
            t.join(timeout=60)
            assert not t.is_alive(), "a reading client stopped getting messages"
        assert got["r1"] == got["r2"] == list(range(n))

        # The stalled client reads again: first what the kernel held, then the
        # message its writer was sending, then the notice in place of the rest.
        before = [stalled.line(), stalled.line()]
        assert before == [f"* {r2.name} joined\n".encode(), f"* {sender.name} joined\n".encode()]
        kept: list[int] = []
        while (i := msg_number(line := stalled.line())) is not None:
            assert i == len(kept)
            kept.append(i)
        notice = re.fullmatch(rb"\* (\d+) messages dropped \(you were not reading\)\n", line)
        assert notice, line[:100]
        dropped = int(notice.group(1))
        assert kept and dropped > 0
        # After the notice: the newest messages, up to the last, then what comes next.
        sender.sock.sendall(b"end\n")
        rest = []
        while (line := stalled.line()) != f"[{sender.name}] end\n".encode():
            rest.append(msg_number(line))
        assert rest == list(range(len(kept) + dropped, n))
    finally:
        for c in clients:
            c.close()
        if proc.poll() is None:
            proc.send_signal(signal.SIGINT)
        try:
            _, err = proc.communicate(timeout=20)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
    assert proc.returncode == 0, err
