"""Switches (Eio's ``Switch``): a scope that owns fibers and resources.

Theory of operation: entering a switch gives the current fiber a new cancel
context. The body counts as one fiber; ``Fiber.fork`` adds more. Leaving waits
until the count is zero, then runs the release hooks (last first, each
protected from cancellation), then raises what failed: one failure as itself,
several as an ``ExceptionGroup``. ``fail`` records a failure and cancels the
context, so every fiber of the switch is interrupted. A finished switch refuses
new fibers, hooks and resources with ``RuntimeError("Switch finished!")``.
"""

from __future__ import annotations

from collections.abc import Callable
from types import TracebackType
from typing import Any, TypeVar

from greeneio._core import _greenlet, cancel, exn
from greeneio._core.cancel import CancelContext

T = TypeVar("T")

__all__ = ["AllNonDaemonsDone", "Hook", "Switch"]

_FINISHED = "Switch finished!"


class Hook:
    """A registered release hook; ``remove()`` unregisters it."""

    __slots__ = ("_fn", "_sw")

    def __init__(self, sw: Switch, fn: Callable[[], object] | None) -> None:
        self._sw = sw
        self._fn = fn

    def try_remove(self) -> bool:
        """Unregister the hook; False if it already ran or was removed."""
        hooks = self._sw._hooks
        if hooks is not None and self in hooks:
            del hooks[self]
            return True
        return False

    def remove(self) -> None:
        """Unregister the hook, if it has not run yet."""
        self.try_remove()


class AllNonDaemonsDone(Exception):
    """Why daemon fibers are cancelled once only daemons are left (not an error:
    ``Fiber.fork_daemon`` ends such a daemon quietly)."""


