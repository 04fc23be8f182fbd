"""``greeneio-serve http`` on the engine, over loopback: the static service
(Range, conditional requests, redirects, HEAD, keep-alive, pipelining,
request bodies), driven by raw sockets, ``http.client`` and ``curl``; and
gunicorn's corpus against the running server."""

from __future__ import annotations

import contextlib
import http.client
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from http_corpus import load_case, names
from http_harness import parse_responses

pytestmark = pytest.mark.timeout(60)

LISTENING = re.compile(r"listening on tcp:127\.0\.0\.1:(\d+)")
DATA = bytes(range(256)) * 1024  # 256 KiB: sent by sendfile


class Server:
    def __init__(self, proc: subprocess.Popen[str], port: int, root: Path) -> None:
        self.proc = proc
        self.port = port
        self.root = root

    def connect(self) -> socket.socket:
        return socket.create_connection(("127.0.0.1", self.port), timeout=10)

    def client(self) -> http.client.HTTPConnection:
        return http.client.HTTPConnection("127.0.0.1", self.port, timeout=10)

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"


@contextlib.contextmanager
def running(*args: str) -> Iterator[tuple[subprocess.Popen[str], int]]:
    proc = subprocess.Popen(
        [sys.executable, "-m", "greeneio.serve", "http", "--listen", "tcp:127.0.0.1:0", *args],
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stderr is not None
        first = proc.stderr.readline()
        m = LISTENING.search(first)
        assert m, first
        yield proc, int(m.group(1))
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """One server for the module; at the end it must stop cleanly (exit 0, no
    traceback in its log): healthy after everything the tests sent it."""
    root = tmp_path_factory.mktemp("site")
    (root / "hello.txt").write_bytes(b"hello, world\n")
    (root / "data.bin").write_bytes(DATA)
    (root / "empty.txt").write_bytes(b"")
    (root / "sub").mkdir()
    (root / "sub" / "index.html").write_bytes(b"<h1>sub</h1>\n")
    (root / "noindex").mkdir()
    with running("--root", str(root)) as (proc, port):
        yield Server(proc, port, root)
        proc.send_signal(signal.SIGTERM)
        _, log = proc.communicate(timeout=20)
        assert proc.returncode == 0, log
        assert "Traceback" not in log, log


def exchange(srv: Server, data: bytes, heads: list[bool] | None = None) -> list:
    """Send ``data``, half-close, and parse every response until the server closes."""
    with srv.connect() as c:
        c.sendall(data)
        c.shutdown(socket.SHUT_WR)
        out = b""
        while chunk := c.recv(65536):
            out += chunk
    return parse_responses(out, heads)


def req(path: str, *headers: str, method: str = "GET") -> bytes:
    return "\r\n".join([f"{method} {path} HTTP/1.1", "Host: t", *headers, "", ""]).encode()


# -- files ------------------------------------------------------------------------


def test_a_file_with_its_validators_and_date(server):
    (r,) = exchange(server, req("/hello.txt"))
    assert (r.status, r.body) == (200, b"hello, world\n")
    assert r.header(b"content-type") == b"text/plain"
    assert r.header(b"accept-ranges") == b"bytes"
    assert r.header(b"server") == b"greeneio-serve"
    assert re.fullmatch(rb'"[0-9a-f]+-d"', r.header(b"etag"))
    assert r.header(b"last-modified").endswith(b" GMT")
    assert r.header(b"date").endswith(b" GMT")


def test_a_large_file_goes_by_sendfile_intact(server):
    c = server.client()
    for _ in range(3):  # keep-alive, several times
        c.request("GET", "/data.bin")
        resp = c.getresponse()
        assert (resp.status, resp.read()) == (200, DATA)
    c.close()


def test_head_has_the_headers_and_no_body(server):
    (r,) = exchange(server, req("/data.bin", method="HEAD"), heads=[True])
    assert (r.status, r.header(b"content-length"), r.body) == (200, b"%d" % len(DATA), b"")


def test_an_empty_file(server):
    (r,) = exchange(server, req("/empty.txt"))
    assert (r.status, r.header(b"content-length"), r.body) == (200, b"0", b"")


@pytest.mark.parametrize(
    "value, status, span",
    [
        ("bytes=0-9", 206, (0, 9)),
        ("bytes=100-", 206, (100, len(DATA) - 1)),
        ("bytes=-10", 206, (len(DATA) - 10, len(DATA) - 1)),
        ("bytes=10-10000000", 206, (10, len(DATA) - 1)),
        ("bytes=262144-", 416, None),
        ("bytes=-0", 416, None),
        ("bytes=0-1,5-6", 200, None),  # several ranges: the whole file
        ("bytes=9-1", 200, None),  # invalid: ignored
        ("lines=1-2", 200, None),  # another unit: ignored
    ],
)
def test_ranges(server, value, status, span):
    (r,) = exchange(server, req("/data.bin", f"Range: {value}"))
    assert r.status == status
    if status == 206:
        first, last = span
        assert r.body == DATA[first : last + 1]
        assert r.header(b"content-range") == b"bytes %d-%d/%d" % (first, last, len(DATA))
    elif status == 416:
        assert r.header(b"content-range") == b"bytes */%d" % len(DATA)
    else:
        assert r.body == DATA


def test_if_range(server):
    (full,) = exchange(server, req("/hello.txt"))
    etag = full.header(b"etag").decode()
    (r,) = exchange(server, req("/hello.txt", "Range: bytes=0-4", f"If-Range: {etag}"))
    assert (r.status, r.body) == (206, b"hello")
    (r,) = exchange(server, req("/hello.txt", "Range: bytes=0-4", 'If-Range: "other"'))
    assert (r.status, r.body) == (200, b"hello, world\n")
    date = full.header(b"last-modified").decode()
    (r,) = exchange(server, req("/hello.txt", "Range: bytes=0-4", f"If-Range: {date}"))
    assert r.status == 206


def test_conditional_requests_give_304(server):
    (full,) = exchange(server, req("/hello.txt"))
    etag = full.header(b"etag").decode()
    lm = full.header(b"last-modified").decode()
    for headers in (
        [f"If-None-Match: {etag}"],
        [f'If-None-Match: "x", W/{etag}'],
        ["If-None-Match: *"],
        [f"If-Modified-Since: {lm}"],
    ):
        (r,) = exchange(server, req("/hello.txt", *headers))
        assert (r.status, r.body, r.header(b"content-length")) == (304, b"", None), headers
        assert r.header(b"etag") == full.header(b"etag")
    (r,) = exchange(server, req("/hello.txt", 'If-None-Match: "other"', f"If-Modified-Since: {lm}"))
    assert r.status == 200  # If-None-Match wins over If-Modified-Since
    (r,) = exchange(server, req("/hello.txt", "If-Modified-Since: Thu, 01 Jan 1970 00:00:00 GMT"))
    assert r.status == 200
    (r,) = exchange(server, req("/hello.txt", "If-Modified-Since: not a date"))
    assert r.status == 200


def test_the_etag_changes_with_the_file(server):
    p = server.root / "changing.txt"
    p.write_bytes(b"one")
    (a,) = exchange(server, req("/changing.txt"))
    p.write_bytes(b"three")
    os.utime(p, ns=(1_000_000_000_000, 1_000_000_000_000))
    (b,) = exchange(server, req("/changing.txt"))
    assert a.header(b"etag") != b.header(b"etag") and b.body == b"three"


# -- paths ------------------------------------------------------------------------


def test_a_directory_without_its_slash_is_redirected(server):
    (r,) = exchange(server, req("/sub?x=1"))
    assert (r.status, r.header(b"location")) == (301, b"/sub/?x=1")
    (r,) = exchange(server, req("/sub/"))
    assert (r.status, r.body) == (200, b"<h1>sub</h1>\n")
    assert r.header(b"content-type") == b"text/html"


def test_no_demo_page_and_no_listing_under_a_root(server):
    for path in ("/", "/noindex/"):
        (r,) = exchange(server, req(path))
        assert r.status == 404 and b"Hello" not in r.body


@pytest.mark.parametrize(
    "path", ["/missing", "/../etc/passwd", "/%2e%2e/%2e%2e/etc/passwd", "/%00", "/%ff", "//etc"]
)
def test_paths_outside_or_broken_are_404(server, path):
    (r,) = exchange(server, req(path))
    assert r.status == 404


def test_methods(server):
    (r,) = exchange(server, req("/hello.txt", "Content-Length: 0", method="POST"))
    assert (r.status, r.header(b"allow")) == (405, b"GET, HEAD, OPTIONS")
    (r,) = exchange(server, req("*", method="OPTIONS"))
    assert (r.status, r.header(b"allow")) == (204, b"GET, HEAD, OPTIONS")
    assert r.header(b"content-length") is None


def test_absolute_form_targets_are_served_by_their_path(server):
    (r,) = exchange(server, req("http://example.com/hello.txt"))
    assert (r.status, r.body) == (200, b"hello, world\n")


# -- connections -------------------------------------------------------------------


def test_pipelined_requests_are_answered_in_order(server):
    data = req("/hello.txt") + req("/sub/", method="HEAD") + req("/data.bin", "Range: bytes=1-3")
    rs = exchange(server, data + req("/missing"), heads=[False, True, False, False])
    assert [r.status for r in rs] == [200, 200, 206, 404]
    assert [r.body for r in rs] == [b"hello, world\n", b"", DATA[1:4], b"Not Found\n"]


def test_request_bodies_are_read_and_dropped(server):
    chunked = b"5\r\nhello\r\n0\r\n\r\n"
    rs = exchange(
        server,
        req("/hello.txt", "Transfer-Encoding: chunked")
        + chunked
        + req("/hello.txt", "Content-Length: 3")
        + b"abc"
        + req("/hello.txt", "Transfer-Encoding: chunked", method="POST")
        + chunked
        + req("/hello.txt"),
    )
    assert [r.status for r in rs] == [200, 200, 405, 200]
    (r,) = exchange(server, req("/hello.txt", "Transfer-Encoding: chunked") + b"zz\r\n")
    assert r.status == 400 and r.closes


def test_http_client_keepalive_and_conditional(server):
    c = server.client()
    c.request("GET", "/hello.txt")
    first = c.getresponse()
    assert first.read() == b"hello, world\n"
    sock = c.sock
    c.request("GET", "/hello.txt", headers={"If-None-Match": first.getheader("ETag")})
    second = c.getresponse()
    assert (second.status, second.read()) == (304, b"")
    c.request("HEAD", "/hello.txt")
    third = c.getresponse()
    assert (third.status, third.getheader("Content-Length"), third.read()) == (200, "13", b"")
    assert c.sock is sock  # one connection throughout
    c.close()


def test_one_mib_header_and_request_line_are_refused(server):
    for data, status in (
        (b"GET / HTTP/1.1\r\nX: " + b"b" * (1 << 20) + b"\r\n\r\n", b"431"),
        (b"GET /" + b"a" * (1 << 20) + b" HTTP/1.1\r\n\r\n", b"414"),
    ):
        with server.connect() as c:
            with contextlib.suppress(BrokenPipeError, ConnectionResetError):
                c.sendall(data)
            assert c.recv(200).startswith(b"HTTP/1.1 " + status + b" ")


# -- curl -----------------------------------------------------------------------------

curl = pytest.mark.skipif(shutil.which("curl") is None, reason="needs curl")


@curl
def test_curl_gets_a_file(server, tmp_path):
    out = tmp_path / "got"
    subprocess.run(
        ["curl", "-sSf", "-o", str(out), server.url("/data.bin")], check=True, timeout=20
    )
    assert out.read_bytes() == DATA


@curl
def test_curl_resumes_a_download(server, tmp_path):
    out = tmp_path / "partial"
    out.write_bytes(DATA[:100_000])  # an interrupted download
    subprocess.run(
        ["curl", "-sSf", "-C", "-", "-o", str(out), server.url("/data.bin")],
        check=True,
        timeout=20,
    )
    assert out.read_bytes() == DATA
    done = subprocess.run(  # resuming a complete file: 416, which curl accepts
        ["curl", "-sS", "-C", "-", "-o", str(out), "-w", "%{http_code}", server.url("/data.bin")],
        capture_output=True,
        text=True,
        timeout=20,
    )
    assert done.stdout == "416" and out.read_bytes() == DATA


@curl
def test_curl_conditional_and_head(server):
    head = subprocess.run(
        ["curl", "-sSI", server.url("/hello.txt")], capture_output=True, text=True, timeout=20
    ).stdout
    assert head.startswith("HTTP/1.1 200 OK\n")  # (text mode: CRLF read as LF)
    etag = re.search(r"ETag: (\S+)", head).group(1)
    code = subprocess.run(
        [
            "curl",
            "-s",
            "-o",
            "/dev/null",
            "-w",
            "%{http_code}",
            "-H",
            f"If-None-Match: {etag}",
            server.url("/hello.txt"),
        ],
        capture_output=True,
        text=True,
        timeout=20,
    ).stdout
    assert code == "304"


# -- gunicorn's corpus over loopback ------------------------------------------------


@pytest.mark.parametrize(
    "kind, name, statuses",
    [
        ("valid", "018", [404, 404]),  # two pipelined GETs: the router answers both
        ("valid", "013", [405]),  # a chunked POST with extensions: read, then 405
        ("invalid", "rfc9112_smuggle_cl_te_chunked_01", [400]),
        ("invalid", "version_02", [505]),
        ("invalid", "chunked_01", [400]),
        ("invalid", "rfc9110_field_value_ctl_bel_01", [400]),
    ],
)
def test_corpus_requests_over_loopback(server, kind, name, statuses):
    rs = exchange(server, load_case(kind, name).data)
    assert [r.status for r in rs] == statuses


def test_the_whole_corpus_then_a_normal_request(server):
    refusals = {400, 413, 414, 431, 501, 505}
    for kind in ("invalid", "valid"):
        for name in names(kind):
            case = load_case(kind, name)
            with server.connect() as c:
                with contextlib.suppress(BrokenPipeError, ConnectionResetError):
                    c.sendall(case.data)
                    c.shutdown(socket.SHUT_WR)
                out = b""
                with contextlib.suppress(ConnectionResetError):
                    while chunk := c.recv(65536):
                        out += chunk
            rs = parse_responses(out, [False] * 4)
            if kind == "invalid" and rs:
                # a router answer (404/405) only for cases our defaults accept
                last = rs[-1].status
                assert last in refusals or name in _ACCEPTED_INVALID, (name, last)
    t0 = time.monotonic()
    (r,) = exchange(server, req("/hello.txt"))
    assert r.status == 200 and time.monotonic() - t0 < 1


_ACCEPTED_INVALID = {
    "006",
    "007",
    "008",
    "010",
    "011",
    "012",
    "017",
    "019",
    "040",
    "chunked_07",
    "limit_header_default_01",
}


# -- drain over loopback (run_server + the engine's stop) -----------------------------

DRAIN_SERVER = """
import signal, sys
import greeneio
from greeneio import Net, Promise, Signal, Switch, Time
from greeneio.serve import http

def main(env):
    stop, set_stop = Promise.create()
    with Switch() as sw:
        sock = Net.listen(env.net, Net.Sockaddr.Tcp(Net.Ipaddr.V4.loopback, 0), sw=sw,
                          backlog=64, reuse_addr=True)
        Signal.subscribe(env.signals, signal.SIGTERM,
                         lambda _: Promise.try_resolve(set_stop, None), sw=sw)
        print(Net.listening_addr(sock).port, flush=True)
        handler = http.make_handler(sys.argv[1], env.mono_clock, stop=stop)
        Net.run_server(sock, handler, on_error=print, stop=stop, grace=10)
    print("drained", flush=True)

greeneio.run(main)
"""


def test_sigterm_finishes_in_flight_requests_and_closes_idle_ones_at_once(tmp_path):
    (tmp_path / "f.txt").write_bytes(b"file\n")
    proc = subprocess.Popen(
        [sys.executable, "-c", DRAIN_SERVER, str(tmp_path)], stdout=subprocess.PIPE, text=True
    )
    try:
        assert proc.stdout is not None
        port = int(proc.stdout.readline())
        idle = socket.create_connection(("127.0.0.1", port), timeout=10)
        idle.sendall(req("/f.txt"))
        first = idle.recv(65536)
        assert first.startswith(b"HTTP/1.1 200 ") and b"Connection: close" not in first
        slow = socket.create_connection(("127.0.0.1", port), timeout=10)
        slow.sendall(req("/f.txt")[:-2])  # a head not finished yet: in flight
        time.sleep(0.2)
        t0 = time.monotonic()
        proc.send_signal(signal.SIGTERM)
        assert idle.recv(100) == b""  # the idle keep-alive connection: closed at once
        assert time.monotonic() - t0 < 1
        slow.sendall(b"\r\n")  # the in-flight request completes...
        reply = b""
        while chunk := slow.recv(65536):
            reply += chunk
        (r,) = parse_responses(reply)
        assert (r.status, r.body, r.closes) == (200, b"file\n", True)  # ...answered, close
        assert proc.stdout.readline() == "drained\n"
        assert proc.wait(timeout=10) == 0
        assert time.monotonic() - t0 < 2
        idle.close()
        slow.close()
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


# -- what the root holds besides plain files ----------------------------------------


def test_symlinks_are_served_only_while_they_stay_inside_the_root(tmp_path):
    root = tmp_path / "root"
    (root / "docs").mkdir(parents=True)
    (root / "docs" / "a.txt").write_bytes(b"inside\n")
    (tmp_path / "secret.txt").write_bytes(b"outside\n")
    (tmp_path / "outdir").mkdir()
    (tmp_path / "outdir" / "index.html").write_bytes(b"outside index\n")
    (root / "alias.txt").symlink_to(root / "docs" / "a.txt")  # inside: served
    (root / "linkdir").symlink_to(root / "docs")  # a directory link, inside
    (root / "leak.txt").symlink_to(tmp_path / "secret.txt")  # out: 404
    (root / "leakdir").symlink_to(tmp_path / "outdir")
    (root / "trap").mkdir()
    (root / "trap" / "index.html").symlink_to(tmp_path / "secret.txt")  # an index out
    os.mkfifo(root / "fifo")  # opened, it would block a reader: never served
    with running("--root", str(root)) as (proc, port):
        srv = Server(proc, port, root)
        got = {
            path: (r.status, r.body)
            for path in (
                "/alias.txt",
                "/linkdir/a.txt",
                "/leak.txt",
                "/leakdir/",
                "/trap/",
                "/fifo",
            )
            for (r,) in [exchange(srv, req(path))]
        }
        proc.send_signal(signal.SIGTERM)
        _, log = proc.communicate(timeout=20)
    assert got["/alias.txt"] == (200, b"inside\n")
    assert got["/linkdir/a.txt"] == (200, b"inside\n")
    for path in ("/leak.txt", "/leakdir/", "/trap/", "/fifo"):
        assert got[path][0] == 404 and b"outside" not in got[path][1], path
    assert proc.returncode == 0, log


def test_a_small_file_served_from_memory_is_checked_on_every_request(tmp_path):
    # The service keeps small files' bytes; each use is checked against the file
    # itself: rewritten (even to the same size), replaced by a link out of the
    # root, or removed, the next request sees it at once.
    root = tmp_path / "root"
    root.mkdir()
    page = root / "page.txt"
    page.write_bytes(b"version 1\n")
    (tmp_path / "secret.txt").write_bytes(b"outside\n")
    with running("--root", str(root)) as (proc, port):
        srv = Server(proc, port, root)

        def get() -> tuple[int, bytes]:
            (r,) = exchange(srv, req("/page.txt"))
            return r.status, r.body

        first = [get(), get()]  # read, then from memory
        page.write_bytes(b"version 2\n")  # the same size
        second = get()
        page.unlink()
        page.symlink_to(tmp_path / "secret.txt")
        third = get()
        page.unlink()
        fourth = get()
        proc.send_signal(signal.SIGTERM)
        _, log = proc.communicate(timeout=20)
    assert first == [(200, b"version 1\n")] * 2
    assert second == (200, b"version 2\n")
    assert third[0] == 404 and b"outside" not in third[1]
    assert fourth[0] == 404
    assert proc.returncode == 0, log
