"""``Tls.client_of_flow``, ``Tls.server_of_flow`` and the info getters:
check the arguments, make the session, run the handshake, add context.

``ssl`` and the session code (``_flow``) are imported by the first call, not
by ``import greeneio``: see ``_errors``.
"""

from __future__ import annotations

import _socket
import contextlib
import socket
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from greeneio._core.args import bool_arg
from greeneio._core.cancel import Cancelled
from greeneio._core.exn import Io, add_context
from greeneio.interfaces import IFd, ISink, ISource

if TYPE_CHECKING:
    import ssl

    from greeneio.tls._flow import TlsFlow

__all__ = [
    "alpn_protocol",
    "cipher",
    "client_of_flow",
    "peer_certificate",
    "server_hostname",
    "server_of_flow",
    "start",
    "version",
]

# Default client contexts (ssl.create_default_context() loads the system's CA
# certificates: worth doing once), by ALPN list.
_DEFAULT_CONTEXTS: dict[tuple[str, ...], ssl.SSLContext] = {}


def _flow_arg(flow: object, fn: str) -> Any:
    if not (ISource.providedBy(flow) and ISink.providedBy(flow)):
        raise TypeError(
            f"{fn}: flow must be a two-way flow (provide ISource and ISink), not {flow!r}"
        )
    return flow


def _context_arg(context: object, fn: str) -> ssl.SSLContext:
    import ssl

    if not isinstance(context, ssl.SSLContext):
        raise TypeError(f"{fn}: context must be an ssl.SSLContext, not {context!r}")
    return context


def alpn_arg(alpn: object, fn: str) -> tuple[str, ...] | None:
    """``alpn`` (None, or a list of protocol names) as a tuple."""
    if alpn is None:
        return None
    if isinstance(alpn, str | bytes) or not isinstance(alpn, Sequence):
        raise TypeError(f"{fn}: alpn must be a list of protocol names, not {alpn!r}")
    for name in alpn:
        if not isinstance(name, str):
            raise TypeError(f"{fn}: alpn names must be str, not {name!r}")
        if not 0 < len(name.encode()) < 256:
            raise ValueError(f"{fn}: alpn names must be 1 to 255 bytes long, not {name!r}")
    return tuple(alpn)


def server_context_arg(context: object, alpn: tuple[str, ...] | None, fn: str) -> ssl.SSLContext:
    """``context`` checked for serving; ``alpn`` (if given) becomes its ALPN list."""
    import ssl

    ctx = _context_arg(context, fn)
    if ctx.protocol == ssl.PROTOCOL_TLS_CLIENT:
        raise ValueError(
            f"{fn}: context is a client context (PROTOCOL_TLS_CLIENT); "
            "a server needs ssl.create_default_context(ssl.Purpose.CLIENT_AUTH) or "
            "ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)"
        )
    if alpn is not None:
        ctx.set_alpn_protocols(list(alpn))
    return ctx


def _default_context(alpn: tuple[str, ...] | None) -> ssl.SSLContext:
    import ssl

    key = alpn or ()
    ctx = _DEFAULT_CONTEXTS.get(key)
    if ctx is None:
        ctx = ssl.create_default_context()
        if alpn:
            ctx.set_alpn_protocols(list(alpn))
        _DEFAULT_CONTEXTS[key] = ctx
    return ctx


def client_of_flow(
    flow: Any,
    *,
    host: str | None = None,
    context: ssl.SSLContext | None = None,
    alpn: Sequence[str] | None = None,
    allow_ragged_eof: bool = False,
) -> TlsFlow:
    """A TLS client session over ``flow`` (any two-way flow), handshake done.

    ``host`` is the name sent as SNI and checked against the server's
    certificate; ``context`` defaults to ``ssl.create_default_context()``
    (the system's CAs, host name checked: then ``host`` is required).
    ``alpn``: protocols to offer, e.g. ``["h2", "http/1.1"]`` (set on
    ``context`` when one is given). The returned flow owns ``flow``; if the
    handshake fails (or is cancelled), ``flow`` is closed. Raises
    ``Tls.CertificateError`` for a certificate the context does not accept,
    ``Tls.Error`` for other TLS failures, the flow's own errors as they are;
    each with the context ``TLS handshake with PEER``. Cancellable.
    """
    fn = "Tls.client_of_flow"
    flow = _flow_arg(flow, fn)
    if host is not None and not isinstance(host, str):
        raise TypeError(f"{fn}: host must be a str (a host name) or None, not {host!r}")
    if host == "":
        raise ValueError(f"{fn}: host must not be empty")
    names = alpn_arg(alpn, fn)
    bool_arg(allow_ragged_eof, fn, "allow_ragged_eof")
    if context is None:
        ctx = _default_context(names)
    else:
        ctx = _context_arg(context, fn)
        if names is not None:
            ctx.set_alpn_protocols(list(names))
    if ctx.check_hostname and host is None:
        raise ValueError(f"{fn}: host is required: the context checks the server's host name")
    return start(flow, ctx, False, host, allow_ragged_eof, None)


