"""Lazy values that many fibers can force at once (Eio's ``Lazy``).

Theory of operation
-------------------
* A lazy value is in one of four states: *waiting* (``fn`` has not run, or
  must run again), *running* (one fiber, the forcer, is inside ``fn``),
  *done* (a value is kept) or *failed* (an exception is kept, with its
  traceback). It only moves waiting → running → done / failed, or, in
  ``"restart"`` mode, running → waiting again.
* :func:`force` on a waiting value makes the calling fiber the forcer: it
  runs ``fn`` in its own context (under ``Cancel.protect`` in ``"protect"``
  mode). Every other forcer waits on the value's FIFO queue of wakers; when
  the forcer leaves ``fn``, however it leaves, it wakes them all, and each
  looks at the state again: returns the value, raises the kept exception, or
  (after a restart) becomes the next forcer or waits again.
* A forcer cancelled inside ``fn`` (``fn`` lets out ``Cancelled`` while the
  forcer's context is cancelled) ends as its mode says: ``"restart"``
  puts the value back to waiting, so the first waiter to run forces it
  again; ``"record"`` keeps that ``Cancelled`` as the outcome for everyone;
  ``"protect"`` cannot be cancelled there. An exception that is not an
  ``Exception`` and not ``Cancelled`` (``KeyboardInterrupt``, ``SystemExit``,
  ``GreenletExit``) is about the forcer, not the computation: the value goes
  back to waiting, as in ``"restart"`` mode.
* A waiter that is cancelled stops waiting and changes nothing. A forcer that
  forces its own value again, from inside ``fn``, gets ``RuntimeError``
  instead of waiting for itself forever.
* A lazy value belongs to the fibers of one process (one scheduler).
"""

from __future__ import annotations

from collections.abc import Callable
from types import TracebackType
from typing import Any, Generic, Literal, TypeVar

from greeneio._core import _greenlet, cancel
from greeneio._core.args import callable_arg, instance_arg
from greeneio._core.cancel import Cancelled

T = TypeVar("T")

__all__ = ["Lazy", "force", "from_fun", "from_val"]

_CancelMode = Literal["restart", "record", "protect"]
_MODES = ("restart", "record", "protect")

_WAITING, _RUNNING, _DONE, _FAILED = 0, 1, 2, 3


class Lazy(Generic[T]):
    """A value computed the first time it is forced (make one with
    :func:`from_fun` or :func:`from_val`); ``l.force()`` is ``force(l)``."""

    __slots__ = ("_cancel", "_fn", "_forcer", "_state", "_tb", "_value", "_waiters")

    def __init__(self, fn: Callable[[], T] | None, cancel: _CancelMode, value: Any = None) -> None:
        # Private: use from_fun / from_val, which check their arguments.
        self._fn = fn
        self._cancel = cancel
        self._state = _WAITING if fn is not None else _DONE
        self._value: Any = value  # the result, or the kept exception
        self._tb: TracebackType | None = None
        self._forcer: _greenlet.FiberGreenlet | None = None
        self._waiters = _greenlet.WaitQueue()

    def force(self) -> T:
        """The value, computing it first if needed (see :func:`force`)."""
        while True:
            state = self._state
            if state == _DONE:
                return self._value  # type: ignore[no-any-return]
            if state == _FAILED:
                raise self._value.with_traceback(self._tb)
            if state == _WAITING:
                return self._run()
            me = _greenlet.current()
            if self._forcer is me:
                raise RuntimeError("Lazy.force: the value is being forced by this fiber already")
            me.cc.check()
            self._waiters.wait()

    def _run(self) -> T:
        # The calling fiber becomes the forcer and runs fn.
        fn = self._fn
        assert fn is not None
        me = _greenlet.current()
        self._state = _RUNNING
        self._forcer = me
        try:
            x = cancel.protect(fn) if self._cancel == "protect" else fn()
        except Cancelled as e:
            if self._cancel == "restart" and me.cc.reason is not None:
                self._state = _WAITING  # the next forcer starts again
                raise
            self._fail(e)
            raise
        except Exception as e:
            self._fail(e)
            raise
        except BaseException:
            self._state = _WAITING
            raise
        else:
            self._state = _DONE
            self._value = x
            self._fn = None
            return x
        finally:
            self._forcer = None
            for w in self._waiters.take_all():
                w.wake()

    def _fail(self, e: BaseException) -> None:
        self._state = _FAILED
        self._value = e
        self._tb = e.__traceback__
        self._fn = None

    def __repr__(self) -> str:
        state = ("unforced", "forcing", "forced", "failed")[self._state]
        return f"<Lazy {state}>"


def from_fun(fn: Callable[[], T], *, cancel: _CancelMode) -> Lazy[T]:
    """A lazy value that runs ``fn()`` the first time it is forced.

    ``cancel`` (required, as in Eio) says what happens when the forcing fiber
    is cancelled while ``fn`` runs:

    * ``"restart"``: that force raises ``Cancelled``; the next fiber waiting
      (or the next to force) runs ``fn`` again from the start.
    * ``"record"``: the ``Cancelled`` is kept as the outcome: every force,
      now and later, raises it.
    * ``"protect"``: ``fn`` runs under ``Cancel.protect``, so it finishes and
      its outcome is kept; the forcer's cancellation takes effect at its next
      blocking call.

    ``TypeError`` if ``fn`` is not callable; ``ValueError`` for another
    ``cancel``. ``fn`` is called with no arguments, in the forcing fiber.
    """
    callable_arg(fn, "Lazy.from_fun")
    if cancel not in _MODES:
        raise ValueError(
            f"Lazy.from_fun: cancel must be 'restart', 'record' or 'protect', not {cancel!r}"
        )
    return Lazy(fn, cancel)


def from_val(v: T) -> Lazy[T]:
    """A lazy value that is already forced: :func:`force` returns ``v``."""
    lazy: Lazy[T] = Lazy(None, "record", v)
    return lazy


def force(lazy: Lazy[T]) -> T:
    """The value of ``lazy``: ``fn``'s result, computed by the first forcer.

    When ``fn`` has not run yet, the calling fiber runs it; while it runs,
    other forcers block until it ends, then return its result or raise its
    exception. Both are kept: later forces return the same object or raise
    the same exception, without running ``fn`` again (except after a
    cancelled forcer in ``"restart"`` mode, see :func:`from_fun`).
    Cancellable: a fiber cancelled while waiting for another's forcer raises
    ``Cancelled`` and changes nothing. ``RuntimeError`` if ``fn`` forces its
    own lazy value in the forcing fiber (it would wait for itself).
    """
    checked: Lazy[T] = instance_arg(lazy, Lazy, "Lazy.force", "lazy", "a Lazy value")
    return checked.force()
