"""Monkey-patched blocking code inside a WSGI app is cooperative: with
``gevent.monkey.patch_all()`` first (what ``greeneio-serve wsgi --patch``
does before importing the app), ten concurrent requests whose app calls a
blocking ``time.sleep(0.3)`` (standing in for ``requests``-style code)
finish together, not one after the other. The server runs in a subprocess,
so the patching never reaches the other tests."""

from __future__ import annotations

import subprocess
import sys
import textwrap
import threading
import time

import pytest
from wsgi_harness import get

pytestmark = pytest.mark.timeout(60)

N = 10
SLEEP = 0.3

SERVER = textwrap.dedent(
    f"""
    from gevent import monkey; monkey.patch_all()
    import sys, time
    import greeneio
    from greeneio import Net, Promise, Switch, wsgi

    def main(env):
        stop, set_stop = Promise.create("stop")
        done = [0]

        def app(environ, start_response):
            time.sleep({SLEEP})  # blocking-looking, cooperative once patched
            done[0] += 1
            if done[0] == {N}:
                Promise.resolve(set_stop, None)  # drain: every answer still goes out
            start_response("200 OK", [("Content-Type", "text/plain")])
            return [b"slept"]

        with Switch() as sw:
            addr = Net.Sockaddr.Tcp(Net.Ipaddr.V4.loopback, 0)
            sock = Net.listen(env.net, addr, sw=sw, backlog=64)
            print(Net.listening_addr(sock).port, flush=True)
            handler = wsgi.handler(app, clock=env.mono_clock, stop=stop)
            Net.run_server(sock, handler, on_error=print, stop=stop, grace=10)
        print("drained", flush=True)

    greeneio.run(main)
    """
)


def test_patched_blocking_sleep_in_the_app_is_cooperative():
    proc = subprocess.Popen(
        [sys.executable, "-c", SERVER], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    try:
        assert proc.stdout is not None
        port = int(proc.stdout.readline())
        barrier = threading.Barrier(N + 1)
        results: list[tuple[int, bytes]] = []
        lock = threading.Lock()

        def client() -> None:
            barrier.wait(10)
            status, _, body = get(port, "/")
            with lock:
                results.append((status, body))

        threads = [threading.Thread(target=client) for _ in range(N)]
        for t in threads:
            t.start()
        barrier.wait(10)
        t0 = time.monotonic()
        for t in threads:
            t.join(20)
        elapsed = time.monotonic() - t0
        out, err = proc.communicate(timeout=20)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 0, err
    assert out.strip().endswith("drained")
    assert results == [(200, b"slept")] * N
    # Serial would be N * SLEEP = 3 s; together it is about one SLEEP.
    assert elapsed < N * SLEEP / 2, elapsed
