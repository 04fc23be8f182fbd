"""Clocks on gevent timers: wall (``time.time``) and monotonic."""

from __future__ import annotations

import time
from collections.abc import Callable

import gevent
from zope.interface import implementer

from greeneio.interfaces import IClock

__all__ = ["MonoClock", "WallClock"]


class _Clock:
    __slots__ = ()
    _now: Callable[[], float]

    def now(self) -> float:
        return self._now()

    def sleep_until(self, t: float) -> None:
        # gevent timers run on the loop's cached time, so they may fire a
        # little early: sleep again until the deadline has really passed.
        now = self._now
        delay = t - now()
        if delay <= 0:
            gevent.sleep(0)
            return
        while delay > 0:
            gevent.sleep(delay)
            delay = t - now()


@implementer(IClock)
class WallClock(_Clock):
    """Seconds since the epoch (``time.time``)."""

    __slots__ = ()
    _now = staticmethod(time.time)

    def __repr__(self) -> str:
        return "<wall clock>"


@implementer(IClock)
class MonoClock(_Clock):
    """Monotonic seconds (``time.monotonic``): use it for timeouts."""

    __slots__ = ()
    _now = staticmethod(time.monotonic)

    def __repr__(self) -> str:
        return "<monotonic clock>"
