"""Fibers on greenlets: the one core module that touches greenlet.

Theory of operation
-------------------
* A fiber is a :class:`FiberGreenlet` whose greenlet parent is its scheduler's
  hub. A fiber blocks by switching to the hub; something later switches back.
* A scheduler is a hub greenlet plus a :class:`RunQueue` the hub drains: a
  deque with a head (``call_next``: the caller of a fork resumes before
  anything queued earlier, as in Eio) and a tail (``call_soon``: wake-ups and
  ``yield_``). Both backends use this one queue, so a program's run order is
  the same on gevent as on the mock (SPEC §3).
* greeneio's own waits go through :func:`suspend` with a one-shot
  :class:`Waker`. A waker fires at most once, so a late wake-up can never
  resume a fiber somewhere else. While a fiber waits, ``fiber.waker`` is set;
  a waker whose ``fiber`` is ``None`` means "resume already queued".
* Cancellation is delivered by ``cancel.py`` (it owns the policy). A wait
  that hands the fiber nothing (socket readiness) raises ``Cancelled`` when
  the fiber comes back cancelled, even if the wake-up got there first; a
  wake-up that hands over a value (a promise) delivers it, and the next
  blocking call raises ``Cancelled``.
* Forked fibers run on pooled greenlets (:func:`spawn`): when a fiber's
  function returns, it leaves its cancel context, and its greenlet is cleaned
  (bindings, contextvars) and parked in its scheduler's ``pool`` for the next
  fork, up to :data:`POOL_MAX`. A fresh greenlet costs several microseconds
  (and, on Python 3.11+, a new frame stack); a parked one is one switch away.
  A fiber that is still armed when it ends is not parked, so a cancellation
  queued for it can never reach the next fiber on that greenlet.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Protocol, TypeVar

from greenlet import GreenletExit, getcurrent
from greenlet import greenlet as RawGreenlet

__all__ = [
    "FiberGreenlet",
    "GreenletExit",
    "IO_WAIT",
    "RunQueue",
    "Scheduler",
    "WaitQueue",
    "Waker",
    "call",
    "current",
    "getcurrent",
]

if TYPE_CHECKING:
    from greeneio._core.cancel import CancelContext

T = TypeVar("T")


class Scheduler(Protocol):
    """What the core needs from a backend's event loop."""

    hub: RawGreenlet
    #: Parked greenlets for :func:`spawn` (a list owned by the scheduler).
    pool: list[FiberGreenlet]
    #: Starts new greenlets at a fixed depth (:func:`make_launcher`).
    launcher: RawGreenlet
    #: The monotonic ``IClock`` of this run (for library timers: back-off, grace).
    clock: Any
    #: The backend's ``IUnixNet`` provider (OS sockets and files), or ``None``.
    unix: Any

    def call_soon(self, fn: Callable[..., object], *args: Any) -> None:
        """Run ``fn(*args)`` in the hub after the callbacks already queued."""

    def call_next(self, fn: Callable[..., object], *args: Any) -> None:
        """Run ``fn(*args)`` in the hub before every callback already queued."""

    def root_finished(self) -> None:
        """The main fiber has ended: let the backend's main loop return."""


class RunQueue:
    """The run queue of a scheduler: callbacks the hub runs in order.

    ``push`` adds at the tail, ``push_next`` at the head. ``run(budget)`` runs
    queued callbacks until the queue is empty or ``budget`` of them have run
    (so a backend with I/O can poll between batches); it returns whether any
    are left. Callbacks run in the hub greenlet; one that switches into a
    fiber returns when that fiber next blocks.
    """

    __slots__ = ("_q", "push", "push_next")

    def __init__(self) -> None:
        q: deque[tuple[Callable[..., object], tuple[Any, ...]]] = deque()
        self._q = q
        self.push = q.append
        self.push_next = q.appendleft

    def __len__(self) -> int:
        return len(self._q)

    def run(self, budget: int) -> bool:
        q = self._q
        pop = q.popleft
        while q and budget:
            fn, args = pop()
            fn(*args)
            budget -= 1
        return bool(q)


class Waker:
    """A one-shot way to resume a fiber suspended in :func:`suspend`.

    ``data`` rides with it: what the waiting fiber offers (a :class:`WaitQueue`
    entry's item), for whoever wakes it.
    """

    __slots__ = ("data", "fiber", "interruptible")

    def __init__(
        self, fiber: FiberGreenlet | None, interruptible: bool = True, data: Any = None
    ) -> None:
        self.fiber = fiber
        self.interruptible = interruptible
        self.data = data

    def wake(self, value: object = None) -> bool:
        """Queue the fiber's resumption with ``value``; False if already woken."""
        fiber = self.fiber
        if fiber is None:
            return False
        self.fiber = None
        fiber.sched.call_soon(fiber.switch, value)
        return True

    def fail(self, exc: BaseException) -> bool:
        """Queue the fiber's resumption raising ``exc``; False if already woken."""
        fiber = self.fiber
        if fiber is None:
            return False
        self.fiber = None
        fiber.sched.call_soon(fiber.throw, exc)
        return True


