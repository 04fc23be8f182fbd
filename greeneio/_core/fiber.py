"""Fibers (Eio's ``Fiber``): forking, racing and joining concurrent work.

A fiber forked on a switch runs at once until it first blocks; then the caller
continues. Its exception fails the switch. Combinators (``both``, ``first``,
``any`` ...) run their functions in a scope of their own and return only once
every fiber they started has finished. ``fork_seq`` runs a producer in a
daemon fiber that takes turns with its consumer: one of the two waits while
the other runs, and a dead waker on the waiting side means it was cancelled
(see ``_Seq``).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import Any, NoReturn, TypeVar

from greeneio._core import _greenlet, cancel, exn
from greeneio._core._greenlet import GreenletExit
from greeneio._core.args import callable_arg, instance_arg, int_arg
from greeneio._core.cancel import CancelContext, Cancelled
from greeneio._core.promise import Promise, Resolver
from greeneio._core.switch import AllNonDaemonsDone, Switch

T = TypeVar("T")
U = TypeVar("U")

__all__ = [
    "all",
    "any",
    "await_cancel",
    "both",
    "Key",
    "check",
    "create_key",
    "first",
    "fork",
    "fork_daemon",
    "fork_promise",
    "fork_seq",
    "get",
    "is_cancelled",
    "List",
    "n_any",
    "pair",
    "with_binding",
    "without_binding",
    "yield_",
]


def _sw_arg(sw: object, fn: str) -> Switch:
    return instance_arg(sw, Switch, fn, "sw", "a Switch")


def _fiber_main(
    sw: Switch | None, daemon: bool, fn: Callable[..., object], args: tuple[Any, ...]
) -> None:
    # The one body of every forked fiber: ``fn(*args)``, counted on ``sw`` (as
    # a daemon or not); an exception fails ``sw``. With no switch (the
    # branches of ``any``), ``fn`` handles its own outcome.
    try:
        if sw is None:
            _greenlet.call(fn, args)
        elif daemon:
            sw.with_daemon(fn, *args)
        else:
            sw.with_op(fn, *args)
    except GreenletExit:
        raise  # collected while blocked (its loop is gone): the greenlet just ends
    except BaseException as e:
        if sw is not None and not sw.is_finished():
            sw.fail(e)


def fork(fn: Callable[..., object], *args: Any, sw: Switch) -> None:
    """Run ``fn(*args)`` in a new fiber attached to ``sw``.

    The new fiber runs at once until it blocks, then the caller continues,
    ahead of anything queued meanwhile. If ``fn`` raises, ``sw`` fails. If
    ``sw`` is already off, ``fn`` never runs. ``RuntimeError`` if ``sw`` has
    finished.
    """
    cc = _sw_arg(sw, "Fiber.fork").cancel_context()
    callable_arg(fn, "Fiber.fork")
    if cc.reason is None:
        _greenlet.spawn(_greenlet.current().sched, cc, _fiber_main, sw, False, fn, args)


def _fork_unchecked(fn: Callable[[], object], sw: Switch) -> None:
    """:func:`fork` for library code whose arguments are known good (no checks)."""
    cc = sw.cancel_context()
    if cc.reason is None:
        _greenlet.spawn(_greenlet.current().sched, cc, _fiber_main, sw, False, fn, ())


def fork_daemon(fn: Callable[..., object], *args: Any, sw: Switch) -> None:
    """Like :func:`fork`, but ``sw`` does not wait for it: once only daemon
    fibers are left, they are cancelled and the switch finishes."""
    cc = _sw_arg(sw, "Fiber.fork_daemon").cancel_context()
    callable_arg(fn, "Fiber.fork_daemon")
    if cc.reason is None:
        _greenlet.spawn(_greenlet.current().sched, cc, _fiber_main, sw, True, _daemon, (fn, args))


def _daemon(fn: Callable[..., object], args: tuple[Any, ...]) -> None:
    try:
        fn(*args)
    except Cancelled as e:
        if not isinstance(e.reason, AllNonDaemonsDone):
            raise


def fork_promise(fn: Callable[..., T], *args: Any, sw: Switch) -> Promise[T]:
    """Run ``fn(*args)`` in a new fiber; its result or exception resolves the
    returned promise (the switch does not fail). The fiber still belongs to
    ``sw``: the switch waits for it and cancelling ``sw`` cancels it."""
    cc = _sw_arg(sw, "Fiber.fork_promise").cancel_context()
    callable_arg(fn, "Fiber.fork_promise")
    p, u = Promise.create("fork_promise")
    if cc.reason is not None:
        Promise.resolve_error(u, Cancelled(cc.reason))
        return p
    _greenlet.spawn(_greenlet.current().sched, cc, _fiber_main, sw, False, _settle, (u, fn, args))
    return p


def _settle(u: Resolver[Any], fn: Callable[..., object], args: tuple[Any, ...]) -> None:
    # Resolve ``u`` with the outcome of ``fn(*args)``.
    try:
        value = fn(*args)
    except GreenletExit:
        raise
    except BaseException as e:
        Promise.resolve_error(u, e)
    else:
        Promise.resolve(u, value)


# -- fork_seq: a producer fiber and its consumers, taking turns ------------------

_INIT, _READY, _RUNNING, _FINISHED, _FAILED, _CANCELLED = range(6)
#: What the producer hands the waiting consumer when ``fn`` has returned.
_END: Any = object()


class _Seq(Iterator[T]):
    """The iterator :func:`fork_seq` returns: the state its consumers share
    with the producer fiber, which take turns (Eio's coroutine).

    ``_state`` is READY (the producer waits in ``yield_`` for a request),
    RUNNING (a consumer waits in ``__next__`` for the next item), FINISHED
    (``fn`` returned), FAILED (the producer raised or was cancelled: ``_error``)
    or CANCELLED (the consumer was cancelled while waiting: ``_error``). While
    one side waits, ``_waiter`` is its one-shot waker and ``_waiter_fiber`` its
    fiber. Every hand-over replaces ``_waiter`` in the same step, so a dead
    ``_waiter`` means that side was cancelled; :meth:`_reap` records that
    before anything looks at the state (the waiting side's own handler may
    not have run yet).
    """

    __slots__ = ("_error", "_state", "_waiter", "_waiter_fiber")

    def __init__(self) -> None:
        self._state = _INIT
        self._error: BaseException | None = None
        self._waiter: _greenlet.Waker | None = None
        self._waiter_fiber: _greenlet.FiberGreenlet | None = None

    def __iter__(self) -> _Seq[T]:
        return self

    # -- the consumer ------------------------------------------------------------

    def __next__(self) -> T:
        me = _greenlet.current()
        me.cc.check()
        self._reap()
        state = self._state
        if state == _READY:
            try:
                item = _greenlet.suspend(self._request)
            except BaseException as e:
                if self._state == _RUNNING and self._waiter_fiber is me:
                    self._stop(_CANCELLED, e)  # the producer raises e at its next yield_
                raise
            if item is _END:
                raise StopIteration
            return item  # type: ignore[no-any-return]
        if state == _FINISHED:
            raise StopIteration
        if state in (_FAILED, _CANCELLED):
            assert self._error is not None
            raise ValueError(f"Coroutine has already failed: {_describe(self._error)}")
        raise ValueError("Coroutine is still running!")

    def _request(self, w: _greenlet.Waker) -> None:
        # Register the consumer's waker and resume the producer (live: reaped).
        producer = self._waiter
        assert producer is not None
        self._wait(_RUNNING, w)
        producer.wake()

    # -- the producer ------------------------------------------------------------

    def _produce(self, fn: Callable[[Callable[[T], None]], object]) -> None:
        # The body of the producer fiber (a daemon of the switch).
        try:
            self._await_request()
            fn(self._yield)
            self._reap()
            w = self._waiter
            if self._state != _RUNNING or w is None:
                raise self._unwrap()
            self._stop(_FINISHED, None)
            w.wake(_END)
        except BaseException as e:
            self._reap()
            prev, w = self._state, self._waiter
            self._stop(_FAILED, e)
            if prev == _RUNNING and w is not None:
                w.fail(e)  # the waiting consumer gets it (a cancellation too)
            elif not isinstance(e, Cancelled):
                raise  # nobody to give it to: it fails the switch
            # Cancelled with no consumer waiting: a later request sees the failure.

    def _yield(self, v: T) -> None:
        # The ``yield_`` given to ``fn``: hand ``v`` over, wait for the next request.
        _greenlet.current().cc.check()
        self._reap()
        w = self._waiter
        if self._state != _RUNNING or w is None:
            raise self._unwrap()
        w.wake(v)  # queued: no fiber runs before this one is registered as READY
        self._await_request()

    def _await_request(self) -> None:
        me = _greenlet.current()
        try:
            _greenlet.suspend(self._ready)
        except BaseException as e:
            if self._state == _READY and self._waiter_fiber is me:
                self._stop(_FAILED, e)
            raise

    def _ready(self, w: _greenlet.Waker) -> None:
        self._wait(_READY, w)

    def _unwrap(self) -> BaseException:
        # Why ``yield_`` (or the end of ``fn``) finds no consumer waiting.
        state = self._state
        if state == _CANCELLED:
            assert self._error is not None
            return self._error
        if state in (_FINISHED, _FAILED):
            return ValueError("Coroutine has already stopped!")
        if state == _READY:
            return ValueError("Coroutine has already yielded!")
        return ValueError("Coroutine in unexpected state!")

    # -- state -------------------------------------------------------------------

    def _wait(self, state: int, w: _greenlet.Waker) -> None:
        self._state = state
        self._waiter = w
        self._waiter_fiber = w.fiber

    def _stop(self, state: int, error: BaseException | None) -> None:
        self._state = state
        self._error = error
        self._waiter = None
        self._waiter_fiber = None

    def _reap(self) -> None:
        # A waiting side whose waker died without a hand-over was cancelled.
        w, fiber = self._waiter, self._waiter_fiber
        if w is None or w.fiber is not None or fiber is None:
            return
        cc = fiber.cc
        exc = Cancelled(None if cc is None else cc.reason)
        self._stop(_CANCELLED if self._state == _RUNNING else _FAILED, exc)

    def __repr__(self) -> str:
        names = ("starting", "ready", "running", "finished", "failed", "cancelled")
        return f"<Fiber.fork_seq {names[self._state]}>"


def _describe(e: BaseException) -> str:
    if isinstance(e, Cancelled):
        return str(e)  # already "Cancelled: Type: message"
    msg = str(e)
    return f"{type(e).__name__}: {msg}" if msg else type(e).__name__


def fork_seq(fn: Callable[[Callable[[T], None]], object], *, sw: Switch) -> Iterator[T]:
    """An iterator over the items ``fn(yield_)`` produces, in a fiber of its own.

    ``fn`` runs in a new daemon fiber of ``sw`` (forked now, so ``sw`` owns it;
    ``fn`` starts at the first request). Each ``next`` resumes it until it
    calls ``yield_(v)``, which hands ``v`` over and suspends the producer
    until the next request; when ``fn`` returns, ``next`` raises
    ``StopIteration``, then and from then on. An exception from ``fn`` goes to
    the waiting consumer, not to ``sw``. ``next`` is cancellable: a consumer
    cancelled while waiting takes nothing, and the producer raises that
    ``Cancelled`` at its next ``yield_`` (an item already handed over is
    returned). A consumer that stops asking leaves the producer suspended in
    ``yield_`` until ``sw``'s other fibers finish; it is then cancelled (a
    daemon), as it is if ``sw`` fails. ``ValueError`` for misuse, with Eio's
    messages: ``Coroutine is still running!`` (a request while another waits),
    ``Coroutine has already yielded!`` (a second ``yield_`` for one request,
    raised in the producer), ``Coroutine has already failed: ...`` (a request
    after the producer failed or was cancelled, e.g. by the end of ``sw``).
    ``RuntimeError`` if ``sw`` has finished.
    """
    cc = _sw_arg(sw, "Fiber.fork_seq").cancel_context()
    callable_arg(fn, "Fiber.fork_seq")
    seq: _Seq[T] = _Seq()
    if cc.reason is not None:
        seq._stop(_FAILED, Cancelled(cc.reason))  # fn never runs
    else:
        _greenlet.spawn(_greenlet.current().sched, cc, _fiber_main, sw, True, seq._produce, (fn,))
    return seq


def _forks(sw: Switch, fs: Sequence[Callable[[], object]]) -> None:
    # Fork all but the last; run the last in this fiber (fewer fibers, clearer traces).
    for f in fs[:-1]:
        fork(f, sw=sw)
    if fs:
        sw.check()
        fs[-1]()


def both(f: Callable[[], object], g: Callable[[], object]) -> None:
    """Run ``f()`` and ``g()`` concurrently (``f`` first); wait for both.

    If one fails the other is cancelled; both failing gives an ExceptionGroup.
    """
    with Switch("both") as sw:
        _forks(sw, [f, g])


def all(fs: Iterable[Callable[[], object]]) -> None:
    """Run every function concurrently and wait for all (as :func:`both`)."""
    fs = list(fs)
    with Switch("all") as sw:
        _forks(sw, fs)


def pair(f: Callable[[], T], g: Callable[[], U]) -> tuple[T, U]:
    """Run ``f()`` and ``g()`` concurrently; return both results."""
    with Switch("pair") as sw:
        x = fork_promise(f, sw=sw)
        y = g()
        return x.await_(), y


class _NotFirst(Exception):
    """Why the losers of ``any``/``first`` are cancelled."""


def _any_gen(
    fs: Sequence[Callable[[], Any]],
    ret: Callable[[Any], Any],
    combine: Callable[[Any, Any], Any],
) -> Any:
    if not fs:
        raise ValueError("Fiber.any: fs must not be empty")
    state: list[Any] = [None, None]  # [ok-result holder, exception]
    have_ok = [False]

    def wrap(cc: CancelContext, h: Callable[[], Any]) -> None:
        try:
            x = h()
        except Cancelled:
            if not cc.is_on():
                return  # we cancelled it, or the parent did (checked at the end)
            raise
        except BaseException as e:
            if not have_ok[0] and state[1] is None:
                state[1] = e
                cc.cancel(e)
            elif have_ok[0]:
                have_ok[0] = False
                state[1] = e
            else:
                state[1] = exn.combine(state[1], e)
            return
        if state[1] is not None:
            return
        if not have_ok[0]:
            have_ok[0] = True
            state[0] = ret(x)
            cc.cancel(_NotFirst())
        else:
            state[0] = combine(state[0], x)

    def body(cc: CancelContext) -> CancelContext:
        me = _greenlet.current()
        promises: list[Promise[None]] = []
        for h in fs[:-1]:
            p, u = Promise.create("any")
            _greenlet.spawn(me.sched, cc, _fiber_main, None, False, _settle, (u, wrap, (cc, h)))
            promises.append(p)
        wrap(cc, fs[-1])
        cancel.protect(lambda: [p.await_() for p in promises])
        assert cc.parent is not None
        return cc.parent

    parent = cancel.sub(body)
    err = cancel.get_error(parent)
    if have_ok[0]:
        return state[0]
    if state[1] is None:
        assert err is not None
        raise err
    if err is None:
        raise state[1]
    raise exn.combine(state[1], err)


def any(fs: Iterable[Callable[[], T]], combine: Callable[[T, T], T] | None = None) -> T:
    """Run the functions concurrently; return the first result and cancel the rest.

    If several return before being cancelled, ``combine`` merges their results
    (default: keep the first). If one raises, the others are cancelled and the
    error is raised.
    """
    return _any_gen(list(fs), lambda x: x, combine or (lambda a, _b: a))  # type: ignore[no-any-return]


def first(f: Callable[[], T], g: Callable[[], T], combine: Callable[[T, T], T] | None = None) -> T:
    """``any([f, g], combine)``: the result of whichever finishes first."""
    return any([f, g], combine)


def n_any(fs: Iterable[Callable[[], T]]) -> list[T]:
    """Like :func:`any`, but returns every result produced before the rest were cancelled."""
    return _any_gen(list(fs), lambda x: [x], lambda xs, x: [*xs, x])  # type: ignore[no-any-return]


def await_cancel() -> NoReturn:
    """Block until the current fiber is cancelled (then raise ``Cancelled``)."""
    _greenlet.current().cc.check()
    _greenlet.suspend(_ignore)
    raise AssertionError("await_cancel woke without being cancelled")


def _ignore(_w: object) -> None:
    pass


def check() -> None:
    """Raise ``Cancelled`` if the current fiber's context is cancelled."""
    _greenlet.current().cc.check()


