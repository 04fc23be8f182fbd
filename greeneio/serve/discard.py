"""discard (RFC 863): read and drop everything until the client closes."""

from __future__ import annotations

from greeneio import Flow
from greeneio.protocols import TwoWay


def handler(flow: TwoWay, _addr: object) -> None:
    Flow.copy(flow, Flow.null)