class Switch:
    """A scope for fibers and resources: ``with Switch() as sw: ...``.

    Leaving the block waits for every fiber forked on ``sw``, then releases
    its resources (last registered first), then raises its failure, if any.
    """

    __slots__ = (
        "_cc",
        "_daemons",
        "_exc",
        "_fiber",
        "_fibers",
        "_hooks",
        "_idle_waker",
        "_parent_cc",
        "_protected",
        "name",
    )

    def __init__(self, name: str | None = None) -> None:
        if name is not None and not isinstance(name, str):
            raise TypeError(f"Switch: name must be a str or None, not {name!r}")
        self.name = name
        self._protected = False
        self._cc: CancelContext | None = None
        self._fibers = 0
        self._daemons = 0
        self._exc: BaseException | None = None
        self._hooks: dict[Hook, None] | None = None
        self._idle_waker: _greenlet.Waker | None = None

    # -- scope ---------------------------------------------------------------

    def __enter__(self) -> Switch:
        if self._cc is not None:
            raise RuntimeError("a Switch can be entered only once")
        fiber = _greenlet.current()
        parent = fiber.cc
        if not self._protected:
            parent.check()
        cc = CancelContext(parent, self._protected)
        self._fiber = fiber
        self._parent_cc = parent
        self._cc = cc
        self._fibers = 1
        self._hooks = {}
        cc.move_in(fiber)
        return self

    def __exit__(
        self,
        et: type[BaseException] | None,
        ev: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._dec_fibers()
        if ev is not None:
            self.fail(ev)
        try:
            self._await_idle()
        finally:
            assert self._cc is not None
            self._parent_cc.move_in(self._fiber)
            self._cc.finish()
        exc = self._exc
        if exc is None or exc is ev:
            return  # success, or the body's own exception propagates, traceback intact
        raise exc

    @staticmethod
    def run(fn: Callable[[Switch], T], name: str | None = None) -> T:
        """``with Switch(name) as sw: return fn(sw)``."""
        with Switch(name) as sw:
            return fn(sw)

    @staticmethod
    def run_protected(fn: Callable[[Switch], T], name: str | None = None) -> T:
        """Like :meth:`run`, but cancelling the caller does not cancel the switch."""
        sw = Switch(name)
        sw._protected = True
        with sw:
            return fn(sw)

    # -- state ---------------------------------------------------------------

    def _live_cc(self) -> CancelContext:
        cc = self._cc
        if cc is None:
            raise RuntimeError("Switch not entered: use it as `with Switch() as sw:`")
        if cc.finished:
            raise RuntimeError(_FINISHED)
        return cc

    def is_finished(self) -> bool:
        return self._cc is not None and self._cc.finished

    def is_on(self) -> bool:
        """True while the switch can start new fibers (not failed, not finished)."""
        return self._cc is not None and self._cc.is_on()

    def check(self) -> None:
        """Raise ``Cancelled`` if the switch is off; ``RuntimeError`` once finished."""
        self._live_cc().check()

    def get_error(self) -> BaseException | None:
        """The failure that turned the switch off, or ``None``."""
        if self._exc is not None:
            return self._exc
        return None if self._cc is None else self._cc.reason

    def fail(self, exc: BaseException) -> None:
        """Record ``exc`` as a failure of the switch and cancel all its fibers."""
        if not isinstance(exc, BaseException):
            raise TypeError(f"Switch.fail: exc must be an exception, not {exc!r}")
        cc = self._live_cc()
        self._exc = exn.combine(self._exc, exc)
        cc.cancel(exc)

    def cancel_context(self) -> CancelContext:
        """The switch's cancel context; ``RuntimeError`` unless it is running."""
        cc = self._cc
        if cc is None or cc.finished:
            return self._live_cc()  # raises the right error
        return cc

    # -- fibers --------------------------------------------------------------

    def with_op(self, fn: Callable[..., T], *args: Any) -> T:
        """``fn(*args)``, counted as one of the switch's fibers: the switch
        does not finish (run its release hooks) before it returns.

        For library code that runs work on behalf of the switch (``Fiber.fork``
        runs each new fiber in it). ``RuntimeError`` if the switch has finished.
        """
        if self._hooks is None:  # not entered, or finished (the fork's hot path)
            self._live_cc()
        self._fibers += 1
        try:
            return _greenlet.call(fn, args)  # no C frame left on the fiber's stack
        finally:
            self._dec_fibers()

    def with_daemon(self, fn: Callable[..., T], *args: Any) -> T:
        """Like :meth:`with_op`, but as a daemon: once only daemons are left,
        the switch cancels them (with reason ``AllNonDaemonsDone``)."""
        if self._hooks is None:
            self._live_cc()
        self._fibers += 1
        self._daemons += 1
        try:
            return _greenlet.call(fn, args)
        finally:
            self._daemons -= 1
            self._dec_fibers()

    def _dec_fibers(self) -> None:
        self._fibers -= 1
        n = self._fibers
        if self._daemons and n == self._daemons and self._cc is not None and self._cc.is_on():
            self._cc.cancel(AllNonDaemonsDone())
        if n == 0 and self._idle_waker is not None:
            self._idle_waker.wake()

    def _await_idle(self) -> None:
        while True:
            while self._fibers > 0:
                _greenlet.suspend(self._set_idle_waker, interruptible=False)
                self._idle_waker = None
            hooks = self._hooks
            self._hooks = None
            if hooks:
                for hook in reversed(list(hooks)):
                    fn = hook._fn
                    hook._fn = None
                    if fn is None:
                        continue
                    try:
                        cancel.protect(fn)
                    except BaseException as e:
                        self.fail(e)
            if self._fibers == 0:
                return

    def _set_idle_waker(self, w: _greenlet.Waker) -> None:
        self._idle_waker = w

    # -- resources -----------------------------------------------------------

    def on_release(self, fn: Callable[[], object]) -> Hook:
        """Call ``fn()`` when the switch finishes (last registered runs first).

        On a finished switch ``fn`` runs at once, then ``RuntimeError`` is raised.
        """
        return self._add_hook(fn)

    def on_release_cancellable(self, fn: Callable[[], object]) -> Hook:
        """Like :meth:`on_release`; the returned hook's ``remove()`` unregisters it."""
        return self._add_hook(fn)

    def _add_hook(self, fn: Callable[[], object]) -> Hook:
        if not callable(fn):
            raise TypeError(f"Switch.on_release: fn must be callable, not {fn!r}")
        if self._cc is None:
            raise RuntimeError("Switch not entered: use it as `with Switch() as sw:`")
        hooks = self._hooks
        if hooks is None:
            try:
                cancel.protect(fn)
            except BaseException as e:
                raise RuntimeError(_FINISHED) from e
            raise RuntimeError(_FINISHED)
        hook = Hook(self, fn)
        hooks[hook] = None
        return hook

    def __repr__(self) -> str:
        state = "new" if self._cc is None else repr(self._cc)
        return f"<Switch {self.name or ''} {self._fibers} fibers {state}>"
