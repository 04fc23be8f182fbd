"""Counting semaphores for fibers (Eio's ``Semaphore``): fair, cancellable.

Theory of operation
-------------------
* A semaphore holds ``value`` free permits and a FIFO queue of wakers, one per
  fiber blocked in :func:`acquire`. The queue is non-empty only while
  ``value`` is 0: ``acquire`` takes a free permit without waiting, and
  ``release`` hands its permit straight to the longest waiter instead of
  freeing it, so a fiber that keeps acquiring cannot overtake those already
  waiting.
* A permit is handed over by waking the waiter's one-shot waker. A waiter
  that was cancelled first has a dead waker (``Waker.wake`` returns False),
  so ``release`` skips it and the permit goes to the next one, or back to
  the free count: a cancelled ``acquire`` takes no permit. A waiter that was
  handed its permit before the cancellation got there keeps it (Eio's rule:
  what was handed over is not lost); its ``acquire`` returns, and its next
  blocking call raises ``Cancelled``.
* Dead wakers are dropped from the queue in batches, once they are at least
  half of it, so cancelling many waiters costs linear time in all.
* One semaphore belongs to the fibers of one process (one scheduler); for a
  limit shared by worker processes use the domain manager's ``semaphore``.
"""

from __future__ import annotations

from greeneio._core import _greenlet
from greeneio._core.args import instance_arg, int_arg

__all__ = ["Semaphore", "acquire", "get_value", "make", "release"]


class Semaphore:
    """A counting semaphore of ``n`` initial permits (make one with :func:`make`).

    ``Semaphore(n)`` is ``make(n)``; the methods ``acquire``, ``release`` and
    ``get_value`` are the module's functions.
    """

    __slots__ = ("_value", "_waiters")

    def __init__(self, n: int) -> None:
        self._value = int_arg(n, "Semaphore.make", "n", min=0)
        self._waiters = _greenlet.WaitQueue()

    def acquire(self) -> None:
        """Take a permit, blocking while there is none (see :func:`acquire`)."""
        if self._value > 0:
            self._value -= 1
            return
        _greenlet.current().cc.check()
        self._waiters.wait()  # a release hands its permit straight to us

    def release(self) -> None:
        """Give a permit back (see :func:`release`). Never blocks."""
        if not self._waiters.wake_one():
            self._value += 1

    def get_value(self) -> int:
        """The number of free permits now (0 while fibers are waiting)."""
        return self._value

    def __repr__(self) -> str:
        waiting = self._waiters.live()
        return f"<Semaphore {self._value} free, {waiting} waiting>"


def make(n: int) -> Semaphore:
    """A new semaphore with ``n`` free permits.

    ``TypeError`` unless ``n`` is an int; ``ValueError`` if ``n < 0``.
    """
    return Semaphore(n)


def acquire(s: Semaphore) -> None:
    """Take one of ``s``'s permits, blocking the fiber while there is none.

    Returns at once, without a cancellation check, when a permit is free.
    Otherwise the fiber waits behind every fiber already waiting (first come,
    first served) until a :func:`release` hands it a permit. Cancellable:
    ``Cancelled`` is raised before waiting if the fiber is already cancelled,
    and a wait that is cancelled takes no permit. The caller owns the permit
    it got and gives it back with :func:`release` (also on error).
    """
    _sem_arg(s, "acquire").acquire()


def release(s: Semaphore) -> None:
    """Give a permit back to ``s``: to the longest waiter, else to the free count.

    Never blocks and never raises for a valid ``s``. A release without a
    matching acquire simply adds a permit (there is no upper bound).
    """
    _sem_arg(s, "release").release()


def get_value(s: Semaphore) -> int:
    """The number of free permits of ``s`` now (0 while fibers are waiting)."""
    return _sem_arg(s, "get_value").get_value()


def _sem_arg(s: object, fn: str) -> Semaphore:
    return instance_arg(s, Semaphore, f"Semaphore.{fn}", "s", "a Semaphore")
