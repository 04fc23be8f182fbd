"""proxy --to ADDR: a TCP forwarder. Bytes flow both ways with ``Flow.copy``
(splice when the kernel can); a half-close on one side is passed on."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from greeneio import Fiber, Flow, Net, Switch


def make_handler(net: Any, target: Any) -> Callable[[Any, Any], None]:
    def handler(client: Any, _addr: Any) -> None:
        with Switch() as sw:
            upstream = Net.connect(net, target, sw=sw)

            def pump(src: Any, dst: Any) -> None:
                Flow.copy(src, dst)
                Flow.shutdown(dst, "send")

            Fiber.both(lambda: pump(client, upstream), lambda: pump(upstream, client))

    return handler
