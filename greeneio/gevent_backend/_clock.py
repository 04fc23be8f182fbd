"""Clocks on gevent timers: wall (``time.time``) and monotonic."""

from __future__ import annotations

import time
from collections.abc import Callable

import gevent
from gevent import get_hub
from zope.interface import implementer

from greeneio.interfaces import IAlarm, IAlarmClock

__all__ = ["MonoClock", "WallClock"]


@implementer(IAlarm)
class _Alarm:
    """One libev timer, re-started if it fires before the clock reaches ``t``
    (libev times timers on the loop's cached time)."""

    __slots__ = ("_fn", "_now", "_t", "_timer")

    def __init__(self, now: Callable[[], float], t: float, fn: Callable[[], object]) -> None:
        self._now = now
        self._t = t
        self._fn = fn
        self._timer = get_hub().loop.timer(max(0.0, t - now()))
        self._timer.start(self._ring)

    def _ring(self) -> None:
        left = self._t - self._now()
        timer = self._timer
        if left > 0:
            timer.close()
            timer = self._timer = get_hub().loop.timer(left)
            timer.start(self._ring)
            return
        timer.close()
        self._fn()

    def cancel(self) -> None:
        self._timer.close()


class _Clock:
    __slots__ = ()
    #: ``now()`` is the C function itself (``time.time`` or ``time.monotonic``):
    #: library timers read the clock on hot paths.
    now: Callable[[], float]

    def sleep_until(self, t: float) -> None:
        # gevent timers run on the loop's cached time, so they may fire a
        # little early: sleep again until the deadline has really passed.
        now = self.now
        delay = t - now()
        if delay <= 0:
            gevent.sleep(0)
            return
        while delay > 0:
            gevent.sleep(delay)
            delay = t - now()

    def call_at(self, t: float, fn: Callable[[], object]) -> _Alarm:
        return _Alarm(self.now, t, fn)


@implementer(IAlarmClock)
class WallClock(_Clock):
    """Seconds since the epoch (``time.time``)."""

    __slots__ = ()
    now = staticmethod(time.time)

    def __repr__(self) -> str:
        return "<wall clock>"


@implementer(IAlarmClock)
class MonoClock(_Clock):
    """Monotonic seconds (``time.monotonic``): use it for timeouts."""

    __slots__ = ()
    now = staticmethod(time.monotonic)

    def __repr__(self) -> str:
        return "<monotonic clock>"