def server_of_flow(
    flow: Any,
    *,
    context: ssl.SSLContext,
    alpn: Sequence[str] | None = None,
    allow_ragged_eof: bool = False,
) -> TlsFlow:
    """A TLS server session over ``flow`` (any two-way flow), handshake done.

    ``context`` holds the certificate and key (``load_cert_chain``), and says
    whether clients must present certificates (``verify_mode``). ``alpn``:
    the protocols to choose from, in preference order (set on ``context``).
    Ownership, errors and cancellation as for :func:`client_of_flow`.
    """
    fn = "Tls.server_of_flow"
    flow = _flow_arg(flow, fn)
    ctx = server_context_arg(context, alpn_arg(alpn, fn), fn)
    bool_arg(allow_ragged_eof, fn, "allow_ragged_eof")
    return start(flow, ctx, True, None, allow_ragged_eof, None)


def start(
    flow: Any,
    context: ssl.SSLContext,
    server_side: bool,
    host: str | None,
    allow_ragged_eof: bool,
    peer: object,
) -> TlsFlow:
    """Make the session and run the handshake (arguments already checked).

    ``peer`` (an address, or None: asked of the flow when needed) names the
    other end in error context. On any failure ``flow`` is closed.
    """
    import ssl

    from greeneio.tls import _errors, _flow

    named = str(peer) if peer is not None else None
    try:
        t = _flow.TlsFlow(flow, context, server_side, host, allow_ragged_eof, named)
        t.handshake()
    except Exception as e:
        where = named if named is not None else _describe_peer(flow, host)
        _close_quietly(flow)
        err: Exception = e
        if isinstance(e, ssl.SSLError) and not isinstance(e, Io):  # OpenSSL's, not ours
            err = _errors.of_ssl_error(e)
        add_context(err, f"TLS handshake with {where}")
        if err is e:
            raise
        raise err from e
    except BaseException:  # Cancelled (a timeout), KeyboardInterrupt...: as they are
        _close_quietly(flow)
        raise
    return t


def _close_quietly(flow: Any) -> None:
    close = getattr(flow, "close", None)
    if close is not None:
        with contextlib.suppress(Exception, Cancelled):
            close()


def _describe_peer(flow: Any, host: str | None) -> str:
    """The other end of ``flow`` as messages name it: its address if the flow
    is a socket that knows it, else ``host``, else the flow itself."""
    from greeneio.tls import _flow

    if isinstance(flow, _flow.TlsFlow):
        inner = _flow.peer(flow)
        if inner is not None:
            return inner
    addr = _socket_peer(flow) if IFd.providedBy(flow) else None
    if addr is not None:
        return addr
    if host is not None:
        return f'"{host}"'
    return repr(flow)


def _socket_peer(flow: Any) -> str | None:
    """The peer address of a socket flow (asked of the OS through its fd)."""
    from greeneio.net.ipaddr import Ipaddr
    from greeneio.net.sockaddr import Tcp, Unix

    try:
        view = _socket.socket(fileno=flow.fileno())  # the C type: never monkey-patched
    except (OSError, ValueError):
        return None
    try:
        family = view.family
        name = view.getpeername()
    except OSError:
        return None
    finally:
        view.detach()
    if family in (socket.AF_INET, socket.AF_INET6):
        host = name[0].partition("%")[0]
        return str(Tcp(Ipaddr.parse(host), name[1]))
    if family == socket.AF_UNIX and name:
        path = name if isinstance(name, str) else name.decode(errors="replace")
        return str(Unix(path))
    return None


# -- info getters --------------------------------------------------------------------


def _session(t: object, fn: str) -> ssl.SSLObject:
    from greeneio.tls import _flow

    if not isinstance(t, _flow.TlsFlow):
        raise TypeError(f"{fn}: t must be a TLS flow (from Tls.client_of_flow...), not {t!r}")
    return _flow.ssl_object(t)


def alpn_protocol(t: TlsFlow) -> str | None:
    """The protocol ALPN chose (e.g. ``"h2"``), or None if none was agreed."""
    return _session(t, "Tls.alpn_protocol").selected_alpn_protocol()


def version(t: TlsFlow) -> str | None:
    """The protocol version in use, e.g. ``"TLSv1.3"``."""
    return _session(t, "Tls.version").version()


def cipher(t: TlsFlow) -> tuple[str, str, int] | None:
    """``(cipher name, protocol, secret bits)`` of the session."""
    return _session(t, "Tls.cipher").cipher()


def peer_certificate(t: TlsFlow, binary_form: bool = False) -> Any:
    """The peer's certificate: a dict as ``ssl.SSLSocket.getpeercert`` gives it
    (empty if it was not verified), DER ``bytes`` with ``binary_form=True``,
    or None if the peer sent none."""
    session = _session(t, "Tls.peer_certificate")
    bool_arg(binary_form, "Tls.peer_certificate", "binary_form")
    return session.getpeercert(binary_form)


def server_hostname(t: TlsFlow) -> str | None:
    """The host name a client asked for (SNI, and checked); None on a server."""
    return _session(t, "Tls.server_hostname").server_hostname
