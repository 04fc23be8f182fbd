"""``greeneio-serve SERVICE --tls-cert FILE --tls-key FILE``, driven over
loopback by real clients: curl, ``openssl s_client``, ``http.client``,
stdlib ``ssl`` sockets, and greeneio's own TLS client through the proxy."""

from __future__ import annotations

import contextlib
import hashlib
import http.client
import os
import re
import shutil
import signal
import socket
import ssl
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import trustme

import greeneio
import greeneio.tls as Tls
from greeneio import Fiber, Flow, Net, Switch
from greeneio.serve.__main__ import main

pytestmark = pytest.mark.timeout(60)

LISTENING = re.compile(r"listening on tcp:127\.0\.0\.1:(\d+)( \(TLS\))?")
TCP0 = ["--listen", "tcp:127.0.0.1:0"]


@dataclass(frozen=True)
class Pems:
    cert: str  # the server's certificate chain
    key: str  # its private key
    ca: str  # the test CA, for clients

    @property
    def tls(self) -> list[str]:
        return ["--tls-cert", self.cert, "--tls-key", self.key]

    def client_context(self) -> ssl.SSLContext:
        return ssl.create_default_context(cafile=self.ca)


@pytest.fixture(scope="module")
def ca() -> trustme.CA:
    return trustme.CA()


@pytest.fixture(scope="module")
def pems(tmp_path_factory: pytest.TempPathFactory, ca: trustme.CA) -> Pems:
    d = tmp_path_factory.mktemp("pems")
    cert = ca.issue_cert("localhost", "127.0.0.1")
    cert.cert_chain_pems[0].write_to_path(str(d / "cert.pem"))
    for extra in cert.cert_chain_pems[1:]:
        extra.write_to_path(str(d / "cert.pem"), append=True)
    cert.private_key_pem.write_to_path(str(d / "key.pem"))
    ca.cert_pem.write_to_path(str(d / "ca.pem"))
    return Pems(str(d / "cert.pem"), str(d / "key.pem"), str(d / "ca.pem"))


class Served:
    def __init__(self, proc: subprocess.Popen[str], port: int) -> None:
        self.proc = proc
        self.port = port

    def stop(self, timeout: float = 10) -> tuple[int, str]:
        self.proc.send_signal(signal.SIGTERM)
        _, err = self.proc.communicate(timeout=timeout)
        return self.proc.returncode, err


@contextlib.contextmanager
def served(*args: str, **popen: Any) -> Iterator[Served]:
    proc = subprocess.Popen(
        [sys.executable, "-m", "greeneio.serve", *args],
        stderr=subprocess.PIPE,
        text=True,
        **popen,
    )
    try:
        assert proc.stderr is not None
        first = proc.stderr.readline()
        m = LISTENING.search(first)
        assert m, first
        yield Served(proc, int(m.group(1)))
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        if proc.stderr is not None:
            proc.stderr.close()


def needs(tool: str) -> Any:
    return pytest.mark.skipif(shutil.which(tool) is None, reason=f"{tool} is not installed")


# -- http becomes HTTPS ---------------------------------------------------------


@needs("curl")
def test_curl_gets_the_hello_page(pems: Pems):
    with served("http", *TCP0, *pems.tls) as srv:
        out = subprocess.run(
            [
                "curl", "-sS", "--cacert", pems.ca, "-w", "\n%{http_code} %{http_version}",
                f"https://127.0.0.1:{srv.port}/",
                f"https://localhost:{srv.port}/missing",
            ],
            capture_output=True, text=True, timeout=30,
        )  # fmt: skip
        assert out.returncode == 0, out.stderr
        assert "Hello from greeneio!" in out.stdout
        assert out.stdout.count("\n200 1.1") == 1 and out.stdout.endswith("\n404 1.1")
        code, err = srv.stop()
    assert code == 0, err
    assert "connection error" not in err, err


@needs("openssl")
@pytest.mark.parametrize("version", ["-tls1_2", "-tls1_3"])
def test_openssl_s_client(pems: Pems, version: str):
    with served("http", *TCP0, *pems.tls) as srv:
        out = subprocess.run(
            [
                "openssl", "s_client", "-connect", f"127.0.0.1:{srv.port}",
                "-servername", "localhost", "-CAfile", pems.ca, "-verify_return_error",
                version, "-alpn", "http/1.1", "-ign_eof",
            ],
            input="GET / HTTP/1.0\r\nHost: localhost\r\n\r\n",
            capture_output=True, text=True, timeout=30,
        )  # fmt: skip
        assert out.returncode == 0, out.stderr
        assert "\nHTTP/1.1 200 " in out.stdout and "Hello from greeneio!" in out.stdout
        expected = "TLSv1.2" if version == "-tls1_2" else "TLSv1.3"
        assert f"Protocol  : {expected}" in out.stdout
        assert "Verify return code: 0 (ok)" in out.stdout
        assert "ALPN protocol: http/1.1" in out.stdout
        code, err = srv.stop()
    assert code == 0, err
    assert "connection error" not in err, err


