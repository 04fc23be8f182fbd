"""Mock networks and listening sockets (Eio_mock.Net): scripted, traced.

Each operation traces what was asked (``mock-net: connect to tcp:...``) and
then takes the next configured action. A handler with no actions left fails
loudly (``RuntimeError``) instead of inventing a result.
"""

from __future__ import annotations

from typing import Any

from zope.interface import implementer

from greeneio._core.switch import Switch
from greeneio._core.trace import traceln
from greeneio._flows import Closeable
from greeneio._quote import pp_arg
from greeneio.interfaces import IClose, IListeningSocket, INetwork, ISocket
from greeneio.mock._action import Action, Handler
from greeneio.mock._sockopt import TracedOptions
from greeneio.net.ipaddr import Ipaddr
from greeneio.net.sockaddr import Tcp, UdpV4, UdpV6, Unix

__all__ = ["MockListeningSocket", "MockNetwork", "Net"]

_ANY_PORT = Tcp(Ipaddr.V4.any, 0)


def _close_with(sw: Switch, sock: Any) -> None:
    attach = getattr(sock, "attach_to_switch", None)
    if attach is not None:
        attach(sw)
    else:
        sw.on_release(sock.close)


@implementer(INetwork)
class MockNetwork:
    """A network whose every answer comes from its ``on_*`` action lists."""

    def __init__(self, label: str) -> None:
        self.label = label
        self.on_listen = Handler(f"{label}: listen", None)
        self.on_connect = Handler(f"{label}: connect", None)
        self.on_datagram_socket = Handler(f"{label}: datagram_socket", None)
        self.on_getaddrinfo = Handler(f"{label}: getaddrinfo", None)
        self.on_getnameinfo = Handler(f"{label}: getnameinfo", None)

    def listen(
        self, addr: Any, sw: Switch, backlog: int, reuse_addr: bool, reuse_port: bool
    ) -> Any:
        traceln("%s: listen on %s", self.label, addr)
        sock = self.on_listen.run()
        sw.on_release(sock.close)
        return sock

    def connect(self, addr: Any, sw: Switch, bind_to: Any, options: list[tuple[Any, Any]]) -> Any:
        bind = f" (bind to {bind_to})" if bind_to is not None else ""
        traceln("%s: connect to %s%s", self.label, addr, bind)
        sock = self.on_connect.run()
        _close_with(sw, sock)
        for opt, value in options:
            sock.setsockopt(opt, value)
        return sock

    def datagram_socket(self, addr: Any, sw: Switch, reuse_addr: bool, reuse_port: bool) -> Any:
        what = "UDPv4" if addr is UdpV4 else "UDPv6" if addr is UdpV6 else str(addr)
        traceln("%s: datagram_socket %s", self.label, what)
        sock = self.on_datagram_socket.run()
        _close_with(sw, sock)
        return sock

    def getaddrinfo(self, host: str, service: str) -> list[Any]:
        traceln("%s: getaddrinfo ~service:%s %s", self.label, pp_arg(service), pp_arg(host))
        return list(self.on_getaddrinfo.run())

    def getnameinfo(self, addr: Any) -> tuple[str, str]:
        traceln("%s: getnameinfo %s", self.label, addr)
        return self.on_getnameinfo.run()  # type: ignore[no-any-return]

    def __repr__(self) -> str:
        return f"<mock network {self.label}>"


@implementer(IListeningSocket, ISocket, IClose)
class MockListeningSocket(TracedOptions, Closeable):
    """A listening socket whose connections come from ``on_accept``."""

    def __init__(self, label: str, listening_addr: Tcp | Unix) -> None:
        self.label = label
        self._listening_addr = listening_addr
        self.on_accept = Handler(f"{label}: accept", None)

    def accept(self, sw: Switch) -> tuple[Any, Any]:
        flow, addr = self.on_accept.run()
        _close_with(sw, flow)
        traceln("%s: accepted connection from %s", self.label, addr)
        return flow, addr

    def listening_addr(self) -> Tcp | Unix:
        return self._listening_addr

    def close(self) -> None:
        traceln("%s: closed", self.label)

    def __repr__(self) -> str:
        return f"<mock listening socket {self.label}>"


def _label_arg(label: object, fn: str) -> str:
    if not isinstance(label, str):
        raise TypeError(f"mock.Net.{fn}: label must be a str, not {label!r}")
    return label


class Net:
    """Eio_mock.Net: ``make``, ``on_*`` scripts, ``listening_socket``, ``on_accept``."""

    @staticmethod
    def make(label: str) -> MockNetwork:
        """A mock network named ``label`` (traced as ``label: connect to ...``)."""
        return MockNetwork(_label_arg(label, "make"))

    @staticmethod
    def on_listen(net: MockNetwork, actions: list[Action]) -> None:
        """What each ``listen`` returns: listening sockets (e.g. ``listening_socket``)."""
        net.on_listen.seq(actions)

    @staticmethod
    def on_connect(net: MockNetwork, actions: list[Action]) -> None:
        """What each ``connect`` returns: flows (e.g. ``mock.Flow.make``)."""
        net.on_connect.seq(actions)

    @staticmethod
    def on_datagram_socket(net: MockNetwork, actions: list[Action]) -> None:
        """What each ``datagram_socket`` returns."""
        net.on_datagram_socket.seq(actions)

    @staticmethod
    def on_getaddrinfo(net: MockNetwork, actions: list[Action]) -> None:
        """What each ``getaddrinfo`` returns: lists of ``Sockaddr``."""
        net.on_getaddrinfo.seq(actions)

    @staticmethod
    def on_getnameinfo(net: MockNetwork, actions: list[Action]) -> None:
        """What each ``getnameinfo`` returns: ``(host, service)`` pairs."""
        net.on_getnameinfo.seq(actions)

    @staticmethod
    def listening_socket(label: str, listening_addr: Tcp | Unix = _ANY_PORT) -> MockListeningSocket:
        """A mock listening socket; its connections come from :meth:`on_accept`."""
        return MockListeningSocket(_label_arg(label, "listening_socket"), listening_addr)

    @staticmethod
    def on_accept(sock: MockListeningSocket, actions: list[Action]) -> None:
        """What each ``accept`` returns: ``(flow, client_addr)`` pairs."""
        sock.on_accept.seq(actions)
