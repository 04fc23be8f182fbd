"""``Net.Sockopt`` on real sockets: each option's level, number and encoding."""

from __future__ import annotations

import socket
import struct
import sys
from collections.abc import Callable
from typing import Any

from greeneio.gevent_backend._errors import translate
from greeneio.net.errors import InvalidOption
from greeneio.net.sockopt import Sockopt

__all__ = ["getsockopt", "setsockopt"]

_LINUX = sys.platform.startswith("linux")
_IP = socket.IPPROTO_IP
_TCP = socket.IPPROTO_TCP
_SOL = socket.SOL_SOCKET


def _const(name: str, linux_value: int) -> int | None:
    value = getattr(socket, name, None)
    if value is None and _LINUX:
        return linux_value
    return value


# name -> (level, optname); absent or None: unsupported on this platform.
_NUMBERS: dict[Sockopt, tuple[int, int | None]] = {
    Sockopt.SO_DEBUG: (_SOL, socket.SO_DEBUG),
    Sockopt.SO_BROADCAST: (_SOL, socket.SO_BROADCAST),
    Sockopt.SO_REUSEADDR: (_SOL, socket.SO_REUSEADDR),
    Sockopt.SO_KEEPALIVE: (_SOL, socket.SO_KEEPALIVE),
    Sockopt.SO_DONTROUTE: (_SOL, socket.SO_DONTROUTE),
    Sockopt.SO_OOBINLINE: (_SOL, socket.SO_OOBINLINE),
    Sockopt.TCP_NODELAY: (_TCP, socket.TCP_NODELAY),
    Sockopt.IPV6_ONLY: (socket.IPPROTO_IPV6, socket.IPV6_V6ONLY),
    Sockopt.SO_REUSEPORT: (_SOL, getattr(socket, "SO_REUSEPORT", None)),
    Sockopt.SO_SNDBUF: (_SOL, socket.SO_SNDBUF),
    Sockopt.SO_RCVBUF: (_SOL, socket.SO_RCVBUF),
    Sockopt.SO_RCVLOWAT: (_SOL, socket.SO_RCVLOWAT),
    Sockopt.SO_SNDLOWAT: (_SOL, socket.SO_SNDLOWAT),
    Sockopt.SO_LINGER: (_SOL, socket.SO_LINGER),
    Sockopt.SO_RCVTIMEO: (_SOL, socket.SO_RCVTIMEO),
    Sockopt.SO_SNDTIMEO: (_SOL, socket.SO_SNDTIMEO),
    Sockopt.TCP_CORK: (_TCP, _const("TCP_CORK", 3)),
    Sockopt.TCP_KEEPIDLE: (_TCP, _const("TCP_KEEPIDLE", 4)),
    Sockopt.TCP_KEEPINTVL: (_TCP, _const("TCP_KEEPINTVL", 5)),
    Sockopt.TCP_KEEPCNT: (_TCP, _const("TCP_KEEPCNT", 6)),
    Sockopt.TCP_USER_TIMEOUT: (_TCP, _const("TCP_USER_TIMEOUT", 18)),
    Sockopt.TCP_MAXSEG: (_TCP, _const("TCP_MAXSEG", 2)),
    Sockopt.TCP_LINGER2: (_TCP, _const("TCP_LINGER2", 8)),
    Sockopt.TCP_DEFER_ACCEPT: (_TCP, _const("TCP_DEFER_ACCEPT", 9)),
    Sockopt.TCP_CONGESTION: (_TCP, _const("TCP_CONGESTION", 13)),
    Sockopt.TCP_SYNCNT: (_TCP, _const("TCP_SYNCNT", 7)),
    Sockopt.TCP_WINDOW_CLAMP: (_TCP, _const("TCP_WINDOW_CLAMP", 10)),
    Sockopt.TCP_QUICKACK: (_TCP, _const("TCP_QUICKACK", 12)),
    Sockopt.TCP_FASTOPEN: (_TCP, _const("TCP_FASTOPEN", 23)),
    Sockopt.IP_FREEBIND: (_IP, _const("IP_FREEBIND", 15)),
    Sockopt.IP_BIND_ADDRESS_NO_PORT: (_IP, _const("IP_BIND_ADDRESS_NO_PORT", 24)),
    Sockopt.IP_LOCAL_PORT_RANGE: (_IP, _const("IP_LOCAL_PORT_RANGE", 51)),
    Sockopt.IP_TTL: (_IP, socket.IP_TTL),
    Sockopt.IP_MTU: (_IP, _const("IP_MTU", 14)),
    Sockopt.IP_MTU_DISCOVER: (_IP, _const("IP_MTU_DISCOVER", 10)),
}

_TIMEVAL = struct.Struct("@ll")
_LINGER = struct.Struct("@ii")
# Linux: IP_PMTUDISC_DONT=0, WANT=1, DO=2, PROBE=3.
_MTU = {"Dont": 0, "Want": 1, "Do": 2, "Probe": 3}
_MTU_NAMES = {n: name for name, n in _MTU.items()}


def _encode(opt: Sockopt, v: Any) -> int | bytes:
    kind = opt.kind
    if kind == "bool":
        return int(v)
    if kind == "int":
        return int(v)
    if kind == "optint":
        if opt is Sockopt.SO_LINGER:
            return _LINGER.pack(0, 0) if v is None else _LINGER.pack(1, v)
        return -1 if v is None else int(v)
    if kind == "float":
        sec = int(v)
        return _TIMEVAL.pack(sec, round((v - sec) * 1e6))
    if kind == "str":
        return str(v).encode()
    if kind == "pair":
        lo, hi = v
        return int(lo) | (int(hi) << 16)
    return _MTU[v]


def _decode(opt: Sockopt, get: Callable[[int], Any]) -> Any:
    kind = opt.kind
    if kind == "bool":
        return bool(get(0))
    if kind == "int":
        return int(get(0))
    if kind == "optint":
        if opt is Sockopt.SO_LINGER:
            on, secs = _LINGER.unpack(get(_LINGER.size))
            return secs if on else None
        n = int(get(0))
        return None if n < 0 else n
    if kind == "float":
        sec, usec = _TIMEVAL.unpack(get(_TIMEVAL.size))
        return sec + usec / 1e6
    if kind == "str":
        raw: bytes = get(64)
        return raw.split(b"\0", 1)[0].decode()
    if kind == "pair":
        n = int(get(0))
        return (n & 0xFFFF, n >> 16)
    n = int(get(0))
    return _MTU_NAMES.get(n, str(n))


def _number(opt: Sockopt) -> tuple[int, int]:
    level, name = _NUMBERS.get(opt, (0, None))
    if name is None:
        raise InvalidOption()
    return level, name


def setsockopt(sock: socket.socket, opt: Sockopt, value: Any) -> None:
    """Set ``opt`` on ``sock``; ``InvalidOption`` if the platform lacks it."""
    level, name = _number(opt)
    try:
        sock.setsockopt(level, name, _encode(opt, value))
    except OSError as e:
        raise translate(e) from e


def getsockopt(sock: socket.socket, opt: Sockopt) -> Any:
    """The value of ``opt`` on ``sock``, decoded to its Python type."""
    level, name = _number(opt)

    def get(buflen: int) -> Any:
        if buflen:
            return sock.getsockopt(level, name, buflen)
        return sock.getsockopt(level, name)

    try:
        return _decode(opt, get)
    except OSError as e:
        raise translate(e) from e
