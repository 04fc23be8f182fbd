"""Legacy code under structured concurrency: a monkey-patched, stdlib-socket
handler served by greeneio fibers under one switch.

    python examples/legacy_handler.py [PORT] [CONNECTIONS]   (default 7002, serve forever)

The handler is ordinary blocking ``socket`` code. After
``gevent.monkey.patch_all()`` its ``recv``/``sendall`` cooperate with the hub,
so greeneio can run many of them and cancel them (Ctrl-C closes everything).
"""

from __future__ import annotations

from gevent import monkey

monkey.patch_all()

import contextlib  # noqa: E402
import socket  # noqa: E402  (patched)
import sys  # noqa: E402

from greeneio import Fiber, Switch, run, traceln  # noqa: E402


def legacy_handle(conn: socket.socket) -> None:
    """Old code: upper-cases each message until the client closes."""
    with conn:
        while data := conn.recv(4096):
            conn.sendall(b"LEGACY: " + data.upper())


def main(env, port: str = "7002", connections: str = "0") -> None:
    listener = socket.socket()
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind(("127.0.0.1", int(port)))
    listener.listen(64)
    traceln("legacy server on tcp:127.0.0.1:%d", listener.getsockname()[1])
    with Switch() as sw:
        sw.on_release(listener.close)
        served = 0
        while not int(connections) or served < int(connections):
            conn, _ = listener.accept()  # patched: waits cooperatively, cancellable
            Fiber.fork(legacy_handle, conn, sw=sw)
            served += 1


if __name__ == "__main__":
    with contextlib.suppress(KeyboardInterrupt):
        run(lambda env: main(env, *sys.argv[1:3]))
