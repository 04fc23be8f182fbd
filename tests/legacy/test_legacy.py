"""Legacy, monkey-patched code inside greeneio. Each scenario runs in a
subprocess, so that patching never leaks into other tests."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest

pytestmark = pytest.mark.timeout(60)

PATCH_BEFORE = "from gevent import monkey; monkey.patch_all()\nimport greeneio\n"
PATCH_AFTER = "import greeneio\nfrom gevent import monkey; monkey.patch_all()\n"


def run_script(body: str, prelude: str) -> list[str]:
    code = prelude + textwrap.dedent(body)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=50)
    assert out.returncode == 0, out.stderr
    return out.stdout.splitlines()


URLOPEN_TIMEOUT = """
import os, socket, time, gc, urllib.request
from greeneio import Switch, Time

def fds():
    return len(os.listdir("/proc/self/fd"))

def main(env):
    silent = socket.socket()            # accepts (in the kernel) but never answers
    silent.bind(("127.0.0.1", 0))
    silent.listen(8)
    url = "http://127.0.0.1:%d/" % silent.getsockname()[1]
    before = fds()
    t0 = time.monotonic()
    try:
        Time.with_timeout(env.mono_clock, 0.2, lambda: urllib.request.urlopen(url))
        print("answered?!")
    except Time.Timeout:
        print("Time.Timeout within 0.5 s:", time.monotonic() - t0 < 0.5)
    gc.collect()
    print("fds unchanged", fds() == before)
    silent.close()

greeneio.run(main)
"""


@pytest.mark.parametrize("prelude", [PATCH_BEFORE, PATCH_AFTER], ids=["before", "after"])
def test_urlopen_on_a_silent_server_is_cancelled_by_with_timeout(prelude):
    assert run_script(URLOPEN_TIMEOUT, prelude) == [
        "Time.Timeout within 0.5 s: True",
        "fds unchanged True",
    ]


CONCURRENT_LEGACY = """
import socket, threading, time
from greeneio import Fiber, Switch

DELAY = 0.3

def slow_server(listener):
    # A plain stdlib (patched) server: answers each client after DELAY.
    def serve(conn):
        with conn:
            conn.recv(100)
            time.sleep(DELAY)
            conn.sendall(b"late answer")
    while True:
        conn, _ = listener.accept()
        Fiber.fork(serve, conn, sw=server_sw)

def client(port):
    with socket.create_connection(("127.0.0.1", port)) as s:  # legacy blocking style
        s.sendall(b"question")
        return s.recv(100)

def main(env):
    global server_sw
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(8)
    port = listener.getsockname()[1]
    with Switch() as server_sw:
        server_sw.on_release(listener.close)
        Fiber.fork_daemon(slow_server, listener, sw=server_sw)
        t0 = time.monotonic()
        a, b = Fiber.pair(lambda: client(port), lambda: client(port))
        took = time.monotonic() - t0
    print(a, b)
    print("concurrent", DELAY <= took < 1.7 * DELAY)

greeneio.run(main)
"""


@pytest.mark.parametrize("prelude", [PATCH_BEFORE, PATCH_AFTER], ids=["before", "after"])
def test_two_legacy_clients_run_concurrently(prelude):
    assert run_script(CONCURRENT_LEGACY, prelude) == [
        "b'late answer' b'late answer'",
        "concurrent True",
    ]


SOCKETSERVER_ECHO = """
import socket, socketserver
from greeneio import Fiber, Flow, Net, Promise, Switch
from greeneio.compat import serve_socketserver_handler

class Echo(socketserver.StreamRequestHandler):
    def handle(self):
        for line in self.rfile:
            self.wfile.write(b"echo: " + line)

def main(env):
    with Switch() as sw:
        server = Net.listen(env.net, Net.Sockaddr.parse("tcp:127.0.0.1:0"), sw=sw, backlog=16)
        addr = Net.listening_addr(server)
        stop, set_stop = Promise.create()
        active, peak = [0], [0]
        legacy = serve_socketserver_handler(Echo)

        def counted(flow, a):
            active[0] += 1
            peak[0] = max(peak[0], active[0])
            try:
                legacy(flow, a)
            finally:
                active[0] -= 1

        served = Fiber.fork_promise(
            lambda: Net.run_server(server, counted, on_error=print, max_connections=3, stop=stop),
            sw=sw,
        )

        def client(i):
            with Switch() as csw:
                c = Net.connect(env.net, addr, sw=csw)
                Flow.copy_string("line %d\\n" % i, c)
                Flow.shutdown(c, "send")
                return Flow.read_all(c)

        replies = Fiber.List.map(client, range(20), max_fibers=10)
        Promise.resolve(set_stop, "stopped")
        expected = [b"echo: line %d\\n" % i for i in range(20)]
        print(served.await_(), replies == expected, peak[0] <= 3)

greeneio.run(main)
"""


@pytest.mark.parametrize(
    "prelude",
    [PATCH_BEFORE, PATCH_AFTER, "import greeneio\n"],
    ids=["before", "after", "unpatched"],
)
def test_socketserver_handler_through_the_adapter(prelude):
    assert run_script(SOCKETSERVER_ECHO, prelude) == ["stopped True True"]


UNPATCHED_BLOCKING = """
import time
from greeneio import Fiber

def main(env):
    t0 = time.monotonic()
    Fiber.both(lambda: time.sleep(0.2), lambda: time.sleep(0.2))  # real, blocking sleeps
    print("serialised", time.monotonic() - t0 >= 0.4)
    t0 = time.monotonic()
    from greeneio import Time
    Fiber.both(lambda: Time.sleep(env.mono_clock, 0.2), lambda: Time.sleep(env.mono_clock, 0.2))
    print("greeneio sleeps overlap", time.monotonic() - t0 < 0.35)

greeneio.run(main)
"""


def test_without_patching_legacy_calls_block_as_in_plain_python():
    assert run_script(UNPATCHED_BLOCKING, "import greeneio\n") == [
        "serialised True",
        "greeneio sleeps overlap True",
    ]


def test_greeneio_does_not_patch_anything_on_import():
    code = (
        "import socket, time, greeneio, greeneio.serve.__main__, greeneio.compat\n"
        "from gevent import monkey\n"
        "print(monkey.is_anything_patched(), socket.socket.__module__, time.sleep.__module__)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=20)
    assert out.stdout.split() == ["False", "socket", "time"]


def test_greeneio_serve_app_serves_a_socketserver_handler(tmp_path):
    import re
    import signal
    import socket

    (tmp_path / "legacyapp.py").write_text(
        "import socketserver\n"
        "class Upper(socketserver.BaseRequestHandler):\n"
        "    def handle(self):\n"
        "        self.request.sendall(self.request.recv(100).upper())\n"
    )
    proc = subprocess.Popen(
        [sys.executable, "-m", "greeneio.serve", "app", "legacyapp:Upper", "--listen",
         "tcp:127.0.0.1:0"],
        cwd=tmp_path, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        assert proc.stderr is not None
        port = int(re.search(r":(\d+)$", proc.stderr.readline().strip()).group(1))  # type: ignore[union-attr]
        with socket.create_connection(("127.0.0.1", port), timeout=10) as c:
            c.sendall(b"quiet please")
            assert c.recv(100) == b"QUIET PLEASE"
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=10) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
