"""``Tls.handler``: TLS for a ``run_server`` connection handler.

The handshake runs in the connection's fiber, bounded by
``handshake_timeout`` on the scheduler's clock (as ``run_server``'s grace
is): a client that never finishes it costs one fiber for that long, no more.
A failure is raised out of the handler, so ``run_server`` hands it to
``on_error`` (with the client's address) and goes on serving.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from greeneio import time as Time
from greeneio._core import _greenlet
from greeneio._core.args import bool_arg, callable_arg, seconds_arg
from greeneio._core.exn import add_context
from greeneio.interfaces import ISocket
from greeneio.tls import _api

if TYPE_CHECKING:
    import ssl

    from greeneio.tls._flow import TlsFlow

__all__ = ["handler"]


def handler(
    handler: Callable[[TlsFlow, Any], object],
    *,
    context: ssl.SSLContext,
    handshake_timeout: float | None = 30.0,
    alpn: Sequence[str] | None = None,
    allow_ragged_eof: bool = False,
) -> Callable[[Any, Any], None]:
    """A ``run_server`` handler that does the TLS server handshake on each
    connection, then calls ``handler(tls_flow, addr)``.

    ``context`` is a server context (certificate and key loaded); ``alpn``
    the protocols to choose from (set on ``context``). A handshake that takes
    longer than ``handshake_timeout`` seconds (None: no limit) raises
    ``Time.Timeout``; it and every other handshake failure (``Tls.Error``,
    ``Tls.CertificateError``, the socket's errors) carry the context
    ``TLS handshake with ADDR`` and go to ``run_server``'s ``on_error``.
    When ``handler`` returns or fails, the TLS flow is closed (close_notify,
    best effort, then the connection). ``allow_ragged_eof`` is passed on to
    each flow: allow it for protocols that frame their own messages (HTTP).
    On TCP, ``TCP_NODELAY`` is set: TLS already sends whole records, and
    Nagle's algorithm would hold the end of a response back until the
    client's delayed ACK.
    """
    fn = "Tls.handler"
    callable_arg(handler, fn, "handler")
    names = _api.alpn_arg(alpn, fn)
    ctx = _api.server_context_arg(context, names, fn)
    timeout = None
    if handshake_timeout is not None:
        timeout = seconds_arg(handshake_timeout, fn, "handshake_timeout", min=0)
    bool_arg(allow_ragged_eof, fn, "allow_ragged_eof")
    inner = handler

    def tls_handler(flow: Any, addr: Any) -> None:
        if ISocket.providedBy(flow):
            _nodelay(flow)

        def handshake() -> TlsFlow:
            return _api.start(flow, ctx, True, None, allow_ragged_eof, addr)

        if timeout is None:
            t = handshake()
        else:
            try:
                t = Time.with_timeout(_greenlet.current().sched.clock, timeout, handshake)
            except Time.Timeout:  # the flow is closed already (start closes it)
                e = Time.Timeout(f"TLS handshake not done within {timeout:g}s")
                raise add_context(e, f"TLS handshake with {addr}") from None
        with t:
            inner(t, addr)

    return tls_handler


def _nodelay(sock: Any) -> None:
    """Set ``TCP_NODELAY`` on ``sock`` if it is a TCP socket."""
    from greeneio.net import _api as _net
    from greeneio.net.errors import InvalidOption
    from greeneio.net.sockopt import Sockopt

    with contextlib.suppress(InvalidOption, OSError):  # not TCP (a Unix socket)
        _net.setsockopt(sock, Sockopt.TCP_NODELAY, True)
