"""Provider interfaces (Eio's ``Pi``): what a backend must implement.

User-facing functions (``Flow.copy``, ``Time.sleep`` ...) validate their
arguments, call these methods, and add error context. A backend whose objects
provide these interfaces works with every user-facing function. Both the
gevent backend and ``greeneio.mock`` are checked with
``zope.interface.verify.verifyObject``.

Buffers are bytes-like objects: ``bytes``, ``bytearray``, ``memoryview``.
Blocking methods must be cancellable: a fiber blocked in one raises
``Cancelled`` when its context is cancelled, and leaves nothing half-done
that the caller cannot see.
"""

from __future__ import annotations

from typing import Any

from zope.interface import Interface

__all__ = [
    "IClock",
    "IClose",
    "IShutdown",
    "ISink",
    "ISource",
    "ITwoWay",
]


class ISource(Interface):
    """A byte stream that can be read."""

    def single_read(buf: memoryview) -> int:
        """Read at least one byte into the writable buffer ``buf``; return the count.

        Blocks until data is available. Raises ``EOFError`` at end of stream.
        """


class ISink(Interface):
    """A byte stream that can be written."""

    def single_write(bufs: list[bytes | bytearray | memoryview]) -> int:
        """Write a prefix of the list of buffers ``bufs``; return how many bytes.

        Blocks until at least one byte can be written (if any were given).
        """

    def copy(src: Any) -> None:
        """Write everything ``src`` (an ``ISource``) produces, until its end.

        The sink picks the fastest path it knows for ``src``; the generic path
        is ``greeneio.flow.copy_via_buffer``.
        """


class IShutdown(Interface):
    """A stream whose directions can be closed separately."""

    def shutdown(cmd: str) -> None:
        """Close one direction: ``cmd`` is ``"send"``, ``"receive"`` or ``"all"``."""


class IClose(Interface):
    """A resource that can be closed."""

    def close() -> None:
        """Release the resource. Closing twice does nothing."""


class ITwoWay(ISource, ISink, IShutdown):
    """A bidirectional stream (Eio's ``Flow.two_way``)."""


class IClock(Interface):
    """A source of time that fibers can sleep on."""

    def now() -> float:
        """The current time, in seconds, as a float."""

    def sleep_until(t: float) -> None:
        """Block until ``now() >= t``. Cancellable."""
