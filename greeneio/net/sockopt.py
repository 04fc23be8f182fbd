"""Socket options (Eio's ``Net.Sockopt``): the portable table, with value types.

``Sockopt.TCP_NODELAY`` and friends are enum members; ``opt.kind`` says what
values they take:

    bool     True / False
    int      an int
    optint   None (off) or an int (``SO_LINGER``: None or seconds)
    float    seconds, as a float (``SO_RCVTIMEO``)
    str      a str (``TCP_CONGESTION``)
    pair     a pair of ints (``IP_LOCAL_PORT_RANGE``)
    mtu      "Want", "Dont", "Do" or "Probe" (``IP_MTU_DISCOVER``)

Which options a socket really supports is up to its provider; an unsupported
one raises ``Net.InvalidOption``.
"""

from __future__ import annotations

import enum
from typing import Any

__all__ = ["Sockopt", "check_value", "lookup", "pp_binding", "pp_value"]

MTU_DISCOVER = ("Want", "Dont", "Do", "Probe")


class Sockopt(enum.Enum):
    """A socket option; ``.kind`` is the type of its values (see the module doc)."""

    SO_DEBUG = "bool"
    SO_BROADCAST = "bool"
    SO_REUSEADDR = "bool"
    SO_KEEPALIVE = "bool"
    SO_DONTROUTE = "bool"
    SO_OOBINLINE = "bool"
    TCP_NODELAY = "bool"
    IPV6_ONLY = "bool"
    SO_REUSEPORT = "bool"
    SO_SNDBUF = "int"
    SO_RCVBUF = "int"
    SO_RCVLOWAT = "int"
    SO_SNDLOWAT = "int"
    SO_LINGER = "optint"
    SO_RCVTIMEO = "float"
    SO_SNDTIMEO = "float"
    TCP_CORK = "bool"
    TCP_KEEPIDLE = "int"
    TCP_KEEPINTVL = "int"
    TCP_KEEPCNT = "int"
    TCP_USER_TIMEOUT = "int"
    TCP_MAXSEG = "int"
    TCP_LINGER2 = "optint"
    TCP_DEFER_ACCEPT = "int"
    TCP_CONGESTION = "str"
    TCP_SYNCNT = "int"
    TCP_WINDOW_CLAMP = "int"
    TCP_QUICKACK = "bool"
    TCP_FASTOPEN = "int"
    IP_FREEBIND = "bool"
    IP_BIND_ADDRESS_NO_PORT = "bool"
    IP_LOCAL_PORT_RANGE = "pair"
    IP_TTL = "int"
    IP_MTU = "int"
    IP_MTU_DISCOVER = "mtu"

    # Members share values (the kinds), so give each its own identity.
    def __new__(cls, kind: str) -> Sockopt:
        obj = object.__new__(cls)
        obj._value_ = len(cls.__members__)
        obj.kind = kind
        return obj

    kind: str

    def __repr__(self) -> str:
        return f"Sockopt.{self.name}"

    def __str__(self) -> str:
        return self.name


def lookup(opt: object, fn: str) -> Sockopt:
    """``opt`` as a ``Sockopt``: a member, or a member's name."""
    if isinstance(opt, Sockopt):
        return opt
    if isinstance(opt, str):
        try:
            return Sockopt[opt]
        except KeyError:
            from greeneio.net.errors import InvalidOption

            raise InvalidOption() from None
    raise TypeError(f"{fn}: opt must be a Net.Sockopt member or its name, not {opt!r}")


def _is_int(v: object) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def check_value(opt: Sockopt, value: object, fn: str) -> Any:
    """``value`` if it has ``opt``'s type (an int is accepted as a float); else TypeError."""
    kind = opt.kind
    ok: bool
    if kind == "bool":
        ok = isinstance(value, bool)
    elif kind == "int":
        ok = _is_int(value)
    elif kind == "optint":
        ok = value is None or _is_int(value)
    elif kind == "float":
        ok = _is_int(value) or isinstance(value, float)
        if ok:
            value = float(value)  # type: ignore[arg-type]
    elif kind == "str":
        ok = isinstance(value, str)
    elif kind == "pair":
        ok = isinstance(value, tuple) and len(value) == 2 and all(_is_int(v) for v in value)
    else:
        ok = value in MTU_DISCOVER
    if not ok:
        want = {
            "bool": "a bool",
            "int": "an int",
            "optint": "None or an int",
            "float": "a number of seconds",
            "str": "a str",
            "pair": "a pair of ints",
            "mtu": "one of " + ", ".join(MTU_DISCOVER),
        }[kind]
        raise TypeError(f"{fn}: value for {opt.name} must be {want}, not {value!r}")
    return value


def pp_value(opt: Sockopt, value: object) -> str:
    """``value`` printed as Eio prints it (``true``, ``<none>``, ``5.``...)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return "<none>"
    if isinstance(value, str) and opt.kind == "str":
        return value
    return str(value)


def pp_binding(opt: Sockopt, value: object) -> str:
    """``"SO_KEEPALIVE = true"``."""
    return f"{opt.name} = {pp_value(opt, value)}"