#: The waker of a fiber whose resumption is already queued (yield, fork):
#: cancellation arms it instead of waking it.
RESUMING = Waker(None)

#: The waker of a fiber blocked in a backend's readiness wait (a socket's io
#: watcher) that checks its context itself when it comes back: cancellation
#: resumes it with a plain switch from the hub instead of throwing into it (a
#: greenlet ``throw`` unwinds C++ frames: tens of thousands of instructions).
IO_WAIT = Waker(None)


class FiberGreenlet(RawGreenlet):  # type: ignore[misc]
    """A greenlet that is a greeneio fiber: it knows its scheduler and cancel context."""

    __slots__ = ("armed", "bindings", "cc", "job", "sched", "waker")

    cc: CancelContext
    sched: Scheduler
    waker: Waker | None
    armed: bool
    #: Fiber-local values (``Fiber.with_binding``), shared with forked children.
    bindings: dict[Any, Any] | None
    #: What a pooled greenlet runs next: ``(fn, args)``; None while parked.
    job: tuple[Callable[..., object], tuple[Any, ...]] | None


#: How many finished fibers' greenlets a scheduler keeps for reuse.
POOL_MAX = 128


def current() -> FiberGreenlet:
    """The running fiber; RuntimeError outside ``greeneio.run``/``mock.Backend.run``."""
    g = getcurrent()
    if isinstance(g, FiberGreenlet):
        return g
    raise RuntimeError(
        "greeneio: no current fiber; call this inside greeneio.run() or mock.Backend.run()"
    )


def current_checked() -> FiberGreenlet:
    """The running fiber, about to block: ``Cancelled`` if its context is
    cancelled (``current()`` then ``cc.check()``, in one call, for the
    backends' waits); RuntimeError outside a fiber."""
    g = getcurrent()
    try:
        cc = g.cc
    except AttributeError:
        return current()  # not a fiber: raises
    if cc.reason is not None or cc.finished:
        cc.check()
    return g  # type: ignore[no-any-return]  # only fibers have a cc


def current_or_none() -> FiberGreenlet | None:
    g = getcurrent()
    return g if isinstance(g, FiberGreenlet) else None


def new_root(sched: Scheduler, cc: CancelContext, run: Callable[[], object]) -> FiberGreenlet:
    """The main fiber of a run: it runs ``run()`` inside ``cc`` when first
    switched to, and leaves ``cc`` when ``run`` returns."""

    def main() -> None:
        try:
            run()
        finally:
            cc.leave(fiber)

    fiber = _make(sched, main)
    cc.enter(fiber)
    fiber.bindings = None
    return fiber


def _make(sched: Scheduler, run: Callable[..., object]) -> FiberGreenlet:
    fiber = FiberGreenlet(run, sched.hub)
    fiber.sched = sched
    fiber.waker = None
    fiber.armed = False
    return fiber


def spawn(sched: Scheduler, cc: CancelContext, run: Callable[..., object], *args: Any) -> None:
    """Run ``run(*args)`` at once in a new fiber inside ``cc`` (on a pooled
    greenlet when one is parked); the caller resumes when it first blocks,
    ahead of everything queued before. The fiber leaves ``cc`` when ``run``
    returns or raises."""
    me = current()
    pool = sched.pool
    fresh = not pool
    fiber = _make(sched, _pooled_main) if fresh else pool.pop()
    cc.enter(fiber)
    fiber.bindings = me.bindings
    fiber.job = (run, args)
    me.waker = RESUMING
    sched.call_next(me.switch)
    try:
        if fresh:
            # A greenlet inherits the recursion depth of whoever first switches
            # into it, and a pooled one keeps it for life: starting each one from
            # the launcher (always at the same shallow depth) stops that depth
            # ratcheting up through generations of reuse.
            sched.launcher.switch(fiber)
        else:
            fiber.switch()
    finally:
        me.waker = None


def make_launcher(hub: RawGreenlet) -> RawGreenlet:
    """The greenlet that first switches into every spawned one (see :func:`spawn`).

    Call this where the stack is shallow (when the scheduler is made).
    """
    launcher = RawGreenlet(_launch, hub)
    launcher.switch(getcurrent())
    return launcher


def _launch(creator: RawGreenlet) -> None:
    g = creator.switch()
    while True:
        g = g.switch()  # returns the next greenlet to start, when switched to again


