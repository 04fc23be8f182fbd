"""``greeneio.run``: the entry point that runs a main fiber on gevent's hub."""

from __future__ import annotations

import signal
import threading
from collections.abc import Callable
from typing import Any, TypeVar

from greeneio._core import _greenlet
from greeneio._core.cancel import CancelContext, Cancelled
from greeneio.gevent_backend import Env, make_env

T = TypeVar("T")

__all__ = ["run", "run_main"]


def run(main: Callable[[Env], T]) -> T:
    """Run ``main(env)`` in a new fiber on the gevent hub and return its result.

    Blocks the caller until ``main`` returns. Ctrl-C (SIGINT, main thread only)
    cancels the main fiber: its switches release their resources, then
    ``KeyboardInterrupt`` is raised here. ``main``'s own exception is raised as
    itself; a bare ``Cancelled`` never leaves ``run``.
    """
    if not callable(main):
        raise TypeError(f"greeneio.run: main must be callable, not {main!r}")
    return run_main(main)


def run_main(
    main: Callable[[Env], T],
    on_start: Callable[[Callable[[BaseException], None]], None] | None = None,
    handle_sigint: bool = True,
) -> T:
    """:func:`run`, for backends too: ``on_start(cancel)`` is called in the hub's
    thread before ``main`` starts; ``cancel(exc)`` may then be called from the
    hub's thread to cancel the main fiber (worker processes use it for SIGTERM).
    ``handle_sigint=False`` leaves SIGINT to the caller (greeneio-serve drains)."""
    if _greenlet.current_or_none() is not None:
        raise RuntimeError("greeneio.run: already inside greeneio.run (use Fiber.fork instead)")
    import gevent
    from gevent.hub import Waiter

    env = make_env()
    sched = _greenlet.GeventScheduler(env.mono_clock)
    root_cc = CancelContext(None)
    outcome: list[Any] = [False, None]
    done = Waiter()

    def body() -> None:
        try:
            outcome[1] = main(env)
            outcome[0] = True
        except BaseException as e:
            outcome[1] = e
        finally:
            root_cc.fibers.pop(root, None)
            sched.call_soon(done.switch, None)

    root = _greenlet.new_fiber(sched, root_cc, body)

    def on_sigint() -> None:
        if root_cc.reason is None:
            root_cc.cancel(KeyboardInterrupt())

    def cancel(exc: BaseException) -> None:
        if root_cc.reason is None:
            root_cc.cancel(exc)

    if on_start is not None:
        on_start(cancel)
    handler = None
    if handle_sigint and threading.current_thread() is threading.main_thread():
        handler = gevent.signal_handler(signal.SIGINT, on_sigint)
    try:
        sched.call_soon(root.switch)
        done.get()
    finally:
        if handler is not None:
            handler.cancel()
        root_cc.finish()
    ok, value = outcome
    if ok:
        return value  # type: ignore[no-any-return]
    while isinstance(value, Cancelled) and value.reason is not None:
        value = value.reason
    raise value
