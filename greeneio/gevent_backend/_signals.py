"""``env.signals`` on gevent: libev signal watchers, their callbacks run in the hub."""

from __future__ import annotations

import signal
from collections.abc import Callable

import gevent
from zope.interface import implementer

from greeneio._core.switch import Switch
from greeneio.gevent_backend._threads import in_main_thread
from greeneio.interfaces import ISignals

__all__ = ["Signals"]

_UNCATCHABLE = frozenset({signal.SIGKILL, signal.SIGSTOP})


@implementer(ISignals)
class Signals:
    """Process signals, delivered through gevent's signal watchers."""

    __slots__ = ()

    def subscribe(self, signum: int, callback: Callable[[int], object], sw: Switch) -> None:
        if not in_main_thread():
            raise RuntimeError("Signal.subscribe: signals can only be handled in the main thread")
        if signum in _UNCATCHABLE:
            raise ValueError(f"Signal.subscribe: signal {signum} cannot be handled (the OS says)")
        sw.check()
        try:
            # A live watcher keeps the loop running: a program may wait for
            # nothing but a signal (gevent's own signal_handler would not).
            watcher = gevent.get_hub().loop.signal(signum, ref=True)
            watcher.start(callback, signum)
        except (OSError, ValueError) as e:
            raise ValueError(f"Signal.subscribe: signal {signum} cannot be handled: {e}") from e

        def stop() -> None:
            watcher.stop()
            watcher.close()

        try:
            sw.on_release(stop)
        except BaseException:
            stop()
            raise

    def __repr__(self) -> str:
        return "<signals>"
