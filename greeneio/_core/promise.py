"""Promises (Eio's ``Promise``): a value that becomes available once.

``Promise.create()`` gives the promise (to await) and its resolver (to resolve).
A promise resolved with an error (``resolve_error``, or a failed
``Fiber.fork_promise``) raises that error to every awaiter.
"""

from __future__ import annotations

from typing import Any, Generic, TypeVar

from greeneio._core import _greenlet

T = TypeVar("T")

__all__ = ["Promise", "Resolver"]

_PENDING, _OK, _ERROR = 0, 1, 2


class Resolver(Generic[T]):
    """The right to resolve one promise."""

    __slots__ = ("_p",)

    def __init__(self, p: Promise[T]) -> None:
        self._p = p

    def __repr__(self) -> str:
        return f"<Resolver of {self._p!r}>"


class Promise(Generic[T]):
    """A value that will be available later; await it with ``p.await_()``."""

    __slots__ = ("_state", "_value", "_waiters", "label")

    def __init__(self, label: str | None = None) -> None:
        self.label = label
        self._state = _PENDING
        self._value: Any = None
        self._waiters = _greenlet.WaitQueue()

    # -- creating and resolving ---------------------------------------------

    @staticmethod
    def create(label: str | None = None) -> tuple[Promise[Any], Resolver[Any]]:
        """A new unresolved promise and the resolver that resolves it."""
        p: Promise[Any] = Promise(label)
        return p, Resolver(p)

    @staticmethod
    def create_resolved(value: T) -> Promise[T]:
        """A promise that is already resolved with ``value``."""
        p: Promise[T] = Promise()
        p._state = _OK
        p._value = value
        return p

    @staticmethod
    def try_resolve(u: Resolver[T], value: T) -> bool:
        """Resolve with ``value``; False (and nothing changes) if already resolved."""
        return _settle(_resolver(u), _OK, value)

    @staticmethod
    def resolve(u: Resolver[T], value: T) -> None:
        """Resolve with ``value``, waking every awaiter. ``ValueError`` if already resolved."""
        p = _resolver(u)
        if not _settle(p, _OK, value):
            raise ValueError(f"Promise.resolve: the promise {p!r} (resolver u) is already resolved")

    @staticmethod
    def resolve_ok(u: Resolver[T], value: T) -> None:
        """Same as :meth:`resolve` (Eio's ``resolve_ok`` for or-exn promises)."""
        Promise.resolve(u, value)

    @staticmethod
    def resolve_error(u: Resolver[Any], exc: BaseException) -> None:
        """Resolve with an error: every awaiter raises ``exc``. ``ValueError`` if resolved."""
        if not isinstance(exc, BaseException):
            raise TypeError(f"Promise.resolve_error: exc must be an exception, not {exc!r}")
        p = _resolver(u)
        if not _settle(p, _ERROR, exc):
            raise ValueError(f"Promise.resolve_error: the promise {p!r} is already resolved")

    # -- reading ------------------------------------------------------------

    def await_(self) -> T:
        """Block until resolved, then return the value (or raise the error).

        Raises ``Cancelled`` if the current fiber is cancelled while waiting.
        """
        if self._state == _PENDING:
            me = _greenlet.current()
            me.cc.check()
            self._waiters.wait()
        if self._state == _ERROR:
            raise self._value
        return self._value  # type: ignore[no-any-return]

    def await_exn(self) -> T:
        """Same as :meth:`await_`: a promise resolved with an error raises it."""
        return self.await_()

    def peek(self) -> T | None:
        """The value if resolved with one, else ``None``; never blocks."""
        return self._value if self._state == _OK else None

    def is_resolved(self) -> bool:
        return self._state != _PENDING

    # -- for library code: a resolution seen without a fiber waiting ---------

    def _subscribe(self, entry: Any) -> bool:
        """Queue ``entry`` (a waker-like object: ``fiber`` is not None while it
        wants the call, ``wake()`` must not block) to be woken, in the resolver's
        fiber, when this promise resolves; False if it is resolved already."""
        if self._state != _PENDING:
            return False
        self._waiters.push(entry)
        return True

    def _unsubscribe(self, entry: Any) -> None:
        """``entry`` no longer wants the call (set its ``fiber`` to None first)."""
        if self._state == _PENDING:
            self._waiters.forget_one()

    def __repr__(self) -> str:
        state = ("pending", "resolved", "failed")[self._state]
        label = f" {self.label!r}" if self.label else ""
        return f"<Promise{label} {state}>"


def _resolver(u: object) -> Promise[Any]:
    if not isinstance(u, Resolver):
        raise TypeError(f"expected the resolver from Promise.create() as u, not {u!r}")
    return u._p


def _settle(p: Promise[Any], state: int, value: object) -> bool:
    if p._state != _PENDING:
        return False
    p._state = state
    p._value = value
    for w in p._waiters.take_all():
        w.wake()
    return True
