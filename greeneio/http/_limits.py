"""The limits and timeouts of the HTTP engine: one frozen value, checked once.

Sizes are in bytes and timeouts in seconds of the clock given to
``serve_connection`` (``env.mono_clock``); a timeout of ``None`` is off. The
defaults protect a public server (SPEC §15); every one of them is also a
``greeneio-serve`` option of the same name (``max_request_line`` is
``--max-request-line``).
"""

from __future__ import annotations

from dataclasses import dataclass, fields

from greeneio._core.args import int_arg, seconds_arg

__all__ = ["Limits"]


@dataclass(frozen=True, slots=True)
class Limits:
    """What one connection may send, and how slowly.

    * ``max_request_line``: the request line without its CRLF (longer: 414).
    * ``max_header_bytes``: the header section after the request line,
      field lines and their CRLFs (more: 431); also bounds a chunked body's
      trailer section.
    * ``max_headers``: field lines in the head, or in the trailers (more: 431).
    * ``max_body``: a request body, however it is framed (more: 413).
    * ``header_timeout``: a whole head must arrive within this many seconds of
      its first byte (of the accept, for a connection's first request); else
      408 and close.
    * ``keepalive_timeout``: idle wait for the next request; then a silent close.
    * ``body_timeout``: longest wait for the next bytes of a request body
      (408, or a close once the response has begun).
    * ``write_timeout``: longest time without progress writing a response
      (a client that does not read); then the connection is closed.

    Each is checked against what was parsed, never against how the bytes were
    split into reads, so the same request gets the same answer however it
    arrives.
    """

    max_request_line: int = 8192
    max_header_bytes: int = 65536
    max_headers: int = 100
    max_body: int = 64 * 1024 * 1024
    header_timeout: float | None = 10.0
    keepalive_timeout: float | None = 5.0
    body_timeout: float | None = 30.0
    write_timeout: float | None = 30.0

    def __post_init__(self) -> None:
        for f in fields(self):
            v = getattr(self, f.name)
            if f.name.endswith("_timeout"):
                if v is not None:
                    # ``> 0`` below: a zero timeout would fire before any byte could arrive.
                    object.__setattr__(self, f.name, seconds_arg(v, "Http.Limits", f.name, min=0))
                    if v == 0:
                        raise ValueError(f"Http.Limits: {f.name} must be > 0 or None, not 0")
            else:
                int_arg(v, "Http.Limits", f.name, min=1 if f.name != "max_body" else 0)

    def timeouts(self) -> list[float]:
        """The timeouts that are on (the alarm never rings later than the shortest)."""
        return [
            t
            for t in (
                self.header_timeout,
                self.keepalive_timeout,
                self.body_timeout,
                self.write_timeout,
            )
            if t is not None
        ]
