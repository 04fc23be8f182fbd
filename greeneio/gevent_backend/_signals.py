"""``env.signals`` on gevent: signal handlers run by the hub's loop."""

from __future__ import annotations

import threading
from collections.abc import Callable

import gevent
from zope.interface import implementer

from greeneio._core.switch import Switch
from greeneio.interfaces import ISignals

__all__ = ["Signals"]


@implementer(ISignals)
class Signals:
    """Process signals, delivered through gevent's signal watchers."""

    __slots__ = ()

    def subscribe(self, signum: int, callback: Callable[[int], object], sw: Switch) -> None:
        if threading.current_thread() is not threading.main_thread():
            raise RuntimeError("Signal.subscribe: signals can only be handled in the main thread")
        sw.check()
        try:
            handle = gevent.signal_handler(signum, callback, signum)
        except (OSError, ValueError) as e:
            raise ValueError(f"Signal.subscribe: signal {signum} cannot be handled: {e}") from e
        try:
            sw.on_release(handle.cancel)
        except BaseException:
            handle.cancel()
            raise

    def __repr__(self) -> str:
        return "<signals>"
