"""IP addresses (Eio's ``Net.Ipaddr``): 4 or 16 raw bytes, immutable and hashable.

``str()`` prints IPv4 dotted-quad and IPv6 per RFC 5952 (lower case, longest
run of zero groups compressed, IPv4-mapped addresses as ``::ffff:a.b.c.d``).
"""

from __future__ import annotations

import ipaddress
from collections.abc import Callable
from dataclasses import dataclass
from typing import ClassVar, TypeVar

T = TypeVar("T")

__all__ = ["Ipaddr"]

_V4_MAPPED_PREFIX = b"\x00" * 10 + b"\xff\xff"


@dataclass(frozen=True, slots=True)
class Ipaddr:
    """An IPv4 (4 bytes) or IPv6 (16 bytes) address. Use ``Ipaddr.parse`` or
    ``Ipaddr.of_raw`` to make one; ``bytes(ip)`` gives the raw bytes back."""

    raw: bytes

    V4: ClassVar[type[_V4]]
    V6: ClassVar[type[_V6]]

    def __post_init__(self) -> None:
        if not isinstance(self.raw, bytes):
            raise TypeError(f"Ipaddr: raw must be bytes, not {type(self.raw).__name__}")
        if len(self.raw) not in (4, 16):
            raise ValueError(
                "Ipaddr: raw must be 4 (IPv4) or 16 (IPv6) bytes, "
                f"not {len(self.raw)}: {self.raw!r}"
            )

    @staticmethod
    def of_raw(b: bytes | bytearray | memoryview) -> Ipaddr:
        """The address whose raw bytes are ``b``; ``ValueError`` unless 4 or 16 bytes."""
        if not isinstance(b, bytes | bytearray | memoryview):
            raise TypeError(f"Ipaddr.of_raw: b must be bytes, not {b!r}")
        return Ipaddr(bytes(b))

    @staticmethod
    def parse(text: str) -> Ipaddr:
        """Parse ``"127.0.0.1"`` or ``"::1"`` (brackets allowed); ``ValueError`` otherwise."""
        if not isinstance(text, str):
            raise TypeError(f"Ipaddr.parse: text must be a str, not {text!r}")
        t = text[1:-1] if text.startswith("[") and text.endswith("]") else text
        try:
            return Ipaddr(ipaddress.ip_address(t).packed)
        except ValueError:
            raise ValueError(f"Ipaddr.parse: not an IPv4 or IPv6 address: {text!r}") from None

    @staticmethod
    def of_ipaddress(x: ipaddress.IPv4Address | ipaddress.IPv6Address) -> Ipaddr:
        """From an ``ipaddress.IPv4Address`` or ``IPv6Address``."""
        if not isinstance(x, ipaddress.IPv4Address | ipaddress.IPv6Address):
            raise TypeError(f"Ipaddr.of_ipaddress: x must be an ipaddress address, not {x!r}")
        return Ipaddr(x.packed)

    def to_ipaddress(self) -> ipaddress.IPv4Address | ipaddress.IPv6Address:
        return ipaddress.ip_address(self.raw)

    @property
    def is_v4(self) -> bool:
        return len(self.raw) == 4

    @property
    def is_v6(self) -> bool:
        return len(self.raw) == 16

    def fold(self, *, v4: Callable[[Ipaddr], T], v6: Callable[[Ipaddr], T]) -> T:
        """``v4(self)`` for an IPv4 address, ``v6(self)`` for IPv6."""
        return v4(self) if len(self.raw) == 4 else v6(self)

    def __bytes__(self) -> bytes:
        return self.raw

    def __str__(self) -> str:
        raw = self.raw
        if len(raw) == 4:
            return ".".join(str(b) for b in raw)
        if raw.startswith(_V4_MAPPED_PREFIX):
            return "::ffff:" + ".".join(str(b) for b in raw[12:])
        return ipaddress.IPv6Address(raw).compressed

    def __repr__(self) -> str:
        return f"Ipaddr.parse({str(self)!r})"


class _V4:
    """IPv4 constants: ``Ipaddr.V4.any`` (0.0.0.0), ``Ipaddr.V4.loopback`` (127.0.0.1)."""

    any = Ipaddr(bytes(4))
    loopback = Ipaddr(bytes((127, 0, 0, 1)))


class _V6:
    """IPv6 constants: ``Ipaddr.V6.any`` (::), ``Ipaddr.V6.loopback`` (::1)."""

    any = Ipaddr(bytes(16))
    loopback = Ipaddr(bytes(15) + b"\x01")


Ipaddr.V4 = _V4
Ipaddr.V6 = _V6
