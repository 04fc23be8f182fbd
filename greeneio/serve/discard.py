"""discard (RFC 863): read and drop everything until the client closes."""

from __future__ import annotations

from typing import Any

from greeneio import Flow


def handler(flow: Any, _addr: Any) -> None:
    Flow.copy(flow, Flow.null)
