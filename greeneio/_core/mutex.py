"""Mutual exclusion for fibers (Eio's ``Mutex``): fair, cancellable, poisonable.

Theory of operation
-------------------
* A mutex is *unlocked*, *locked* or *poisoned* (by an exception, kept as
  the reason), plus a FIFO queue of wakers, one per fiber blocked in
  :func:`lock`. The queue holds live wakers only while the mutex is locked.
* :func:`lock` takes an unlocked mutex at once (no cancellation check, no
  switch). On a locked one it waits at the tail of the queue. :func:`unlock`
  hands the lock straight to the longest live waiter (the mutex stays
  locked, and the waiter returns from ``lock`` owning it), or, with nobody
  waiting, unlocks. A fiber that keeps locking cannot overtake those waiting.
* A waiter cancelled while waiting has a dead waker (``Waker.wake`` returns
  False): ``unlock`` skips it, so a cancelled ``lock`` takes nothing and the
  lock goes to the next real waiter. A waiter that was handed the lock
  before its cancellation got there keeps it (Eio's rule: what was handed
  over is not lost): its ``lock`` returns, it owns the mutex and must
  unlock it in the normal way (``use_ro``/``use_rw``/``with m:`` do), and its
  next blocking call raises ``Cancelled``.
* Poisoning (an exception out of :func:`use_rw`'s function, or an
  :func:`unlock` of an unlocked mutex) is final: the mutex keeps the reason,
  every waiter is woken to raise :class:`Poisoned`, and so does every later
  ``lock``, ``try_lock``, ``unlock`` and ``use_*``.
* There is no owner: as in Eio, any fiber may unlock a locked mutex.
* Dead wakers are dropped from the queue in batches, once they are at least
  half of it, so cancelling many waiters costs linear time in all.
* A mutex belongs to the fibers of one process (one scheduler).
"""

from __future__ import annotations

from collections.abc import Callable
from types import TracebackType
from typing import TypeVar

from greeneio._core import _greenlet, cancel
from greeneio._core.args import bool_arg, callable_arg, instance_arg

T = TypeVar("T")

__all__ = ["Mutex", "Poisoned", "create", "lock", "try_lock", "unlock", "use_ro", "use_rw"]

_UNLOCKED, _LOCKED, _POISONED = 0, 1, 2

#: What ``unlock`` hands a waiter (it now owns the mutex) and what poisoning wakes it with.
_TAKE, _POISON = True, False


class Poisoned(Exception):
    """The mutex was disabled by ``reason``: an exception in a :func:`use_rw`
    critical section, or the ``RuntimeError`` of an :func:`unlock` of an
    unlocked mutex. Raised (with ``reason`` as ``__cause__``) by every use of
    the mutex from then on."""

    def __init__(self, reason: BaseException) -> None:
        super().__init__(reason)
        self.reason = reason

    def __str__(self) -> str:
        return _describe(self.reason)


def _describe(e: BaseException) -> str:
    if isinstance(e, cancel.Cancelled):
        return str(e)  # already "Cancelled: Type: message"
    msg = str(e)
    return f"{type(e).__name__}: {msg}" if msg else type(e).__name__


