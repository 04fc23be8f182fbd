"""Fibers on greenlets: the one core module that touches greenlet and gevent.

Theory of operation
-------------------
* A fiber is a :class:`FiberGreenlet` whose greenlet parent is its scheduler's
  hub. A fiber blocks by switching to the hub; something later switches back.
* A scheduler is a hub greenlet plus a FIFO of callbacks the hub runs
  (:class:`GeventScheduler` uses gevent's hub and loop; the mock backend has
  its own deterministic one).
* greeneio's own waits go through :func:`suspend` with a one-shot
  :class:`Waker`. A waker fires at most once, so a late wake-up can never
  resume a fiber somewhere else. While a fiber waits, ``fiber.waker`` is set;
  a waker whose ``fiber`` is ``None`` means "resume already queued".
* Cancellation (see ``cancel.py``) calls :func:`interrupt` for each fiber of a
  cancelled context. A fiber in one of our interruptible waits is woken with
  ``Cancelled`` at once. Any other fiber (blocked in a gevent call, or about to
  resume) is *armed*: a hub callback re-checks it when it runs and throws
  ``Cancelled`` into it only if it is then blocked, still cancelled, and not
  protected. gevent's own waits use one-shot waiters and stop their watchers
  on exceptions, so throwing into them is safe; this is how cancellation
  reaches ``gevent.sleep``, gevent sockets and monkey-patched stdlib calls.
* Forked fibers run on pooled greenlets (:func:`spawn`): when a fiber's
  function returns, its greenlet is cleaned (cancel context, bindings,
  contextvars) and parked in its scheduler's ``pool`` for the next fork, up to
  :data:`POOL_MAX`. A fresh greenlet costs several microseconds (and, on
  Python 3.11+, a new frame stack); a parked one is one switch away. A fiber
  that is still armed when it ends is not parked, so a cancellation queued
  for it can never reach the next fiber on that greenlet.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Protocol

from greenlet import GreenletExit, getcurrent
from greenlet import greenlet as RawGreenlet

__all__ = ["FiberGreenlet", "GreenletExit", "Scheduler", "Waker", "current"]

if TYPE_CHECKING:
    from greeneio._core.cancel import CancelContext


class Scheduler(Protocol):
    """What the core needs from a backend's event loop."""

    hub: RawGreenlet
    #: Parked greenlets for :func:`spawn` (a list owned by the scheduler).
    pool: list[FiberGreenlet]
    #: Starts new greenlets at a fixed depth (:func:`make_launcher`).
    launcher: RawGreenlet
    #: The monotonic ``IClock`` of this run (for library timers: back-off, grace).
    clock: Any

    def call_soon(self, fn: Callable[..., object], *args: Any) -> None:
        """Run ``fn(*args)`` in the hub after the callbacks already queued."""

    def call_next(self, fn: Callable[..., object], *args: Any) -> None:
        """Run ``fn(*args)`` in the hub as soon as possible (before others if it can)."""


class GeventScheduler:
    """The scheduler of real programs: gevent's hub for the current thread."""

    __slots__ = ("call_next", "call_soon", "clock", "hub", "launcher", "pool")

    def __init__(self, clock: Any) -> None:
        import gevent

        hub = gevent.get_hub()
        self.clock = clock
        self.hub = hub
        self.pool: list[FiberGreenlet] = []
        self.launcher = make_launcher(hub)
        self.call_soon = hub.loop.run_callback
        self.call_next = hub.loop.run_callback


class Waker:
    """A one-shot way to resume a fiber suspended in :func:`suspend`."""

    __slots__ = ("fiber", "interruptible")

    def __init__(self, fiber: FiberGreenlet | None, interruptible: bool = True) -> None:
        self.fiber = fiber
        self.interruptible = interruptible

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


# A fiber whose resumption is already queued (yield, fork): cancellation arms it.
_RESUMING = Waker(None)


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


def current_or_none() -> FiberGreenlet | None:
    g = getcurrent()
    return g if isinstance(g, FiberGreenlet) else None


