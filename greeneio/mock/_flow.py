"""Mock flows (Eio_mock.Flow): scripted reads, traced writes."""

from __future__ import annotations

from typing import Any

from zope.interface import implementer

from greeneio._core.switch import Hook, Switch
from greeneio._core.trace import traceln
from greeneio._flows import Buffer, Closeable
from greeneio._quote import pp_data, quote
from greeneio.interfaces import IClose, IShutdown, ISink, ISocket, ISource, IStreamSocket
from greeneio.mock._action import Action, Handler, Raise, Return
from greeneio.mock._sockopt import TracedOptions

__all__ = ["Flow", "MockFlow"]


@implementer(IStreamSocket, ISource, ISink, IShutdown, ISocket, IClose)
class MockFlow(TracedOptions, Closeable):
    """A flow (and stream socket) that reads what ``on_read`` says and traces
    what is done to it."""

    def __init__(self, label: str) -> None:
        self.label = label
        self.on_read = Handler(f"{label}: read", Raise(EOFError()))
        self.on_copy_bytes = Handler(f"{label}: copy", Return(4096))
        self.closed = False
        self._hooks: list[Hook] = []

    def attach_to_switch(self, sw: Switch) -> None:
        """Close this flow when ``sw`` finishes, unless closed before."""
        self._hooks.append(sw.on_release_cancellable(self.close))

    def _trace_data(self, verb: str, data: bytes) -> None:
        head = f"{self.label}: {verb} "
        traceln("%s%s", head, pp_data(data, len(head)))

    def single_read(self, buf: memoryview) -> int:
        data = self.on_read.run()
        if isinstance(data, str):
            data = data.encode()
        if len(buf) < len(data):
            raise ValueError(f"{self.label}: read buffer too short for {quote(data)}!")
        buf[: len(data)] = data
        self._trace_data("read", data)
        return len(data)

    def single_write(self, bufs: list[Buffer]) -> int:
        size = self.on_copy_bytes.run()
        taken: list[bytes] = []
        left = size
        for b in bufs:
            if left <= 0:
                break
            chunk = bytes(b[:left])
            taken.append(chunk)
            left -= len(chunk)
        if len(taken) == 1:
            self._trace_data("wrote", taken[0])
        else:
            traceln("%s: wrote [%s]", self.label, "; ".join(quote(b) for b in taken))
        return sum(len(b) for b in taken)

    def copy(self, src: Any) -> None:
        while True:
            size = self.on_copy_bytes.run()
            buf = bytearray(size)
            try:
                n = src.single_read(memoryview(buf))
            except EOFError:
                return
            self._trace_data("wrote", bytes(buf[:n]))

    def shutdown(self, cmd: str) -> None:
        traceln("%s: shutdown %s", self.label, cmd)

    def close(self) -> None:
        self.closed = True
        hooks, self._hooks = self._hooks, []
        for hook in hooks:
            hook.remove()
        traceln("%s: closed", self.label)

    def __repr__(self) -> str:
        return f"<mock flow {self.label}>"


class Flow:
    """Eio_mock.Flow: ``make``, ``on_read``, ``on_copy_bytes``."""

    @staticmethod
    def make(label: str) -> MockFlow:
        """A mock flow named ``label``; reading gives ``EOFError`` until ``on_read``."""
        if not isinstance(label, str):
            raise TypeError(f"mock.Flow.make: label must be a str, not {label!r}")
        return MockFlow(label)

    @staticmethod
    def on_read(flow: MockFlow, actions: list[Action]) -> None:
        """Each read takes the next action: ``Return(b"data")``, ``Raise(exc)``, ``Run(fn)``.

        When they run out, reads raise ``EOFError``.
        """
        flow.on_read.seq(actions)

    @staticmethod
    def on_copy_bytes(flow: MockFlow, actions: list[Action]) -> None:
        """How many bytes each write accepts (default 4096)."""
        flow.on_copy_bytes.seq(actions)
