"""Every example runs as its docstring says (briefly, on loopback)."""

from __future__ import annotations

import re
import signal
import socket
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = [pytest.mark.timeout(30), pytest.mark.usefixtures("no_fd_leak", "no_child_left")]

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"


def start(*args: str) -> tuple[subprocess.Popen[str], int]:
    """Start a server example; return it and the port from its first stderr line."""
    proc = subprocess.Popen([sys.executable, *args], stderr=subprocess.PIPE, text=True)
    assert proc.stderr is not None
    first = proc.stderr.readline()
    m = re.search(r"tcp:127\.0\.0\.1:(\d+)", first)
    if not m:
        proc.kill()
        proc.wait()
        raise AssertionError(first)
    return proc, int(m.group(1))


def stop(proc: subprocess.Popen[str], sig: int = signal.SIGTERM) -> tuple[int, str]:
    if sig and proc.poll() is None:
        proc.send_signal(sig)
    _, err = proc.communicate(timeout=20)
    return proc.returncode, err


def run_example(*args: str) -> str:
    out = subprocess.run([sys.executable, *args], capture_output=True, text=True, timeout=25)
    assert out.returncode == 0, out.stderr
    return out.stdout


def test_hello():
    assert run_example(str(EXAMPLES / "hello.py")).strip() != ""


def test_echo_server_echoes_and_stops_gracefully_on_sigterm():
    proc, port = start(str(EXAMPLES / "echo_server.py"), "tcp:127.0.0.1:0")
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=10) as c:
            c.sendall(b"ping")
            c.shutdown(socket.SHUT_WR)
            assert c.recv(100) == b"ping"
        code, err = stop(proc)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert code == 0 and "stopped (SIGTERM)" in err


def test_http_get_fetches_from_greeneio_serve():
    server, port = start("-m", "greeneio.serve", "http", "--listen", "tcp:127.0.0.1:0")
    try:
        out = run_example(str(EXAMPLES / "http_get.py"), "127.0.0.1", str(port), "/")
    finally:
        stop(server)
    assert out.startswith("HTTP/1.1 200 ")
    assert "Hello from greeneio" in out


def test_chat_server_relays_lines_between_clients():
    proc, port = start(str(EXAMPLES / "chat_server.py"), "tcp:127.0.0.1:0")
    try:
        a = socket.create_connection(("127.0.0.1", port), timeout=10)
        b = socket.create_connection(("127.0.0.1", port), timeout=10)
        fa = a.makefile("rb")
        assert fa.readline().startswith(b"* tcp:127.0.0.1:")  # b joined
        b.sendall(b"hello everyone\n")
        assert fa.readline().endswith(b"] hello everyone\n")
        b.close()
        assert fa.readline().endswith(b" left\n")
        a.close()
        code, _ = stop(proc, signal.SIGINT)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert code == 0


def test_port_scan_finds_an_open_port():
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(16)
    port = listener.getsockname()[1]
    try:
        out = run_example(str(EXAMPLES / "port_scan.py"), "127.0.0.1", str(port - 2), str(port + 2))
    finally:
        listener.close()
    assert f"127.0.0.1:{port} open" in out.splitlines()
    assert out.splitlines()[-1].endswith("open of 5 scanned")


def test_udp_ping():
    assert run_example(str(EXAMPLES / "udp_ping.py")).splitlines() == [
        "pong: ping 0",
        "pong: ping 1",
        "pong: ping 2",
    ]


def test_legacy_handler_serves_under_a_switch():
    proc, port = start(str(EXAMPLES / "legacy_handler.py"), "0", "1")
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=10) as c:
            c.sendall(b"old code")
            assert c.recv(100) == b"LEGACY: OLD CODE"
        code, err = stop(proc, 0)  # it exits by itself after one connection
    finally:
        if proc.poll() is None:
            proc.kill()
    assert code == 0, err
