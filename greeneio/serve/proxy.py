"""proxy --to ADDR: a TCP forwarder. Bytes flow both ways with ``Flow.copy``
(splice when the kernel can); a half-close on one side is passed on."""

from __future__ import annotations

from collections.abc import Callable

from greeneio import Fiber, Flow, Net, Switch
from greeneio.protocols import Network, TwoWay


def make_handler(
    net: Network, target: Net.Sockaddr.Tcp | Net.Sockaddr.Unix
) -> Callable[[TwoWay, object], None]:
    def handler(client: TwoWay, _addr: object) -> None:
        with Switch() as sw:
            upstream = Net.connect(net, target, sw=sw)

            def pump(src: TwoWay, dst: TwoWay) -> None:
                Flow.copy(src, dst)
                Flow.shutdown(dst, "send")

            Fiber.both(lambda: pump(client, upstream), lambda: pump(upstream, client))

    return handler
