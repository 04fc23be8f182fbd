"""chargen (RFC 864): an endless stream of 72-character lines, each starting one
printable character further on, until the client goes away."""

from __future__ import annotations

from greeneio import Flow, Net
from greeneio.protocols import TwoWay

_PRINTABLE = bytes(range(32, 127))  # the 95 printable ASCII characters
_RING = _PRINTABLE * 2


def line(i: int) -> bytes:
    """Line ``i`` (from 0) of the RFC 864 pattern, with its CRLF: the RFC's sample
    starts at ``!`` and each line starts one character further round the ring."""
    start = (i + 1) % len(_PRINTABLE)
    return _RING[start : start + 72] + b"\r\n"


_BLOCK = b"".join(line(i) for i in range(len(_PRINTABLE)))  # one full cycle


def handler(flow: TwoWay, _addr: object) -> None:
    try:
        while True:
            Flow.write(flow, [_BLOCK])
    except (Net.ConnectionReset, EOFError):
        return  # the client closed: that is how chargen ends
