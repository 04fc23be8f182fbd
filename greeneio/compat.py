"""Serving legacy code: stdlib ``socketserver`` request handlers on ``run_server``.

``serve_socketserver_handler(MyHandler)`` turns a
``socketserver.BaseRequestHandler`` subclass (``StreamRequestHandler`` too)
into a ``handler(flow, addr)`` for ``Net.run_server`` / ``Net.accept_fork`` /
``greeneio-serve app``. The handler gets ``self.request``, a cooperative
socket on the connection, so its blocking-style ``recv``/``sendall``/
``makefile`` calls wait on the hub whether or not gevent has monkey-patched
the stdlib. Cancellation reaches it like any fiber.
"""

from __future__ import annotations

import socketserver
from collections.abc import Callable
from typing import Any

from greeneio._run import patch_all
from greeneio.net._unix import fd, unix_provider
from greeneio.net.sockaddr import Tcp, Unix

__all__ = ["LegacyServer", "patch_all", "serve_socketserver_handler"]


class LegacyServer(socketserver.BaseServer):
    """What a request handler sees as ``self.server`` (it never listens itself)."""

    def __init__(self, handler_class: type[socketserver.BaseRequestHandler]) -> None:
        super().__init__(("", 0), handler_class)  # no address of its own

    def __repr__(self) -> str:
        return f"<greeneio LegacyServer for {self.RequestHandlerClass.__name__}>"


def _client_address(addr: object) -> Any:
    if isinstance(addr, Tcp):
        return (str(addr.ip), addr.port)
    if isinstance(addr, Unix):
        return addr.path
    return addr


def serve_socketserver_handler(
    handler_class: type[socketserver.BaseRequestHandler],
) -> Callable[[Any, Any], None]:
    """A ``handler(flow, addr)`` that runs ``handler_class`` for each connection.

    The handler's socket is a duplicate of the connection; it is closed when the
    handler finishes (``finish()`` has run), and the flow itself is closed by
    ``run_server`` as usual.
    """
    if not (
        isinstance(handler_class, type)
        and issubclass(handler_class, socketserver.BaseRequestHandler)
    ):
        raise TypeError(
            "serve_socketserver_handler: handler_class must be a "
            f"socketserver.BaseRequestHandler subclass, not {handler_class!r}"
        )
    server = LegacyServer(handler_class)

    def handler(flow: Any, addr: Any) -> None:
        sock = unix_provider("serve_socketserver_handler").legacy_socket(fd(flow))
        try:
            handler_class(sock, _client_address(addr), server)  # handle() runs in __init__
        finally:
            sock.close()

    return handler
