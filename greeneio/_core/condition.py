"""Condition variables for fibers (Eio's ``Condition``): wait for a broadcast.

Theory of operation
-------------------
* A condition is a list of waiting requests, in arrival order. A condition
  keeps no state of its own: a :func:`broadcast` with nobody waiting is
  lost, so waiters check their predicate before waiting, in a loop.
* :func:`await_` and :func:`await_no_mutex` add the fiber's one-shot waker to
  the list and suspend; :func:`broadcast` takes the whole list and wakes
  every live waker, in order (each resumes behind the fibers already
  runnable). A cancelled waiter's waker is dead, so a broadcast skips it;
  dead ones are dropped in batches, once they are at least half the list.
* :func:`await_` unlocks the mutex and registers the fiber with no switch in
  between (unlocking only queues the next holder's wake-up), so no broadcast
  can slip between the caller's check of its predicate and the wait. However
  the wait ends (broadcast, or cancellation) it locks the mutex again under
  ``Cancel.protect`` before returning or raising: the caller always holds the
  mutex afterwards.
* :func:`loop_no_mutex` registers a *request* before each call of ``fn``,
  so a broadcast that comes while ``fn`` runs (``fn`` may switch fibers) is
  not lost: the request is marked fired, and instead of suspending, the
  fiber goes to the back of the run queue (as ``Fiber.yield_()``) and runs
  ``fn`` again. A request that ends unfired (``fn`` returned a value or
  raised, or the fiber was cancelled) is marked dead.
* A condition belongs to the fibers of one process (one scheduler).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from greeneio._core import _greenlet, cancel
from greeneio._core.args import callable_arg, instance_arg
from greeneio._core.mutex import Mutex

T = TypeVar("T")

__all__ = ["Condition", "await_", "await_no_mutex", "broadcast", "create", "loop_no_mutex"]


class _Request:
    """A :func:`loop_no_mutex` registration: fires once, even while its fiber runs.

    ``fiber`` is not None while the request is live (as a ``Waker``'s is);
    ``waker`` is set while the fiber is suspended on it.
    """

    __slots__ = ("fiber", "fired", "waker")

    def __init__(self, fiber: _greenlet.FiberGreenlet) -> None:
        self.fiber: _greenlet.FiberGreenlet | None = fiber
        self.fired = False
        self.waker: _greenlet.Waker | None = None

    def wake(self, value: object = None) -> bool:
        if self.fiber is None:
            return False
        self.fiber = None
        self.fired = True
        w = self.waker
        if w is not None:
            w.wake()
        return True

    def set_waker(self, w: _greenlet.Waker) -> None:
        self.waker = w


class Condition:
    """A condition variable (make one with :func:`create`); ``Condition()`` is ``create()``.

    The methods ``await_``, ``await_no_mutex``, ``broadcast`` and
    ``loop_no_mutex`` are the module's functions.
    """

    __slots__ = ("_waiters",)

    def __init__(self) -> None:
        # Suspended fibers' wakers, and loop_no_mutex's requests.
        self._waiters = _greenlet.WaitQueue()

    def await_no_mutex(self) -> None:
        """Wait for the next broadcast (see :func:`await_no_mutex`)."""
        _greenlet.current().cc.check()
        self._waiters.wait()

    def await_(self, mutex: Mutex) -> None:
        """Unlock ``mutex``, wait for a broadcast, lock again (see :func:`await_`)."""
        me = _greenlet.current()
        if me.cc.reason is not None:
            # Cancelled already: as in Eio, give the mutex up and take it back
            # (behind any waiters), then raise.
            mutex.unlock()
            cancel.protect(mutex.lock)
            raise me.cc.cancelled_exc()
        # Unlocking only queues the next holder's wake-up, so no fiber runs
        # before this one is registered. If unlock raises, nothing is.
        mutex.unlock()
        try:
            self._waiters.wait()
        finally:
            cancel.protect(mutex.lock)

    def broadcast(self) -> None:
        """Wake every waiting fiber (see :func:`broadcast`). Never blocks."""
        for w in self._waiters.take_all():
            w.wake()

    def loop_no_mutex(self, fn: Callable[[], T | None]) -> T:
        """Run ``fn()`` until it returns a value other than None (see :func:`loop_no_mutex`)."""
        me = _greenlet.current()
        while True:
            req = _Request(me)
            self._waiters.push(req)
            try:
                result = fn()
            except BaseException:
                self._cancel(req)
                raise
            if result is not None:
                self._cancel(req)
                return result
            if me.cc.reason is not None:
                self._cancel(req)  # even if a broadcast came: cancellation first, as Eio
                raise me.cc.cancelled_exc()
            if req.fired:
                _greenlet.yield_now()  # behind the fibers already runnable
                continue
            try:
                _greenlet.suspend(req.set_waker)
            except BaseException:
                self._cancel(req)
                raise

    def _cancel(self, req: _Request) -> None:
        if req.fiber is not None:
            req.fiber = None
            self._waiters.forget_one()

    def __repr__(self) -> str:
        waiting = self._waiters.live()
        return f"<Condition {waiting} waiting>"


def create() -> Condition:
    """A new condition variable, with nobody waiting."""
    return Condition()


def await_(c: Condition, mutex: Mutex) -> None:
    """Wait for a :func:`broadcast` of ``c``, with ``mutex`` unlocked meanwhile.

    The caller must hold ``mutex`` (having checked its predicate under it)
    and holds it again when this returns or raises: the mutex is unlocked
    as the fiber starts waiting (no broadcast can be missed in between),
    and locked again under ``Cancel.protect`` after the wait, also when the
    wait is cancelled (then ``Cancelled`` is raised once the mutex is held;
    ``use_ro``/``use_rw`` around the loop unlock it). Check the predicate
    again after it returns: another fiber may have run first. Errors of the
    mutex (``RuntimeError`` if it is not locked, ``Mutex.Poisoned``)
    propagate; a mutex that raised on unlocking is not locked again.
    """
    cond = _cond_arg(c, "await_")
    cond.await_(instance_arg(mutex, Mutex, "Condition.await_", "mutex", "a Mutex"))


def await_no_mutex(c: Condition) -> None:
    """Wait for the next :func:`broadcast` of ``c``.

    Safe only when the predicate is checked in this fiber without switching
    fibers in between (one process, no I/O in the check): then no broadcast
    can come between the check and the wait. Cancellable: ``Cancelled`` is
    raised before waiting if the fiber is already cancelled, and a cancelled
    wait leaves ``c`` as it was.
    """
    _cond_arg(c, "await_no_mutex").await_no_mutex()


def broadcast(c: Condition) -> None:
    """Wake every fiber waiting on ``c`` (each queued to resume after the fibers
    already runnable); with nobody waiting, nothing happens. Never blocks."""
    _cond_arg(c, "broadcast").broadcast()


def loop_no_mutex(c: Condition, fn: Callable[[], T | None]) -> T:
    """Call ``fn()`` until it returns a value other than None, and return that.

    After a None it waits for a :func:`broadcast` of ``c`` before calling
    ``fn`` again, but a broadcast that came while ``fn`` ran makes it call
    ``fn`` again without waiting, behind the fibers already runnable (as
    ``Fiber.yield_()``), so a change broadcast after ``fn`` started is always
    seen. An exception from ``fn`` propagates. Cancellable: once ``fn`` has
    returned None in a cancelled fiber, ``Cancelled`` is raised (even if a
    broadcast came); a wait cancelled before a broadcast woke it raises too.
    """
    _cond_arg(c, "loop_no_mutex")
    callable_arg(fn, "Condition.loop_no_mutex")
    return c.loop_no_mutex(fn)


def _cond_arg(c: object, fn: str) -> Condition:
    return instance_arg(c, Condition, f"Condition.{fn}", "c", "a Condition")
