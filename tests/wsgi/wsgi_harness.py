"""Serving a WSGI app over loopback for a test: ``greeneio.run`` with
``Net.run_server`` and ``wsgi.handler`` in this thread, the client in a
plain thread (blocking sockets, ``http.client``).

The client thread holds one end of a socket pair; the server side waits for
its EOF (the client is done), then resolves ``stop``, so the server drains
and ``greeneio.run`` returns: no polling, no sleeps.
"""

from __future__ import annotations

import contextlib
import http.client
import logging
import socket
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import greeneio
from greeneio import Fiber, Flow, Net, Promise, Switch, wsgi


@dataclass
class Served:
    """What a run left: the client's result, run_server's errors, log records."""

    result: Any = None
    also: Any = None
    errors: list[BaseException] = field(default_factory=list)
    records: list[logging.LogRecord] = field(default_factory=list)
    env: dict[str, Any] = field(default_factory=dict)


class _Keep(logging.Handler):
    def __init__(self, records: list[logging.LogRecord]) -> None:
        super().__init__(logging.DEBUG)
        self.records = records

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


def serve(
    app: Any,
    client: Callable[[int], Any],
    *,
    on_env: Callable[[Any], None] | None = None,
    also: Callable[[Any], Any] | None = None,
    wrap: Callable[[Any, Any], Any] | None = None,
    **kw: Any,
) -> Served:
    """Serve ``app`` (``wsgi.handler(app, **kw)``) on 127.0.0.1, run
    ``client(port)`` in a thread, and return once it is done and the server
    has drained. ``on_env(env)`` runs first; ``also(env)`` in a fiber beside
    the server (its result is ``also``); ``wrap(env, stop)``, if given, makes
    the handler instead of ``wsgi.handler`` (``Tls.handler``, ``make_handler``).
    A client exception is raised here."""
    served = Served()
    log = logging.Logger("test-wsgi", logging.DEBUG)
    log.addHandler(_Keep(served.records))
    kw.setdefault("log", log)
    failure: list[BaseException] = []

    def main(env: Any) -> None:
        served.env["env"] = env
        if on_env is not None:
            on_env(env)
        with Switch() as sw:
            sock = Net.listen(
                env.net, Net.Sockaddr.Tcp(Net.Ipaddr.V4.loopback, 0), sw=sw, backlog=64
            )
            port = Net.listening_addr(sock).port
            mine, theirs = socket.socketpair()
            done = Net.import_socket_stream(mine, sw=sw)
            stop, set_stop = Promise.create("stop")

            def run_client() -> None:
                try:
                    served.result = client(port)
                except BaseException as e:
                    failure.append(e)
                finally:
                    theirs.close()

            thread = threading.Thread(target=run_client, daemon=True)
            thread.start()

            def await_client() -> None:
                with contextlib.suppress(EOFError):
                    Flow.single_read(done, memoryview(bytearray(1)))
                Promise.resolve(set_stop, None)

            Fiber.fork(await_client, sw=sw)
            if also is not None:

                def run_also() -> None:
                    served.also = also(env)

                Fiber.fork(run_also, sw=sw)
            if wrap is None:
                handler = wsgi.handler(app, clock=env.mono_clock, stop=stop, **kw)
            else:
                handler = wrap(env, stop)
            Net.run_server(sock, handler, on_error=served.errors.append, stop=stop, grace=5)
        thread.join(10)

    greeneio.run(main)
    if failure:
        raise failure[0]
    return served


def get(
    port: int, path: str = "/", method: str = "GET", body: Any = None, headers: Any = None
) -> tuple[int, dict[str, str], bytes]:
    """One request on a new connection: (status, headers, body)."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        headers = headers or {}
        chunked = headers.get("Transfer-Encoding") == "chunked"
        conn.request(method, path, body=body, headers=headers, encode_chunked=chunked)
        r = conn.getresponse()
        return r.status, dict(r.getheaders()), r.read()
    finally:
        conn.close()


def raw(port: int, data: bytes) -> bytes:
    """Send ``data``, half-close, read everything the server sends."""
    with socket.create_connection(("127.0.0.1", port), timeout=10) as c:
        c.sendall(data)
        c.shutdown(socket.SHUT_WR)
        out = b""
        while chunk := c.recv(65536):
            out += chunk
        return out


def responses(data: bytes, head: bool = False) -> list[tuple[int, dict[str, str], bytes]]:
    """Split what a server sent into (status, headers, body) per response
    (Content-Length, chunked, or until the end; ``head``: none has a body)."""
    out = []
    while data:
        top, sep, data = data.partition(b"\r\n\r\n")
        assert sep, top
        lines = top.decode("latin-1").split("\r\n")
        status = int(lines[0].split()[1])
        headers = dict(line.split(": ", 1) for line in lines[1:])
        if head or status in (100, 204, 304):
            body = b""
        elif "Content-Length" in headers:
            n = int(headers["Content-Length"])
            body, data = data[:n], data[n:]
        elif headers.get("Transfer-Encoding") == "chunked":
            body = b""
            while True:
                size, _, data = data.partition(b"\r\n")
                n = int(size, 16)
                if n == 0:
                    data = data[2:]
                    break
                body, data = body + data[:n], data[n + 2 :]
        else:
            body, data = data, b""
        out.append((status, headers, body))
    return out
