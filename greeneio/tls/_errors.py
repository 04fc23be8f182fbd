"""TLS errors: ``Tls.Error`` (an ``Exn.Io`` and an ``ssl.SSLError``) and
``Tls.CertificateError`` (also an ``ssl.SSLCertVerificationError``).

This module imports ``ssl``; the facade loads it only when a TLS error class
is first used, so ``import greeneio`` does not import ``ssl`` (gevent's
``patch_all`` may then come later without a ``MonkeyPatchWarning``).
"""

from __future__ import annotations

import ssl

from greeneio._core.exn import OsIo

__all__ = ["CertificateError", "Error", "of_ssl_error", "ragged_eof"]


class Error(OsIo, ssl.SSLError):
    """A TLS failure: a handshake that failed, a corrupt or truncated stream.

    ``backend`` (also ``__cause__``) is the ``ssl.SSLError`` OpenSSL raised,
    whose ``library`` and ``reason`` are copied here; ``except ssl.SSLError:``
    and ``except OSError:`` catch it too.
    """

    kind = "Tls Failure"

    def __init__(
        self,
        err: object = None,
        backend: BaseException | None = None,
        context: list[str] | None = None,
    ) -> None:
        super().__init__(err, backend, context)
        if isinstance(backend, ssl.SSLError):
            self.library = backend.library
            self.reason = backend.reason

    def __reduce__(self) -> tuple[object, ...]:
        return (type(self), (self.err, self.backend, self.context))


class CertificateError(Error, ssl.SSLCertVerificationError):
    """The peer's certificate was not accepted (untrusted, expired, wrong host
    name...): ``verify_code`` and ``verify_message`` say why, as OpenSSL does."""

    kind = "Tls Failure Certificate"

    def __init__(
        self,
        err: object = None,
        backend: BaseException | None = None,
        context: list[str] | None = None,
    ) -> None:
        super().__init__(err, backend, context)
        if isinstance(backend, ssl.SSLCertVerificationError):
            self.verify_code = backend.verify_code
            self.verify_message = backend.verify_message


def of_ssl_error(e: ssl.SSLError) -> Error:
    """The greeneio error for the ``ssl`` module's ``e`` (kept as its cause)."""
    if isinstance(e, ssl.SSLCertVerificationError):
        return CertificateError(backend=e)
    return Error(backend=e)


def ragged_eof(e: ssl.SSLError | None = None) -> Error:
    """The error for a stream that ended without the peer's close_notify."""
    return Error(
        "Tls Failure Ragged_eof (the connection ended without a TLS close_notify; "
        "pass allow_ragged_eof=True if the protocol above frames its own messages)",
        e,
    )
