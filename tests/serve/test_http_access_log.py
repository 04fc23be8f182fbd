"""The static service's access log (issue 18): ``http.make_handler(...,
access_log=wsgi.AccessLog(...))`` in process, and ``greeneio-serve http
--access-log -|FILE|off`` as a real server process; one common-log-format
line per response, refused requests included."""

from __future__ import annotations

import contextlib
import http.client
import io
import re
import signal
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from greeneio import wsgi
from greeneio.mock import Clock
from greeneio.serve import http as static
from greeneio.serve._options import parse
from greeneio.serve.http import HELLO
from tests.wsgi.wsgi_harness import get, raw
from tests.wsgi.wsgi_harness import serve as serve_on_loopback

pytestmark = pytest.mark.timeout(60)

LISTENING = re.compile(r"listening on tcp:127\.0\.0\.1:(\d+)")
CLF = re.compile(
    r'^(\S+) - - \[(\d\d/[A-Z][a-z]{2}/\d{4}:\d\d:\d\d:\d\d \+0000)\] "([^"]*)" (\d{3}) (\d+|-)$'
)
NOT_FOUND = b"Not Found\n"
MALFORMED = b"GET / HTTP/1.1\r\nHost: x\r\nno colon here\r\n\r\n"


def rows(text: str) -> list[tuple[str, str, str, str]]:
    """(client, request line, status, size) of each line; every line must be CLF."""
    out = []
    for line in text.splitlines():
        m = CLF.match(line)
        assert m, line
        out.append((m[1], m[3], m[4], m[5]))
    return out


def serve_in_process(client: Callable[[int], Any], access_log: wsgi.AccessLog) -> list[Any]:
    """``make_handler(None, ..., access_log=access_log)`` under ``run_server``
    on 127.0.0.1:0; ``client(port)`` runs in a thread, and its end (EOF on a
    socket pair) resolves ``stop``, so the run drains and returns: no sleeps.
    run_server's errors are returned; a client exception is raised here."""
    served = serve_on_loopback(
        None,
        client,
        wrap=lambda env, stop: static.make_handler(
            None, env.mono_clock, stop=stop, access_log=access_log
        ),
    )
    return served.errors


def request(port: int, method: str, path: str) -> tuple[int, bytes]:
    status, _headers, body = get(port, path, method)
    return status, body


# -- in process ----------------------------------------------------------------


def test_make_handler_logs_a_line_per_response_refusals_included():
    stream = io.StringIO()
    answers: list[Any] = []

    def client(port: int) -> None:
        answers.append(request(port, "GET", "/"))
        answers.append(request(port, "GET", "/missing?x=1"))
        answers.append(raw(port, MALFORMED))

    errors = serve_in_process(client, wsgi.AccessLog(stream))
    assert answers[:2] == [(200, HELLO), (404, NOT_FOUND)]
    assert answers[2].startswith(b"HTTP/1.1 400 "), answers[2]
    assert errors == []
    assert rows(stream.getvalue()) == [
        ("127.0.0.1", "GET / HTTP/1.1", "200", str(len(HELLO))),
        ("127.0.0.1", "GET /missing?x=1 HTTP/1.1", "404", str(len(NOT_FOUND))),
        ("127.0.0.1", "-", "400", "-"),  # a head the engine refused: still a line
    ]


def test_make_handler_refuses_an_access_log_of_another_type():
    with pytest.raises(TypeError, match="access_log must be a wsgi.AccessLog"):
        static.make_handler(None, Clock(), access_log=io.StringIO())  # type: ignore[arg-type]


# -- greeneio-serve http --access-log -------------------------------------------


@contextlib.contextmanager
def running(*args: str, cwd: Path | None = None) -> Iterator[tuple[subprocess.Popen[str], int]]:
    """``greeneio-serve http ARGS`` on a free port, once it says it listens."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "greeneio.serve", "http", "--listen", "tcp:127.0.0.1:0", *args],
        stderr=subprocess.PIPE, text=True, cwd=cwd,
    )  # fmt: skip
    try:
        assert proc.stderr is not None
        first = proc.stderr.readline()
        m = LISTENING.search(first)
        assert m, first + proc.stderr.read()
        yield proc, int(m.group(1))
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def stop(proc: subprocess.Popen[str]) -> tuple[int, str]:
    """SIGTERM, then the exit status and the rest of stderr."""
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=20)
    return proc.returncode, err


#: (method, path, status, the size the log gives) of the hello-page service's answers.
EXPECTED = [
    ("GET", "/", 200, str(len(HELLO))),
    ("GET", "/no/such/page", 404, str(len(NOT_FOUND))),
    ("HEAD", "/", 200, "-"),
    ("OPTIONS", "/", 204, "-"),
    ("POST", "/", 405, str(len(b"Method Not Allowed\n"))),
]


def keep_alive_requests(port: int) -> None:
    """EXPECTED's requests on one keep-alive connection, and once more each on
    a connection of its own."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        for method, path, status, _ in EXPECTED:
            conn.request(method, path)
            r = conn.getresponse()
            r.read()
            assert r.status == status, (method, path, r.status)
    finally:
        conn.close()
    for method, path, status, _ in EXPECTED:
        assert request(port, method, path)[0] == status


