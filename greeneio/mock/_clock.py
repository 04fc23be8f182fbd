"""A virtual clock: time moves only when the mock backend advances it."""

from __future__ import annotations

import heapq
import itertools
from collections.abc import Callable

from zope.interface import implementer

from greeneio._core import _greenlet
from greeneio._core.trace import traceln
from greeneio.interfaces import IAlarm, IAlarmClock

__all__ = ["Clock"]


@implementer(IAlarm)
class _Alarm:
    """A timer entry that calls ``fn`` instead of waking a fiber (it has the
    waker's ``fiber`` and ``wake``: ``fiber`` is None once cancelled or rung)."""

    __slots__ = ("fiber", "fn")

    def __init__(self, fn: Callable[[], object]) -> None:
        self.fn = fn
        self.fiber: object = True

    def wake(self, value: object = None) -> bool:
        if self.fiber is None:
            return False
        self.fiber = None
        self.fn()
        return True

    def cancel(self) -> None:
        self.fiber = None


@implementer(IAlarmClock)
class Clock:
    """A mock clock. ``sleep_until`` blocks until the time is set or advanced past it.

    Under ``Backend.run_full`` the backend advances it to the next timer
    whenever every fiber is blocked, tracing ``mock time is now T``.
    """

    def __init__(self, time: float = 0.0) -> None:
        self._now = float(time)
        self._timers: list[tuple[float, int, _greenlet.Waker | _Alarm]] = []
        self._seq = itertools.count()

    def now(self) -> float:
        return self._now

    def sleep_until(self, t: float) -> None:
        if t <= self._now:
            _greenlet.yield_now()
            return
        entry: list[object] = []

        def register(w: _greenlet.Waker) -> None:
            item = (t, next(self._seq), w)
            entry.append(item)
            heapq.heappush(self._timers, item)

        _greenlet.suspend(register)

    def call_at(self, t: float, fn: Callable[[], object]) -> _Alarm:
        """Call ``fn()`` when the time is set or advanced to ``t`` or later
        (an alarm counts as a timer for :meth:`advance_to_next`)."""
        alarm = _Alarm(fn)
        if t <= self._now:  # due already: as soon as the caller's fiber lets others run
            _greenlet.current().sched.call_soon(alarm.wake)
        else:
            heapq.heappush(self._timers, (float(t), next(self._seq), alarm))
        return alarm

    def set_time(self, t: float) -> None:
        """Set the time to ``t`` and wake every sleeper whose time has come."""
        self._now = float(t)
        traceln("mock time is now %g", self._now)
        timers = self._timers
        while timers and timers[0][0] <= self._now:
            heapq.heappop(timers)[2].wake()

    @staticmethod
    def make() -> Clock:
        """A new mock clock at time 0 (Eio_mock.Clock.make)."""
        return Clock()

    def advance(self) -> None:
        """Jump to the next timer, waking its sleepers. ``RuntimeError`` if there is none."""
        if not self.advance_to_next():
            raise RuntimeError("No further events scheduled on mock clock")

    def advance_to_next(self) -> bool:
        """Jump to the next timer (waking its sleepers); False if no sleeper is waiting."""
        timers = self._timers
        while timers and timers[0][2].fiber is None:
            heapq.heappop(timers)  # cancelled sleeper
        if not timers:
            return False
        self.set_time(timers[0][0])
        return True

    def __repr__(self) -> str:
        return f"<mock clock at {self._now:g}>"
