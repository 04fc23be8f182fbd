"""Time (Eio's ``Time``): clocks, sleeping, and timeouts.

``clock`` is a provider of ``IClock`` (``env.clock``, ``env.mono_clock``, or
the mock clock). Sleeping is cancellable; a timeout cancels the work it
limits and raises :class:`Timeout`.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import TypeVar

from greeneio._core import _greenlet
from greeneio._core import fiber as _fiber
from greeneio.interfaces import IClock
from greeneio.protocols import Clock

T = TypeVar("T")

__all__ = [
    "Timeout",
    "TimeoutValue",
    "now",
    "sleep",
    "sleep_until",
    "with_timeout",
    "with_timeout_exn",
]


def _clock_arg(clock: object, fn: str) -> Clock:
    if not IClock.providedBy(clock):
        raise TypeError(f"Time.{fn}: clock must provide IClock (e.g. env.clock), not {clock!r}")
    return clock


def _seconds_arg(s: object, fn: str, name: str = "s") -> float:
    if isinstance(s, bool) or not isinstance(s, int | float):
        raise TypeError(f"Time.{fn}: {name} must be a number of seconds, not {s!r}")
    s = float(s)
    if math.isnan(s):
        raise ValueError(f"Time.{fn}: {name} must not be NaN")
    return s


def now(clock: Clock) -> float:
    """The clock's current time, in seconds."""
    return float(_clock_arg(clock, "now").now())


def sleep_until(clock: Clock, t: float) -> None:
    """Block until the clock reaches ``t``. Raises ``Cancelled`` if cancelled."""
    clock = _clock_arg(clock, "sleep_until")
    t = _seconds_arg(t, "sleep_until", "t")
    _greenlet.current().cc.check()
    clock.sleep_until(t)


def sleep(clock: Clock, s: float) -> None:
    """Block for ``s`` seconds of ``clock``. Raises ``Cancelled`` if cancelled."""
    clock = _clock_arg(clock, "sleep")
    s = _seconds_arg(s, "sleep")
    _greenlet.current().cc.check()
    clock.sleep_until(clock.now() + s)


class Timeout(TimeoutError):
    """An operation ran out of time (raised by ``with_timeout``).

    Also the timeout *value* of Eio's ``?timeout`` arguments:
    ``Timeout.seconds(mono_clock, 5)`` or ``Timeout.none``.
    """

    def __init__(self, *args: object) -> None:
        super().__init__(*args or ("Timeout",))

    def __str__(self) -> str:
        return "Timeout" if not self.args else str(self.args[0])

    # -- the timeout value (Eio's Time.Timeout.t) ---------------------------

    none: TimeoutValue  # set below

    @staticmethod
    def seconds(clock: Clock, s: float) -> TimeoutValue:
        """A timeout of ``s`` seconds measured on ``clock`` (use ``env.mono_clock``)."""
        clock = _clock_arg(clock, "Timeout.seconds")
        s = _seconds_arg(s, "Timeout.seconds")
        if s < 0:
            raise ValueError(f"Time.Timeout.seconds: s must be >= 0, not {s}")
        return TimeoutValue(clock, s)


class TimeoutValue:
    """How long an operation may take: ``Timeout.seconds(clock, s)`` or ``Timeout.none``."""

    __slots__ = ("clock", "seconds")

    def __init__(self, clock: Clock | None, seconds: float | None) -> None:
        self.clock = clock
        self.seconds = seconds

    def run_exn(self, fn: Callable[[], T]) -> T:
        """``fn()``, cancelled with :class:`Timeout` if it takes too long."""
        if self.seconds is None:
            return fn()
        return with_timeout_exn(_clock_arg(self.clock, "with_timeout"), self.seconds, fn)

    def sleep(self) -> None:
        """Sleep for the timeout's duration (forever for ``Timeout.none``)."""
        if self.seconds is None:
            _fiber.await_cancel()
        else:
            sleep(_clock_arg(self.clock, "sleep"), self.seconds)

    def __str__(self) -> str:
        s = self.seconds
        if s is None:
            return "(no timeout)"
        return _pp_duration(s)

    def __repr__(self) -> str:
        return f"<Timeout {self}>"


def _pp_duration(s: float) -> str:
    # As Eio prints durations: two significant figures, in ms, s or m.
    if 0.01 <= s < 0.1:
        return f"{s * 1000:.2g}ms"
    if s < 120:
        return f"{s:.2g}s"
    return f"{s / 60:.2g}m"


Timeout.none = TimeoutValue(None, None)


def with_timeout_exn(clock: Clock, s: float, fn: Callable[[], T]) -> T:
    """``fn()``, but if it takes longer than ``s`` seconds of ``clock`` it is
    cancelled and :class:`Timeout` is raised."""
    clock = _clock_arg(clock, "with_timeout")
    s = _seconds_arg(s, "with_timeout")
    if not callable(fn):
        raise TypeError(f"Time.with_timeout: fn must be callable, not {fn!r}")

    def timer() -> T:
        sleep(clock, s)
        raise Timeout()

    return _fiber.first(fn, timer)


def with_timeout(clock: Clock, s: float, fn: Callable[[], T]) -> T:
    """Same as :func:`with_timeout_exn` (Python raises where Eio returns an error)."""
    return with_timeout_exn(clock, s, fn)