def test_cli_access_log_file_gets_a_line_per_request_and_sigterm_exits_0(tmp_path: Path):
    log = tmp_path / "access.log"
    with running("--access-log", str(log)) as (proc, port):
        keep_alive_requests(port)
        code, err = stop(proc)
    assert code == 0, err
    expected = [
        ("127.0.0.1", f"{method} {path} HTTP/1.1", str(status), size)
        for method, path, status, size in EXPECTED
    ]
    assert rows(log.read_text()) == expected * 2
    assert not CLF.search(err), err  # the lines went to the file only


def test_cli_access_log_dash_is_stderr():
    with running("--access-log", "-") as (proc, port):
        assert request(port, "GET", "/")[0] == 200
        code, err = stop(proc)
    assert code == 0, err
    lines = [line for line in err.splitlines() if CLF.match(line)]
    assert rows("\n".join(lines)) == [("127.0.0.1", "GET / HTTP/1.1", "200", str(len(HELLO)))]


def test_cli_access_log_counts_the_bytes_of_files_sent_by_sendfile(tmp_path: Path):
    site = tmp_path / "site"
    site.mkdir()
    (site / "big.bin").write_bytes(bytes(range(256)) * 1024)  # 256 KiB: by sendfile
    log = tmp_path / "access.log"
    with running("--root", str(site), "--access-log", str(log)) as (proc, port):
        assert request(port, "GET", "/big.bin") == (200, bytes(range(256)) * 1024)
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        try:
            conn.request("GET", "/big.bin", headers={"Range": "bytes=100-"})
            r = conn.getresponse()
            assert (r.status, len(r.read())) == (206, 262044)
        finally:
            conn.close()
        code, err = stop(proc)
    assert code == 0, err
    assert rows(log.read_text()) == [
        ("127.0.0.1", "GET /big.bin HTTP/1.1", "200", "262144"),
        ("127.0.0.1", "GET /big.bin HTTP/1.1", "206", "262044"),
    ]


@pytest.mark.parametrize("args", [["--access-log", "off"], []], ids=["off", "default"])
def test_cli_access_log_off_writes_nothing(tmp_path: Path, args: list[str]):
    with running(*args, cwd=tmp_path) as (proc, port):
        keep_alive_requests(port)
        code, err = stop(proc)
    assert code == 0, err
    assert not [line for line in err.splitlines() if CLF.match(line)], err
    assert list(tmp_path.iterdir()) == []  # "off" is no file name


@pytest.mark.parametrize("service, default", [("http", "off"), ("wsgi", "- for stderr")])
def test_help_shows_access_log_and_its_default(capsys, service: str, default: str):
    with pytest.raises(SystemExit) as info:
        parse([service, "--help"])
    assert info.value.code == 0
    text = " ".join(capsys.readouterr().out.split())
    assert "--access-log -|FILE|off" in text and f"(default: {default})" in text, text
    assert parse([service] + (["m:app"] if service == "wsgi" else [])).access_log == (
        "off" if service == "http" else "-"
    )


def test_cli_access_log_in_a_missing_directory_is_a_usage_error(tmp_path: Path):
    target = tmp_path / "no" / "such" / "dir" / "access.log"
    out = subprocess.run(
        [sys.executable, "-m", "greeneio.serve", "http", "--listen", "tcp:127.0.0.1:0",
         "--access-log", str(target)],
        capture_output=True, text=True, timeout=20,
    )  # fmt: skip
    assert out.returncode == 2, out.stderr
    assert out.stderr.count("\n") == 1, out.stderr
    assert f"--access-log {target}: " in out.stderr, out.stderr
    assert list(tmp_path.iterdir()) == []
