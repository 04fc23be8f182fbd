"""greeneio-serve, driven over loopback by plain ``socket`` clients."""

from __future__ import annotations

import contextlib
import os
import re
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from greeneio.serve.__main__ import main
from greeneio.serve.chargen import line

pytestmark = pytest.mark.timeout(30)

LISTENING = re.compile(r"listening on (tcp|udp):127\.0\.0\.1:(\d+)")


class Served:
    def __init__(self, proc: subprocess.Popen[str], port: int) -> None:
        self.proc = proc
        self.port = port

    def connect(self) -> socket.socket:
        return socket.create_connection(("127.0.0.1", self.port), timeout=10)

    def stop(self, timeout: float = 10) -> tuple[int, str]:
        self.proc.send_signal(signal.SIGTERM)
        _, err = self.proc.communicate(timeout=timeout)
        return self.proc.returncode, err


@contextlib.contextmanager
def served(*args: str, cwd: str | None = None, **popen: object) -> Iterator[Served]:
    proc = subprocess.Popen(
        [sys.executable, "-m", "greeneio.serve", *args],
        stderr=subprocess.PIPE,
        text=True,
        cwd=cwd,
        **popen,  # type: ignore[call-overload]
    )
    try:
        assert proc.stderr is not None
        first = proc.stderr.readline()
        m = LISTENING.search(first)
        assert m, first
        yield Served(proc, int(m.group(2)))
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def recv_all(s: socket.socket) -> bytes:
    chunks = []
    while chunk := s.recv(65536):
        chunks.append(chunk)
    return b"".join(chunks)


TCP0 = ["--listen", "tcp:127.0.0.1:0"]


def test_echo_round_trips():
    with served("echo", *TCP0) as srv:
        with srv.connect() as c:
            c.sendall(b"hello")
            assert c.recv(100) == b"hello"
            c.sendall(b"again")
            c.shutdown(socket.SHUT_WR)
            assert recv_all(c) == b"again"
        code, err = srv.stop()
    assert code == 0, err
    assert "stopped cleanly" in err


def test_discard_swallows():
    with served("discard", *TCP0) as srv:
        with srv.connect() as c:
            c.sendall(b"x" * 100_000)
            c.shutdown(socket.SHUT_WR)
            assert recv_all(c) == b""
        assert srv.stop()[0] == 0


def test_chargen_first_line_is_rfc_864():
    rfc_first = b"!\"#$%&'()*+,-./0123456789:;<=>?@ABCDEFGHIJKLMNOPQRSTUVWXYZ[\\]^_`abcdefgh\r\n"
    assert line(0) == rfc_first
    with served("chargen", *TCP0) as srv:
        with srv.connect() as c:
            data = b""
            while data.count(b"\r\n") < 2:
                data += c.recv(4096)
        assert data.split(b"\r\n")[:2] == [rfc_first[:-2], line(1)[:-2]]
        assert srv.stop()[0] == 0


def test_daytime_answers_and_closes():
    with served("daytime", *TCP0) as srv:
        with srv.connect() as c:
            reply = recv_all(c)
        assert re.fullmatch(rb"\w+day, \w+ \d\d, \d{4} \d\d:\d\d:\d\d-\w+\r\n", reply), reply
        assert srv.stop()[0] == 0


def test_udp_echo():
    with served("udp-echo", "--listen", "udp:127.0.0.1:0") as srv:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as u:
            u.settimeout(10)
            u.sendto(b"datagram", ("127.0.0.1", srv.port))
            data, _ = u.recvfrom(100)
        assert data == b"datagram"
        assert srv.stop()[0] == 0


# -- http ---------------------------------------------------------------------


@pytest.fixture
def site(tmp_path: Path) -> Path:
    root = tmp_path / "root"
    root.mkdir()
    (root / "style.css").write_text("body { color: green }\n")
    (root / "data.bin").write_bytes(bytes(range(256)) * 100)
    (tmp_path / "secret.txt").write_text("outside the root")
    (root / "leak").symlink_to(tmp_path / "secret.txt")
    return root


def http_get(c: socket.socket, path: str, method: str = "GET") -> tuple[int, dict[str, str], bytes]:
    c.sendall(f"{method} {path} HTTP/1.1\r\nHost: test\r\n\r\n".encode())
    f = c.makefile("rb")
    status = int(f.readline().split()[1])
    headers = {}
    while (h := f.readline()) not in (b"\r\n", b""):
        k, v = h.decode().split(":", 1)
        headers[k.strip().lower()] = v.strip()
    n = int(headers.get("content-length", "0"))
    body = f.read(n) if method != "HEAD" else b""
    return status, headers, body


