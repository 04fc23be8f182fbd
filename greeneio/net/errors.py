"""Network errors (Eio's ``Net.error``), each also a builtin ``OSError`` kind.

Every class here is an :class:`greeneio.Exn.Io`, so it carries ``context``
lines and the OS error as ``backend``/``__cause__``. Each also subclasses the
builtin that legacy code catches (``ConnectionResetError``, ``TimeoutError``,
``socket.gaierror`` ...), with ``errno``/``strerror`` copied from the OS error.

    Error
    ├── ConnectionReset          (ConnectionResetError)
    ├── ConnectionFailure        (ConnectionError)
    │   ├── Refused              (ConnectionRefusedError)
    │   ├── NoMatchingAddresses
    │   └── ConnectionTimeout    (TimeoutError)
    ├── AddressLookupFailed      (socket.gaierror), with ``.code``
    └── InvalidOption
"""

from __future__ import annotations

import socket

from greeneio._core.exn import OsIo

__all__ = [
    "GAI_MESSAGES",
    "AddressLookupFailed",
    "ConnectionFailure",
    "ConnectionReset",
    "ConnectionTimeout",
    "Error",
    "InvalidOption",
    "NoMatchingAddresses",
    "Refused",
]


class Error(OsIo):
    """Any network error. Unmapped OS errors are raised as this class itself."""

    kind = "Net"


class ConnectionReset(Error, ConnectionResetError):
    """The peer closed or reset the connection (ECONNRESET, EPIPE, ECONNABORTED)."""

    kind = "Net Connection_reset"


class ConnectionFailure(Error, ConnectionError):
    """A connection could not be made."""

    kind = "Net Connection_failure"


class Refused(ConnectionFailure, ConnectionRefusedError):
    """Nothing accepted the connection (ECONNREFUSED)."""

    kind = "Net Connection_failure Refused"


class NoMatchingAddresses(ConnectionFailure):
    """The name resolved, but to no address of the kind needed (e.g. no TCP one)."""

    kind = "Net Connection_failure No_matching_addresses"


class ConnectionTimeout(ConnectionFailure, TimeoutError):
    """Connecting took longer than the timeout allowed (or ETIMEDOUT)."""

    kind = "Net Connection_failure Timeout"


GAI_MESSAGES = {
    "ADDRFAMILY": "address family for name not supported",
    "AGAIN": "temporary failure in name resolution",
    "BADFLAGS": "invalid value for ai_flags",
    "BADHINTS": "invalid value for hints",
    "FAIL": "non-recoverable failure in name resolution",
    "FAMILY": "ai_family not supported",
    "MEMORY": "memory allocation failure",
    "NODATA": "no address associated with name",
    "NONAME": "name or service is not known",
    "OVERFLOW": "argument buffer overflow",
    "PROTOCOL": "resolved protocol is unknown",
    "SERVICE": "service not supported for ai_socktype",
    "SOCKTYPE": "ai_socktype not supported",
    "UNKNOWN": "unknown error",
}


class AddressLookupFailed(Error, socket.gaierror):
    """``getaddrinfo`` failed; ``code`` is the tag, e.g. ``"NONAME"`` or ``"AGAIN"``."""

    kind = "Net Address_lookup_failed"

    def __init__(
        self,
        code: str = "NONAME",
        backend: BaseException | None = None,
        context: list[str] | None = None,
    ) -> None:
        if code not in GAI_MESSAGES:
            code = "UNKNOWN"
        self.code = code
        super().__init__(f"{self.kind} {code} ({GAI_MESSAGES[code]})", backend, context)

    def __reduce__(self) -> tuple[object, ...]:
        return (type(self), (self.code, self.backend, self.context))


class InvalidOption(Error):
    """The socket option is unknown to the provider or unsupported by the platform."""

    kind = "Net Invalid_option"