def call(fn: Callable[..., T], args: tuple[Any, ...]) -> T:
    """``fn(*args)`` without a C-level call for up to four arguments: Python
    3.11+ runs a plain call to a Python function in the caller's eval loop,
    but ``fn(*args)`` enters a new one. Every C frame left on a fiber's stack
    is copied out when it blocks: a shallower stack is less memory per idle
    fiber."""
    n = len(args)
    if n == 0:
        return fn()
    if n == 1:
        return fn(args[0])
    if n == 2:
        return fn(args[0], args[1])
    if n == 3:
        return fn(args[0], args[1], args[2])
    if n == 4:
        return fn(args[0], args[1], args[2], args[3])
    return fn(*args)


def _pooled_main() -> None:
    # The body of every spawned greenlet: run a job, leave its context, park,
    # run the next one. GreenletExit (thrown in when a fiber blocked forever is
    # collected) and any other exception leave the loop, ending the greenlet.
    me: FiberGreenlet = getcurrent()
    while True:
        job = me.job
        if job is not None:
            me.job = None
            try:
                call(job[0], job[1])
            finally:
                me.cc.leave(me)
            pool = me.sched.pool
            if me.armed or len(pool) >= POOL_MAX:
                return
            me.cc = None  # type: ignore[assignment]
            me.bindings = None
            me.gr_context = None  # the finished job's contextvars go with it
            pool.append(me)
        me.sched.hub.switch()


def suspend(
    register: Callable[[Waker], object], interruptible: bool = True, data: Any = None
) -> Any:
    """Block the current fiber until the waker given to ``register`` fires.

    Returns the value passed to ``Waker.wake``. An interruptible wait raises
    ``Cancelled`` when the fiber's context is cancelled; the waker is then
    dead. A wake-up queued before the cancellation still delivers its value
    (as in Eio: what was handed over is not lost); the fiber is then armed,
    and its next blocking call raises ``Cancelled``.
    """
    me = current()
    w = Waker(me, interruptible, data)
    me.waker = w
    register(w)
    try:
        return me.sched.hub.switch()
    finally:
        w.fiber = None
        me.waker = None
        if not interruptible:
            me.cc.rearm(me)


class WaitQueue:
    """Fibers waiting, first come first served, for what others hand over
    (a permit, a lock, an item): the one queue of every synchronisation type.

    :meth:`wait` suspends the current fiber at the tail; :meth:`pop` removes
    and returns the first waiter still waiting (the caller wakes it at once,
    handing it a value), or ``None``. A cancelled waiter is never handed
    anything: its waker is dead, so ``pop`` skips it. Dead entries stay queued
    until they are about half of the queue, then go in one pass, so cancelling
    many waiters costs linear time in all.
    """

    __slots__ = ("_dead", "_q")

    def __init__(self) -> None:
        self._q: deque[Any] = deque()
        self._dead = 0

    def wait(self, data: Any = None) -> Any:
        """Block at the tail until popped and woken; the value given to ``wake``.

        ``data`` is the popper's to read (``waker.data``). Cancellable: the
        caller checks ``cc`` first, as for every wait; a cancelled wait is
        handed nothing.
        """
        try:
            return suspend(self._q.append, True, data)
        except BaseException:
            self.forget_one()
            raise

    def push(self, entry: Any) -> None:
        """Queue ``entry``, a waker-like object (``fiber``, ``wake``) that is
        not a suspended fiber yet (``Condition.loop_no_mutex``'s requests)."""
        self._q.append(entry)

    def forget_one(self) -> None:
        """An entry of this queue died without being popped (its wait ended)."""
        self._dead += 1
        q = self._q
        if 2 * self._dead >= len(q):
            live = [e for e in q if e.fiber is not None]
            q.clear()
            q.extend(live)
            self._dead = 0

    def pop(self) -> Any:
        """The first live entry, removed (wake it before anything else runs), or ``None``."""
        q = self._q
        while q:
            e = q.popleft()
            if e.fiber is not None:
                return e
            if self._dead:
                self._dead -= 1
        return None

    def wake_one(self, value: object = None) -> bool:
        """Wake the first live waiter with ``value``; False if there is none."""
        e = self.pop()
        return e is not None and bool(e.wake(value))

    def take_all(self) -> list[Any]:
        """Every live entry, in order, removed (to wake or fail them all)."""
        q = self._q
        live = [e for e in q if e.fiber is not None]
        q.clear()
        self._dead = 0
        return live

    def live(self) -> int:
        """How many entries are still waiting (for ``repr``; linear time)."""
        return sum(1 for e in self._q if e.fiber is not None)

    def __len__(self) -> int:
        # Entries queued, live or dead (cheap; ``live`` counts the waiting ones).
        return len(self._q)


def yield_now() -> None:
    """Let every other runnable fiber run once, then continue (not cancellable)."""
    me = current()
    me.waker = RESUMING
    me.sched.call_soon(me.switch)
    try:
        me.sched.hub.switch()
    finally:
        me.waker = None
