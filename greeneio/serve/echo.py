"""echo (RFC 862): every byte read is written back."""

from __future__ import annotations

from greeneio import Flow
from greeneio.protocols import TwoWay


def handler(flow: TwoWay, _addr: object) -> None:
    Flow.copy(flow, flow)
