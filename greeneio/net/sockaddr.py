"""Socket addresses (Eio's ``Net.Sockaddr``): ``Tcp``, ``Udp``, ``Unix`` values.

They print as ``tcp:127.0.0.1:8080``, ``tcp:[::1]:8080``, ``udp:…`` and
``unix:PATH``, and :func:`parse` reads that form back. ``UdpV4`` and
``UdpV6`` are values meaning "an OS-chosen address of that family" for
``datagram_socket``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from greeneio.net.ipaddr import Ipaddr

__all__ = ["Stream", "Tcp", "Udp", "UdpV4", "UdpV6", "Unix", "parse"]


def _check_ip_port(kind: str, ip: object, port: object) -> None:
    if not isinstance(ip, Ipaddr):
        raise TypeError(
            f"Sockaddr.{kind}: ip must be an Ipaddr (e.g. Ipaddr.V4.loopback), not {ip!r}"
        )
    if isinstance(port, bool) or not isinstance(port, int):
        raise TypeError(f"Sockaddr.{kind}: port must be an int, not {port!r}")
    if not 0 <= port <= 65535:
        raise ValueError(f"Sockaddr.{kind}: port must be 0-65535, not {port}")


def _host(ip: Ipaddr) -> str:
    return str(ip) if ip.is_v4 else f"[{ip}]"


@dataclass(frozen=True, slots=True)
class Tcp:
    """A TCP address: ``Tcp(Ipaddr.V4.loopback, 8080)``."""

    ip: Ipaddr
    port: int

    def __post_init__(self) -> None:
        _check_ip_port("Tcp", self.ip, self.port)

    def __str__(self) -> str:
        return f"tcp:{_host(self.ip)}:{self.port}"


@dataclass(frozen=True, slots=True)
class Udp:
    """A UDP address: ``Udp(Ipaddr.V6.loopback, 5353)``."""

    ip: Ipaddr
    port: int

    def __post_init__(self) -> None:
        _check_ip_port("Udp", self.ip, self.port)

    def __str__(self) -> str:
        return f"udp:{_host(self.ip)}:{self.port}"


@dataclass(frozen=True, slots=True)
class Unix:
    """A Unix-domain socket path; a leading NUL makes it abstract (Linux).

    The empty path is the address of an unnamed socket (e.g. an accepted client);
    it cannot be listened on or connected to.
    """

    path: str

    def __post_init__(self) -> None:
        if not isinstance(self.path, str):
            raise TypeError(f"Sockaddr.Unix: path must be a str, not {self.path!r}")

    @property
    def is_abstract(self) -> bool:
        return self.path.startswith("\0")

    def __str__(self) -> str:
        return f"unix:{self.path}"


@dataclass(frozen=True, slots=True)
class _UdpAny:
    family: int

    def __str__(self) -> str:
        return f"udp:v{self.family}"

    def __repr__(self) -> str:
        return f"Sockaddr.UdpV{self.family}"


#: An OS-chosen IPv4 UDP address, for ``datagram_socket``.
UdpV4: Final = _UdpAny(4)
#: An OS-chosen IPv6 UDP address, for ``datagram_socket``.
UdpV6: Final = _UdpAny(6)

#: The addresses a stream socket can have.
Stream = Tcp | Unix


def parse(text: str) -> Tcp | Udp | Unix:
    """Read back what ``str()`` prints: ``tcp:HOST:PORT``, ``udp:HOST:PORT``
    (IPv6 hosts in brackets), or ``unix:PATH``. ``ValueError`` naming the text
    otherwise; host names are not looked up (use ``Net.getaddrinfo``)."""
    if not isinstance(text, str):
        raise TypeError(f"Sockaddr.parse: text must be a str, not {text!r}")
    scheme, sep, rest = text.partition(":")
    if not sep:
        raise ValueError(
            f"Sockaddr.parse: expected tcp:HOST:PORT, udp:HOST:PORT or unix:PATH, not {text!r}"
        )
    if scheme == "unix":
        if not rest:
            raise ValueError(f"Sockaddr.parse: empty Unix path in {text!r}")
        return Unix(rest)
    if scheme not in ("tcp", "udp"):
        raise ValueError(
            f"Sockaddr.parse: unknown scheme {scheme!r} in {text!r} (tcp, udp or unix)"
        )
    host, sep, port_text = rest.rpartition(":")
    if not sep or not host:
        raise ValueError(f"Sockaddr.parse: expected {scheme}:HOST:PORT, not {text!r}")
    if ":" in host and not (host.startswith("[") and host.endswith("]")):
        raise ValueError(
            f"Sockaddr.parse: IPv6 hosts need brackets, e.g. {scheme}:[::1]:80, not {text!r}"
        )
    if not port_text.isdigit() or not port_text.isascii():
        raise ValueError(f"Sockaddr.parse: port must be a number 0-65535 in {text!r}")
    port = int(port_text)
    if port > 65535:
        raise ValueError(f"Sockaddr.parse: port must be 0-65535, not {port} in {text!r}")
    try:
        ip = Ipaddr.parse(host)
    except ValueError:
        raise ValueError(f"Sockaddr.parse: {host!r} is not an IP address in {text!r}") from None
    return Tcp(ip, port) if scheme == "tcp" else Udp(ip, port)