def is_cancelled() -> bool:
    """True if the current fiber's context is cancelled."""
    return _greenlet.current().cc.reason is not None


def yield_() -> None:
    """Let other runnable fibers run, then continue; raises ``Cancelled`` if the
    fiber is cancelled by the time it resumes."""
    me = _greenlet.current()
    _greenlet.yield_now()
    me.cc.check()


class List:
    """Concurrent list operations (Eio's ``Fiber.List``), at most ``max_fibers`` at once."""

    @staticmethod
    def map(fn: Callable[[T], U], xs: Iterable[T], max_fibers: int | None = None) -> list[U]:
        """``[fn(x) for x in xs]``, computed concurrently; results in input order."""
        return [r for r in List._run(fn, list(xs), max_fibers, "map")]

    @staticmethod
    def filter_map(
        fn: Callable[[T], U | None], xs: Iterable[T], max_fibers: int | None = None
    ) -> list[U]:
        """The non-``None`` results of ``fn(x)``, in input order."""
        return [r for r in List._run(fn, list(xs), max_fibers, "filter_map") if r is not None]

    @staticmethod
    def filter(fn: Callable[[T], bool], xs: Iterable[T], max_fibers: int | None = None) -> list[T]:
        """The ``x`` for which ``fn(x)`` is true, in input order."""
        xs = list(xs)
        keep = List._run(fn, xs, max_fibers, "filter")
        return [x for x, k in zip(xs, keep, strict=True) if k]

    @staticmethod
    def iter(fn: Callable[[T], object], xs: Iterable[T], max_fibers: int | None = None) -> None:
        """Call ``fn(x)`` for every ``x`` concurrently."""
        List._run(fn, list(xs), max_fibers, "iter")

    @staticmethod
    def _run(fn: Callable[[T], Any], xs: list[T], max_fibers: int | None, name: str) -> list[Any]:
        callable_arg(fn, f"Fiber.List.{name}")
        if max_fibers is not None:
            int_arg(max_fibers, f"Fiber.List.{name}", "max_fibers", min=1)
        results: list[Any] = [None] * len(xs)
        if not xs:
            return results
        limit = len(xs) if max_fibers is None else min(max_fibers, len(xs))
        free = [limit]
        slot_waiters = _greenlet.WaitQueue()

        def job(i: int, x: T) -> None:
            try:
                results[i] = fn(x)
            finally:
                free[0] += 1
                slot_waiters.wake_one()

        with Switch(f"List.{name}") as sw:
            for i, x in enumerate(xs):
                while free[0] == 0:
                    _greenlet.current().cc.check()
                    slot_waiters.wait()
                sw.check()
                free[0] -= 1
                fork(job, i, x, sw=sw)
        return results


