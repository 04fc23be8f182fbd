"""Cancellation contexts (Eio's ``Cancel``).

Theory of operation: there is a tree of cancellation contexts. A fiber is in
exactly one context at a time, and moves to a child and back (``sub``,
``protect``, switches). Cancelling a context marks it and every unprotected
descendant as cancelled with the same reason, then interrupts every fiber in
them (see ``_greenlet.interrupt``). A cancelled context never turns back on.
A fiber in a cancelled context gets :class:`Cancelled` from every greeneio
call that could block, before it blocks.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from greeneio._core import _greenlet

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
        self.fibers: dict[_greenlet.FiberGreenlet, None] = {}
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
        fibers: list[_greenlet.FiberGreenlet] = []
        _mark(self, exc, fibers)
        me = _greenlet.current_or_none()
        for fiber in fibers:
            if fiber is not me:
                _greenlet.interrupt(fiber, fiber.cc.cancelled_exc)
            else:
                _greenlet.arm(fiber)  # in case it next blocks in a gevent call

    def finish(self) -> None:
        self.finished = True
        if self.parent is not None:
            self.parent.children.pop(self, None)

    def __repr__(self) -> str:
        state = "on" if self.reason is None else f"cancelling({self.reason!r})"
        return f"<CancelContext {state}{' protected' if self.protected else ''}>"


def _mark(cc: CancelContext, exc: BaseException, acc: list[_greenlet.FiberGreenlet]) -> None:
    if cc.reason is not None or cc.finished:
        return
    cc.reason = exc
    acc.extend(cc.fibers)
    for child in list(cc.children):
        if not child.protected:
            _mark(child, exc, acc)


def move_fiber_to(fiber: _greenlet.FiberGreenlet, cc: CancelContext) -> None:
    """Move ``fiber`` into ``cc``; if ``cc`` is cancelled the fiber is armed."""
    fiber.cc.fibers.pop(fiber, None)
    fiber.cc = cc
    cc.fibers[fiber] = None
    if cc.reason is not None:
        _greenlet.arm(fiber)


def with_cc(protected: bool, fn: Callable[[CancelContext], T], check_parent: bool = True) -> T:
    """Run ``fn(cc)`` in a new child context of the current fiber's context."""
    fiber = _greenlet.current()
    parent = fiber.cc
    if check_parent and not protected:
        parent.check()
    cc = CancelContext(parent, protected)
    move_fiber_to(fiber, cc)
    try:
        return fn(cc)
    finally:
        move_fiber_to(fiber, parent)
        cc.finish()


def current_context() -> CancelContext:
    return _greenlet.current().cc


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
    return with_cc(True, lambda _cc: fn())


def sub(fn: Callable[[CancelContext], T]) -> T:
    """Run ``fn(cc)`` in a new sub-context ``cc`` that can be cancelled alone.

    Raises ``Cancelled`` at once if the current context is already cancelled.
    """
    return with_cc(False, fn)
