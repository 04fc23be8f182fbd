"""echo (RFC 862): every byte read is written back."""

from __future__ import annotations

from typing import Any

from greeneio import Flow


def handler(flow: Any, _addr: Any) -> None:
    Flow.copy(flow, flow)
