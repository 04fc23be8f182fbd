"""TLS (``greeneio.Tls``; Eio leaves it to ocaml-tls's ``Tls_eio``): TLS
sessions over any two-way flow, and TLS for ``run_server`` handlers.

    _api.py      client_of_flow, server_of_flow, the info getters (argument
                 checks, the handshake, error context)
    _handler.py  handler: the server handshake per connection, with a timeout
    _flow.py     TlsFlow: the session on ssl.MemoryBIO + SSLObject (pumping,
                 close_notify, half-close, ragged EOF)
    _errors.py   Error, CertificateError

``import greeneio`` does not import ``ssl`` (so ``gevent.monkey.patch_all()``
may come after it): ``Error``, ``CertificateError`` and ``TlsFlow`` are
loaded, with ``ssl``, when first used.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from greeneio.tls._api import (
    alpn_protocol,
    cipher,
    client_of_flow,
    peer_certificate,
    server_hostname,
    server_of_flow,
    version,
)
from greeneio.tls._handler import handler

if TYPE_CHECKING:
    from greeneio.tls._errors import CertificateError, Error
    from greeneio.tls._flow import TlsFlow

__all__ = (
    "CertificateError",
    "Error",
    "TlsFlow",
    "alpn_protocol",
    "cipher",
    "client_of_flow",
    "handler",
    "peer_certificate",
    "server_hostname",
    "server_of_flow",
    "version",
)


def __getattr__(name: str) -> object:
    # The names that need ``ssl``: imported on first use, then kept here.
    if name in ("Error", "CertificateError"):
        from greeneio.tls import _errors

        value: object = getattr(_errors, name)
    elif name == "TlsFlow":
        from greeneio.tls import _flow

        value = _flow.TlsFlow
    else:
        raise AttributeError(f"module 'greeneio.tls' has no attribute {name!r}")
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})