def test_http_client_keep_alive_and_static_files(pems: Pems, tmp_path: Path):
    (tmp_path / "data.bin").write_bytes(bytes(range(256)) * 4000)
    with served("http", *TCP0, *pems.tls, "--root", str(tmp_path)) as srv:
        conn = http.client.HTTPSConnection(
            "localhost", srv.port, context=pems.client_context(), timeout=10
        )
        try:
            conn.request("GET", "/data.bin")
            first = conn.getresponse()
            assert (first.status, first.read()) == (200, bytes(range(256)) * 4000)
            conn.request("GET", "/missing.txt")  # the same connection (keep-alive)
            second = conn.getresponse()
            assert (second.status, len(second.read()) > 0) == (404, True)
            sock = conn.sock
            assert isinstance(sock, ssl.SSLSocket) and sock.selected_alpn_protocol() is None
        finally:
            conn.close()
        assert srv.stop()[0] == 0


# -- other services over TLS ----------------------------------------------------


def test_echo_over_tls_ends_with_close_notify(pems: Pems):
    with served("echo", *TCP0, *pems.tls) as srv:
        raw = socket.create_connection(("127.0.0.1", srv.port), timeout=10)
        with pems.client_context().wrap_socket(raw, server_hostname="localhost") as c:
            c.sendall(b"hello over TLS")
            assert c.recv(100) == b"hello over TLS"
            plain = c.unwrap()  # our close_notify; returns on the server's
            plain.close()
        code, err = srv.stop()
    assert code == 0, err
    assert "connection error" not in err, err


def test_a_plain_client_of_a_tls_server_is_one_error_line(pems: Pems):
    with served("echo", *TCP0, *pems.tls) as srv:
        with socket.create_connection(("127.0.0.1", srv.port), timeout=10) as c:
            c.sendall(b"not a ClientHello\r\n")
            with contextlib.suppress(ConnectionResetError):
                assert c.recv(100) == b""
        good = socket.create_connection(("127.0.0.1", srv.port), timeout=10)
        with pems.client_context().wrap_socket(good, server_hostname="localhost") as c:
            c.sendall(b"still serving")
            assert c.recv(100) == b"still serving"
            c.unwrap().close()  # close_notify (a bare close would be a ragged EOF)
        code, err = srv.stop()
    assert code == 0, err
    lines = [x for x in err.splitlines() if "connection error" in x]
    assert len(lines) == 1 and "TLS handshake with tcp:127.0.0.1:" in lines[0], err


def test_proxy_terminates_tls_64_mib_arrive_identical(pems: Pems):
    block = os.urandom(1 << 20)
    blocks = 64

    def client(port: int) -> tuple[str, str]:
        def run(env: Any) -> tuple[str, str]:
            sent = hashlib.sha256()
            got = hashlib.sha256()
            with Switch() as sw:
                conn = Net.connect(env.net, Net.Sockaddr.Tcp(Net.Ipaddr.V4.loopback, port), sw=sw)
                with Tls.client_of_flow(conn, host="127.0.0.1", context=pems.client_context()) as t:

                    def send() -> None:
                        for _ in range(blocks):
                            Flow.write(t, [block])
                            sent.update(block)
                        Flow.shutdown(t, "send")  # close_notify: passed on as a FIN

                    def receive() -> None:
                        buf = bytearray(1 << 16)
                        while True:
                            try:
                                n = Flow.single_read(t, buf)
                            except EOFError:  # the proxy's close_notify
                                return
                            got.update(memoryview(buf)[:n])

                    Fiber.both(send, receive)
            return sent.hexdigest(), got.hexdigest()

        return greeneio.run(run)

    with served("echo", *TCP0) as upstream:
        to = f"tcp:127.0.0.1:{upstream.port}"
        with served("proxy", *TCP0, "--to", to, *pems.tls) as proxy:
            sent, got = client(proxy.port)
            assert sent == got == hashlib.sha256(block * blocks).hexdigest()
            code, err = proxy.stop()
            assert code == 0, err
            assert "connection error" not in err, err
        assert upstream.stop()[0] == 0