def test_http_static_404_and_keepalive(site: Path):
    with served("http", *TCP0, "--root", str(site)) as srv:
        with srv.connect() as c:  # one connection, several requests (keep-alive)
            # With --root, / is the root directory: no demo page (issue 18); it has
            # no index.html and listings are off, so 404.
            status, headers, body = http_get(c, "/")
            assert status == 404 and b"Hello" not in body
            (site / "index.html").write_text("<h1>the site</h1>\n")
            status, headers, body = http_get(c, "/")
            assert (status, body) == (200, b"<h1>the site</h1>\n")
            assert headers["content-type"].startswith("text/html")
            status, headers, body = http_get(c, "/style.css")
            assert (status, headers["content-type"]) == (200, "text/css")
            assert body == b"body { color: green }\n"
            status, headers, body = http_get(c, "/data.bin")
            assert (status, body) == (200, bytes(range(256)) * 100)
            assert headers["content-type"] == "application/octet-stream"
            status, headers, body = http_get(c, "/style.css", method="HEAD")
            assert (status, headers["content-length"], body) == (200, "22", b"")
            assert http_get(c, "/missing.txt")[0] == 404
            # Out of the root is 404 too: the server does not say what exists there.
            assert http_get(c, "/../secret.txt")[0] == 404
            assert http_get(c, "/%2e%2e/secret.txt")[0] == 404
            assert http_get(c, "/leak")[0] == 404  # symlink out of the root
        with srv.connect() as c:
            c.sendall(b"NONSENSE\r\n\r\n")
            assert recv_all(c).startswith(b"HTTP/1.1 400 ")
        assert srv.stop()[0] == 0


def test_http_without_root_serves_the_hello_page_only():
    with served("http", *TCP0) as srv:
        with srv.connect() as c:
            status, headers, body = http_get(c, "/")
            assert status == 200 and b"Hello from greeneio" in body
            assert headers["content-type"].startswith("text/html")
            assert http_get(c, "/etc/passwd")[0] == 404
        assert srv.stop()[0] == 0


# -- proxy and app ----------------------------------------------------------------


def test_proxy_forwards_both_ways_and_passes_half_close_on():
    with served("echo", *TCP0) as upstream:
        with served("proxy", *TCP0, "--to", f"tcp:127.0.0.1:{upstream.port}") as proxy:
            with proxy.connect() as c:
                c.sendall(b"through the proxy")
                assert c.recv(100) == b"through the proxy"
                c.sendall(b"last words")
                c.shutdown(socket.SHUT_WR)  # echo ends only when it sees this EOF
                assert recv_all(c) == b"last words"
            assert proxy.stop()[0] == 0
        assert upstream.stop()[0] == 0


def test_app_serves_a_module_written_by_the_test(tmp_path: Path):
    (tmp_path / "myapp.py").write_text(
        "from greeneio import Flow\n"
        "def handle(flow, addr):\n"
        "    Flow.copy_string('app says hi to ' + type(addr).__name__, flow)\n"
    )
    with served("app", "myapp:handle", *TCP0, cwd=str(tmp_path)) as srv:
        with srv.connect() as c:
            assert recv_all(c) == b"app says hi to Tcp"
        assert srv.stop()[0] == 0


# -- stopping ---------------------------------------------------------------------

SLOW_APP = (
    "from greeneio import Flow\n"
    "def handle(flow, addr):\n"
    "    Flow.copy_string('ready\\n', flow)\n"
    "    Flow.read_exact(flow, bytearray(1))\n"
    "    Flow.copy_string('finished\\n', flow)\n"
)


def test_sigterm_drains_a_slow_connection_then_exits_0(tmp_path: Path):
    (tmp_path / "slow.py").write_text(SLOW_APP)
    with served("app", "slow:handle", *TCP0, "--grace", "5", cwd=str(tmp_path)) as srv:
        with srv.connect() as c:
            assert c.recv(100) == b"ready\n"
            t0 = time.monotonic()
            srv.proc.send_signal(signal.SIGTERM)
            with pytest.raises(OSError):  # no longer accepting
                for _ in range(50):
                    socket.create_connection(("127.0.0.1", srv.port), timeout=1).close()
                    time.sleep(0.02)
            c.sendall(b"!")
            assert recv_all(c) == b"finished\n"
        srv.proc.wait(timeout=6)
        assert srv.proc.returncode == 0
        assert time.monotonic() - t0 < 5 + 1


