"""Cancellation contexts (Eio's ``Cancel``) and the delivery of cancellation.

Theory of operation: there is a tree of cancellation contexts. A fiber is in
exactly one context at a time: it enters one when it starts
(:meth:`CancelContext.enter`), moves to a child and back (``sub``,
``protect``, switches: :meth:`CancelContext.move_in`) and leaves when it ends
(:meth:`CancelContext.leave`). Cancelling a context marks it and every
unprotected descendant as cancelled with the same reason, then interrupts
every fiber in them. A cancelled context never turns back on. A fiber in a
cancelled context gets :class:`Cancelled` from every greeneio call that could
block, before it blocks, and when it comes back from a wait.

Delivery (this module's job, Eio's ``cancel_fn``): a fiber suspended in one
of greeneio's interruptible waits carries its waker, and is woken with
``Cancelled`` at once. Any other fiber (blocked in a gevent call, or about to
resume) is *armed*: a hub callback re-checks it when it runs and throws
``Cancelled`` into it only if it is then blocked, still cancelled, and not
protected; a fiber in a backend's readiness wait (``IO_WAIT``) is switched
back instead, and raises ``Cancelled`` itself (cheaper than a throw).
gevent's own waits use one-shot waiters and stop their watchers on
exceptions, so throwing into them is safe; this is how cancellation reaches
``gevent.sleep``, gevent sockets and monkey-patched stdlib calls.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from greeneio._core import _greenlet
from greeneio._core._greenlet import FiberGreenlet

T = TypeVar("T")

__all__ = ["CancelContext", "Cancelled", "cancel", "check", "get_error", "protect", "sub"]


class Cancelled(BaseException):
    """The fiber's cancellation context was cancelled because of ``reason``.

    A ``BaseException``, so ``except Exception`` does not swallow it. Let it
    propagate: the switch above turns it back into ``reason``.
    """

    def __init__(self, reason: BaseException | None = None) -> None:
        super().__init__(reason)
        self.reason = reason

    def __str__(self) -> str:
        r = self.reason
        if r is None:
            return "Cancelled"
        return f"Cancelled: {type(r).__name__}: {r}" if str(r) else f"Cancelled: {r!r}"


class CancelContext:
    """A node of the cancellation tree; ``reason`` is set once it is cancelled."""

    __slots__ = ("children", "fibers", "finished", "parent", "protected", "reason")

    def __init__(self, parent: CancelContext | None, protected: bool = False) -> None:
        self.parent = parent
        self.protected = protected
        self.reason: BaseException | None = None
        self.finished = False
        self.children: dict[CancelContext, None] = {}
        self.fibers: dict[FiberGreenlet, None] = {}
        if parent is not None:
            if parent.finished:
                raise RuntimeError("Cancellation context finished!")
            parent.children[self] = None
            if not protected and parent.reason is not None:
                self.reason = parent.reason

    def is_on(self) -> bool:
        return self.reason is None and not self.finished

    def cancelled_exc(self) -> Cancelled:
        return Cancelled(self.reason)

    def check(self) -> None:
        """Raise ``Cancelled`` if this context is cancelled."""
        if self.reason is not None:
            raise Cancelled(self.reason)
        if self.finished:
            raise RuntimeError("Cancellation context finished!")

    def cancel(self, exc: BaseException) -> None:
        """Cancel this context and its unprotected descendants with reason ``exc``.

        Every fiber in them that is blocked is interrupted with ``Cancelled(exc)``;
        the others raise it at their next blocking greeneio call. Cancelling a
        context that is already cancelled does nothing.
        """
        if not isinstance(exc, BaseException):
            raise TypeError(f"Cancel.cancel: exc must be an exception, not {exc!r}")
        if self.finished:
            raise RuntimeError("Cancellation context finished!")
        fibers: list[FiberGreenlet] = []
        _mark(self, exc, fibers)
        me = _greenlet.getcurrent()
        for fiber in fibers:
            if fiber is not me:
                _interrupt(fiber)
            else:
                _arm(fiber)  # in case it next blocks in a gevent call

    # -- fibers entering and leaving ------------------------------------------

    def enter(self, fiber: FiberGreenlet) -> None:
        """Make the new ``fiber`` one of this context's."""
        fiber.cc = self
        self.fibers[fiber] = None

    def leave(self, fiber: FiberGreenlet) -> None:
        """``fiber`` has ended: it is no longer one of this context's."""
        self.fibers.pop(fiber, None)

    def move_in(self, fiber: FiberGreenlet) -> None:
        """Move ``fiber`` here from its current context; if this context is
        cancelled the fiber is armed, so a deferred cancellation is not lost."""
        fiber.cc.fibers.pop(fiber, None)
        fiber.cc = self
        self.fibers[fiber] = None
        if self.reason is not None:
            _arm(fiber)

    def rearm(self, fiber: FiberGreenlet) -> None:
        """``fiber`` (of this context) ended a wait that cancellation could not
        interrupt: deliver the cancellation when it next blocks."""
        if self.reason is not None:
            _arm(fiber)

    def finish(self) -> None:
        self.finished = True
        if self.parent is not None:
            self.parent.children.pop(self, None)

    def __repr__(self) -> str:
        state = "on" if self.reason is None else f"cancelling({self.reason!r})"
        return f"<CancelContext {state}{' protected' if self.protected else ''}>"