class Mutex:
    """A mutual-exclusion lock for fibers (make one with :func:`create`).

    ``Mutex()`` is ``create()``; the methods are the module's functions, and
    ``with m:`` is :func:`use_ro` (locks, unlocks on the way out, also on
    error, without poisoning).
    """

    __slots__ = ("_reason", "_state", "_waiters")

    def __init__(self) -> None:
        self._state = _UNLOCKED
        self._reason: BaseException | None = None
        self._waiters = _greenlet.WaitQueue()

    def lock(self) -> None:
        """Lock the mutex, waiting behind earlier waiters (see :func:`lock`)."""
        state = self._state
        if state == _UNLOCKED:
            self._state = _LOCKED
            return
        if state == _POISONED:
            raise self._poisoned()
        _greenlet.current().cc.check()
        got = self._waiters.wait()
        if got is not _TAKE:
            raise self._poisoned()

    def unlock(self) -> None:
        """Unlock, or hand the lock to the longest waiter (see :func:`unlock`)."""
        state = self._state
        if state == _LOCKED:
            if self._waiters.wake_one(_TAKE):
                return  # that waiter owns it now; still locked
            self._state = _UNLOCKED
            return
        if state == _POISONED:
            raise self._poisoned()
        err = RuntimeError("Mutex.unlock: already unlocked!")
        self._poison(err)
        raise err

    def try_lock(self) -> bool:
        """Lock the mutex if it is unlocked (see :func:`try_lock`)."""
        state = self._state
        if state == _UNLOCKED:
            self._state = _LOCKED
            return True
        if state == _POISONED:
            raise self._poisoned()
        return False

    def use_ro(self, fn: Callable[[], T]) -> T:
        """``fn()`` with the mutex locked; unlocks also on error (see :func:`use_ro`)."""
        self.lock()
        try:
            return fn()
        finally:
            self.unlock()

    def use_rw(self, fn: Callable[[], T], *, protect: bool) -> T:
        """``fn()`` with the mutex locked; an error poisons it (see :func:`use_rw`)."""
        self.lock()
        try:
            result = cancel.protect(fn) if protect else fn()
        except BaseException as e:
            self._poison(e)
            raise
        self.unlock()
        return result

    def __enter__(self) -> Mutex:
        self.lock()
        return self

    def __exit__(
        self,
        et: type[BaseException] | None,
        ev: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.unlock()

    def _poison(self, reason: BaseException) -> None:
        self._state = _POISONED
        self._reason = reason
        for w in self._waiters.take_all():
            w.wake(_POISON)

    def _poisoned(self) -> Poisoned:
        reason = self._reason
        assert reason is not None
        p = Poisoned(reason)
        p.__cause__ = reason
        return p

    def __repr__(self) -> str:
        if self._state == _POISONED:
            assert self._reason is not None
            return f"<Mutex poisoned by {_describe(self._reason)}>"
        if self._state == _UNLOCKED:
            return "<Mutex unlocked>"
        waiting = self._waiters.live()
        return f"<Mutex locked, {waiting} waiting>"


def create() -> Mutex:
    """A new, unlocked mutex."""
    return Mutex()


def lock(m: Mutex) -> None:
    """Lock ``m``; the calling fiber then holds it until it calls :func:`unlock`.

    Returns at once, without a cancellation check, when ``m`` is unlocked.
    Otherwise the fiber waits behind every fiber already waiting (first come,
    first served) until an ``unlock`` hands it the lock. Cancellable:
    ``Cancelled`` is raised before waiting if the fiber is already cancelled,
    and a wait that is cancelled takes nothing (the lock goes to the next
    waiter). A fiber handed the lock just before being cancelled keeps it:
    ``lock`` returns, and the fiber must still unlock. Raises
    :class:`Poisoned` if ``m`` is poisoned, or becomes poisoned while waiting.
    Prefer :func:`use_ro` / :func:`use_rw`, which always unlock.
    """
    _mutex_arg(m, "lock").lock()


def unlock(m: Mutex) -> None:
    """Unlock ``m``: hand it to the longest waiter, or leave it unlocked. Never blocks.

    ``RuntimeError`` if ``m`` is not locked; as in Eio, that error also
    poisons ``m`` (it becomes the reason of every later :class:`Poisoned`).
    :class:`Poisoned` if ``m`` is poisoned.
    """
    _mutex_arg(m, "unlock").unlock()


def try_lock(m: Mutex) -> bool:
    """Lock ``m`` if it is unlocked and return True; False if it is locked.

    Never blocks (and never waits behind waiters: a locked mutex gives False).
    :class:`Poisoned` if ``m`` is poisoned. After True, the caller must unlock.
    """
    return _mutex_arg(m, "try_lock").try_lock()


def use_ro(m: Mutex, fn: Callable[[], T]) -> T:
    """Lock ``m``, return ``fn()``, unlock: for sections that leave the protected
    state consistent even when they fail part-way (read-only ones).

    ``m`` is unlocked however ``fn`` ends, and its exception propagates
    without poisoning ``m``. Waiting for the lock is cancellable (as
    :func:`lock`); ``fn`` runs in the caller's cancel context. ``with m:``
    is the same.
    """
    _mutex_arg(m, "use_ro")
    callable_arg(fn, "Mutex.use_ro")
    return m.use_ro(fn)


def use_rw(m: Mutex, fn: Callable[[], T], *, protect: bool) -> T:
    """Lock ``m``, return ``fn()``, unlock: for sections that may leave the
    protected state broken if they fail part-way.

    If ``fn`` raises (``Cancelled`` included), ``m`` is poisoned with that
    exception and stays locked for good: every waiting and later user gets
    :class:`Poisoned` (with ``.reason``), and the exception propagates. With
    ``protect=True``, ``fn`` runs under ``Cancel.protect``, so cancellation
    cannot interrupt it (and poison ``m``); the wait for the lock is still
    cancellable, and takes nothing when cancelled.
    """
    _mutex_arg(m, "use_rw")
    callable_arg(fn, "Mutex.use_rw")
    return m.use_rw(fn, protect=bool_arg(protect, "Mutex.use_rw", "protect"))


def _mutex_arg(m: object, fn: str) -> Mutex:
    return instance_arg(m, Mutex, f"Mutex.{fn}", "m", "a Mutex")