# -- fiber-local values ----------------------------------------------------------


class Key:
    """A key for fiber-local values (Eio's ``Fiber.key``); make one with :func:`create_key`."""

    __slots__ = ("name",)

    def __init__(self, name: str | None = None) -> None:
        self.name = name

    def __repr__(self) -> str:
        return f"<Fiber.Key {self.name or hex(id(self))}>"


def create_key(name: str | None = None) -> Key:
    """A new key; values bound to it are seen by the fiber and the fibers it forks."""
    return Key(name)


def _key_arg(key: object, fn: str) -> Key:
    if not isinstance(key, Key):
        raise TypeError(f"Fiber.{fn}: key must be a Fiber.Key (from create_key), not {key!r}")
    return key


def get(key: Key) -> Any:
    """The value bound to ``key`` in the current fiber, or None."""
    bindings = _greenlet.current().bindings
    return None if bindings is None else bindings.get(_key_arg(key, "get"))


def with_binding(key: Key, value: object, fn: Callable[[], T]) -> T:
    """``fn()`` with ``key`` bound to ``value`` (also in fibers forked meanwhile)."""
    _key_arg(key, "with_binding")
    me = _greenlet.current()
    old = me.bindings
    me.bindings = {**(old or {}), key: value}
    try:
        return fn()
    finally:
        me.bindings = old


def without_binding(key: Key, fn: Callable[[], T]) -> T:
    """``fn()`` with ``key`` unbound."""
    _key_arg(key, "without_binding")
    me = _greenlet.current()
    old = me.bindings
    me.bindings = {k: v for k, v in (old or {}).items() if k is not key}
    try:
        return fn()
    finally:
        me.bindings = old