def test_grace_running_out_exits_1(tmp_path: Path):
    (tmp_path / "slow.py").write_text(SLOW_APP)
    with served("app", "slow:handle", *TCP0, "--grace", "0.3", cwd=str(tmp_path)) as srv:
        with srv.connect() as c:
            assert c.recv(100) == b"ready\n"
            code, err = srv.stop()
            assert recv_all(c) == b""  # cut off
    assert code == 1
    assert "--grace ran out" in err


def test_second_sigterm_exits_at_once(tmp_path: Path):
    (tmp_path / "slow.py").write_text(SLOW_APP)
    with served("app", "slow:handle", *TCP0, "--grace", "60", cwd=str(tmp_path)) as srv:
        with srv.connect() as c:
            assert c.recv(100) == b"ready\n"
            srv.proc.send_signal(signal.SIGTERM)
            assert srv.proc.stderr is not None
            assert "stopping" in srv.proc.stderr.readline()
            t0 = time.monotonic()
            srv.proc.send_signal(signal.SIGTERM)
            srv.proc.wait(timeout=5)
            assert time.monotonic() - t0 < 2
            assert srv.proc.returncode == 1


# -- inherited sockets ------------------------------------------------------------------


def _listening_socket() -> socket.socket:
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    s.listen(16)
    return s


def test_listen_fd_n():
    s = _listening_socket()
    port = s.getsockname()[1]
    fd = s.fileno()
    try:
        with served("echo", "--listen", f"fd:{fd}", pass_fds=(fd,)) as srv:
            assert srv.port == port
            with srv.connect() as c:
                c.sendall(b"via fd")
                assert c.recv(100) == b"via fd"
            assert srv.stop()[0] == 0
    finally:
        s.close()


def test_systemd_socket_activation():
    s = _listening_socket()
    port = s.getsockname()[1]
    fd = s.fileno()
    # Like systemd: the socket is fd 3 and LISTEN_PID names the server's own pid.
    launcher = (
        "import os, sys\n"
        f"os.dup2({fd}, 3)\n"
        "os.environ.update(LISTEN_PID=str(os.getpid()), LISTEN_FDS='1', LISTEN_FDNAMES='web')\n"
        "os.execv(sys.executable, [sys.executable, '-m', 'greeneio.serve', 'echo'])\n"
    )
    proc = subprocess.Popen(
        [sys.executable, "-c", launcher], stderr=subprocess.PIPE, text=True, pass_fds=(fd,)
    )
    try:
        assert proc.stderr is not None
        first = proc.stderr.readline()
        assert f"listening on tcp:127.0.0.1:{port}" in first, first
        with socket.create_connection(("127.0.0.1", port), timeout=10) as c:
            c.sendall(b"activated")
            assert c.recv(100) == b"activated"
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=10) == 0
    finally:
        s.close()
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def test_workers_option_serves_from_several_processes(tmp_path: Path):
    (tmp_path / "pid.py").write_text(
        "import os\nfrom greeneio import Flow\n"
        "def handle(flow, addr):\n    Flow.copy_string(str(os.getpid()), flow)\n"
    )
    with served("app", "pid:handle", *TCP0, "--workers", "2", cwd=str(tmp_path)) as srv:
        pids = set()
        for _ in range(300):
            with srv.connect() as c:
                pids.add(recv_all(c))
            if len(pids) == 2:
                break
        assert len(pids) == 2
        assert srv.stop()[0] == 0


# -- bad usage: one line, exit 2 -----------------------------------------------------------


@pytest.mark.parametrize(
    "argv, message",
    [
        (["echo", "--listen", "tcp:localhost:99999"], "port must be 0-65535"),
        (["echo", "--listen", "bogus"], "--listen bogus"),
        (["echo", "--workers", "-1"], "--workers must be >= 1"),
        (["proxy"], "proxy needs --to"),
        (["app", "nomodule:nofunc"], "cannot import module 'nomodule'"),
        (["nosuchservice"], "invalid choice"),
        (["http", "--root", "/no/such/dir"], "not a directory"),
    ],
)
def test_bad_usage_is_one_line_and_exit_2(argv, message, capsys):
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and message in err, err
    assert "Traceback" not in err


def test_an_address_in_use_is_a_usage_error():
    s = _listening_socket()
    try:
        port = s.getsockname()[1]
        out = subprocess.run(
            [sys.executable, "-m", "greeneio.serve", "echo", "--listen", f"tcp:127.0.0.1:{port}"],
            capture_output=True,
            text=True,
            timeout=20,
        )
    finally:
        s.close()
    assert out.returncode == 2
    assert out.stderr.count("\n") == 1 and "Address already in use" in out.stderr, out.stderr


def test_module_entry_point_exists():
    assert os.path.exists(Path(__file__).parents[2] / "greeneio" / "serve" / "__main__.py")
