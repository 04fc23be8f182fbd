"""A counting semaphore for fibers (Eio's ``Semaphore``), fair (FIFO).

``release`` hands its permit straight to the longest waiter, so a fiber that
keeps acquiring cannot overtake those already waiting.
"""

from __future__ import annotations

from collections import deque

from greeneio._core import _greenlet

__all__ = ["Semaphore"]


class Semaphore:
    """``n`` permits; ``acquire`` blocks while there are none."""

    __slots__ = ("_value", "_waiters")

    def __init__(self, n: int) -> None:
        if isinstance(n, bool) or not isinstance(n, int):
            raise TypeError(f"Semaphore: n must be an int, not {n!r}")
        if n < 0:
            raise ValueError(f"Semaphore: n must be >= 0, not {n}")
        self._value = n
        self._waiters: deque[_greenlet.Waker] = deque()

    def acquire(self) -> None:
        """Take a permit, blocking until one is free. Cancellable: a cancelled
        wait takes no permit."""
        if self._value > 0:
            self._value -= 1
            return
        _greenlet.current().cc.check()
        waiters = self._waiters
        try:
            _greenlet.suspend(waiters.append)
        except BaseException:
            self._waiters = deque(w for w in waiters if w.fiber is not None)
            raise

    def release(self) -> None:
        """Give a permit back: to the first waiter, else to the pool. Never blocks."""
        waiters = self._waiters
        while waiters:
            if waiters.popleft().wake():
                return
        self._value += 1

    def get_value(self) -> int:
        """Free permits now."""
        return self._value

    def __repr__(self) -> str:
        return f"<Semaphore {self._value} free, {len(self._waiters)} waiting>"
