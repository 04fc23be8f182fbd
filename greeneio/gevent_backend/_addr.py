"""Conversions between ``Net.Sockaddr`` values and the ``socket`` module's forms."""

from __future__ import annotations

import os
import socket
from typing import Any

from greeneio.net.ipaddr import Ipaddr
from greeneio.net.sockaddr import Tcp, Udp, Unix

__all__ = ["MAX_UNIX_PATH", "check_unix_path", "family_of", "from_os", "to_os"]

#: The longest Unix-domain path the kernel takes (sun_path is 108 bytes on Linux).
MAX_UNIX_PATH = 107


def family_of(addr: Tcp | Udp | Unix) -> int:
    if isinstance(addr, Unix):
        return socket.AF_UNIX
    return socket.AF_INET if len(addr.ip.raw) == 4 else socket.AF_INET6


def check_unix_path(path: str, name: str) -> None:
    """ValueError (naming the argument ``name``) unless ``path`` is a usable socket path."""
    if not path:
        raise ValueError(f"{name}: the Unix socket path must not be empty")
    n = len(os.fsencode(path))
    limit = MAX_UNIX_PATH + (1 if path.startswith("\0") else 0)
    if n > limit:
        raise ValueError(
            f"{name}: the Unix socket path is {n} bytes, longer than the OS allows "
            f"({limit}): {path!r}"
        )


def to_os(addr: Tcp | Udp | Unix) -> Any:
    """The address in the form ``socket.bind``/``connect``/``sendto`` take."""
    if isinstance(addr, Unix):
        check_unix_path(addr.path, "addr")
        return addr.path
    raw = addr.ip.raw
    if len(raw) == 4:
        return (socket.inet_ntop(socket.AF_INET, raw), addr.port)
    return (socket.inet_ntop(socket.AF_INET6, raw), addr.port, 0, 0)


def from_os(family: int, a: Any, datagram: bool = False) -> Tcp | Udp | Unix:
    """The ``Sockaddr`` for an address returned by ``accept``/``recvfrom``/``getsockname``."""
    if family == socket.AF_UNIX:
        return Unix(os.fsdecode(a) if isinstance(a, bytes) else (a or ""))
    host = a[0]
    ip = _IPS.get(host)
    if ip is None:
        text = host.split("%", 1)[0] if family == socket.AF_INET6 else host
        ip = Ipaddr(socket.inet_pton(family, text))
        if len(_IPS) >= 4096:
            _IPS.clear()
        _IPS[host] = ip
    # The OS gave a valid address: build it without the constructor's checks.
    addr: Tcp | Udp = Udp.__new__(Udp) if datagram else Tcp.__new__(Tcp)
    _set(addr, "ip", ip)
    _set(addr, "port", a[1])
    return addr


_set = object.__setattr__

# Peers repeat: keep the Ipaddr of recent host strings (accept's hot path).
_IPS: dict[str, Ipaddr] = {}
