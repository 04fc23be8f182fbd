"""The user-facing ``Net`` calls: validate the arguments, call the provider,
add context to its errors. Nothing else lives here.

Providers are any objects that provide the ``greeneio.interfaces`` Net
interfaces (the gevent backend's ``env.net``, ``greeneio.mock``'s mocks, or a
third party's). Errors that are ``Exn.Io`` gain one context line per call,
e.g. ``connecting to tcp:127.0.0.1:80``.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Iterable
from typing import Any, Literal, TypeGuard, TypeVar, overload

from greeneio._core import _greenlet
from greeneio._core import fiber as Fiber
from greeneio._core.args import (
    bool_arg,
    bufs_arg,
    callable_arg,
    instance_arg,
    int_arg,
    writable_buf_arg,
)
from greeneio._core.exn import Io, add_context
from greeneio._core.switch import Switch
from greeneio._flows import Buffer
from greeneio.interfaces import (
    IClose,
    IDatagramSocket,
    IListeningSocket,
    INetwork,
    ISocket,
)
from greeneio.net import sockopt as _sockopt
from greeneio.net.errors import AddressLookupFailed
from greeneio.net.sockaddr import Tcp, Udp, UdpV4, UdpV6, Unix, _UdpAny
from greeneio.net.sockopt import Sockopt
from greeneio.protocols import (
    Close,
    DatagramSocket,
    ListeningSocket,
    Network,
    Socket,
    SockoptValue,
    StreamSocket,
)

T = TypeVar("T")
A = TypeVar("A", bound=Tcp | Udp | Unix)

__all__ = [
    "accept",
    "accept_fork",
    "accept_sub",
    "close",
    "connect",
    "datagram_socket",
    "getaddrinfo",
    "getaddrinfo_datagram",
    "getaddrinfo_stream",
    "getnameinfo",
    "getsockopt",
    "listen",
    "listening_addr",
    "recv",
    "send",
    "setsockopt",
]

#: What ``accept_fork`` and ``run_server`` call for each connection: ``handler(flow, addr)``.
Handler = Callable[[StreamSocket, Tcp | Unix], object]


# -- argument checks --------------------------------------------------------


def _net_arg(net: Network, fn: str) -> Network:
    if not INetwork.providedBy(net):
        raise TypeError(f"Net.{fn}: net must be a network (env.net; provide INetwork), not {net!r}")
    return net


def _stream_addr(addr: object, fn: str, name: str = "addr") -> Tcp | Unix:
    if isinstance(addr, Tcp | Unix):
        if isinstance(addr, Unix) and not addr.path:
            raise ValueError(f"Net.{fn}: {name} must not be the empty Unix path")
        return addr
    raise TypeError(
        f"Net.{fn}: {name} must be a stream address (Sockaddr.Tcp or Sockaddr.Unix), not {addr!r}"
    )


def _listening_arg(sock: ListeningSocket, fn: str) -> ListeningSocket:
    if not IListeningSocket.providedBy(sock):
        raise TypeError(f"Net.{fn}: expected a listening socket (from Net.listen), not {sock!r}")
    return sock


def _options_arg(options: object, fn: str) -> list[tuple[Sockopt, Any]]:
    if isinstance(options, str | bytes) or not isinstance(options, Iterable):
        raise TypeError(
            f"Net.{fn}: options must be a list of (Sockopt, value) pairs, not {options!r}"
        )
    out = []
    for item in options:
        if not (isinstance(item, tuple) and len(item) == 2):
            raise TypeError(f"Net.{fn}: each option must be a (Sockopt, value) pair, not {item!r}")
        opt = _sockopt.lookup(item[0], f"Net.{fn}")
        out.append((opt, _sockopt.check_value(opt, item[1], f"Net.{fn}")))
    return out


def _check_cancelled() -> None:
    _greenlet.current().cc.check()


# -- streams ----------------------------------------------------------------


def connect(
    net: Network,
    addr: Tcp | Unix,
    *,
    sw: Switch,
    bind_to: Tcp | Unix | None = None,
    options: Iterable[tuple[Sockopt | str, SockoptValue]] = (),
) -> StreamSocket:
    """A stream socket connected to ``addr``, closed when ``sw`` finishes.

    ``bind_to`` sets the local address first; ``options`` are set in order
    before connecting. Blocks until connected; cancellable (a cancelled
    connect leaves nothing open). Raises ``Net.Refused``, ``Fs.NotFound``
    (missing Unix path), ... with context ``connecting to ADDR``.
    """
    net = _net_arg(net, "connect")
    addr = _stream_addr(addr, "connect")
    sw = instance_arg(sw, Switch, "Net.connect", "sw", "a Switch")
    if bind_to is not None:
        bind_to = _stream_addr(bind_to, "connect", "bind_to")
    opts = _options_arg(options, "connect")
    _check_cancelled()
    try:
        return net.connect(addr, sw, bind_to, opts)
    except Io as e:
        add_context(e, f"connecting to {addr}")
        raise


def listen(
    net: Network,
    addr: Tcp | Unix,
    *,
    sw: Switch,
    backlog: int,
    reuse_addr: bool = False,
    reuse_port: bool = False,
) -> ListeningSocket:
    """A socket listening on ``addr`` with queue length ``backlog`` (>= 1), closed
    when ``sw`` finishes.

    Port 0 picks a free port (see :func:`listening_addr`). A Unix path is
    removed when the socket closes; with ``reuse_addr`` a stale socket file
    there is removed first (any other file: ``Fs.AlreadyExists``).
    """
    net = _net_arg(net, "listen")
    if isinstance(addr, Udp):
        raise TypeError(
            f"Net.listen: addr must be a stream address (Tcp or Unix), not the UDP address {addr}; "
            "use Net.datagram_socket for UDP"
        )
    addr = _stream_addr(addr, "listen")
    sw = instance_arg(sw, Switch, "Net.listen", "sw", "a Switch")
    int_arg(backlog, "Net.listen", "backlog", min=1)
    reuse_addr = bool_arg(reuse_addr, "Net.listen", "reuse_addr")
    reuse_port = bool_arg(reuse_port, "Net.listen", "reuse_port")
    try:
        return net.listen(addr, sw, backlog, reuse_addr, reuse_port)
    except Io as e:
        add_context(e, f"listening on {addr}")
        raise


def accept(listening: ListeningSocket, *, sw: Switch) -> tuple[StreamSocket, Tcp | Unix]:
    """Block until a client connects; return ``(flow, client_addr)``.

    The flow is closed when ``sw`` finishes, if not before. Cancellable.
    """
    listening = _listening_arg(listening, "accept")
    sw = instance_arg(sw, Switch, "Net.accept", "sw", "a Switch")
    try:
        return listening.accept(sw)
    except Io as e:
        add_context(e, "accepting connection")
        raise


def accept_fork(
    listening: ListeningSocket,
    handler: Handler,
    *,
    sw: Switch,
    on_error: Callable[[BaseException], object],
) -> None:
    """Accept one connection and run ``handler(flow, addr)`` in a new fiber on ``sw``.

    Blocks only until a connection is accepted. The flow is closed when the
    handler returns or fails, or at once if the fiber cannot start. A
    handler's exception (never ``Cancelled``) goes to ``on_error``, with
    context ``handling connection from ADDR`` if it is an ``Exn.Io``.
    """
    listening = _listening_arg(listening, "accept_fork")
    callable_arg(handler, "Net.accept_fork", "handler")
    callable_arg(on_error, "Net.accept_fork", "on_error")
    sw = instance_arg(sw, Switch, "Net.accept_fork", "sw", "a Switch")
    _accept_fork_unchecked(listening, handler, sw, on_error)


def _accept_fork_unchecked(
    listening: ListeningSocket,
    handler: Handler,
    sw: Switch,
    on_error: Callable[[BaseException], object],
) -> None:
    """:func:`accept_fork` with its arguments already checked (run_server's loop)."""
    try:
        flow, addr = listening.accept(sw)
    except Io as e:
        add_context(e, "accepting connection")
        raise
    served = _Served(flow, addr, handler, on_error)
    try:
        # A bound method, not the object itself: a Python-level __call__ would
        # leave a C eval frame on the idle fiber's stack (copied at each switch).
        Fiber._fork_unchecked(served.run, sw)
    finally:
        if not served.started:
            flow.close()


class _Served:
    """The body of an accepted connection's fiber: ``handler(flow, addr)``, then
    the flow closed; a handler's exception (never ``Cancelled``) to ``on_error``.
    One object, not a closure: an idle connection keeps it as long as it lives."""

    __slots__ = ("addr", "flow", "handler", "on_error", "started")

    def __init__(
        self,
        flow: StreamSocket,
        addr: Tcp | Unix,
        handler: Handler,
        on_error: Callable[[BaseException], object],
    ) -> None:
        self.flow = flow
        self.addr = addr
        self.handler = handler
        self.on_error = on_error
        self.started = False  # False: the fiber never ran, the caller closes the flow

    def run(self) -> None:
        self.started = True
        flow = self.flow
        try:
            self.handler(flow, self.addr)
        except Exception as e:
            flow.close()
            self.on_error(add_context(e, f"handling connection from {self.addr}"))
            return
        except BaseException:  # Cancelled, KeyboardInterrupt...: never on_error's
            flow.close()
            raise
        flow.close()


def accept_sub(
    listening: ListeningSocket,
    handler: Handler,
    *,
    sw: Switch,
    on_error: Callable[[BaseException], object],
) -> None:
    """Deprecated: use :func:`accept_fork` (same arguments)."""
    warnings.warn(
        "Net.accept_sub is deprecated: use Net.accept_fork", DeprecationWarning, stacklevel=2
    )
    accept_fork(listening, handler, sw=sw, on_error=on_error)


def listening_addr(listening: ListeningSocket) -> Tcp | Unix:
    """The address ``listening`` accepts on, with the real port if 0 was asked for."""
    listening = _listening_arg(listening, "listening_addr")
    return listening.listening_addr()


# -- datagrams ---------------------------------------------------------------


def datagram_socket(
    net: Network,
    addr: Udp | Unix | _UdpAny,
    *,
    sw: Switch,
    reuse_addr: bool = False,
    reuse_port: bool = False,
) -> DatagramSocket:
    """A datagram socket bound to ``addr`` (``Sockaddr.Udp``/``Unix``), or on an
    OS-chosen address (``Sockaddr.UdpV4``/``UdpV6``); closed when ``sw`` finishes."""
    net = _net_arg(net, "datagram_socket")
    if not (isinstance(addr, Udp | Unix) or addr is UdpV4 or addr is UdpV6):
        raise TypeError(
            "Net.datagram_socket: addr must be Sockaddr.Udp, Sockaddr.Unix, "
            f"Sockaddr.UdpV4 or Sockaddr.UdpV6, not {addr!r}"
        )
    if isinstance(addr, Unix) and not addr.path:
        raise ValueError("Net.datagram_socket: addr must not be the empty Unix path")
    sw = instance_arg(sw, Switch, "Net.datagram_socket", "sw", "a Switch")
    reuse_addr = bool_arg(reuse_addr, "Net.datagram_socket", "reuse_addr")
    reuse_port = bool_arg(reuse_port, "Net.datagram_socket", "reuse_port")
    try:
        return net.datagram_socket(addr, sw, reuse_addr, reuse_port)
    except Io as e:
        add_context(e, f"creating datagram socket on {addr}")
        raise


def _dgram_arg(sock: DatagramSocket, fn: str) -> DatagramSocket:
    if not IDatagramSocket.providedBy(sock):
        raise TypeError(f"Net.{fn}: sock must be a datagram socket, not {sock!r}")
    return sock


def send(
    sock: DatagramSocket, bufs: Buffer | Iterable[Buffer], *, dst: Udp | Unix | None = None
) -> None:
    """Send ``bufs`` (one bytes-like, or a list gathered into one datagram) to
    ``dst`` (None: the connected peer). Blocks until queued; cancellable."""
    sock = _dgram_arg(sock, "send")
    items = bufs_arg(bufs, "Net.send")
    if dst is not None and not isinstance(dst, Udp | Unix):
        raise TypeError(f"Net.send: dst must be Sockaddr.Udp, Sockaddr.Unix or None, not {dst!r}")
    _check_cancelled()
    try:
        sock.send(items, dst)
    except Io as e:
        add_context(e, f"sending to {dst}" if dst is not None else "sending")
        raise


def recv(sock: DatagramSocket, buf: Buffer) -> tuple[Udp | Unix, int]:
    """Block until a datagram arrives; copy it into ``buf`` (truncating) and
    return ``(sender, length)``. Cancellable."""
    sock = _dgram_arg(sock, "recv")
    view = writable_buf_arg(buf, "Net.recv")
    _check_cancelled()
    try:
        return sock.recv(view)
    except Io as e:
        add_context(e, "receiving datagram")
        raise


# -- names ---------------------------------------------------------------------


def _host_arg(host: object, service: object, fn: str) -> None:
    if not isinstance(host, str):
        raise TypeError(f"Net.{fn}: host must be a str, not {host!r}")
    if not isinstance(service, str):
        raise TypeError(f'Net.{fn}: service must be a str (e.g. "http" or "80"), not {service!r}')


def _any_addr(a: Tcp | Udp | Unix) -> TypeGuard[Tcp | Udp | Unix]:
    return True


def _stream_addr_kind(a: Tcp | Udp | Unix) -> TypeGuard[Tcp | Unix]:
    return isinstance(a, Tcp | Unix)


def _datagram_addr_kind(a: Tcp | Udp | Unix) -> TypeGuard[Udp | Unix]:
    return isinstance(a, Udp | Unix)


def _lookup(
    net: Network,
    host: str,
    service: str,
    keep: Callable[[Tcp | Udp | Unix], TypeGuard[A]],
    fn: str,
) -> list[A]:
    net = _net_arg(net, fn)
    _host_arg(host, service, fn)
    try:
        found = [a for a in net.getaddrinfo(host, service) if keep(a)]
        if not found:
            raise AddressLookupFailed("NONAME")
        return found
    except Io as e:
        where = (
            f"looking up {host!r}" if not service else f"looking up {host!r} (service {service!r})"
        )
        add_context(e, where.replace("'", '"'))
        raise


def getaddrinfo(net: Network, host: str, *, service: str = "") -> list[Tcp | Udp | Unix]:
    """The addresses ``host`` (and ``service``) name. Never empty: raises
    ``Net.AddressLookupFailed`` (with ``.code``) instead. Blocks; cancellable."""
    return _lookup(net, host, service, _any_addr, "getaddrinfo")


def getaddrinfo_stream(net: Network, host: str, *, service: str = "") -> list[Tcp | Unix]:
    """Like :func:`getaddrinfo`, keeping only stream (TCP, Unix) addresses."""
    return _lookup(net, host, service, _stream_addr_kind, "getaddrinfo_stream")


def getaddrinfo_datagram(net: Network, host: str, *, service: str = "") -> list[Udp | Unix]:
    """Like :func:`getaddrinfo`, keeping only datagram (UDP, Unix) addresses."""
    return _lookup(net, host, service, _datagram_addr_kind, "getaddrinfo_datagram")


def getnameinfo(net: Network, sockaddr: Tcp | Udp | Unix) -> tuple[str, str]:
    """``(host, service)`` names for ``sockaddr``. Blocks; cancellable."""
    net = _net_arg(net, "getnameinfo")
    if not isinstance(sockaddr, Tcp | Udp | Unix):
        raise TypeError(f"Net.getnameinfo: sockaddr must be a Sockaddr, not {sockaddr!r}")
    try:
        return net.getnameinfo(sockaddr)
    except Io as e:
        add_context(e, f"looking up name of {sockaddr}")
        raise


# -- options and closing ---------------------------------------------------------


def _socket_arg(sock: Socket, fn: str) -> Socket:
    if not ISocket.providedBy(sock):
        raise TypeError(f"Net.{fn}: sock must be a socket (provide ISocket), not {sock!r}")
    return sock


# The options by value type (``opt.kind``), for getsockopt's overloads
# (tests/test_typing.py checks them against the Sockopt table).
_BoolOpt = Literal[
    Sockopt.SO_DEBUG,
    Sockopt.SO_BROADCAST,
    Sockopt.SO_REUSEADDR,
    Sockopt.SO_KEEPALIVE,
    Sockopt.SO_DONTROUTE,
    Sockopt.SO_OOBINLINE,
    Sockopt.TCP_NODELAY,
    Sockopt.IPV6_ONLY,
    Sockopt.SO_REUSEPORT,
    Sockopt.TCP_CORK,
    Sockopt.TCP_QUICKACK,
    Sockopt.IP_FREEBIND,
    Sockopt.IP_BIND_ADDRESS_NO_PORT,
]
_IntOpt = Literal[
    Sockopt.SO_SNDBUF,
    Sockopt.SO_RCVBUF,
    Sockopt.SO_RCVLOWAT,
    Sockopt.SO_SNDLOWAT,
    Sockopt.TCP_KEEPIDLE,
    Sockopt.TCP_KEEPINTVL,
    Sockopt.TCP_KEEPCNT,
    Sockopt.TCP_USER_TIMEOUT,
    Sockopt.TCP_MAXSEG,
    Sockopt.TCP_DEFER_ACCEPT,
    Sockopt.TCP_SYNCNT,
    Sockopt.TCP_WINDOW_CLAMP,
    Sockopt.TCP_FASTOPEN,
    Sockopt.IP_TTL,
    Sockopt.IP_MTU,
]
_OptIntOpt = Literal[Sockopt.SO_LINGER, Sockopt.TCP_LINGER2]
_FloatOpt = Literal[Sockopt.SO_RCVTIMEO, Sockopt.SO_SNDTIMEO]
_StrOpt = Literal[Sockopt.TCP_CONGESTION, Sockopt.IP_MTU_DISCOVER]
_PairOpt = Literal[Sockopt.IP_LOCAL_PORT_RANGE]


def setsockopt(sock: Socket, opt: Sockopt | str, value: SockoptValue) -> None:
    """Set socket option ``opt`` (a ``Net.Sockopt`` or its name) to ``value``
    (of the type of the option's ``kind``, see ``Net.Sockopt``).

    ``TypeError`` if ``value`` has the wrong type; ``Net.InvalidOption`` if the
    socket or platform does not support ``opt``.
    """
    sock = _socket_arg(sock, "setsockopt")
    try:
        o = _sockopt.lookup(opt, "Net.setsockopt")
    except Io as e:
        add_context(e, f"setting socket option {opt}")
        raise
    value = _sockopt.check_value(o, value, "Net.setsockopt")
    try:
        sock.setsockopt(o, value)
    except Io as e:
        add_context(e, f"setting socket option {_sockopt.pp_binding(o, value)}")
        raise


@overload
def getsockopt(sock: Socket, opt: _BoolOpt) -> bool: ...
@overload
def getsockopt(sock: Socket, opt: _IntOpt) -> int: ...
@overload
def getsockopt(sock: Socket, opt: _OptIntOpt) -> int | None: ...
@overload
def getsockopt(sock: Socket, opt: _FloatOpt) -> float: ...
@overload
def getsockopt(sock: Socket, opt: _StrOpt) -> str: ...
@overload
def getsockopt(sock: Socket, opt: _PairOpt) -> tuple[int, int]: ...
@overload
def getsockopt(sock: Socket, opt: Sockopt | str) -> SockoptValue: ...
def getsockopt(sock: Socket, opt: Sockopt | str) -> SockoptValue:
    """The value of socket option ``opt``, in the type of its ``kind`` (the
    overloads say which: ``Sockopt.SO_RCVBUF`` gives an int, ``SO_LINGER`` an
    int or None ...); ``Net.InvalidOption`` if unsupported."""
    sock = _socket_arg(sock, "getsockopt")
    try:
        return sock.getsockopt(_sockopt.lookup(opt, "Net.getsockopt"))
    except Io as e:
        add_context(e, f"getting socket option {opt}")
        raise


def close(x: Close) -> None:
    """Close a socket (or any closeable resource) now. Closing twice does nothing."""
    if not IClose.providedBy(x):
        raise TypeError(f"Net.close: expected a socket (provide IClose), not {x!r}")
    x.close()
