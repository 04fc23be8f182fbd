"""daytime (RFC 867): one line with the date and time, then close."""

from __future__ import annotations

import time

from greeneio import Flow
from greeneio.protocols import TwoWay


def now_text() -> str:
    return time.strftime("%A, %B %d, %Y %H:%M:%S-%Z")


def handler(flow: TwoWay, _addr: object) -> None:
    Flow.copy_string(now_text() + "\r\n", flow)
