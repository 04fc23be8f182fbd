"""greeneio-serve wsgi MODULE:APP: a real server process, real clients."""

from __future__ import annotations

import http.client
import re
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

pytestmark = pytest.mark.timeout(60)
LISTENING = re.compile(r"listening on tcp:127\.0\.0\.1:(\d+)")
EXAMPLES = Path(__file__).resolve().parent.parent.parent / "examples"

SLOW_APP = """
import time

def app(environ, start_response):
    time.sleep(0.3)  # blocking, as a requests-style call would be
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [b"slept"]
"""


def start(*args: str, cwd: Path | None = None) -> tuple[subprocess.Popen[str], int]:
    proc = subprocess.Popen(
        [sys.executable, "-m", "greeneio.serve", "wsgi", *args, "--listen", "tcp:127.0.0.1:0"],
        stderr=subprocess.PIPE, text=True, cwd=cwd,
    )  # fmt: skip
    assert proc.stderr is not None
    line = proc.stderr.readline()
    m = LISTENING.search(line)
    if not m:
        proc.kill()
        proc.wait()
        raise AssertionError(line + proc.stderr.read())
    return proc, int(m.group(1))


def get(port: int, path: str = "/") -> tuple[int, bytes]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        conn.request("GET", path)
        r = conn.getresponse()
        return r.status, r.read()
    finally:
        conn.close()


def stop(proc: subprocess.Popen[str]) -> tuple[int, str]:
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=20)
    return proc.returncode, err


def test_the_flask_example_is_served_with_an_access_log(tmp_path):
    log = tmp_path / "access.log"
    proc, port = start(f"{EXAMPLES / 'flask_app.py'}:app", "--access-log", str(log))
    try:
        status, body = get(port, "/")
        assert status == 200 and body
        assert get(port, "/no/such/page")[0] == 404
    finally:
        code, err = stop(proc)
    assert code == 0, err
    lines = log.read_text().splitlines()
    assert len(lines) == 2, lines
    assert re.match(r'127\.0\.0\.1 - - \[[^]]+\] "GET / HTTP/1\.1" 200 \d+$', lines[0]), lines
    assert '"GET /no/such/page HTTP/1.1" 404' in lines[1]


def test_patch_makes_blocking_apps_cooperative(tmp_path):
    (tmp_path / "slowapp.py").write_text(SLOW_APP)
    proc, port = start("slowapp:app", "--patch", "--access-log", "off", cwd=tmp_path)
    try:
        results: list[tuple[int, bytes]] = []
        threads = [threading.Thread(target=lambda: results.append(get(port))) for _ in range(10)]
        t0 = time.monotonic()
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=20)
        elapsed = time.monotonic() - t0
    finally:
        code, err = stop(proc)
    assert results == [(200, b"slept")] * 10
    assert elapsed < 1.5, f"10 requests of 0.3 s took {elapsed:.2f} s: not cooperative"
    assert code == 0, err


def test_a_bad_app_spec_is_one_line_and_exit_2():
    out = subprocess.run(
        [sys.executable, "-m", "greeneio.serve", "wsgi", "nosuchmodule:app"],
        capture_output=True, text=True, timeout=20,
    )  # fmt: skip
    assert out.returncode == 2
    assert out.stderr.count("\n") == 1 and "nosuchmodule" in out.stderr, out.stderr