def test_workers_serve_tls(pems: Pems, tmp_path: Path):
    (tmp_path / "pid.py").write_text(
        "import os\nfrom greeneio import Flow\n"
        "def handle(flow, addr):\n    Flow.copy_string(str(os.getpid()), flow)\n"
    )
    ctx = pems.client_context()
    with served("app", "pid:handle", *TCP0, *pems.tls, "--workers", "2", cwd=str(tmp_path)) as srv:
        pids = set()
        for _ in range(300):
            raw = socket.create_connection(("127.0.0.1", srv.port), timeout=10)
            with ctx.wrap_socket(raw, server_hostname="localhost") as c:
                data = b""
                while chunk := c.recv(100):  # ends at the server's close_notify
                    data += chunk
                pids.add(data)
            if len(pids) == 2:
                break
        assert len(pids) == 2
        assert srv.stop()[0] == 0


def test_systemd_socket_activation_with_tls(pems: Pems):
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    s.listen(16)
    port = s.getsockname()[1]
    fd = s.fileno()
    launcher = (
        "import os, sys\n"
        f"os.dup2({fd}, 3)\n"
        "os.environ.update(LISTEN_PID=str(os.getpid()), LISTEN_FDS='1')\n"
        "os.execv(sys.executable, [sys.executable, '-m', 'greeneio.serve', 'echo', "
        f"'--tls-cert', {pems.cert!r}, '--tls-key', {pems.key!r}])\n"
    )
    proc = subprocess.Popen(
        [sys.executable, "-c", launcher], stderr=subprocess.PIPE, text=True, pass_fds=(fd,)
    )
    try:
        assert proc.stderr is not None
        first = proc.stderr.readline()
        assert f"listening on tcp:127.0.0.1:{port} (TLS)" in first, first
        raw = socket.create_connection(("127.0.0.1", port), timeout=10)
        with pems.client_context().wrap_socket(raw, server_hostname="localhost") as c:
            c.sendall(b"activated")
            assert c.recv(100) == b"activated"
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=10) == 0
    finally:
        s.close()
        if proc.poll() is None:
            proc.kill()
            proc.wait()


# -- bad certificates and keys: one line, exit 2, before listening ------------------


@pytest.fixture(scope="module")
def bad_pems(tmp_path_factory: pytest.TempPathFactory, ca: trustme.CA) -> dict[str, str]:
    from cryptography.hazmat.primitives import serialization

    d = tmp_path_factory.mktemp("bad")
    other = ca.issue_cert("other.test")
    other.private_key_pem.write_to_path(str(d / "other-key.pem"))
    (d / "garbage.pem").write_text("this is not a certificate\n")
    key = serialization.load_pem_private_key(other.private_key_pem.bytes(), password=None)
    encrypted = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.BestAvailableEncryption(b"secret"),
    )
    (d / "encrypted-key.pem").write_bytes(encrypted)
    other.cert_chain_pems[0].write_to_path(str(d / "other-cert.pem"))
    return {p.stem: str(p) for p in d.iterdir()}


@pytest.mark.parametrize(
    "which, message",
    [
        ("missing-cert", "--tls-cert /no/such/cert.pem: No such file or directory"),
        ("garbage-cert", "not a PEM certificate chain and its private key"),
        ("wrong-key", "not a PEM certificate chain and its private key (KEY_VALUES_MISMATCH)"),
        ("encrypted-key", "the key is encrypted"),
        ("cert-only", "--tls-cert and --tls-key go together"),
        ("udp", "--tls-cert is only for stream services, not udp-echo"),
    ],
)
def test_bad_tls_options_are_one_line_and_exit_2(which, message, pems, bad_pems, capsys):
    argv = {
        "missing-cert": ["echo", "--tls-cert", "/no/such/cert.pem", "--tls-key", pems.key],
        "garbage-cert": ["echo", "--tls-cert", bad_pems["garbage"], "--tls-key", pems.key],
        "wrong-key": ["echo", "--tls-cert", pems.cert, "--tls-key", bad_pems["other-key"]],
        "encrypted-key": [
            "echo", "--tls-cert", bad_pems["other-cert"], "--tls-key", bad_pems["encrypted-key"],
        ],
        "cert-only": ["echo", "--tls-cert", pems.cert],
        "udp": ["udp-echo", "--listen", "udp:127.0.0.1:0", *pems.tls],
    }[which]  # fmt: skip
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and message in err, err
    assert "Traceback" not in err


def test_a_bad_key_stops_the_server_before_it_listens(pems, bad_pems):
    out = subprocess.run(
        [
            sys.executable, "-m", "greeneio.serve", "http", *TCP0,
            "--tls-cert", pems.cert, "--tls-key", bad_pems["other-key"],
        ],
        capture_output=True, text=True, timeout=30,
    )  # fmt: skip
    assert out.returncode == 2
    assert out.stderr.count("\n") == 1 and "KEY_VALUES_MISMATCH" in out.stderr, out.stderr
    assert "listening" not in out.stderr
