"""Pools of reusable resources (Eio's ``Pool``), e.g. connections or buffers.

Theory of operation
-------------------
* A pool has at most ``n`` *slots*. A slot is a list of none or one
  resource: empty when its resource was never made, or was thrown away.
  Slots are made on demand, one per use that finds none free, and never go
  away. A slot is either free (in the FIFO ``free`` queue), lent to one use,
  or on its way to a waiter. ``free`` and the FIFO queue of waiters are
  never both non-empty.
* :func:`use` takes the first free slot; if there is none but fewer than
  ``n`` slots exist, it makes an empty one for itself; otherwise it waits
  until a use that finishes hands its slot over (first come, first served).
  A use that makes a slot still lets the fibers already runnable go first
  (as in Eio, where it waits for its own new slot).
* With its slot, a use makes sure it holds a good resource: an empty slot
  gets ``alloc()``; a resource that ``validate`` rejects is given to
  ``dispose`` and replaced. Then ``fn(resource)`` runs. Whatever happens
  (``alloc``, ``dispose`` or ``fn`` failing, cancellation), the slot goes
  back: to the longest waiter, else to ``free``. A failed ``alloc`` leaves
  the slot empty, so the next use tries again; only the use that saw it
  fail raises.
* A waiter cancelled before it was handed a slot has a dead waker and is
  skipped: its cancelled ``use`` takes nothing. One that was handed a slot
  first keeps it (what was handed over is not lost): it runs ``fn``, whose
  next blocking call raises ``Cancelled``, and gives the slot back. A use
  by a fiber already cancelled raises ``Cancelled`` before it makes a slot
  or waits (a free slot is taken without a check, as in Eio).
* ``never_block=True`` with every slot busy makes an extra resource outside
  the slots, runs ``fn`` with it and disposes of it.
* ``alloc``, ``validate``, ``dispose`` and ``fn`` run in the using fiber. A
  pool belongs to the fibers of one process (one scheduler).
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from typing import Generic, TypeVar

from greeneio._core import _greenlet
from greeneio._core.args import bool_arg, callable_arg, instance_arg, int_arg

T = TypeVar("T")
R = TypeVar("R")

__all__ = ["Pool", "create", "use"]


def _always_valid(_x: object) -> bool:
    return True


def _keep(_x: object) -> None:
    pass


class Pool(Generic[T]):
    """At most ``n`` resources made by ``alloc``, lent out one use at a time
    (make one with :func:`create`); ``p.use(fn)`` is ``use(p, fn)``."""

    __slots__ = ("_alloc", "_dispose", "_free", "_max", "_slots", "_validate", "_waiters")

    def __init__(
        self,
        n: int,
        alloc: Callable[[], T],
        validate: Callable[[T], bool],
        dispose: Callable[[T], object],
    ) -> None:
        # Private: use create, which checks its arguments.
        self._max = n
        self._slots = 0  # slots made so far (free, lent, or being handed over)
        self._alloc = alloc
        self._validate = validate
        self._dispose = dispose
        self._free: deque[list[T]] = deque()
        self._waiters = _greenlet.WaitQueue()

    def use(self, fn: Callable[[T], R], *, never_block: bool = False) -> R:
        """``fn(resource)`` with a resource of the pool (see :func:`use`)."""
        callable_arg(fn, "Pool.use")
        bool_arg(never_block, "Pool.use", "never_block")
        if self._free:
            return self._run_with(fn, self._free.popleft())
        if self._slots >= self._max and never_block:
            return self._run_extra(fn)
        _greenlet.current().cc.check()
        if self._slots < self._max:
            # No waiter can be queued while slots can still be made: the new
            # slot is this use's, once the fibers already runnable have run.
            self._slots += 1
            slot: list[T] = []
            try:
                _greenlet.yield_now()
            except BaseException:
                self._put(slot)
                raise
        else:
            slot = self._waiters.wait()
        return self._run_with(fn, slot)

    def _run_with(self, fn: Callable[[T], R], slot: list[T]) -> R:
        # Make sure ``slot`` holds a valid resource, lend it to ``fn``, give it back.
        try:
            if slot:
                x = slot[0]
                if self._validate(x):
                    return fn(x)
                slot.clear()
                self._dispose(x)
            x = self._alloc()
            slot.append(x)
            return fn(x)
        finally:
            self._put(slot)

    def _run_extra(self, fn: Callable[[T], R]) -> R:
        # Every slot is busy and the caller must not wait: a resource of its own.
        x = self._alloc()
        try:
            return fn(x)
        finally:
            self._dispose(x)

    def _put(self, slot: list[T]) -> None:
        # Give ``slot`` back: to the longest live waiter, else to the free queue.
        if not self._waiters.wake_one(slot):
            self._free.append(slot)

    def __repr__(self) -> str:
        waiting = self._waiters.live()
        return f"<Pool {self._slots}/{self._max} slots, {len(self._free)} free, {waiting} waiting>"


def create(
    n: int,
    alloc: Callable[[], T],
    *,
    validate: Callable[[T], bool] | None = None,
    dispose: Callable[[T], object] | None = None,
) -> Pool[T]:
    """A new pool that lets at most ``n`` resources live at once.

    ``alloc()`` makes a resource when a use needs one and none is ready; if
    it raises, that use raises it and a later use tries again. Before each
    reuse, ``validate(resource)`` (default: always true) is asked; false
    means ``dispose(resource)`` (default: do nothing) and a fresh ``alloc()``.
    If ``dispose`` raises, that use raises it, and the resource counts as
    disposed. The pool never disposes of the resources it keeps: they belong
    to whoever made them (typically a switch that outlives the pool).
    ``TypeError`` for a non-int ``n`` or a non-callable function;
    ``ValueError`` if ``n <= 0``.
    """
    int_arg(n, "Pool.create", "n", min=1)
    callable_arg(alloc, "Pool.create", "alloc")
    if validate is not None:
        callable_arg(validate, "Pool.create", "validate")
    if dispose is not None:
        callable_arg(dispose, "Pool.create", "dispose")
    return Pool(n, alloc, validate or _always_valid, dispose or _keep)


def use(pool: Pool[T], fn: Callable[[T], R], *, never_block: bool = False) -> R:
    """Run ``fn(resource)`` with a resource of ``pool`` and return its result.

    Blocks while all ``n`` resources are in use, until one comes back (first
    come, first served); with ``never_block=True`` it makes an extra resource
    instead, disposed of once ``fn`` returns. The resource is lent to ``fn``
    only: it goes back to the pool when ``fn`` returns or raises (``fn``'s
    exception is raised). ``alloc``'s, ``validate``'s and ``dispose``'s
    exceptions are raised too. Cancellable: ``Cancelled`` before waiting if
    the fiber is already cancelled, and a cancelled wait takes no resource.
    """
    return instance_arg(pool, Pool, "Pool.use", "pool", "a Pool").use(fn, never_block=never_block)