def _mark(cc: CancelContext, exc: BaseException, acc: list[FiberGreenlet]) -> None:
    if cc.reason is not None or cc.finished:
        return
    cc.reason = exc
    acc.extend(cc.fibers)
    for child in list(cc.children):
        if not child.protected:
            _mark(child, exc, acc)


# -- delivery -------------------------------------------------------------------


def _interrupt(fiber: FiberGreenlet) -> None:
    # Make ``fiber`` (not the running one) stop its current wait with Cancelled.
    w = fiber.waker
    if w is not None:
        if not w.interruptible:
            return  # re-armed when the wait ends (see _greenlet.suspend)
        if w.fiber is not None:
            w.fail(fiber.cc.cancelled_exc())
            return
    _arm(fiber)


def _arm(fiber: FiberGreenlet) -> None:
    # Ask the hub to interrupt ``fiber`` once it is blocked, if still cancelled.
    if not fiber.armed:
        fiber.armed = True
        fiber.sched.call_soon(_deliver, fiber)


def _deliver(fiber: FiberGreenlet) -> None:
    fiber.armed = False
    if not fiber or fiber is _greenlet.getcurrent():
        return  # finished, not started, or running: it checks for itself
    cc = fiber.cc
    if cc is None or cc.reason is None:
        return  # parked in the pool, or no longer cancelled (e.g. now protected)
    w = fiber.waker
    if w is not None:
        if w is _greenlet.IO_WAIT:
            fiber.switch()  # it raises Cancelled itself (see IO_WAIT)
            return
        if not w.interruptible:
            return
        if w.fiber is None:
            _arm(fiber)  # its resumption is queued ahead of us: look again after
            return
        w.fiber = None
    # Blocked in one of our waits, or somewhere in gevent: throw into it now.
    fiber.throw(cc.cancelled_exc())


# -- scopes ---------------------------------------------------------------------


def _with_context(protected: bool, fn: Callable[[CancelContext], T], check_parent: bool) -> T:
    """Run ``fn(cc)`` with the current fiber in a new child context ``cc``."""
    fiber = _greenlet.current()
    parent = fiber.cc
    if check_parent and not protected:
        parent.check()
    cc = CancelContext(parent, protected)
    cc.move_in(fiber)
    try:
        return fn(cc)
    finally:
        parent.move_in(fiber)
        cc.finish()


def check() -> None:
    """Raise ``Cancelled`` if the current fiber's context is cancelled."""
    _greenlet.current().cc.check()


def get_error(cc: CancelContext) -> Cancelled | None:
    """``Cancelled(reason)`` if ``cc`` is cancelled, else ``None``."""
    return None if cc.reason is None else Cancelled(cc.reason)


def cancel(cc: CancelContext, exc: BaseException) -> None:
    """Cancel ``cc`` with reason ``exc`` (see :meth:`CancelContext.cancel`)."""
    cc.cancel(exc)


def protect(fn: Callable[[], T]) -> T:
    """Run ``fn()`` where cancelling the caller's context does not reach it.

    A cancellation that happened meanwhile takes effect at the caller's next
    blocking call after ``fn`` returns.
    """
    return _with_context(True, lambda _cc: fn(), False)


def sub(fn: Callable[[CancelContext], T]) -> T:
    """Run ``fn(cc)`` in a new sub-context ``cc`` that can be cancelled alone.

    Raises ``Cancelled`` at once if the current context is already cancelled.
    """
    return _with_context(False, fn, True)