def new_fiber(sched: Scheduler, cc: CancelContext, run: Callable[..., object]) -> FiberGreenlet:
    """A fiber that will run ``run(*args)`` when first switched to, inside ``cc``."""
    parent = getcurrent()
    bindings = parent.bindings if isinstance(parent, FiberGreenlet) else None
    return _enter(_make(sched, run), cc, bindings)


def _make(sched: Scheduler, run: Callable[..., object]) -> FiberGreenlet:
    fiber = FiberGreenlet(run, sched.hub)
    fiber.sched = sched
    fiber.waker = None
    fiber.armed = False
    return fiber


def _enter(fiber: FiberGreenlet, cc: CancelContext, bindings: Any) -> FiberGreenlet:
    # Make ``fiber`` (new or pooled) one of ``cc``'s, with the given bindings.
    fiber.cc = cc
    fiber.bindings = bindings
    cc.fibers[fiber] = None
    return fiber


def spawn(sched: Scheduler, cc: CancelContext, run: Callable[..., object], *args: Any) -> None:
    """Run ``run(*args)`` at once in a new fiber inside ``cc`` (on a pooled
    greenlet when one is parked); the caller resumes when it first blocks.

    ``run`` must remove the fiber from ``cc.fibers`` before it returns, as
    every fork runner does.
    """
    me = current()
    pool = sched.pool
    fresh = not pool
    fiber = _enter(_make(sched, _pooled_main) if fresh else pool.pop(), cc, me.bindings)
    fiber.job = (run, args)
    me.waker = _RESUMING
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


def _pooled_main() -> None:
    # The body of every spawned greenlet: run a job, park, run the next one.
    # GreenletExit (thrown in when a fiber blocked forever is collected) and any
    # other exception leave the loop, ending the greenlet as a fresh one would.
    me: FiberGreenlet = getcurrent()
    while True:
        job = me.job
        if job is not None:
            me.job = None
            job[0](*job[1])
            pool = me.sched.pool
            if me.armed or len(pool) >= POOL_MAX:
                return
            me.cc = None  # type: ignore[assignment]
            me.bindings = None
            me.gr_context = None  # the finished job's contextvars go with it
            pool.append(me)
        me.sched.hub.switch()


def suspend(register: Callable[[Waker], object], interruptible: bool = True) -> Any:
    """Block the current fiber until the waker given to ``register`` fires.

    Returns the value passed to ``Waker.wake``. An interruptible wait raises
    ``Cancelled`` when the fiber's context is cancelled; the waker is then dead.
    """
    me = current()
    w = Waker(me, interruptible)
    me.waker = w
    register(w)
    try:
        return me.sched.hub.switch()
    finally:
        w.fiber = None
        me.waker = None
        if not interruptible and me.cc.reason is not None:
            arm(me)


def yield_now() -> None:
    """Let every other runnable fiber run once, then continue (not cancellable)."""
    me = current()
    me.waker = _RESUMING
    me.sched.call_soon(me.switch)
    try:
        me.sched.hub.switch()
    finally:
        me.waker = None


def interrupt(fiber: FiberGreenlet, make_exc: Callable[[], BaseException]) -> None:
    """Make ``fiber`` (not the running one) stop its current wait with ``make_exc()``."""
    w = fiber.waker
    if w is not None:
        if not w.interruptible:
            return  # re-armed when the wait ends (see suspend)
        if w.fiber is not None:
            w.fail(make_exc())
            return
    arm(fiber)


def arm(fiber: FiberGreenlet) -> None:
    """Ask the hub to interrupt ``fiber`` once it is blocked, if it is still cancelled."""
    if not fiber.armed:
        fiber.armed = True
        fiber.sched.call_soon(_deliver, fiber)


def _deliver(fiber: FiberGreenlet) -> None:
    fiber.armed = False
    if not fiber or fiber is getcurrent():
        return  # finished, not started, or running: it checks for itself
    cc = fiber.cc
    if cc is None or cc.reason is None:
        return  # parked in the pool, or no longer cancelled (e.g. now protected)
    w = fiber.waker
    if w is not None:
        if not w.interruptible:
            return
        if w.fiber is None:
            arm(fiber)  # its resumption is queued ahead of us: look again after
            return
        w.fiber = None
    # Blocked in one of our waits, or somewhere in gevent: throw into it now.
    fiber.throw(cc.cancelled_exc())
