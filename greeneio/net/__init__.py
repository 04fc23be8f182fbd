"""Networking (Eio's ``Net``): addresses, sockets, servers, name lookup.

``Ipaddr`` and ``Sockaddr`` are immutable values. The calls (``connect``,
``listen``, ``run_server``...) take a provider (``env.net``, a socket) and
add context to its errors. ``import_socket_*``, ``socketpair_*`` and ``fd``
are Eio_unix's interop with ``socket.socket`` (on backends with OS sockets).
"""

from greeneio.net import sockaddr as Sockaddr
from greeneio.net._api import (
    accept,
    accept_fork,
    accept_sub,
    close,
    connect,
    datagram_socket,
    getaddrinfo,
    getaddrinfo_datagram,
    getaddrinfo_stream,
    getnameinfo,
    getsockopt,
    listen,
    listening_addr,
    recv,
    send,
    setsockopt,
)
from greeneio.net._connect import with_tcp_connect
from greeneio.net._fdpass import recv_msg_with_fds, send_msg
from greeneio.net._server import ServerStats, run_server
from greeneio.net._unix import (
    fd,
    import_socket_datagram,
    import_socket_listening,
    import_socket_stream,
    socketpair_datagram,
    socketpair_stream,
)
from greeneio.net.errors import (
    AddressLookupFailed,
    ConnectionFailure,
    ConnectionReset,
    ConnectionTimeout,
    Error,
    InvalidOption,
    NoMatchingAddresses,
    Refused,
)
from greeneio.net.ipaddr import Ipaddr
from greeneio.net.sockopt import Sockopt

__all__ = (
    "AddressLookupFailed",
    "ConnectionFailure",
    "ConnectionReset",
    "ConnectionTimeout",
    "Error",
    "InvalidOption",
    "Ipaddr",
    "NoMatchingAddresses",
    "Refused",
    "ServerStats",
    "Sockaddr",
    "Sockopt",
    "accept",
    "accept_fork",
    "accept_sub",
    "close",
    "connect",
    "datagram_socket",
    "fd",
    "getaddrinfo",
    "getaddrinfo_datagram",
    "getaddrinfo_stream",
    "getnameinfo",
    "getsockopt",
    "import_socket_datagram",
    "import_socket_listening",
    "import_socket_stream",
    "listen",
    "listening_addr",
    "recv",
    "recv_msg_with_fds",
    "run_server",
    "send",
    "send_msg",
    "setsockopt",
    "socketpair_datagram",
    "socketpair_stream",
    "with_tcp_connect",
)
